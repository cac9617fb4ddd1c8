#include "keeper/ops/readiness.hpp"

#include <algorithm>

namespace varkeeper::keeper {

void ReadinessTracker::prices_fresh(std::int64_t now) {
  std::lock_guard lock(mutex_);
  prices_at_ = std::max(now, prices_at_.value_or(now));
}

void ReadinessTracker::publish_succeeded(std::int64_t now) {
  std::lock_guard lock(mutex_);
  publish_at_ = std::max(now, publish_at_.value_or(now));
}

Readiness ReadinessTracker::check(std::int64_t now) const {
  std::lock_guard lock(mutex_);
  std::string reason;
  const auto add = [&](const std::string& r) {
    if (!reason.empty()) {
      reason += "; ";
    }
    reason += r;
  };
  if (!prices_at_) {
    add("no fresh prices yet");
  } else if (now - *prices_at_ > policy_.max_price_age_s) {
    add("prices are " + std::to_string(now - *prices_at_) + " s old (limit " +
        std::to_string(policy_.max_price_age_s) + " s)");
  }
  if (!publish_at_) {
    add("no successful publish yet");
  } else if (now - *publish_at_ > policy_.max_publish_age_s) {
    add("last successful publish " + std::to_string(now - *publish_at_) + " s ago (limit " +
        std::to_string(policy_.max_publish_age_s) + " s)");
  }
  return {reason.empty(), reason};
}

}  // namespace varkeeper::keeper
