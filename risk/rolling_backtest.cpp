#include "risk/rolling_backtest.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace varkeeper::risk {

std::vector<double> portfolio_simple_returns(const ReturnWindow& history,
                                             std::span<const double> weights) {
  const std::size_t n_assets = history.n_assets;
  if (n_assets == 0 || weights.size() != n_assets) {
    throw std::invalid_argument("The weights do not match the number of assets.");
  }
  const std::size_t t_obs = history.n_obs();
  std::vector<double> out(t_obs, 0.0);
  for (std::size_t t = 0; t < t_obs; ++t) {
    double r = 0.0;
    for (std::size_t i = 0; i < n_assets; ++i) {
      r += weights[i] * std::expm1(history.returns[t * n_assets + i]);
    }
    out[t] = r;
  }
  return out;
}

RollingBacktestResult rolling_backtest(const ReturnWindow& history, std::span<const double> weights,
                                       std::span<const double> realized,
                                       const RollingBacktestOptions& options) {
  const std::size_t n_assets = history.n_assets;
  const std::size_t t_obs = history.n_obs();
  const std::size_t w = options.window;
  if (n_assets == 0 || history.returns.size() != t_obs * n_assets) {
    throw std::invalid_argument("The return history is not a whole number of rows.");
  }
  if (weights.size() != n_assets) {
    throw std::invalid_argument("The weights do not match the number of assets.");
  }
  if (w < 2) throw std::invalid_argument("The rolling window must hold at least 2 periods.");
  if (options.refit_every < 1) {
    throw std::invalid_argument("The refit interval must be at least 1 period.");
  }
  if (t_obs <= w) {
    throw std::invalid_argument("Too few observations for the window: " + std::to_string(t_obs) +
                                " returns, window " + std::to_string(w) +
                                " (need at least window + 1).");
  }
  std::vector<double> own_realized;
  if (realized.empty()) {
    own_realized = portfolio_simple_returns(history, weights);
    realized = own_realized;
  } else if (realized.size() != t_obs) {
    throw std::invalid_argument("The realised returns and the return history differ in length.");
  }

  RiskOptions risk = options.risk;
  risk.confidence = options.backtest.confidence;
  risk.horizon = 1;
  risk.components = false;  // not needed for a backtest; saves the Euler allocation

  RollingBacktestResult result;
  auto& f = result.forecasts;
  const std::size_t n_forecasts = t_obs - w;
  f.row.reserve(n_forecasts);
  f.var.reserve(n_forecasts);
  f.cvar.reserve(n_forecasts);
  f.realized.reserve(n_forecasts);
  RiskEstimate current;
  for (std::size_t t = w; t < t_obs; ++t) {
    if ((t - w) % options.refit_every == 0) {
      risk.seed = options.risk.seed + result.refits;
      const ReturnWindow slice{history.returns.subspan((t - w) * n_assets, w * n_assets), n_assets};
      current = estimate_risk(options.method, slice, weights, risk);
      ++result.refits;
    }
    f.row.push_back(t);
    f.var.push_back(current.var);
    f.cvar.push_back(current.cvar);
    f.realized.push_back(realized[t]);
  }
  result.report = run_backtest(f.realized, f.var, f.cvar, options.backtest);
  return result;
}

}  // namespace varkeeper::risk
