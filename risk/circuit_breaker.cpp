#include "risk/circuit_breaker.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace varkeeper::risk {

const char* to_string(BreakerStatus s) noexcept {
  switch (s) {
    case BreakerStatus::kNormal: return "normal";
    case BreakerStatus::kTripped: return "tripped";
    case BreakerStatus::kCooldown: return "cooldown";
  }
  return "unknown";
}

namespace {

TripReason reason_of(SourceCheck c) noexcept {
  switch (c) {
    case SourceCheck::kStale: return TripReason::kStalePrice;
    case SourceCheck::kIncompleteRound:
    case SourceCheck::kNonPositive:
    case SourceCheck::kFutureTimestamp: return TripReason::kBadPrice;
    case SourceCheck::kRoundWentBackwards:
    case SourceCheck::kTimestampWentBackwards:
    case SourceCheck::kAnsweredInStaleRound: return TripReason::kRoundInconsistent;
    case SourceCheck::kStepMoveTooLarge: return TripReason::kStepMove;
    case SourceCheck::kOutlier:
    case SourceCheck::kOk: break;
  }
  return TripReason::kOutlier;
}

bool var_jump(double computed, double reference, const BreakerTriggerConfig& c) noexcept {
  if (std::fabs(computed - reference) <= c.var_jump_min_abs) {
    return false;
  }
  return computed > c.var_jump_factor * reference || computed * c.var_jump_factor < reference;
}

}  // namespace

std::string describe(TripReasons reasons) {
  static constexpr std::pair<TripReason, const char*> kNames[] = {
      {TripReason::kStalePrice, "stale"},
      {TripReason::kBadPrice, "bad-price"},
      {TripReason::kRoundInconsistent, "round-inconsistent"},
      {TripReason::kStepMove, "step-move"},
      {TripReason::kOutlier, "outlier"},
      {TripReason::kNoMajority, "no-majority"},
      {TripReason::kSourceDisagreement, "disagreement"},
      {TripReason::kVarJump, "var-jump"},
      {TripReason::kInvalidVar, "invalid-var"},
  };
  std::string out;
  for (const auto& [r, name] : kNames) {
    if (!reasons.has(r)) {
      continue;
    }
    if (!out.empty()) {
      out += '+';
    }
    out += name;
  }
  return out.empty() ? "none" : out;
}

TripReasons trip_reasons(const AssetVerdict& verdict) noexcept {
  TripReasons r;
  if (verdict.usable()) {
    return r;
  }
  r.set(verdict.check == AssetCheck::kNoMajority ? TripReason::kNoMajority
                                                 : TripReason::kSourceDisagreement);
  for (const auto& s : verdict.sources) {
    if (!s.ok()) {
      r.set(reason_of(s.check));
    }
  }
  return r;
}

CircuitBreaker::CircuitBreaker(const BreakerConfig& config)
    : config_(config),
      ema_(config.smoothing.enabled ? config.smoothing.ema_half_life_s : 0),
      limiter_(config.smoothing) {}

BreakerOutput CircuitBreaker::step(const BreakerInput& raw) {
  BreakerOutput out;
  if (!config_.enabled) {
    out.smoothed = ema_.update(raw.t, raw.computed_var);
    out.published = raw.computed_var;
    published_ = raw.computed_var;
    published_t_ = raw.t;
    return out;
  }
  BreakerInput in = raw;
  out.reasons = in.input_faults;
  if (!(std::isfinite(in.computed_var) && in.computed_var >= 0.0)) {
    out.reasons.set(TripReason::kInvalidVar);
    in.computed_var = published_.value_or(0.0);
  }
  out.smoothed = ema_.update(in.t, in.computed_var);
  const BreakerStatus before = status_;
  if (!published_) {
    // First update: nothing to compare with; a faulty start is tripped on its own figure.
    last_good_ = jump_reference_ = in.computed_var;
    if (out.reasons.any()) {
      status_ = BreakerStatus::kTripped;
      last_trigger_t_ = in.t;
    }
    limiter_.reset(in.t, in.computed_var);
    published_ = in.computed_var;
    published_t_ = in.t;
    out.status = status_;
    out.published = in.computed_var;
    out.status_changed = status_ != before;
    return out;
  }
  const double reference = status_ == BreakerStatus::kNormal ? *published_ : jump_reference_;
  if (var_jump(in.computed_var, reference, config_.breaker)) {
    out.reasons.set(TripReason::kVarJump);
  }

  if (out.reasons.any()) {
    if (status_ != BreakerStatus::kTripped) {
      last_good_ = *published_;
      jump_reference_ = in.computed_var;
    }
    status_ = BreakerStatus::kTripped;
    last_trigger_t_ = in.t;
  } else if (status_ == BreakerStatus::kTripped &&
             in.t - last_trigger_t_ >= config_.breaker.clear_s) {
    status_ = BreakerStatus::kCooldown;
    cooldown_since_ = in.t;
    // The smoother resumes from the last value the tripped state published: the EMA restarts
    // there and the rate limiter's history too, so the way back is smooth and rate-limited.
    ema_.reset(published_t_, *published_);
    out.smoothed = ema_.update(in.t, in.computed_var);
    limiter_.reset(published_t_, *published_);
  } else if (status_ == BreakerStatus::kCooldown &&
             in.t - cooldown_since_ >= config_.breaker.cooldown_s) {
    status_ = BreakerStatus::kNormal;
  }

  double value = 0.0;
  if (status_ == BreakerStatus::kTripped) {
    switch (config_.breaker.policy) {
      case TripPolicy::kFreeze: value = last_good_; break;
      case TripPolicy::kConservative: value = std::max(last_good_, in.computed_var); break;
      case TripPolicy::kPassThrough: value = in.computed_var; break;
    }
  } else if (config_.smoothing.enabled) {
    value = limiter_.apply(in.t, out.smoothed);
  } else {
    value = in.computed_var;
  }
  published_ = value;
  published_t_ = in.t;
  out.status = status_;
  out.published = value;
  out.status_changed = status_ != before;
  return out;
}

}  // namespace varkeeper::risk
