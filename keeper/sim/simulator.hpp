// Dry-run simulation (issue 8, DESIGN §1 "dry-run simulation" mode): a simulated clock and price
// sources fed from a scenario (keeper/scenario.hpp) drive the daemon's own Pipeline; the reports
// it decides to publish go, as the OnchainReport the keeper would sign, to a ReportSink: by default
// an in-memory one that applies RiskOracle's acceptance rules (docs/contracts.md), or the real
// contract on anvil (keeper/chain_sink.hpp); simple models of RiskRebalancer and
// VaRProtection act on what was accepted; VaR exceptions are counted against the realised
// next-period loss; gas is estimated from the measured figures of docs/benchmarks.md.
// Deterministic: the same scenario, options and seed give the same result, bit for bit.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "keeper/core/pipeline.hpp"
#include "keeper/core/risk_report.hpp"
#include "keeper/sim/scenario.hpp"
#include "risk/backtest.hpp"

namespace varkeeper::keeper {

// RiskOracle's refusals a report can meet without signatures (its custom errors, same order).
enum class OracleRefusal {
  kNone,
  kInvalidConfidence,
  kInvalidHorizon,
  kInvalidBreakerStatus,
  kInvalidFigures,  // not VaR <= CVaR <= 1
  kFutureReport,
  kStaleReport,
  kRoundNotIncreasing,
  kRoundJumpTooLarge,  // round > previous round + 2^32 (also from 0 to the first)
  kTooSoon,            // observedAt <= previous, or < previous + minInterval
  kVaRChangeTooLarge,
  kCVaRChangeTooLarge,
};
[[nodiscard]] const char* to_string(OracleRefusal r) noexcept;
// Every refusal (not kNone), in the order above.
inline constexpr OracleRefusal kOracleRefusals[] = {OracleRefusal::kInvalidConfidence,
                                                    OracleRefusal::kInvalidHorizon,
                                                    OracleRefusal::kInvalidBreakerStatus,
                                                    OracleRefusal::kInvalidFigures,
                                                    OracleRefusal::kFutureReport,
                                                    OracleRefusal::kStaleReport,
                                                    OracleRefusal::kRoundNotIncreasing,
                                                    OracleRefusal::kRoundJumpTooLarge,
                                                    OracleRefusal::kTooSoon,
                                                    OracleRefusal::kVaRChangeTooLarge,
                                                    OracleRefusal::kCVaRChangeTooLarge};

// RiskOracle's constants the in-memory sink applies (contracts/src/RiskOracle.sol). The change
// policy is the contract's default: neither the scenario nor `simulate --chain local` calls
// setChangePolicy.
namespace oracle {
inline constexpr std::uint64_t kMaxRoundJump = std::uint64_t{1} << 32;  // MAX_ROUND_JUMP
inline constexpr std::uint64_t kChangePeriod = 3600;  // DEFAULT_CHANGE_PERIOD, seconds
inline constexpr std::uint64_t kBreakerWidening = 4;  // DEFAULT_BREAKER_WIDENING
}  // namespace oracle

// Where the simulator's reports go: the in-memory RiskOracle below (the default), or the real
// contract on an anvil node (keeper/chain_sink.hpp, `simulate --chain local`).
class ReportSink {
 public:
  virtual ~ReportSink() = default;
  // Before the first tick: the portfolios that will report, the oracle limits of the scenario,
  // and the time of the first tick. Throws ScenarioError when the sink cannot apply them.
  virtual void open(const std::vector<PortfolioSpec>& portfolios, const OracleLimits& limits,
                    std::int64_t first_time) = 0;
  // One tick's reports (distinct portfolios) checked at block time `now`: each is accepted
  // (stored) or refused with RiskOracle's error, in the order given.
  virtual std::vector<OracleRefusal> submit_tick(const std::vector<OnchainReport>& reports,
                                                 std::int64_t now) = 0;
  // The latest accepted report of a portfolio (nullptr: none yet).
  [[nodiscard]] virtual const OnchainReport* latest(std::uint64_t portfolio_id) const = 0;
  // Gas of the transaction that carried the last submit_tick's accepted reports, from its
  // receipt; nullopt when the sink does not pay gas (the simulator then estimates it).
  [[nodiscard]] virtual std::optional<std::uint64_t> last_gas() const { return std::nullopt; }
  // One line for the summary: what checked the reports.
  [[nodiscard]] virtual std::string describe() const = 0;
};

// The in-memory report sink: RiskOracle's per-report checks (RiskOracle.sol _checkFields and
// _checkHistory, same order, same integer arithmetic) at block time `now`, and its storage of the
// latest accepted report (_write: an observation time ahead of `now` is stored as `now`).
class OracleSink final : public ReportSink {
 public:
  OracleSink() = default;
  explicit OracleSink(const OracleLimits& limits) : limits_(limits) {}
  void open(const std::vector<PortfolioSpec>& portfolios, const OracleLimits& limits,
            std::int64_t first_time) override;
  std::vector<OracleRefusal> submit_tick(const std::vector<OnchainReport>& reports,
                                         std::int64_t now) override;
  // Accepts (stores) or refuses the report.
  OracleRefusal submit(const OnchainReport& report, std::int64_t now);
  [[nodiscard]] const OnchainReport* latest(std::uint64_t portfolio_id) const override;
  [[nodiscard]] std::string describe() const override { return "in-memory RiskOracle"; }

 private:
  OracleLimits limits_;
  std::map<std::uint64_t, OnchainReport> latest_;
};

// One tick of one portfolio.
struct SimPoint {
  std::int64_t t = 0;
  bool has_estimate = false;
  double value = 0.0;
  double computed_var = 0.0;
  double computed_cvar = 0.0;
  double published_var = 0.0;  // the pipeline's figures after the breaker
  double published_cvar = 0.0;
  double onchain_var = 0.0;  // the latest accepted report after this tick (0: none yet)
  double onchain_cvar = 0.0;
  risk::BreakerStatus status = risk::BreakerStatus::kNormal;
  std::string reasons;  // trip reasons at this tick ("none")
  PublishReason publish = PublishReason::kNone;
  OracleRefusal refusal = OracleRefusal::kNone;  // when publish != none
  bool accepted = false;
  risk::ActionEdge rebalance = risk::ActionEdge::kNone;
  risk::ActionEdge payout = risk::ActionEdge::kNone;
  double vault_weight = 0.0;   // risky share of the rebalancer's vault
  bool vault_swapped = false;  // the vault swapped at this tick (one RiskRebalancer trade)
  bool exception = false;      // the realised loss of the period starting here exceeded its VaR
  double realised_loss = 0.0;  // of that period (when it is a backtest sample)
  bool sample = false;         // a backtest forecast starts here
};

struct PortfolioSummary {
  std::uint64_t id = 0;
  std::string name;
  std::string method;
  double confidence = 0.99;
  std::size_t estimates = 0;
  std::size_t reports_published = 0;
  std::size_t reports_refused = 0;
  std::map<std::string, std::size_t> refusals;  // by RiskOracle error name
  std::size_t backtest_obs = 0;
  std::size_t exceptions = 0;
  double expected_exceptions = 0.0;
  double kupiec_p = 1.0;
  double christoffersen_ind_p = 1.0;
  double christoffersen_cc_p = 1.0;
  std::string zone = "green";
  double es_z2 = 0.0;  // Acerbi-Szekely Z2 (< 0: risk understated)
  // Christoffersen-Pelletier duration test and Engle-Manganelli DQ test (4 lags) on the same
  // samples (risk/backtest_duration.hpp); *_defined false when the samples do not allow them
  // (no uncensored duration; too few samples for the DQ regression).
  bool duration_defined = false;
  double duration_lr = 0.0;
  double duration_p = 1.0;
  double duration_weibull_b = 1.0;
  bool dq_defined = false;
  double dq = 0.0;
  double dq_p = 1.0;
  int dq_dof = 0;
  std::size_t breaker_trips = 0;
  std::size_t ticks_tripped = 0;
  double peak_computed_var = 0.0;
  double peak_var = 0.0;  // published (on chain)
  double peak_cvar = 0.0;
  std::size_t rebalances = 0;       // vault swaps (fired and reset edges)
  std::size_t payout_triggers = 0;  // payout threshold fired edges
  std::size_t epochs = 0;           // VaRProtection epochs settled
  std::size_t payouts = 0;          // epochs whose loss exceeded the VaR at their start
  double premium_per_unit = 0.0;    // sum over epochs, per unit notional
  double payout_per_unit = 0.0;     // sum over epochs, per unit notional
  double vault_return = 0.0;        // rebalanced vault, first estimate to end
  double hold_return = 0.0;         // the portfolio held
  double gas = 0.0;                 // estimated gas units, the sum of:
  double gas_reports = 0.0;         //   RiskOracle submit / submitBatch
  double gas_rebalances = 0.0;      //   RiskRebalancer.rebalance
  double gas_protection = 0.0;      //   VaRProtection startEpoch + settle
  double cost_eth = 0.0;
  double cost_usd = 0.0;
};

struct FeedbackSummary {
  bool enabled = false;
  std::string asset;
  double min_price = 0.0;
  double max_drawdown = 0.0;  // of the AMM price from its running maximum
  double max_discount = 0.0;  // max of 1 - amm / market
  double risky_sold = 0.0;
  std::size_t trades = 0;
};

struct SimulationOptions {
  std::optional<std::uint64_t> seed;           // replaces the scenario's seed
  std::optional<std::string> from, to;         // replaces the scenario's clock dates (YYYY-MM-DD)
  std::vector<PortfolioSpec> portfolios;       // non-empty: replaces the scenario's portfolios
  std::optional<risk::BreakerConfig> breaker;  // replaces the scenario's breaker
  // Called every few ticks with (done, total); not part of the result.
  std::function<void(std::size_t, std::size_t)> progress;
  // Where reports go; nullptr: a fresh in-memory OracleSink. Opened by run_simulation.
  ReportSink* sink = nullptr;
};

struct SimulationResult {
  std::string scenario;
  std::string description;
  std::uint64_t seed = 0;
  std::vector<std::string> assets;
  std::vector<std::int64_t> times;          // per tick
  std::vector<std::vector<double>> prices;  // [tick][asset] consensus, NaN when unusable
  std::vector<std::vector<double>> market;  // [tick][asset] the market price behind the feeds
  std::vector<PortfolioSpec> portfolios;
  std::vector<std::vector<SimPoint>> points;  // [portfolio][tick]
  std::vector<PortfolioSummary> summaries;
  std::vector<Incident> incidents;
  FeedbackSummary feedback;
  GasModel gas;
  std::string sink;                  // ReportSink::describe()
  bool report_gas_measured = false;  // report gas from receipts (else estimated)
};

// Throws ScenarioError (one sentence) for a scenario that cannot run (unreadable CSV, no tick in
// the window, a portfolio holding an asset the scenario lacks).
[[nodiscard]] SimulationResult run_simulation(const ScenarioSpec& scenario,
                                              const SimulationOptions& options = {});

// Gas per operation (anvil receipts, quorum 1). The report figures are RiskOracle after issue
// 14's gas item (its second part, the signature loop and report buffer) with the portfolio's value
// changed at every report, as in every simulated report: contracts/tools/measure_gas.sh (which
// moves value, VaR and CVaR every round); steady submit 50,995, submitBatch of 1 51,997, of 5
// 151,797, first write of a portfolio 110,319 (docs/benchmarks.md).
namespace gas {
inline constexpr double kSubmit = 50'995;                      // submit, quorum 1, steady state
inline constexpr double kFirstReportExtra = 110'319 - 50'995;  // three fresh slots
inline constexpr double kBatchFirst = 51'997;                  // submitBatch of one report
inline constexpr double kBatchPerExtra = (151'797 - 51'997) / 4.0;  // each extra portfolio
inline constexpr double kRebalance = 152'700;  // RiskRebalancer.rebalance with the swap
// VaRProtection v2 (issue 14), cold single calls: contracts/test/VaRProtectionGas.t.sol.
inline constexpr double kStartEpoch = 136'300;    // VaRProtection.startEpoch (EIP-1167 token)
inline constexpr double kStartCoverage = 76'600;  // VaRProtection.startCoverage()
inline constexpr double kSettle = 70'800;         // VaRProtection.settle()
}  // namespace gas

}  // namespace varkeeper::keeper
