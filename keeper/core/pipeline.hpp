// The one pipeline of DESIGN §1, shared by the daemon, the local testnet and the simulator:
//   readings -> input checks and consensus -> history -> risk engine -> breaker/smoother
//            -> publish policy -> reports (to a sink) and action edges.
// Pure apart from the risk engine's threads: no I/O, no clock (time is an argument), so the
// same inputs give the same outputs in every mode.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chain/bytes.hpp"
#include "keeper/core/change_limit.hpp"
#include "keeper/core/incident.hpp"
#include "keeper/core/risk_report.hpp"
#include "risk/breaker_config.hpp"
#include "risk/circuit_breaker.hpp"
#include "risk/price_checks.hpp"
#include "risk/risk_method.hpp"
#include "risk/smoothing.hpp"

namespace varkeeper::keeper {

struct SourceSpec {
  std::string name;
  std::int64_t heartbeat_s = 3600;
};

struct AssetSpec {
  std::string symbol;
  std::vector<SourceSpec> sources;
};

struct PublishSpec {
  double deviation = 0.05;          // relative change of published VaR that triggers a report
  std::int64_t heartbeat_s = 3600;  // a report at least this often
};

struct PortfolioSpec {
  std::uint64_t id = 0;
  std::string name;
  std::vector<std::pair<std::string, double>> positions;  // asset symbol, quantity
  risk::RiskMethod method = risk::RiskMethod::kHistorical;
  risk::RiskOptions risk;          // confidence, horizon (periods), paths, seed, lambdas
  std::int64_t period_s = 86'400;  // the return interval
  std::size_t window = 250;        // returns used per estimate
  std::size_t min_obs = 30;        // fewer: no estimate yet
  PublishSpec publish;
  chain::Hash32 config_hash{};  // methodology hash that goes on chain
};

struct PipelineConfig {
  std::vector<AssetSpec> assets;
  std::vector<PortfolioSpec> portfolios;
  risk::BreakerConfig breaker;
};

// One source's answer at this tick (already scaled by the feed's decimals). A source that could
// not be read this tick is absent (or has fetched = false): that is not a price.
struct PriceReading {
  std::string asset;
  std::string source;
  risk::RoundData round;
  bool fetched = true;
};

// kCatchUp: the published figures lag the breaker's because of the oracle's change limit, and a
// whole change period has passed since the last report (its allowance is full): the next step.
enum class PublishReason { kNone, kFirst, kDeviation, kHeartbeat, kBreaker, kCatchUp };
[[nodiscard]] const char* to_string(PublishReason r) noexcept;

struct PortfolioUpdate {
  std::uint64_t portfolio_id = 0;
  std::int64_t t = 0;
  bool has_estimate = false;    // enough history and usable prices
  double value = 0.0;           // portfolio value in the price unit (USD)
  risk::RiskEstimate computed;  // the engine's figures (fractions of value)
  double published_var = 0.0;   // what the report carries: the target, stepped within the
  double published_cvar = 0.0;  // oracle's change limit (keeper/core/change_limit.hpp)
  double target_var = 0.0;      // the breaker's figures the published ones step towards
  double target_cvar = 0.0;
  bool stepped = false;  // published != target: the change limit holds the figures back
  risk::BreakerStatus status = risk::BreakerStatus::kNormal;
  risk::TripReasons reasons;
  PublishReason publish = PublishReason::kNone;
  risk::ActionEdge rebalance = risk::ActionEdge::kNone;
  risk::ActionEdge payout = risk::ActionEdge::kNone;
  // The report's observation time: the tick's time (the pinned block's timestamp in the daemon)
  // when every asset held has a usable consensus this tick, else the last time the staler one had.
  // Each source used is fresh within its own heartbeat (the staleness check), so a quiet but fresh
  // feed (0.5 % deviation / 1 h heartbeat) cannot hold reports back (issue 16, defect 10).
  std::int64_t observed_at = 0;
  std::string note;  // why there is no estimate, if none
};

struct TickResult {
  std::int64_t t = 0;
  std::map<std::string, double> prices;  // consensus per usable asset
  std::vector<PortfolioUpdate> portfolios;
  std::vector<Incident> incidents;
};

class Pipeline {
 public:
  explicit Pipeline(PipelineConfig config);
  ~Pipeline();
  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;

  // Bootstrap history: closes of `asset` at period starts (seconds), oldest first; applied to
  // every return interval the portfolios use (resampled: the last close in each period).
  void seed_history(const std::string& asset,
                    const std::vector<std::pair<std::int64_t, double>>& closes);

  // One tick at time `now`. `readings` are this tick's source answers.
  [[nodiscard]] TickResult tick(std::int64_t now, const std::vector<PriceReading>& readings);

  // Tell the pipeline a report was accepted on chain (or by the dry-run sink): the publish policy
  // measures deviation and heartbeat from it.
  void mark_published(std::uint64_t portfolio_id, std::int64_t t, double var);
  // The same for the report itself: its WAD figures and observation time are also where the next
  // report's change limit is measured from (the oracle's stored report).
  void mark_published(const OnchainReport& report, std::int64_t t);
  // The report the oracle holds when the keeper starts (accepted at `accepted_at`): the base of
  // the change limit and of the heartbeat, as mark_published. The first publish decision after it
  // still sends a report when the figures differ from the stored ones (kFirst: this run's first
  // report, as a keeper that knows of no report sends), so a restarted keeper publishes on its
  // first tick; with the very figures stored, only the heartbeat or the deviation rule sends one.
  void restore_published(const OnchainReport& report, std::int64_t accepted_at);

  // The oracle's change limit for a portfolio (RiskOracle.limits / changePolicy): from now on the
  // published figures move towards the breaker's at most as fast as it allows. Without one (or
  // with max_change 0) the figures are published as they are.
  void set_change_limit(std::uint64_t portfolio_id, const ChangeLimit& limit);

  // The Monte Carlo seed of a portfolio's next estimates (the keeper network seeds each round
  // from (portfolio, round): keeper/network/round_rule.hpp). A new seed is a new estimate even
  // when the window of returns is unchanged.
  void set_risk_seed(std::uint64_t portfolio_id, std::uint64_t seed);

  [[nodiscard]] const PipelineConfig& config() const noexcept { return config_; }
  // Number of closes held for `asset` at `period_s`.
  [[nodiscard]] std::size_t history_size(const std::string& asset, std::int64_t period_s) const;

 private:
  struct State;
  PipelineConfig config_;
  std::unique_ptr<State> state_;
};

}  // namespace varkeeper::keeper
