#include "risk/garch.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "risk/ewma.hpp"
#include "risk/garch_fit_cache.hpp"

namespace varkeeper::risk {
namespace {

constexpr double kMinusInf = -std::numeric_limits<double>::infinity();
// A fit this close to kMaxPersistence is at the bound: the likelihood still rises towards it, so
// where the search stops inside this band depends on the window, not on the data (1e-6 let the
// same series be a GARCH fit one day and the EWMA fallback the next).
constexpr double kPersistenceBoundTolerance = 1e-4;

double mean_square(std::span<const double> x) {
  double s = 0.0;
  for (double v : x) {
    s += v * v;
  }
  return x.empty() ? 0.0 : s / static_cast<double>(x.size());
}

double logistic(double u) { return 1.0 / (1.0 + std::exp(-u)); }
double logit(double p) { return std::log(p / (1.0 - p)); }

using Theta = std::array<double, 3>;

// theta = (a, b, c): omega = s2 e^a, alpha + beta = kMaxPersistence logistic(b),
// alpha = (alpha + beta) logistic(c). Every theta maps into the admissible region.
GarchParams from_theta(const Theta& th, double s2) {
  const double persistence = kMaxPersistence * logistic(th[1]);
  const double alpha = persistence * logistic(th[2]);
  return {s2 * std::exp(th[0]), alpha, persistence - alpha};
}

Theta to_theta(const GarchParams& p, double s2) {
  const double persistence = p.alpha + p.beta;
  return {std::log(p.omega / s2), logit(persistence / kMaxPersistence),
          logit(p.alpha / persistence)};
}

struct Simplex {
  std::array<Theta, 4> x;
  std::array<double, 4> f;  // negative log-likelihood
};

// Nelder & Mead (1965) with the standard coefficients (reflection 1, expansion 2, contraction
// 1/2, shrink 1/2), minimising f. Stops when the simplex's values agree to `ftol` (absolute, on a
// log-likelihood of order T) and its vertices to `xtol`, or after `max_iter` iterations.
template <class F>
bool nelder_mead(F&& f, Simplex& s, int max_iter, double ftol, double xtol) {
  for (int iter = 0; iter < max_iter; ++iter) {
    std::array<std::size_t, 4> idx{0, 1, 2, 3};
    std::sort(idx.begin(), idx.end(),
              [&](std::size_t a, std::size_t b) { return s.f[a] < s.f[b]; });
    Simplex sorted;
    for (std::size_t k = 0; k < 4; ++k) {
      sorted.x[k] = s.x[idx[k]];
      sorted.f[k] = s.f[idx[k]];
    }
    s = sorted;
    double spread_x = 0.0;
    for (std::size_t k = 1; k < 4; ++k) {
      for (std::size_t d = 0; d < 3; ++d) {
        spread_x = std::max(spread_x, std::fabs(s.x[k][d] - s.x[0][d]));
      }
    }
    if (std::fabs(s.f[3] - s.f[0]) <= ftol && spread_x <= xtol) {
      return true;
    }
    Theta centroid{};
    for (std::size_t k = 0; k < 3; ++k) {
      for (std::size_t d = 0; d < 3; ++d) {
        centroid[d] += s.x[k][d] / 3.0;
      }
    }
    const auto along = [&](double t) {
      Theta p;
      for (std::size_t d = 0; d < 3; ++d) {
        p[d] = centroid[d] + t * (s.x[3][d] - centroid[d]);
      }
      return p;
    };
    const Theta xr = along(-1.0);
    const double fr = f(xr);
    if (fr < s.f[0]) {
      const Theta xe = along(-2.0);
      const double fe = f(xe);
      if (fe < fr) {
        s.x[3] = xe;
        s.f[3] = fe;
      } else {
        s.x[3] = xr;
        s.f[3] = fr;
      }
      continue;
    }
    if (fr < s.f[2]) {
      s.x[3] = xr;
      s.f[3] = fr;
      continue;
    }
    const Theta xc = fr < s.f[3] ? along(-0.5) : along(0.5);
    const double fc = f(xc);
    if (fc < std::min(fr, s.f[3])) {
      s.x[3] = xc;
      s.f[3] = fc;
      continue;
    }
    for (std::size_t k = 1; k < 4; ++k) {
      for (std::size_t d = 0; d < 3; ++d) {
        s.x[k][d] = s.x[0][d] + 0.5 * (s.x[k][d] - s.x[0][d]);
      }
      s.f[k] = f(s.x[k]);
    }
  }
  return false;
}

struct LocalOptimum {
  double value = std::numeric_limits<double>::max();
  bool converged = false;
};

// Nelder-Mead from t0, then restarted from its best vertex with a fresh simplex until a restart
// no longer improves the value by more than kRestartTol: a simplex collapses on a flat ridge
// (alpha = 0, where beta is not identified) long before the optimum, and where it stops then
// depends on the window. The result is converged when the last run met the tolerances and
// improved nothing.
template <class F>
std::pair<LocalOptimum, Theta> polish(F&& f, const Theta& t0, double step) {
  constexpr int kMaxRestarts = 30;
  constexpr double kRestartTol = 1e-7;
  LocalOptimum out;
  Theta at = t0;
  double value = f(t0);
  for (int restart = 0; restart <= kMaxRestarts; ++restart) {
    Simplex s;
    s.x[0] = at;
    s.f[0] = value;
    for (std::size_t k = 1; k < 4; ++k) {
      s.x[k] = at;
      s.x[k][k - 1] += restart == 0 ? step : 0.1;
      s.f[k] = f(s.x[k]);
    }
    const bool met = nelder_mead(f, s, 2000, 1e-9, 1e-7);
    std::size_t arg = 0;
    for (std::size_t k = 1; k < 4; ++k) {
      arg = s.f[k] < s.f[arg] ? k : arg;
    }
    const double improvement = value - s.f[arg];
    if (s.f[arg] < value) {
      value = s.f[arg];
      at = s.x[arg];
    }
    if (restart > 0 && met && improvement <= kRestartTol) {
      out.converged = true;
      break;
    }
  }
  out.value = value;
  return {out, at};
}

}  // namespace

std::vector<double> garch_variance_path(std::span<const double> x, const GarchParams& p) {
  std::vector<double> v(x.size() + 1);
  v[0] = mean_square(x);
  for (std::size_t t = 0; t < x.size(); ++t) {
    v[t + 1] = p.omega + p.alpha * x[t] * x[t] + p.beta * v[t];
  }
  return v;
}

double garch_log_likelihood(std::span<const double> x, const GarchParams& p) {
  double v = mean_square(x);
  double ll = 0.0;
  for (double r : x) {
    if (!(v > 0.0) || !std::isfinite(v)) {
      return kMinusInf;
    }
    ll -= 0.5 * (std::log(v) + r * r / v);
    v = p.omega + p.alpha * r * r + p.beta * v;
  }
  return ll;
}

GarchFit fit_garch(std::span<const double> x) {
  GarchFit out;
  if (x.size() < kGarchMinObservations) {
    out.failure = "fewer than " + std::to_string(kGarchMinObservations) + " observations";
    return out;
  }
  const double s2 = mean_square(x);
  if (!(s2 > 0.0) || !std::isfinite(s2)) {
    out.failure = "the returns are all zero";
    return out;
  }
  const auto objective = [&](const Theta& th) {
    const double ll = garch_log_likelihood(x, from_theta(th, s2));
    return std::isfinite(ll) ? -ll : std::numeric_limits<double>::max();
  };
  // A deterministic grid of starting points (persistence x alpha's share of it x omega as a
  // multiple of variance targeting's s2 (1 - alpha - beta)), ranked by likelihood; Nelder-Mead runs
  // from the kLocalRuns most likely and the best optimum wins. Three fixed starts were not enough:
  // on a window whose likelihood rises along the flat alpha = 0 ridge towards the persistence
  // bound, the search stopped early at different points from one window to the next, so a one-day
  // shift switched the filter between EWMA and a constant variance (the feedback-loop scenario's
  // VaR halved and doubled with no market move).
  constexpr std::array<double, 8> kPersistenceGrid{0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9998};
  constexpr std::array<double, 4> kAlphaShareGrid{1e-4, 0.02, 0.1, 0.3};
  // omega above variance targeting's: a variance path that drifts from its start.
  constexpr std::array<double, 4> kOmegaScaleGrid{0.5, 1.0, 2.0, 10.0};
  constexpr std::size_t kLocalRuns = 3;
  std::vector<std::pair<double, Theta>> starts;
  for (double persistence : kPersistenceGrid) {
    for (double share : kAlphaShareGrid) {
      for (double scale : kOmegaScaleGrid) {
        const double a0 = share * persistence;
        const Theta t0 = to_theta({s2 * (1.0 - persistence) * scale, a0, persistence - a0}, s2);
        starts.emplace_back(objective(t0), t0);
      }
    }
  }
  std::stable_sort(starts.begin(), starts.end(),
                   [](const auto& l, const auto& r) { return l.first < r.first; });
  double best = std::numeric_limits<double>::max();
  Theta best_theta{};
  bool any_converged = false;
  for (std::size_t run = 0; run < kLocalRuns && run < starts.size(); ++run) {
    const auto [optimum, theta] = polish(objective, starts[run].second, 0.5);
    if (optimum.value < best) {
      best = optimum.value;
      best_theta = theta;
      any_converged = optimum.converged;
    }
  }
  out.params = from_theta(best_theta, s2);
  out.log_likelihood = -best;
  if (!any_converged || !std::isfinite(out.log_likelihood)) {
    out.failure = "the likelihood maximisation did not converge";
    return out;
  }
  if (out.params.alpha + out.params.beta > kMaxPersistence - kPersistenceBoundTolerance) {
    out.failure = "alpha + beta at the stationarity bound";
    return out;
  }
  out.converged = true;
  return out;
}

FilteredReturns filter_returns(std::span<const double> returns, std::size_t n_assets,
                               double ewma_lambda, int horizon) {
  if (n_assets == 0 || returns.size() % n_assets != 0 || returns.size() / n_assets < 2) {
    throw std::invalid_argument("filtered historical simulation needs at least two observations.");
  }
  if (horizon < 1) {
    throw std::invalid_argument("the horizon must be at least one period.");
  }
  const std::size_t t_obs = returns.size() / n_assets;
  FilteredReturns out;
  out.scaled.resize(returns.size());
  out.filter.resize(n_assets);
  out.fits.resize(n_assets);
  std::vector<double> col(t_obs);
  for (std::size_t i = 0; i < n_assets; ++i) {
    for (std::size_t t = 0; t < t_obs; ++t) {
      col[t] = returns[t * n_assets + i];
    }
    const double s2 = mean_square(col);
    if (!(s2 > 0.0)) {
      out.filter[i] = VolatilityFilter::kNone;
      for (std::size_t t = 0; t < t_obs; ++t) {
        out.scaled[t * n_assets + i] = col[t];
      }
      continue;
    }
    const double floor2 = kVolatilityFloorFraction * kVolatilityFloorFraction * s2;
    std::vector<double> path;
    // sigma2 forecasts for T+1..T+h, averaged: GARCH's mean-reverting term structure
    // E[sigma2_{T+k}] = vbar + (alpha + beta)^(k-1) (sigma2_{T+1} - vbar); EWMA's is flat.
    double horizon_variance = 0.0;
    // Memoised on the column's bytes: portfolios sharing an asset share its fit (bit-identical).
    out.fits[i] = shared_garch_fit_cache().fit(col);
    if (out.fits[i].converged) {
      out.filter[i] = VolatilityFilter::kGarch;
      const auto& p = out.fits[i].params;
      path = garch_variance_path(col, p);
      const double persistence = p.alpha + p.beta;
      const double vbar = p.omega / (1.0 - persistence);
      double decay = 1.0;
      for (int k = 0; k < horizon; ++k) {
        horizon_variance += std::max(vbar + decay * (path[t_obs] - vbar), floor2);
        decay *= persistence;
      }
    } else {
      out.filter[i] = VolatilityFilter::kEwmaFallback;
      out.notes.push_back("filtered-historical: asset " + std::to_string(i) +
                          ": GARCH(1,1) fit failed (" + out.fits[i].failure + "); EWMA lambda " +
                          std::to_string(ewma_lambda) + " with the volatility floor used");
      path = ewma_variance_path(col, 1, ewma_lambda);
      horizon_variance = std::max(path[t_obs], floor2) * static_cast<double>(horizon);
    }
    const double sigma_h = std::sqrt(horizon_variance / static_cast<double>(horizon));
    for (std::size_t t = 0; t < t_obs; ++t) {
      const double sigma_t = std::sqrt(std::max(path[t], floor2));
      out.scaled[t * n_assets + i] = col[t] / sigma_t * sigma_h;
    }
  }
  return out;
}

}  // namespace varkeeper::risk
