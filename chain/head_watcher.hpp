// New block heads over a WebSocket (ws:// or wss://, TLS with peer verification and SNI)
// `eth_subscribe("newHeads")`, kept alive by ping/pong and a
// no-new-heads watchdog, reconnected with backoff, resubscribed, and backfilled over HTTP from the
// last block processed, so the consumer sees every block number once, in order. A head at a
// height already delivered but with another hash (a reorg) is delivered too: the consumer then
// sees that height again, with the new block.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "chain/eth_client.hpp"
#include "chain/url.hpp"

namespace varkeeper::chain {

struct HeadWatcherOptions {
  std::chrono::milliseconds io_timeout{5'000};         // connect, handshake, subscribe
  std::chrono::milliseconds idle_ping{10'000};         // WebSocket keep-alive pings
  std::chrono::milliseconds no_heads_timeout{60'000};  // reconnect if no head arrives
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5'000};
  std::uint64_t max_backfill = 1'000;  // blocks fetched after a gap, at most
  // wss://: an extra trusted CA (PEM) besides the system store (chain.ca_file).
  std::string ca_file;
};

struct HeadWatcherStats {
  std::uint64_t connects = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t notified = 0;    // heads received over the subscription
  std::uint64_t backfilled = 0;  // heads fetched over HTTP to fill a gap
  std::uint64_t watchdog_trips = 0;
  // Heads delivered that replace one delivered before at the same or a lower height (a reorg,
  // issue 15, defect 11).
  std::uint64_t reorgs = 0;
};

class HeadWatcher {
 public:
  using OnHead = std::function<void(const BlockHeader&)>;

  // `backfill` reads missed blocks over HTTP; `on_head` runs on the watcher's thread.
  HeadWatcher(Url ws_url, EthClient& backfill, OnHead on_head, HeadWatcherOptions options = {});
  ~HeadWatcher();
  HeadWatcher(const HeadWatcher&) = delete;
  HeadWatcher& operator=(const HeadWatcher&) = delete;

  // Starts the watcher thread; blocks after `last_processed` are delivered (backfilled first).
  void start(std::uint64_t last_processed);
  void stop();

  [[nodiscard]] HeadWatcherStats stats() const;
  [[nodiscard]] std::uint64_t last_delivered() const noexcept { return last_.load(); }

 private:
  struct Impl;
  void run();
  [[nodiscard]] std::optional<std::string> connect_and_subscribe();
  void read_heads(const std::string& subscription);
  void on_message(const std::string& text, const std::string& subscription);
  void close_and_back_off(std::chrono::milliseconds& backoff);
  void deliver_through(std::uint64_t number);        // backfill (last_, number]
  void deliver(const BlockHeader& header);           // on_head_, then remembered by its height
  void redeliver_replaced(const BlockHeader& next);  // a reorg seen through next's parent

  Url url_;
  EthClient& backfill_;
  OnHead on_head_;
  HeadWatcherOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> last_{0};
  mutable std::mutex stats_mu_;
  HeadWatcherStats stats_;
  std::map<std::uint64_t, Hash32> delivered_;  // the last kRemembered heads delivered, by height
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace varkeeper::chain
