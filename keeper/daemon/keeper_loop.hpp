// The daemon's tick: read prices (one batched, block-pinned poll), run the pipeline, record
// incidents, publish reports, drive the transaction manager, and fire actions (rebalance,
// protection settlement) only when an eth_call says they would succeed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "chain/abi_type.hpp"
#include "chain/eth_client.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/core/pipeline.hpp"
#include "keeper/core/reporter.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "keeper/ops/signals.hpp"

namespace varkeeper::keeper {

class KeeperStore;

struct ActionTargets {
  std::optional<chain::Address> rebalancer;  // RiskRebalancer: rebalance()
  std::optional<chain::Address> protection;  // VaRProtection: settle()
};

struct TickSummary {
  std::uint64_t tick = 0;
  std::uint64_t block = 0;
  std::int64_t now = 0;
  TickResult pipeline;
  SubmittedReports submitted;
  std::vector<std::string> actions;  // "rebalance sent", "settle sent", ...
  std::vector<std::string>
      confirmations;                // "round 3 of portfolio 1 accepted in block 42, gas 70355"
  std::vector<std::string> errors;  // RPC failures this tick (the loop keeps going)
  double seconds = 0.0;             // wall time of the tick
  // chain.agree_reads: the endpoints disagreed on this tick's price reads, so nothing is
  // published from them (issue 15, defect 3).
  bool reads_disagree = false;
  // Signed reports that ended this tick without going on chain (issue 15, defect 5): replaced
  // while they waited for their portfolio's report in flight, or dropped (their simulation
  // reverts before an attempt, or their transaction failed).
  std::vector<UnsentReport> superseded;
  std::vector<UnsentReport> dropped;
};

class KeeperLoop {
 public:
  KeeperLoop(chain::EthClient& eth, chain::TxManager& tx, ChainlinkSource& source,
             Pipeline& pipeline, Reporter& reporter, ActionTargets actions,
             KeeperStore* store = nullptr);
  // The loop simulates each report transaction before the manager signs an attempt of it
  // (TxManager::before_attempt) and drops one that would revert; the hook goes with the loop.
  ~KeeperLoop();
  KeeperLoop(const KeeperLoop&) = delete;
  KeeperLoop& operator=(const KeeperLoop&) = delete;

  // One tick; never throws for chain faults (they are in TickSummary::errors and incidents).
  [[nodiscard]] TickSummary tick();

  // One status line for a tick. Default (issue 19): short, at most ~160 characters with two
  // portfolios: block, per portfolio VaR, CVaR, breaker state and what became of its report
  // (sent, or not sent and why), then the tick's events in a few words while they fit.
  // verbose (`run --verbose`, and the JSON log): prices, full tx hashes, gas, every refusal in
  // human form, every error in full.
  [[nodiscard]] static std::string status_line(const TickSummary& s, bool verbose = false);

  [[nodiscard]] std::uint64_t ticks() const noexcept { return ticks_; }

  // After a restart (issue 15, defect 10): the reports still `pending` in the store are followed
  // again through the transactions that carry them, and an action whose transaction is still
  // open is not sent a second time. Call once, before the first tick. Returns how many report
  // transactions and actions were picked up.
  std::size_t resume_from_store();

  // Custom errors the bundled contracts may revert with (from their ABI artifacts): refusals are
  // then shown by name, e.g. "AlreadyAtTarget(600000000000000000, 20000000000000000)".
  void set_known_errors(std::vector<chain::AbiSignature> errors) {
    known_errors_ = std::move(errors);
  }
  // One sentence for an RPC error, the revert decoded by name where possible.
  [[nodiscard]] std::string explain(const chain::RpcError& error) const;
  [[nodiscard]] std::int64_t last_publish_time() const noexcept { return last_publish_time_; }

 private:
  // The steps of tick(), in order.
  bool read_head(TickSummary& summary);     // false: no head this tick (the error is recorded)
  void run_pipeline(TickSummary& summary);  // one block-pinned poll, the pipeline, its incidents
  void publish(TickSummary& summary);       // reports sent and recorded in the store
  void fire_actions(TickSummary& summary);  // rebalance, settle, startEpoch when they would pass
  void try_action(const chain::Address& target, const char* signature, const std::string& label,
                  TickSummary& summary);
  void follow_reports(TickSummary& summary);
  // The store row of a report, pending (tx_id empty while it waits).
  void add_report_row(const TickSummary& summary, const OnchainReport& r,
                      std::optional<std::uint64_t> tx_id);
  // A report that will never go on chain: its row's final state, a line, and the summary.
  void end_report(TickSummary& summary, const UnsentReport& report, bool dropped);
  // TxManager::before_attempt for report transactions: why it would revert now, if it would.
  [[nodiscard]] std::optional<std::string> resimulate(const chain::TxRecord& rec);

  chain::EthClient& eth_;
  chain::TxManager& tx_;
  ChainlinkSource& source_;
  Pipeline& pipeline_;
  Reporter& reporter_;
  ActionTargets actions_;
  KeeperStore* store_;
  std::uint64_t ticks_ = 0;
  std::int64_t last_publish_time_ = 0;
  // Open report transactions: tx record id -> the reports it carries.
  std::map<std::uint64_t, std::vector<OnchainReport>> in_flight_;
  // Report transactions seen confirmed and not yet final (a reorg of one is said once).
  std::set<std::uint64_t> mined_once_;
  std::map<std::string, std::uint64_t> open_actions_;  // label -> tx record id
  std::map<std::string, std::string> last_refusal_;    // label -> why the last simulation failed
  std::vector<chain::AbiSignature> known_errors_;
};

// Runs `loop` every `interval` until a stop is requested (or `max_ticks` ticks), printing one
// status line per tick to `out`. `before_tick` runs first in each round (the local market moves
// feeds). A stop requested during a tick lets that tick finish; between ticks the loop sleeps in
// StopSignals::wait_for_stop, so a signal ends the wait at once.
void run_keeper(KeeperLoop& loop, std::chrono::milliseconds interval, const StopSignals& stop,
                std::ostream& out, std::optional<std::uint64_t> max_ticks = std::nullopt,
                const std::function<void(std::uint64_t)>& before_tick = {},
                const std::function<void(const TickSummary&)>& after_tick = {});

}  // namespace varkeeper::keeper
