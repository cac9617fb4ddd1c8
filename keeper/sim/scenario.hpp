// A market scenario for `varkeeper simulate` (issue 8): where prices come from (a replay of daily
// closes from CSV files, or a synthetic market), the events layered on top (volatility regime,
// jump, depeg, one source manipulated, a feed frozen, an RPC outage, the rebalancer feedback
// loop through an AMM), the portfolios, the breaker, and the models of the on-chain side (the
// RiskOracle's acceptance limits, gas, VaRProtection, RiskRebalancer). The file format is TOML
// (https://toml.io/en/v1.0.0), documented key by key in docs/simulate.md, read by the keeper
// config's reader (keeper/config/toml_table.hpp): unknown keys are errors, every error is one
// ScenarioError sentence naming the file, the line and the key, and [[portfolios]] and [breaker]
// are the keeper config's tables (keeper/config/portfolio_schema.hpp, breaker_schema.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "keeper/core/pipeline.hpp"
#include "risk/breaker_config.hpp"

namespace varkeeper::keeper {

class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// [[assets]]: one asset, its market model and the oracle sources that report it.
struct ScenarioAsset {
  std::string symbol;
  std::optional<std::filesystem::path> csv;  // date,close; replay (resolved path)
  double price = 1000.0;                     // synthetic: first price
  double daily_vol = 0.03;                   // synthetic: daily log-return volatility
  double daily_drift = 0.0;                  // synthetic: daily log-return drift
  std::vector<std::string> sources;          // source names ("s1", "s2", "s3" by default)
  std::int64_t heartbeat_s = 3600;           // of every source's feed
  double feed_deviation = 0.005;  // a feed opens a round on this relative move (or heartbeat)
  double noise = 0.0002;          // per-source venue noise, log standard deviation
};

enum class EventKind {
  kVolRegime,   // asset volatility x factor in [from, to)
  kJump,        // asset price x (1 + size) at `from`, permanent
  kDepeg,       // asset price glides linearly to x level over [from, to], then stays
  kManipulate,  // one source's answer x factor in [from, to)
  kFreeze,      // one source (or all) opens no new round in [from, to): stale feed
  kOutage,      // no source can be read in [from, to): RPC outage
};
[[nodiscard]] const char* to_string(EventKind k) noexcept;

// [[events]]; times are days since the first simulated tick (fractions allowed).
struct ScenarioEvent {
  EventKind kind = EventKind::kJump;
  std::string asset;                  // empty for an outage
  std::optional<std::size_t> source;  // kManipulate / kFreeze; empty = every source (freeze)
  double from_day = 0.0;
  double to_day = 1e300;
  double value = 1.0;  // factor, size or level
};

// [oracle]: RiskOracle.setLimits and the report fields the keeper would sign.
struct OracleLimits {
  std::int64_t max_age_s = 7200;    // StaleReport beyond this
  std::int64_t min_interval_s = 0;  // TooSoon below this
  double max_var_change = 1.0;      // (C)VaRChangeTooLarge beyond this relative move per hour
                                    // (x4 while tripped; RiskOracle v2 default change policy)
  std::int64_t max_future_s = 15;   // FutureReport
};

// [gas]: per docs/benchmarks.md "Contracts (gas)"; cost at this price.
struct GasModel {
  double price_gwei = 20.0;
  double eth_usd = 3000.0;
};

// [protection]: VaRProtection epochs (docs/contracts.md).
struct ProtectionModel {
  bool enabled = true;
  double loading = 1.0;
  double premium_floor = 0.0;
  double payout_cap = 1.0;
};

// [rebalancer]: RiskRebalancer driven by the breaker's rebalance hysteresis edges.
struct RebalancerModel {
  double normal_weight = 1.0;    // risky share of the vault normally
  double risk_off_weight = 0.5;  // after the upper threshold fired
  int fee_bps = 30;              // swap fee (Uniswap v2)
  // As RiskRebalancer's execution policy (issue 14, finding 11); no swap while tripped either.
  double max_trade = 1.0;       // largest swap, as a share of the vault's value (1: whole)
  std::int64_t cooldown_s = 0;  // seconds between two swaps
};

// [feedback]: the rebalancer feedback loop (issue 5 item 4): the first portfolio's vault trades
// `asset` through a constant-product AMM whose price every source reads; arbitrage closes
// `arb_speed` of the log gap to the market price per tick.
struct FeedbackModel {
  bool enabled = false;
  std::string asset;
  double amm_risky = 10'000.0;  // AMM reserve of the asset (stable reserve = risky x price)
  double vault_risky = 3'000.0;
  double arb_speed = 0.2;
  double max_price_impact = 0.02;  // per tick, the vault works larger orders off in slices
};

struct ScenarioSpec {
  std::filesystem::path file;
  std::string name;
  std::string description;
  std::uint64_t seed = 1;
  // Clock. Replay: ticks are the CSV rows in [from, to] (one per day), the rows before `from`
  // are history. Synthetic: `days` of ticks every step_s from `from`, after `history_days` of
  // daily closes generated by the same model.
  bool replay = false;
  std::string from;  // YYYY-MM-DD (replay: optional, default = first row after the window)
  std::string to;    // YYYY-MM-DD (replay: optional, default = last row)
  double days = 90.0;
  std::int64_t step_s = 3600;
  std::size_t history_days = 500;
  std::vector<ScenarioAsset> assets;
  std::vector<ScenarioEvent> events;
  std::vector<PortfolioSpec> portfolios;  // empty: one equal-value portfolio of every asset
  risk::BreakerConfig breaker;
  OracleLimits oracle;
  GasModel gas;
  ProtectionModel protection;
  RebalancerModel rebalancer;
  FeedbackModel feedback;
};

[[nodiscard]] ScenarioSpec load_scenario(const std::filesystem::path& file);
[[nodiscard]] ScenarioSpec parse_scenario(std::string_view toml_text,
                                          const std::filesystem::path& file);

// A replay scenario of the given date,close files (as `--prices`): three sources per asset.
[[nodiscard]] ScenarioSpec replay_scenario(const std::vector<std::filesystem::path>& csv_files);

// Days since 1970-01-01 of a valid YYYY-MM-DD date.
[[nodiscard]] std::optional<std::int64_t> parse_iso_date(std::string_view text) noexcept;
// "YYYY-MM-DD" and "YYYY-MM-DDTHH:MM:SSZ" of Unix seconds (UTC).
[[nodiscard]] std::string iso_date(std::int64_t unix_s);
[[nodiscard]] std::string iso_time(std::int64_t unix_s);

}  // namespace varkeeper::keeper
