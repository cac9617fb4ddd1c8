#include "risk/breaker_config.hpp"

#include <cmath>
#include <cstdint>

namespace varkeeper::risk {

const char* to_string(TripPolicy policy) noexcept {
  switch (policy) {
    case TripPolicy::kFreeze: return "freeze";
    case TripPolicy::kConservative: return "conservative";
    case TripPolicy::kPassThrough: return "pass-through";
  }
  return "unknown";
}

std::optional<TripPolicy> parse_trip_policy(const std::string& name) noexcept {
  if (name == "freeze") {
    return TripPolicy::kFreeze;
  }
  if (name == "conservative") {
    return TripPolicy::kConservative;
  }
  if (name == "pass-through") {
    return TripPolicy::kPassThrough;
  }
  return std::nullopt;
}

namespace {

// Durations beyond a year and factors beyond 1e6 are typing mistakes, not settings.
constexpr std::int64_t kYearS = std::int64_t{365} * 86'400;
constexpr double kMaxFactor = 1e6;

bool finite_positive(double x) { return std::isfinite(x) && x > 0.0; }
bool finite_fraction(double x) { return std::isfinite(x) && x > 0.0 && x < 1.0; }

std::optional<std::string> check_band(const HysteresisConfig& h, const std::string& name) {
  if (!std::isfinite(h.upper) || !std::isfinite(h.lower) || h.lower < 0.0 || h.lower > h.upper) {
    return name + ".lower must be >= 0 and <= " + name + ".upper";
  }
  if (h.min_dwell_s < 0) {
    return name + ".min_dwell_s must be >= 0";
  }
  // Thresholds are VaR fractions (a loss of 100 % of the value at most).
  if (h.upper > 1.0) {
    return name + ".upper must be <= 1";
  }
  if (h.min_dwell_s > kYearS) {
    return name + ".min_dwell_s must be <= 31536000 (a year)";
  }
  return std::nullopt;
}

}  // namespace

// Longer than 80 lines on purpose: a flat list of range checks, one per field in the order of
// breaker_config.hpp, so a new field's check goes beside its neighbours.
std::optional<std::string> validate(const BreakerConfig& c) {
  const auto& k = c.checks;
  if (k.heartbeat_grace_s < 0) {
    return "checks.heartbeat_grace_s must be >= 0";
  }
  if (k.heartbeat_grace_s > kYearS) {
    return "checks.heartbeat_grace_s must be <= 31536000 (a year)";
  }
  if (k.max_future_skew_s < 0) {
    return "checks.max_future_skew_s must be >= 0";
  }
  if (!finite_positive(k.max_step_move)) {
    return "checks.max_step_move must be > 0";
  }
  if (k.max_step_move > kMaxFactor) {
    return "checks.max_step_move must be <= 1e6";
  }
  if (k.step_confirm_s < 0) {
    return "checks.step_confirm_s must be >= 0";
  }
  if (k.step_confirm_s > kYearS) {
    return "checks.step_confirm_s must be <= 31536000 (a year)";
  }
  if (!finite_positive(k.mad_k)) {
    return "checks.mad_k must be > 0";
  }
  if (k.mad_k > kMaxFactor) {
    return "checks.mad_k must be <= 1e6";
  }
  if (!finite_fraction(k.max_disagreement)) {
    return "checks.max_disagreement must be in (0, 1)";
  }
  const auto& b = c.breaker;
  if (!std::isfinite(b.var_jump_factor) || b.var_jump_factor <= 1.0) {
    return "breaker.var_jump_factor must be > 1";
  }
  if (b.var_jump_factor > kMaxFactor) {
    return "breaker.var_jump_factor must be <= 1e6";
  }
  if (!std::isfinite(b.var_jump_min_abs) || b.var_jump_min_abs < 0.0) {
    return "breaker.var_jump_min_abs must be >= 0";
  }
  if (b.clear_s < 0) {
    return "breaker.clear_s must be >= 0";
  }
  if (b.clear_s > kYearS) {
    return "breaker.clear_s must be <= 31536000 (a year)";
  }
  if (b.cooldown_s < 0) {
    return "breaker.cooldown_s must be >= 0";
  }
  if (b.cooldown_s > kYearS) {
    return "breaker.cooldown_s must be <= 31536000 (a year)";
  }
  const auto& s = c.smoothing;
  if (s.ema_half_life_s < 0) {
    return "smoothing.ema_half_life_s must be >= 0";
  }
  if (s.ema_half_life_s > kYearS) {
    return "smoothing.ema_half_life_s must be <= 31536000 (a year)";
  }
  if (!finite_positive(s.max_rise_per_update)) {
    return "smoothing.max_rise_per_update must be > 0";
  }
  if (s.max_rise_per_update > kMaxFactor) {
    return "smoothing.max_rise_per_update must be <= 1e6";
  }
  if (!finite_fraction(s.max_fall_per_update)) {
    return "smoothing.max_fall_per_update must be in (0, 1)";
  }
  if (!finite_positive(s.max_rise_per_hour)) {
    return "smoothing.max_rise_per_hour must be > 0";
  }
  if (s.max_rise_per_hour > kMaxFactor) {
    return "smoothing.max_rise_per_hour must be <= 1e6";
  }
  if (!finite_fraction(s.max_fall_per_hour)) {
    return "smoothing.max_fall_per_hour must be in (0, 1)";
  }
  if (!finite_positive(s.var_floor)) {
    return "smoothing.var_floor must be > 0";
  }
  if (auto e = check_band(c.actions.rebalance, "actions.rebalance")) {
    return e;
  }
  if (auto e = check_band(c.actions.payout, "actions.payout")) {
    return e;
  }
  return std::nullopt;
}

}  // namespace varkeeper::risk
