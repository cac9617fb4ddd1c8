// Smoothing of the risk signal (issue 5 item 3): a time-aware EMA with a half-life, an asymmetric
// rate limiter (risk may rise fast and falls slowly: per-update and per-hour caps), and hysteresis
// bands with a minimum dwell time for the thresholds that trigger actions (rebalance, payout).
// Pure: times are seconds since the epoch passed in by the caller.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "risk/breaker_config.hpp"

namespace varkeeper::risk {

// alpha = 1 - 2^(-dt / half_life): after one half-life the EMA has covered half the distance to a
// constant input, whatever the update spacing. half_life_s == 0 gives 1 (no smoothing); dt <= 0
// gives 0.
[[nodiscard]] double half_life_alpha(std::int64_t dt_s, std::int64_t half_life_s) noexcept;

class Ema {
 public:
  explicit Ema(std::int64_t half_life_s) noexcept : half_life_s_(half_life_s) {}
  // The first call returns x; later calls return ema + alpha(t - t_prev) * (x - ema).
  double update(std::int64_t t, double x) noexcept;
  void reset(std::int64_t t, double x) noexcept {
    t_ = t;
    value_ = x;
  }
  [[nodiscard]] std::optional<double> value() const noexcept { return value_; }

 private:
  std::int64_t half_life_s_;
  std::int64_t t_ = 0;
  std::optional<double> value_;
};

// The interval a value may move to from `from`: [from - f * max(from, floor), from + r * max(from,
// floor)] with the per-update caps (per_hour false) or the per-hour caps (true). RateLimiter
// intersects the per-update interval around the previous value with the per-hour intervals around
// every value published less than 3600 s before the new one.
struct RateBounds {
  double lower = 0.0;
  double upper = 0.0;
};
[[nodiscard]] RateBounds rate_bounds(double from, bool per_hour,
                                     const SmoothingConfig& config) noexcept;

class RateLimiter {
 public:
  explicit RateLimiter(const SmoothingConfig& config) : config_(config) {}
  // Starts a new history at (t, value); the next apply() is limited against it.
  void reset(std::int64_t t, double value);
  // Clamps `target` into the allowed interval at time t, records and returns the result.
  // Before any reset() the target is returned unchanged and starts the history.
  double apply(std::int64_t t, double target);
  [[nodiscard]] RateBounds bounds(std::int64_t t) const;

 private:
  SmoothingConfig config_;
  std::deque<std::pair<std::int64_t, double>> window_;  // published values of the last hour
};

// Action threshold with hysteresis and dwell: inactive -> active when the value has been >= upper
// at every update for at least min_dwell_s (measured from the first such update); active ->
// inactive when it has been <= lower for min_dwell_s. A value strictly inside (lower, upper)
// restarts both dwell clocks, so an action never fires or resets inside the band.
enum class ActionEdge : std::uint8_t { kNone, kFired, kReset };

class HysteresisTrigger {
 public:
  explicit HysteresisTrigger(const HysteresisConfig& config) noexcept : config_(config) {}
  ActionEdge update(std::int64_t t, double value) noexcept;
  [[nodiscard]] bool active() const noexcept { return active_; }

 private:
  HysteresisConfig config_;
  bool active_ = false;
  std::optional<std::int64_t> beyond_since_;  // first update of the current run beyond the band
};

}  // namespace varkeeper::risk
