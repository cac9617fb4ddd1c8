// Every parameter of the input checks, the circuit breaker, the smoother and the action thresholds,
// with safe defaults. Units are in the names: *_s are seconds, fractions are plain doubles
// (0.02 = 2 %), VaR levels are positive loss fractions (0.10 = a 10 % loss), DESIGN.md §3.
// docs/breaker.md explains each default and the trade-off it makes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace varkeeper::risk {

// Per-source and per-asset price checks (risk/price_checks.hpp).
struct PriceCheckConfig {
  // A reading is stale once now - updatedAt > the feed's own heartbeat + this grace.
  std::int64_t heartbeat_grace_s = 300;
  // updatedAt more than this ahead of the keeper's clock is refused (clock skew allowance).
  std::int64_t max_future_skew_s = 60;
  // |p / p_ref - 1| above this, against the source's last accepted price, is a suspicious step.
  double max_step_move = 0.20;
  // A suspicious level is accepted as real once it has persisted this long (a flash crash that
  // reverts sooner never enters the history; a real move enters late by at most this much).
  std::int64_t step_confirm_s = 1800;
  // A source is an outlier when |p - median| > mad_k * 1.4826 * MAD and > max_disagreement * median
  // (1.4826 makes the MAD a consistent estimator of a normal standard deviation).
  double mad_k = 3.0;
  // After dropping outliers, any kept source farther than this from the median: asset unusable.
  double max_disagreement = 0.02;
};

// What the published value does while the breaker is tripped. On-chain / config names in to_string.
enum class TripPolicy : std::uint8_t {
  kFreeze,        // "freeze": the last good published value
  kConservative,  // "conservative": max(last good, current computed)
  kPassThrough,   // "pass-through": the current computed value
};

// The per-portfolio state machine (risk/circuit_breaker.hpp).
struct BreakerTriggerConfig {
  // VaR jump trigger: computed > factor * reference (or < reference / factor) and the absolute
  // change exceeds jump_min_abs (so noise around a tiny VaR cannot trip it).
  double var_jump_factor = 2.0;
  double var_jump_min_abs = 0.01;
  // Tripped -> cooldown once no trigger has fired for clear_s; cooldown -> normal after
  // cooldown_s without a trigger (a trigger in cooldown trips again).
  std::int64_t clear_s = 900;
  std::int64_t cooldown_s = 3600;
  TripPolicy policy = TripPolicy::kConservative;
};

// EMA and asymmetric rate limiter (risk/smoothing.hpp), applied outside the tripped state.
struct SmoothingConfig {
  // EMA half-life; alpha = 1 - 2^(-dt / half_life). 0 disables the EMA.
  std::int64_t ema_half_life_s = 900;
  // Relative caps (0.5 = +50 %) on the move from the previous published value, per update, and
  // over any window shorter than one hour. Risk may rise fast and falls slowly (a ratchet).
  double max_rise_per_update = 0.50;
  double max_fall_per_update = 0.02;
  double max_rise_per_hour = 2.00;
  double max_fall_per_hour = 0.10;
  // Caps are taken relative to max(value, var_floor) so a VaR of 0 can still move.
  double var_floor = 0.001;
  bool enabled = true;
};

// An action threshold with hysteresis: fires once the value has stayed >= upper for min_dwell_s,
// resets once it has stayed <= lower for min_dwell_s. Requires lower <= upper.
struct HysteresisConfig {
  double upper = 0.12;
  double lower = 0.09;
  std::int64_t min_dwell_s = 900;
};

struct ActionThresholds {
  HysteresisConfig rebalance{0.12, 0.09, 900};
  HysteresisConfig payout{0.25, 0.15, 1800};
};

struct BreakerConfig {
  // false: the whole breaker/smoother stage is a pass-through (published == computed, status
  // normal). The input checks still run and still record incidents.
  bool enabled = true;
  PriceCheckConfig checks;
  BreakerTriggerConfig breaker;
  SmoothingConfig smoothing;
  ActionThresholds actions;
};

// Config names: "freeze", "conservative", "pass-through".
[[nodiscard]] const char* to_string(TripPolicy policy) noexcept;
[[nodiscard]] std::optional<TripPolicy> parse_trip_policy(const std::string& name) noexcept;

// One sentence naming the first out-of-range field ("breaker.var_jump_factor must be > 1"), or
// nullopt when the configuration is usable.
[[nodiscard]] std::optional<std::string> validate(const BreakerConfig& config);

}  // namespace varkeeper::risk
