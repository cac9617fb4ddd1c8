// One keeper of a keeper set (issue 18): every trigger block it advances its deterministic round
// engine (replaying from the genesis trigger after a start), signs the reports the set publishes
// at the newest trigger with its one signer key, shares them with its peers (SignatureBook,
// PeerServer, PeerClient) and submits a quorum's signatures as the round's transmitter or, after
// its delay, as a backup; without a quorum it falls back to RiskOracle.propose. A peer that signs
// a different report for a round is a `divergence` incident with both digests and the fields.
// Rules: keeper/network/round_rule.hpp; operations: docs/operations.md "Keeper network".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "chain/eth_client.hpp"
#include "chain/secret_key.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/core/pipeline.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "keeper/network/round_engine.hpp"
#include "keeper/network/round_rule.hpp"
#include "keeper/network/signature_book.hpp"
#include "keeper/ops/signals.hpp"

namespace varkeeper::keeper {
class KeeperStore;
class Operations;
}  // namespace varkeeper::keeper

namespace varkeeper::keeper::network {

// The category of the incident a divergence records.
inline constexpr std::string_view kDivergence = "divergence";

struct NetworkKeeperSetup {
  std::string name = "k1";  // the status lines' prefix "[k1]"
  std::uint64_t chain_id = 0;
  std::string store_path;
  chain::TxManagerOptions tx_options;
  std::optional<chain::SecretKey> signer;  // this keeper's one signer key (required)
  chain::Address oracle{};
  std::vector<FeedRef> feeds;
  std::size_t agree_quorum = 0;
  PipelineConfig pipeline;
  RoundRule rule;
  std::vector<PeerSpec> peers;
  std::string listen = "127.0.0.1:0";
  bool listen_public = false;
  std::chrono::milliseconds push_timeout{2'000};
  std::string metrics_address = "127.0.0.1:0";
  bool metrics_public = false;
  std::chrono::milliseconds tick_interval{1'000};
  std::optional<std::uint64_t> max_ticks;
  // History before the genesis trigger, pinned to it: (pipeline engine, source, genesis block).
  std::function<void(RoundEngine&, ChainlinkSource&, std::uint64_t)> seed_history;
};

// What one tick did, for the status line and the tests.
struct NetworkTick {
  std::uint64_t tick = 0;
  std::uint64_t head = 0;
  std::vector<std::uint64_t> triggers;  // trigger blocks advanced this tick (replay included)
  std::optional<TriggerResult> live;    // the newest trigger's result, when one was advanced
  std::vector<std::string> events;      // "p1 round 40 signed", "p1 round 40 submit sent", ...
  std::vector<std::string> errors;
  double seconds = 0.0;
};

class NetworkKeeper {
 public:
  NetworkKeeper(chain::EthClient& eth, chain::TxManager& tx, ChainlinkSource& source,
                RoundEngine& engine, SignatureBook& book, const NetworkKeeperSetup& setup,
                KeeperStore* store);
  ~NetworkKeeper();
  NetworkKeeper(const NetworkKeeper&) = delete;
  NetworkKeeper& operator=(const NetworkKeeper&) = delete;

  [[nodiscard]] NetworkTick tick();
  [[nodiscard]] std::string status_line(const NetworkTick& t) const;
  [[nodiscard]] std::uint64_t ticks() const noexcept { return ticks_; }
  // Transactions this keeper enqueued: submit() and propose() calls.
  [[nodiscard]] std::uint64_t submits() const noexcept { return submits_; }
  [[nodiscard]] std::uint64_t proposals() const noexcept { return proposals_; }
  // The current signer set (cached at the last trigger; the SignatureBook's filter).
  [[nodiscard]] bool is_signer(const chain::Address& a) const;

 private:
  struct Active {
    OnchainReport report;
    chain::Signature own;
    std::uint64_t trigger = 0;
    // The head when this keeper signed: the backup and propose delays count from the trigger or
    // from here, whichever is later, so a keeper that signs late (catching up, restarted) does
    // not submit at once as a backup while the transmitter's transaction is on its way.
    std::uint64_t signed_at = 0;
    std::size_t rank = 0;
    bool submitted = false;
    bool proposed = false;
    bool announced_quorum = false;
  };
  struct Worker;

  bool advance_triggers(NetworkTick& t);
  bool read_trigger(std::uint64_t block, TriggerInputs& in, std::string& why);
  void sign_live(const TriggerResult& r, NetworkTick& t);
  void transmit(NetworkTick& t);
  void record_divergences(NetworkTick& t);
  void enqueue(const std::string& key, const chain::Bytes& data, const char* label);

  chain::EthClient& eth_;
  chain::TxManager& tx_;
  ChainlinkSource& source_;
  RoundEngine& engine_;
  SignatureBook& book_;
  const NetworkKeeperSetup& setup_;
  KeeperStore* store_;
  chain::Address self_{};
  OracleDomain domain_;
  std::uint64_t ticks_ = 0;
  std::uint64_t submits_ = 0;
  std::uint64_t proposals_ = 0;
  std::uint64_t quorum_ = 0;
  std::vector<chain::Address> signers_;
  mutable std::mutex signers_mutex_;
  std::set<chain::Address> signer_set_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, Active> active_;  // (pid, round)
  std::map<std::uint64_t, std::uint64_t> landed_;                     // pid -> latest round
  std::unique_ptr<Worker> worker_;
  std::uint64_t retries_ = 0;  // consecutive ticks the next trigger could not be read
};

// Starts a network keeper on a connected client (store, tx manager, sources, history, replay,
// peer listener, metrics) and runs it until `stop` or setup.max_ticks; one status line per tick
// to `out`, prefixed "[name]". Throws StartupError with one sentence when a step cannot start.
std::uint64_t run_network_keeper(chain::EthClient& eth, const chain::SecretKey& sender,
                                 const NetworkKeeperSetup& setup, const StopSignals& stop,
                                 std::ostream& out);

}  // namespace varkeeper::keeper::network
