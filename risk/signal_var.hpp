// A small, time-aware parametric-normal VaR used to drive the breaker scenarios and the
// feedback-loop simulation (issue 5). The keeper's published figure comes from estimate_risk()
// (risk/risk_method.hpp); this one exists so the breaker can be exercised on its own.
//   variance per second: s <- lambda * s + (1 - lambda) * r^2 / dt,  lambda = 2^(-dt / half_life)
//   (RiskMetrics-style EWMA with zero mean, J.P. Morgan/Reuters 1996, made time-aware), and
//   VaR = 1 - exp(-z_alpha * sqrt(s * horizon_s)), a positive loss fraction below 1.
#pragma once

#include <cstdint>
#include <optional>

namespace varkeeper::risk {

struct SignalVarConfig {
  double confidence = 0.99;
  std::int64_t horizon_s = 86'400;             // one day
  std::int64_t variance_half_life_s = 43'200;  // 12 h
  double initial_daily_vol = 0.0;              // prior before any return is seen
};

class EwmaNormalVar {
 public:
  explicit EwmaNormalVar(const SignalVarConfig& config);
  // Feeds the price observed at time t (> 0) and returns the VaR after it. The first price only
  // sets the reference; a non-increasing t or a non-positive price is ignored.
  double update(std::int64_t t, double price);
  [[nodiscard]] double var() const noexcept;
  [[nodiscard]] double daily_vol() const noexcept;  // sqrt(s * 86400)
  [[nodiscard]] double z() const noexcept { return z_; }

 private:
  SignalVarConfig config_;
  double z_;
  double variance_per_s_;
  std::optional<std::int64_t> t_;
  double price_ = 0.0;
};

// Standard normal quantile Phi^-1(p), p in (0, 1), by bisection on 0.5 * erfc(-x / sqrt 2) to the
// last bit (slow but exact; called once per configuration).
[[nodiscard]] double signal_normal_quantile(double p);

}  // namespace varkeeper::risk
