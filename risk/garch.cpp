#include "risk/garch.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "risk/ewma.hpp"

namespace varkeeper::risk {
namespace {

constexpr double kMinusInf = -std::numeric_limits<double>::infinity();

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
  // Starting points around the usual daily estimates and a low-persistence one, each with
  // variance targeting (omega = s2 (1 - alpha - beta)).
  constexpr std::array<std::array<double, 2>, 3> kStarts{
      {{0.05, 0.90}, {0.10, 0.80}, {0.20, 0.50}}};
  double best = std::numeric_limits<double>::max();
  Theta best_theta{};
  bool any_converged = false;
  for (const auto& [a0, b0] : kStarts) {
    const Theta t0 = to_theta({s2 * (1.0 - a0 - b0), a0, b0}, s2);
    Simplex s;
    s.x[0] = t0;
    for (std::size_t k = 1; k < 4; ++k) {
      s.x[k] = t0;
      s.x[k][k - 1] += 0.5;
    }
    for (std::size_t k = 0; k < 4; ++k) {
      s.f[k] = objective(s.x[k]);
    }
    const bool converged = nelder_mead(objective, s, 2000, 1e-9, 1e-7);
    // Restart once from the optimum: Nelder-Mead can stall on a collapsed simplex.
    Simplex r;
    r.x[0] = s.x[0];
    r.f[0] = s.f[0];
    for (std::size_t k = 1; k < 4; ++k) {
      r.x[k] = s.x[0];
      r.x[k][k - 1] += 0.1;
      r.f[k] = objective(r.x[k]);
    }
    const bool reconverged = converged && nelder_mead(objective, r, 2000, 1e-9, 1e-7);
    std::size_t arg = 0;
    for (std::size_t k = 1; k < 4; ++k) {
      arg = r.f[k] < r.f[arg] ? k : arg;
    }
    if (r.f[arg] < best) {
      best = r.f[arg];
      best_theta = r.x[arg];
      any_converged = reconverged;
    }
  }
  out.params = from_theta(best_theta, s2);
  out.log_likelihood = -best;
  if (!any_converged || !std::isfinite(out.log_likelihood)) {
    out.failure = "the likelihood maximisation did not converge";
    return out;
  }
  if (out.params.alpha + out.params.beta > kMaxPersistence - 1e-6) {
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
    out.fits[i] = fit_garch(col);
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
