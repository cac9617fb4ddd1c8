#include "risk/signal_var.hpp"

#include <cmath>

#include "risk/smoothing.hpp"

namespace varkeeper::risk {

double signal_normal_quantile(double p) {
  double lo = -40.0;
  double hi = 40.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (mid == lo || mid == hi) {
      break;
    }
    if (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return 0.5 * (lo + hi);
}

EwmaNormalVar::EwmaNormalVar(const SignalVarConfig& config)
    : config_(config),
      z_(signal_normal_quantile(config.confidence)),
      variance_per_s_(config.initial_daily_vol * config.initial_daily_vol / 86'400.0) {}

double EwmaNormalVar::update(std::int64_t t, double price) {
  if (!(price > 0.0) || !std::isfinite(price)) {
    return var();
  }
  if (!t_) {
    t_ = t;
    price_ = price;
    return var();
  }
  if (t <= *t_) {
    return var();
  }
  const std::int64_t dt = t - *t_;
  const double r = std::log(price / price_);
  const double a = half_life_alpha(dt, config_.variance_half_life_s);
  variance_per_s_ = (1.0 - a) * variance_per_s_ + a * r * r / static_cast<double>(dt);
  t_ = t;
  price_ = price;
  return var();
}

double EwmaNormalVar::var() const noexcept {
  return -std::expm1(-z_ * std::sqrt(variance_per_s_ * static_cast<double>(config_.horizon_s)));
}

double EwmaNormalVar::daily_vol() const noexcept { return std::sqrt(variance_per_s_ * 86'400.0); }

}  // namespace varkeeper::risk
