// WebSocket newHeads against a real anvil, through a relay the test cuts.
#include <doctest/doctest.h>

#include <mutex>
#include <thread>

#include "chain/head_watcher.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/tcp_relay.hpp"

using namespace varkeeper::chain;
using varkeeper::keeper::AnvilNode;

namespace {
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(10'000)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}
}  // namespace

TEST_CASE(
    "newHeads arrive; after the connection is killed the watcher reconnects, resubscribes and "
    "backfills") {
  AnvilNode anvil;
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(
      std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(anvil.http_url()))));
  EndpointPool pool(std::move(clients));
  EthClient eth(pool);
  varkeeper::test::TcpRelay relay(anvil.port());

  std::mutex mu;
  std::vector<std::uint64_t> seen;
  HeadWatcherOptions opts;
  opts.backoff_initial = std::chrono::milliseconds(50);
  HeadWatcher watcher(
      *parse_url("ws://127.0.0.1:" + std::to_string(relay.port())), eth,
      [&](const BlockHeader& h) {
        std::lock_guard lock(mu);
        seen.push_back(h.number);
      },
      opts);
  watcher.start(0);
  const auto count = [&] {
    std::lock_guard lock(mu);
    return seen.size();
  };
  REQUIRE(eventually([&] { return watcher.stats().connects == 1; }));
  for (int i = 0; i < 3; ++i) REQUIRE(pool.call("evm_mine"));
  REQUIRE(eventually([&] { return count() == 3; }));
  CHECK(watcher.stats().notified >= 3);

  // Kill the connection, keep new ones out while three blocks are mined.
  relay.set_refusing(true);
  relay.cut_all();
  for (int i = 0; i < 3; ++i) REQUIRE(pool.call("evm_mine"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(count() == 3);  // nothing can arrive while cut off
  relay.set_refusing(false);
  REQUIRE(eventually([&] { return watcher.stats().connects == 2; }));
  REQUIRE(eventually([&] { return count() == 6; }));  // the three missed blocks, backfilled
  CHECK(watcher.stats().backfilled >= 3);
  CHECK(watcher.stats().reconnects >= 1);
  for (int i = 0; i < 2; ++i) REQUIRE(pool.call("evm_mine"));
  REQUIRE(eventually([&] { return count() == 8; }));
  watcher.stop();
  std::lock_guard lock(mu);
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i + 1);  // no gap, no repeat
}

TEST_CASE("the no-new-heads watchdog reconnects a silent subscription") {
  AnvilNode anvil;
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(
      std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(anvil.http_url()))));
  EndpointPool pool(std::move(clients));
  EthClient eth(pool);
  HeadWatcherOptions opts;
  opts.no_heads_timeout = std::chrono::milliseconds(300);
  opts.backoff_initial = std::chrono::milliseconds(20);
  HeadWatcher watcher(
      *parse_url(anvil.ws_url()), eth, [](const BlockHeader&) {}, opts);
  watcher.start(0);
  REQUIRE(eventually(
      [&] { return watcher.stats().watchdog_trips >= 1 && watcher.stats().connects >= 2; }));
  watcher.stop();
}
