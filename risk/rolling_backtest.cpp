#include "risk/rolling_backtest.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>

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

namespace {

void check_inputs(const ReturnWindow& history, std::span<const double> weights,
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
  if (w < 2) {
    throw std::invalid_argument("The rolling window must hold at least 2 periods.");
  }
  if (options.refit_every < 1) {
    throw std::invalid_argument("The refit interval must be at least 1 period.");
  }
  if (t_obs <= w) {
    throw std::invalid_argument("Too few observations for the window: " + std::to_string(t_obs) +
                                " returns, window " + std::to_string(w) +
                                " (need at least window + 1).");
  }
}

// The n_fits estimates, fit j over the window [j * refit_every, j * refit_every + window). The
// fits are independent (each sees only its window and its own seed), so they run in parallel,
// refit j on thread j mod T; every fit lands in its own slot, so the series does not depend on T.
// Inside a fit Monte Carlo then runs on one thread (its result does not depend on its thread
// count either, risk/risk_method.hpp).
std::vector<RiskEstimate> fit_windows(const ReturnWindow& history, std::span<const double> weights,
                                      const RollingBacktestOptions& options, RiskOptions risk,
                                      std::size_t n_fits) {
  const std::size_t n_assets = history.n_assets;
  const std::size_t w = options.window;
  unsigned n_threads = options.threads != 0 ? options.threads : std::thread::hardware_concurrency();
  n_threads = static_cast<unsigned>(std::clamp<std::size_t>(n_threads, 1, n_fits));
  if (n_threads > 1) {
    risk.threads = 1;
  }
  std::vector<RiskEstimate> fits(n_fits);
  std::vector<std::exception_ptr> errors(n_fits);
  auto work = [&](unsigned first) {
    RiskOptions mine = risk;
    for (std::size_t j = first; j < n_fits; j += n_threads) {
      try {
        const std::size_t start = j * options.refit_every;  // window [start, start + w)
        mine.seed = options.risk.seed + j;
        const ReturnWindow slice{history.returns.subspan(start * n_assets, w * n_assets), n_assets};
        fits[j] = estimate_risk(options.method, slice, weights, mine);
      } catch (...) {
        errors[j] = std::current_exception();
      }
    }
  };
  if (n_threads == 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (unsigned k = 0; k < n_threads; ++k) {
      pool.emplace_back(work, k);
    }
    for (auto& th : pool) {
      th.join();
    }
  }
  for (const auto& e : errors) {
    if (e) {
      std::rethrow_exception(e);  // the earliest failing fit, whatever the thread count
    }
  }
  return fits;
}

}  // namespace

RollingBacktestResult rolling_backtest(const ReturnWindow& history, std::span<const double> weights,
                                       std::span<const double> realized,
                                       const RollingBacktestOptions& options) {
  check_inputs(history, weights, options);
  const std::size_t t_obs = history.n_obs();
  const std::size_t w = options.window;
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
  const std::size_t n_forecasts = t_obs - w;
  const std::size_t n_fits = (n_forecasts + options.refit_every - 1) / options.refit_every;
  const std::vector<RiskEstimate> fits = fit_windows(history, weights, options, risk, n_fits);

  RollingBacktestResult result;
  result.refits = n_fits;
  result.diagnostic_fits.assign(all_diagnostic_kinds().size(), 0);
  for (const RiskEstimate& fit : fits) {
    for (const Diagnostic& d : fit.diagnostics) {
      const auto k = static_cast<std::size_t>(d.kind);
      if (k < result.diagnostic_fits.size()) {
        ++result.diagnostic_fits[k];
      }
    }
  }
  auto& f = result.forecasts;
  f.row.reserve(n_forecasts);
  f.var.reserve(n_forecasts);
  f.cvar.reserve(n_forecasts);
  f.realized.reserve(n_forecasts);
  f.fit.reserve(n_forecasts);
  for (std::size_t t = w; t < t_obs; ++t) {
    const std::size_t j = (t - w) / options.refit_every;
    const RiskEstimate& current = fits[j];
    f.row.push_back(t);
    f.var.push_back(current.var);
    f.cvar.push_back(current.cvar);
    f.realized.push_back(realized[t]);
    f.fit.push_back(j);
  }
  f.laws.reserve(fits.size());
  for (const RiskEstimate& fit : fits) {
    f.laws.push_back(fit.law);
  }
  const std::vector<const PredictiveLaw*> laws = f.law_per_period();
  result.report = run_backtest(f.realized, f.var, f.cvar, options.backtest, laws);
  return result;
}

std::vector<const PredictiveLaw*> ForecastSeries::law_per_period() const {
  std::vector<const PredictiveLaw*> out;
  if (fit.empty() ||
      !std::all_of(laws.begin(), laws.end(), [](const PredictiveLaw& l) { return l.has_law(); })) {
    return out;
  }
  out.reserve(fit.size());
  for (const std::size_t j : fit) {
    out.push_back(j < laws.size() ? &laws[j] : nullptr);
  }
  if (std::find(out.begin(), out.end(), nullptr) != out.end()) {
    out.clear();
  }
  return out;
}

}  // namespace varkeeper::risk
