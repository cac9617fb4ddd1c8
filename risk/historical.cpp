#include "risk/historical.hpp"

#include <cmath>
#include <stdexcept>

#include "risk/empirical_tail.hpp"
#include "risk/garch.hpp"

namespace varkeeper::risk {
namespace {

// Per-asset unit losses of the h-period scenarios, S x N row-major.
std::vector<double> scenario_losses(std::span<const double> returns, std::size_t n_assets,
                                    std::span<const double> weights, int horizon,
                                    Revaluation revaluation, std::size_t& n_scenarios) {
  if (horizon < 1) {
    throw std::invalid_argument("the horizon must be at least one period.");
  }
  if (n_assets == 0 || weights.size() != n_assets || returns.size() % n_assets != 0) {
    throw std::invalid_argument("the weights do not match the number of assets.");
  }
  const std::size_t t_obs = returns.size() / n_assets;
  const auto h = static_cast<std::size_t>(horizon);
  if (t_obs < h) {
    throw std::invalid_argument("too few observations for one scenario of the horizon.");
  }
  n_scenarios = t_obs - h + 1;
  std::vector<double> x(n_scenarios * n_assets);
  for (std::size_t s = 0; s < n_scenarios; ++s) {
    for (std::size_t i = 0; i < n_assets; ++i) {
      double r = 0.0;
      for (std::size_t l = 0; l < h; ++l) {
        r += returns[(s + l) * n_assets + i];
      }
      x[s * n_assets + i] = unit_loss(r, revaluation);
    }
  }
  return x;
}

HistoricalResult from_tail(const EmpiricalTail& tail, const std::vector<double>& x,
                           std::span<const double> weights, std::size_t n_scenarios) {
  const std::size_t n = weights.size();
  HistoricalResult r;
  r.var = tail.var;
  r.cvar = tail.cvar;
  r.n_scenarios = n_scenarios;
  r.component_var.resize(n);
  r.component_cvar.assign(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    r.component_var[i] = weights[i] * x[tail.var_index * n + i];
  }
  for (const auto& sc : tail.cvar_scenarios) {
    for (std::size_t i = 0; i < n; ++i) {
      r.component_cvar[i] += sc.weight * weights[i] * x[sc.index * n + i];
    }
  }
  return r;
}

std::vector<double> portfolio_losses(const std::vector<double>& x, std::span<const double> w,
                                     std::size_t n_scenarios) {
  const std::size_t n = w.size();
  std::vector<double> l(n_scenarios, 0.0);
  for (std::size_t s = 0; s < n_scenarios; ++s) {
    for (std::size_t i = 0; i < n; ++i) {
      l[s] += w[i] * x[s * n + i];
    }
  }
  return l;
}

}  // namespace

HistoricalResult historical_risk(const ReturnWindow& window, std::span<const double> weights,
                                 const HistoricalOptions& options) {
  std::size_t s = 0;
  const auto x = scenario_losses(window.returns, window.n_assets, weights, options.horizon,
                                 options.revaluation, s);
  const auto losses = portfolio_losses(x, weights, s);
  return from_tail(empirical_tail(losses, options.confidence), x, weights, s);
}

std::vector<double> age_weights(std::size_t n_scenarios, double lambda) {
  if (!(lambda > 0.0 && lambda <= 1.0)) {
    throw std::invalid_argument("the age-weighting lambda must be in (0, 1].");
  }
  std::vector<double> q(n_scenarios);
  if (lambda == 1.0) {
    for (auto& v : q) {
      v = 1.0 / static_cast<double>(n_scenarios);
    }
    return q;
  }
  const double norm =
      (1.0 - lambda) / -std::expm1(static_cast<double>(n_scenarios) * std::log(lambda));
  double pw = 1.0;
  for (std::size_t j = 0; j < n_scenarios; ++j) {
    q[n_scenarios - 1 - j] = pw * norm;  // newest last in the window
    pw *= lambda;
  }
  return q;
}

HistoricalResult age_weighted_historical_risk(const ReturnWindow& window,
                                              std::span<const double> weights,
                                              const HistoricalOptions& options) {
  std::size_t s = 0;
  const auto x = scenario_losses(window.returns, window.n_assets, weights, options.horizon,
                                 options.revaluation, s);
  const auto losses = portfolio_losses(x, weights, s);
  const auto q = age_weights(s, options.age_lambda);
  return from_tail(weighted_empirical_tail(losses, q, options.confidence), x, weights, s);
}

HistoricalResult filtered_historical_risk(const ReturnWindow& window,
                                          std::span<const double> weights,
                                          const HistoricalOptions& options) {
  const auto filtered =
      filter_returns(window.returns, window.n_assets, options.ewma_lambda, options.horizon);
  auto r = historical_risk(ReturnWindow{filtered.scaled, window.n_assets}, weights, options);
  for (const auto& note : filtered.notes) {
    r.warning += (r.warning.empty() ? "" : "; ") + note;
  }
  return r;
}

}  // namespace varkeeper::risk
