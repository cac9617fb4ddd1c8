// The daemon's side of RiskOracle v2's change limit (issue 14): each portfolio's limit
// (RiskOracle.limits and changePolicy) and the report the oracle holds (latest) are read from the
// chain and handed to the pipeline, which steps its published figures within the limit
// (keeper/core/change_limit.hpp), exactly as the simulator does with the scenario's limit.
//
// They are read again while the keeper runs, because both change under it: the owner changes
// limits through the oracle's timelock, and a report the keeper sent may not land (reverted,
// dropped, replaced), after which the oracle measures the next change from the report it still
// holds, not from the one the keeper sent. OracleSync re-reads
//   - every kOracleSyncTicks ticks (10: two minutes at the default 12 s tick; a limit change
//     waits at least the oracle's MIN_CHANGE_DELAY of one hour in the timelock, so the keeper
//     follows it long before it could matter),
//   - on the tick a report is refused by its simulation, and on the tick its report transaction
//     ends (mined, reverted or fatal: latest() then says whether it landed),
//   - on the next tick after a read failed.
// A portfolio whose report transaction is still in flight keeps the sent report as its base (the
// oracle measures from it if it lands); otherwise the base is the oracle's latest().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "chain/address.hpp"
#include "chain/eth_client.hpp"
#include "keeper/core/change_limit.hpp"
#include "keeper/core/pipeline.hpp"
#include "keeper/core/risk_report.hpp"
#include "keeper/daemon/keeper_loop.hpp"

namespace varkeeper::keeper {

// Ticks between two periodic reads of the oracle's limits and latest reports.
inline constexpr std::uint64_t kOracleSyncTicks = 10;

// RiskOracle.limits(pid).maxVaRChange and changePolicy(pid); nullopt when a call fails or its
// answer does not decode (the reason in `why`).
[[nodiscard]] std::optional<ChangeLimit> read_change_limit(chain::EthClient& eth,
                                                           const chain::Address& oracle,
                                                           std::uint64_t portfolio_id,
                                                           std::string& why);

class OracleSync {
 public:
  // `tx_open(id)`: whether the transaction manager's record `id` (TickSummary::submitted.tx_id)
  // is still open, i.e. not yet mined and not fatal. `every_ticks` = 0 reads only at start and
  // after refusals and ended report transactions.
  OracleSync(chain::EthClient& eth, const chain::Address& oracle, Pipeline& pipeline,
             std::function<bool(std::uint64_t)> tx_open,
             std::uint64_t every_ticks = kOracleSyncTicks);

  // Before the first tick: every portfolio's limit and stored report (Pipeline::
  // restore_published). Returns one sentence per portfolio that could not be read (the keeper
  // still runs; its reports are then checked by the eth_call simulation before they are sent).
  std::vector<std::string> start();

  // After each tick (`s` is its summary, reports sent included): reads the oracle again when due
  // (see above) and moves the pipeline's limit and base to what the oracle holds. Returns one
  // sentence per read that failed.
  std::vector<std::string> after_tick(const TickSummary& s);

  // What the pipeline was last given for a portfolio: its change limit, and the report its next
  // figures are stepped from (the oracle's, or the one sent and still in flight).
  [[nodiscard]] std::optional<ChangeLimit> limit(std::uint64_t portfolio_id) const;
  [[nodiscard]] std::optional<OnchainReport> base(std::uint64_t portfolio_id) const;
  // Reads of the oracle so far (start included).
  [[nodiscard]] std::uint64_t reads() const noexcept { return reads_; }

 private:
  std::vector<std::string> read(bool at_start);

  chain::EthClient& eth_;
  chain::Address oracle_;
  Pipeline& pipeline_;
  std::function<bool(std::uint64_t)> tx_open_;
  std::uint64_t every_ticks_;
  std::map<std::uint64_t, ChangeLimit> limits_;
  std::map<std::uint64_t, OnchainReport> base_;
  std::map<std::uint64_t, std::uint64_t> awaiting_;  // portfolio -> open tx of its sent report
  bool retry_ = false;                               // a read failed: read again on the next tick
  std::uint64_t reads_ = 0;
};

}  // namespace varkeeper::keeper
