// Scripted market scenarios for the circuit breaker (issue 5 "Done when"): flash crash and
// recovery, one of three sources manipulated, stale sources, stablecoin depeg, slow grind down,
// volatility regime shift, and a calm control. Each scenario is a deterministic list of
// latestRoundData snapshots per source, as a keeper polling every step_s would see them from
// Chainlink-style feeds (new round when the price moved beyond the feed's deviation threshold or
// its heartbeat elapsed). run_scenario() pushes them through the whole breaker stage: source
// checks -> asset consensus -> EWMA normal VaR -> circuit breaker -> action thresholds, and
// measures what docs/breaker.md tabulates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "risk/breaker_config.hpp"
#include "risk/circuit_breaker.hpp"
#include "risk/price_checks.hpp"
#include "risk/signal_var.hpp"
#include "risk/smoothing.hpp"

namespace varkeeper::risk {

enum class ScenarioKind : std::uint8_t {
  kCalm,
  kFlashCrash,
  kManipulatedSource,
  kStaleSource,
  kStablecoinDepeg,
  kSlowGrind,
  kVolRegimeShift,
};

inline constexpr ScenarioKind kAllScenarios[] = {
    ScenarioKind::kCalm,           ScenarioKind::kFlashCrash,      ScenarioKind::kManipulatedSource,
    ScenarioKind::kStaleSource,    ScenarioKind::kStablecoinDepeg, ScenarioKind::kSlowGrind,
    ScenarioKind::kVolRegimeShift,
};

struct Scenario {
  ScenarioKind kind = ScenarioKind::kCalm;
  std::string name;         // "flash-crash", ...
  std::string description;  // one sentence
  std::int64_t start = 0;   // time of the first update
  std::int64_t step_s = 300;
  std::int64_t onset = 0;      // first time the scripted event acts
  std::int64_t event_end = 0;  // last time it acts (trips outside [onset, event_end] are false)
  std::vector<std::int64_t> heartbeats_s;        // per source
  std::vector<std::vector<RoundData>> readings;  // [update][source]
  std::vector<double> true_price;                // [update] the market price behind the feeds
  double daily_vol = 0.0;                        // the calm regime's daily volatility
};

// Scenario parameters: 3 sources, 5-minute polls, 3 days, event at 24 h. ETH-like feeds:
// deviation 0.5 %, heartbeat 3600 s; stablecoin feeds: deviation 0.25 %, heartbeat 86400 s
// (modelled on the parameters data.chain.link lists for ETH/USD and USDC/USD on Ethereum mainnet).
[[nodiscard]] Scenario make_scenario(ScenarioKind kind);

// Gas proxy: a report is sent when the status changes, the figure moved more than `deviation`
// (relative) from the last sent one, or `heartbeat_s` elapsed (the deviation/heartbeat rule of
// Chainlink's data feeds, applied to the VaR).
struct ScenarioPublishRule {
  double deviation = 0.02;
  std::int64_t heartbeat_s = 86'400;
};

struct ScenarioUpdate {
  std::int64_t t = 0;
  AssetVerdict verdict;
  double computed = 0.0;  // unsmoothed VaR
  BreakerOutput breaker;
  ActionEdge rebalance = ActionEdge::kNone;
  ActionEdge payout = ActionEdge::kNone;
  bool sent = false;  // would be published under ScenarioPublishRule
};

struct ScenarioResult {
  std::vector<ScenarioUpdate> updates;
  std::optional<std::int64_t> time_to_detect;  // seconds from onset to the first reaction
  std::string detected_by;                     // "trip", "incident: stale", "rebalance", ...
  std::optional<std::int64_t> time_to_trip;    // seconds from onset to the first trip
  int trips = 0;                               // transitions into tripped
  int false_trips = 0;                         // ... starting outside [onset, event_end]
  double max_gap = 0.0;                        // max |published - computed|
  int sent = 0;                                // reports sent with the breaker stage
  int sent_raw = 0;                            // reports sent publishing the computed VaR
  double peak_computed = 0.0;
  double peak_published = 0.0;
  int rebalances = 0;  // kFired edges of the rebalance threshold
};

// The VaR model the scenarios use: 99 %, one day, 12 h variance half-life, prior = the scenario's
// calm daily volatility.
[[nodiscard]] SignalVarConfig scenario_var_config(const Scenario& s);

[[nodiscard]] ScenarioResult run_scenario(const Scenario& scenario, const BreakerConfig& config,
                                          const ScenarioPublishRule& rule = {});

}  // namespace varkeeper::risk
