// The per-portfolio circuit breaker (issue 5 item 2): a state machine normal -> tripped ->
// cooldown -> normal, driven by the input checks (risk/price_checks.hpp) and by a VaR jump beyond a
// factor of the last published value. While tripped the published VaR follows the configured
// TripPolicy; outside it the smoother (EMA + rate limiter, risk/smoothing.hpp) shapes it.
// Pure and deterministic: time is an argument (seconds since the epoch, non-decreasing).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "risk/breaker_config.hpp"
#include "risk/price_checks.hpp"
#include "risk/smoothing.hpp"

namespace varkeeper::risk {

// Goes on chain with every report as the uint8 "breaker status" field of RiskOracle's report:
// 0 normal, 1 tripped, 2 cooldown. The numeric values are part of the on-chain format: never
// renumber them.
enum class BreakerStatus : std::uint8_t {
  kNormal = 0,    // published = smoothed and rate-limited computed VaR
  kTripped = 1,   // published follows the TripPolicy; a trigger fired less than clear_s ago
  kCooldown = 2,  // inputs healthy again; rate-limited return to the computed VaR
};

[[nodiscard]] const char* to_string(BreakerStatus s) noexcept;

// Why the breaker tripped: a bit set, recorded with the incident.
enum class TripReason : std::uint32_t {
  kStalePrice = 1u << 0,
  kBadPrice = 1u << 1,            // zero, negative, incomplete or future-dated reading
  kRoundInconsistent = 1u << 2,   // roundId / updatedAt backwards, answeredInRound < roundId
  kStepMove = 1u << 3,            // unconfirmed single-step move beyond the bound
  kOutlier = 1u << 4,             // a source dropped by the MAD rule
  kNoMajority = 1u << 5,          // not enough healthy, agreeing sources
  kSourceDisagreement = 1u << 6,  // kept sources disagree beyond the bound
  kVarJump = 1u << 7,             // computed VaR beyond var_jump_factor of the reference
  kInvalidVar = 1u << 8,          // computed VaR not finite or negative (the previous one is used)
};

class TripReasons {
 public:
  constexpr TripReasons() = default;
  constexpr explicit TripReasons(std::uint32_t bits) : bits_(bits) {}
  constexpr void set(TripReason r) noexcept { bits_ |= static_cast<std::uint32_t>(r); }
  [[nodiscard]] constexpr bool has(TripReason r) const noexcept {
    return (bits_ & static_cast<std::uint32_t>(r)) != 0;
  }
  [[nodiscard]] constexpr bool any() const noexcept { return bits_ != 0; }
  [[nodiscard]] constexpr std::uint32_t bits() const noexcept { return bits_; }
  constexpr TripReasons& operator|=(TripReasons o) noexcept {
    bits_ |= o.bits_;
    return *this;
  }

 private:
  std::uint32_t bits_ = 0;
};

// "stale+no-majority": the set reasons' names joined by '+', "none" for an empty set.
[[nodiscard]] std::string describe(TripReasons reasons);

// The reasons an unusable asset gives the breaker: the asset-level failure plus every failing
// source's reason. A usable asset (a majority agreed, outliers dropped) gives none: the median
// already protects the figure, and the per-source verdicts are recorded as incidents only.
[[nodiscard]] TripReasons trip_reasons(const AssetVerdict& verdict) noexcept;

struct BreakerInput {
  std::int64_t t = 0;
  double computed_var = 0.0;  // the risk engine's VaR on the inputs that passed the checks
  TripReasons input_faults;   // trip_reasons() of the portfolio's assets, or'ed
};

struct BreakerOutput {
  BreakerStatus status = BreakerStatus::kNormal;
  double published = 0.0;  // the figure to report
  double smoothed = 0.0;   // the EMA of the computed VaR (before the rate limiter)
  TripReasons reasons;     // triggers that fired at this update
  bool status_changed = false;
};

class CircuitBreaker {
 public:
  explicit CircuitBreaker(const BreakerConfig& config);

  // One update. Rules, in order:
  //  1. triggers = input faults, plus kVarJump when computed > f * ref or < ref / f and
  //     |computed - ref| > var_jump_min_abs, where ref is the last published value in normal,
  //     and the computed VaR at the time of the trip in tripped and cooldown;
  //  2. any trigger -> tripped (last good := the last published value); tripped with no trigger
  //     for clear_s -> cooldown; cooldown for cooldown_s without a trigger -> normal;
  //  3. tripped: published = policy(last good, computed); otherwise the EMA of the computed VaR
  //     clamped by the rate limiter. On entering cooldown both the EMA and the rate limiter's
  //     history restart at the last value published while tripped.
  // A computed VaR that is not finite or negative is a kInvalidVar trigger and is replaced by the
  // last published value (0 on the very first update).
  // With config.enabled false: status normal and published == computed, always.
  BreakerOutput step(const BreakerInput& input);

  [[nodiscard]] BreakerStatus status() const noexcept { return status_; }
  [[nodiscard]] std::optional<double> published() const noexcept { return published_; }
  [[nodiscard]] double last_good() const noexcept { return last_good_; }

 private:
  BreakerConfig config_;
  BreakerStatus status_ = BreakerStatus::kNormal;
  Ema ema_;
  RateLimiter limiter_;
  std::optional<double> published_;
  std::int64_t published_t_ = 0;
  double last_good_ = 0.0;
  double jump_reference_ = 0.0;
  std::int64_t last_trigger_t_ = 0;
  std::int64_t cooldown_since_ = 0;
};

}  // namespace varkeeper::risk
