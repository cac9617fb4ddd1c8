// GARCH(1,1) with intercept (Bollerslev 1986) fitted by Gaussian (quasi-)maximum likelihood, and
// the volatility filter of filtered historical simulation (Barone-Adesi, Giannopoulos & Vosper
// 1999) built on it.
//
// Model (zero mean, as RiskMetrics and FHS practice on daily returns):
//   r_t = sigma_t z_t,  sigma2_t = omega + alpha r_{t-1}^2 + beta sigma2_{t-1},
// omega > 0, alpha >= 0, beta >= 0, alpha + beta < 1 (covariance stationarity), the recursion
// started at the window's mean square. The log-likelihood (constants dropped) is
//   l = -1/2 sum_t (ln sigma2_t + r_t^2 / sigma2_t).
// It is maximised by Nelder-Mead over an unconstrained parametrisation that enforces the
// constraints (omega = s2 e^a, alpha + beta = kMaxPersistence logistic(b), alpha = (alpha + beta)
// logistic(c)), from the most likely points of a fixed start grid, each restarted until stable.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace varkeeper::risk {

// alpha + beta is kept at or below this: a fit at the unit-root boundary (IGARCH) is refused.
inline constexpr double kMaxPersistence = 0.9999;
// Fewer observations than this: no GARCH fit (the filter falls back to EWMA with the floor).
inline constexpr std::size_t kGarchMinObservations = 100;
// The filter's volatility floor, as a fraction of the window's root mean square return: no
// sigma_t (and no forecast) is taken below it, so a flat stretch cannot blow up the next move.
inline constexpr double kVolatilityFloorFraction = 0.5;

struct GarchParams {
  double omega = 0.0;
  double alpha = 0.0;
  double beta = 0.0;
};

struct GarchFit {
  GarchParams params;
  double log_likelihood = 0.0;
  bool converged = false;
  std::string failure;  // why the fit is not usable ("" when converged)
};

// The conditional variances sigma2_t for t = 0..T (T + 1 values): value t is the forecast for
// period t made with data up to t - 1, value T the forecast for the period after the window.
[[nodiscard]] std::vector<double> garch_variance_path(std::span<const double> x,
                                                      const GarchParams& p);

// Gaussian log-likelihood of the zero-mean series under p (constants dropped; -inf if a variance
// is not positive and finite).
[[nodiscard]] double garch_log_likelihood(std::span<const double> x, const GarchParams& p);

// Maximum likelihood fit. Never throws on data: a series that cannot be fitted (too short, zero
// mean square, no convergence, the persistence at its bound) comes back with converged = false
// and `failure` saying why.
[[nodiscard]] GarchFit fit_garch(std::span<const double> x);

// How filtered historical simulation filtered one asset.
enum class VolatilityFilter {
  kGarch,         // GARCH(1,1) fitted by ML
  kEwmaFallback,  // the GARCH fit failed: EWMA (lambda) with the floor
  kNone,          // the asset never moved (zero mean square): its returns are used as observed
};

struct FilteredReturns {
  // T x N row-major: the standardised residuals z_t = r_t / max(sigma_t, floor) rescaled to the
  // volatility over the horizon, z_t sigma_h (sigma_h^2 the mean of the variance forecasts for
  // periods T+1..T+h, each floored).
  std::vector<double> scaled;
  std::vector<VolatilityFilter> filter;  // per asset
  std::vector<GarchFit> fits;            // per asset (meaningful when filter == kGarch)
  std::vector<std::string> notes;        // one sentence per asset that fell back
};

// Per asset: GARCH(1,1) by ML, or EWMA with `ewma_lambda` when the fit fails; sigma floored at
// kVolatilityFloorFraction times the asset's root mean square return over the window.
[[nodiscard]] FilteredReturns filter_returns(std::span<const double> returns, std::size_t n_assets,
                                             double ewma_lambda, int horizon);

}  // namespace varkeeper::risk
