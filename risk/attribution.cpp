#include "risk/attribution.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "risk/sample_moments.hpp"

namespace varkeeper::risk {

RiskAttribution attribute_risk(RiskMethod method, const ReturnWindow& window,
                               std::span<const double> weights, const RiskOptions& options,
                               double bump) {
  if (!(bump > 0.0 && bump < 0.5)) {
    throw std::invalid_argument("the volatility bump must be in (0, 0.5).");
  }
  RiskOptions with = options;
  with.components = true;
  RiskAttribution a;
  a.estimate = estimate_risk(method, window, weights, with);
  const std::size_t n = window.n_assets;
  RiskOptions plain = options;
  plain.components = false;

  double wmax = 0.0;
  for (double w : weights) {
    wmax = std::max(wmax, std::fabs(w));
  }
  const double dw = 1e-4 * std::max(wmax, 1e-12);
  a.marginal_var.resize(n);
  a.marginal_cvar.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (weights[i] != 0.0) {
      a.marginal_var[i] = a.estimate.component_var[i] / weights[i];
      a.marginal_cvar[i] = a.estimate.component_cvar[i] / weights[i];
      continue;
    }
    std::vector<double> up(weights.begin(), weights.end()), down = up;
    up[i] += dw;
    down[i] -= dw;
    const auto eu = estimate_risk(method, window, up, plain);
    const auto ed = estimate_risk(method, window, down, plain);
    a.marginal_var[i] = (eu.var - ed.var) / (2.0 * dw);
    a.marginal_cvar[i] = (eu.cvar - ed.cvar) / (2.0 * dw);
  }

  const auto mean = sample_mean(window.returns, n);
  const std::size_t t_obs = window.n_obs();
  a.vega_var.resize(n);
  a.vega_cvar.resize(n);
  std::vector<double> up(window.returns.begin(), window.returns.end());
  std::vector<double> down = up;
  for (std::size_t i = 0; i < n; ++i) {
    const double fu = std::exp(bump);
    const double fd = std::exp(-bump);
    for (std::size_t t = 0; t < t_obs; ++t) {
      const double r = window.returns[t * n + i];
      up[t * n + i] = mean[i] + fu * (r - mean[i]);
      down[t * n + i] = mean[i] + fd * (r - mean[i]);
    }
    const auto eu = estimate_risk(method, {up, n}, weights, plain);
    const auto ed = estimate_risk(method, {down, n}, weights, plain);
    a.vega_var[i] = (eu.var - ed.var) / (2.0 * bump);
    a.vega_cvar[i] = (eu.cvar - ed.cvar) / (2.0 * bump);
    for (std::size_t t = 0; t < t_obs; ++t) {
      up[t * n + i] = down[t * n + i] = window.returns[t * n + i];
    }
  }
  return a;
}

}  // namespace varkeeper::risk
