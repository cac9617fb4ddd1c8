#include "risk/smoothing.hpp"

#include <algorithm>
#include <cmath>

namespace varkeeper::risk {

namespace {
constexpr std::int64_t kHour = 3600;
}

double half_life_alpha(std::int64_t dt_s, std::int64_t half_life_s) noexcept {
  if (dt_s <= 0) {
    return 0.0;
  }
  if (half_life_s <= 0) {
    return 1.0;
  }
  // 1 - 2^(-x) computed as -expm1(-x ln 2) to keep precision for small dt.
  return -std::expm1(-static_cast<double>(dt_s) / static_cast<double>(half_life_s) * std::log(2.0));
}

double Ema::update(std::int64_t t, double x) noexcept {
  if (!value_) {
    reset(t, x);
    return x;
  }
  const double a = half_life_alpha(t - t_, half_life_s_);
  value_ = *value_ + a * (x - *value_);
  t_ = std::max(t_, t);
  return *value_;
}

RateBounds rate_bounds(double v, bool per_hour, const SmoothingConfig& c) noexcept {
  const double scale = std::max(v, c.var_floor);
  const double rise = per_hour ? c.max_rise_per_hour : c.max_rise_per_update;
  const double fall = per_hour ? c.max_fall_per_hour : c.max_fall_per_update;
  return {v - fall * scale, v + rise * scale};
}

void RateLimiter::reset(std::int64_t t, double value) {
  window_.clear();
  window_.emplace_back(t, value);
}

RateBounds RateLimiter::bounds(std::int64_t t) const {
  const double previous = window_.back().second;
  RateBounds b = rate_bounds(previous, false, config_);
  for (const auto& [s, v] : window_) {
    if (t - s >= kHour) {
      continue;
    }
    const RateBounds h = rate_bounds(v, true, config_);
    b.lower = std::max(b.lower, h.lower);
    b.upper = std::min(b.upper, h.upper);
  }
  // Never empty: the previous value satisfies every cap it was itself clamped by (see tests).
  b.lower = std::max(b.lower, 0.0);
  if (b.lower > b.upper) {
    b.lower = b.upper = previous;
  }
  return b;
}

double RateLimiter::apply(std::int64_t t, double target) {
  if (window_.empty()) {
    reset(t, target);
    return target;
  }
  const RateBounds b = bounds(t);
  const double out = std::clamp(target, b.lower, b.upper);
  window_.emplace_back(t, out);
  while (!window_.empty() && t - window_.front().first >= kHour) {
    window_.pop_front();
  }
  return out;
}

ActionEdge HysteresisTrigger::update(std::int64_t t, double value) noexcept {
  const bool beyond = active_ ? value <= config_.lower : value >= config_.upper;
  if (!beyond) {
    beyond_since_.reset();
    return ActionEdge::kNone;
  }
  if (!beyond_since_) {
    beyond_since_ = t;
  }
  if (t - *beyond_since_ < config_.min_dwell_s) {
    return ActionEdge::kNone;
  }
  active_ = !active_;
  beyond_since_.reset();
  return active_ ? ActionEdge::kFired : ActionEdge::kReset;
}

}  // namespace varkeeper::risk
