// Parametric VaR and CVaR: normal, Student-t and Cornish-Fisher, with Euler components.
//
// The portfolio's log-return over one period is modelled as X = w'r (linear in the assets'
// log-returns). Horizon h periods: mean h * mu, covariance h * Sigma (square-root-of-time for the
// standard deviation, iid periods). For Cornish-Fisher the iid aggregation also scales skewness by
// 1/sqrt(h) and excess kurtosis by 1/h. For Student-t (location mu, dispersion Sigma) the h-period
// sum is approximated by a t with the same nu, location h mu and sqrt(h)-scaled scale.
//
// Units (issue 16, defect 3): with ParametricOptions::revaluation = kFull (the default, as for
// historical and Monte Carlo) VaR and ES are loss fractions of portfolio value, L = 1 - exp(X):
//   VaR = 1 - exp(x_p)                    (x_p the p-quantile of X, p = 1 - alpha; exact, as
//                                          1 - exp is monotone)
//   ES  = 1 - E[exp(X) | X <= x_p]        (the tail mean of the loss itself, integrated: not
//                                          1 - exp(-ES of X), which would understate it)
// normal: ES = 1 - exp(m + s^2/2) Phi(z_p - s) / p (the lognormal tail); Student-t and
// Cornish-Fisher: the tail integral by quadrature. Both are below 1 for every horizon. X = w'r is
// exact for one asset and, by Jensen, makes 1 - exp(X) an upper bound of the true loss of a
// long-only portfolio; a portfolio with short positions can lose more than its value, which this
// model cannot represent (full-revaluation historical and Monte Carlo can). Exception: a lone short
// (one nonzero weight w < 0) is revalued exactly, L = |w| (e^r - 1): VaR at r's upper quantile, ES
// exact for the normal and the Jensen lower bound for the t and Cornish-Fisher, whose short tail
// has no finite mean (diagnostic short_tail_unbounded); a short beside other assets keeps
// 1 - exp(w'r) with the diagnostic short_position_approximation. kLinear keeps the
// delta approximation L = -X. Euler components of the loss fraction are the linear model's
// components rescaled to the total (1 - exp is not homogeneous in w).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "risk/portfolio_loss.hpp"
#include "risk/predictive_law.hpp"
#include "risk/return_window.hpp"
#include "risk/risk_diagnostic.hpp"

namespace varkeeper::risk {

// Closed forms for a single loss distribution, alpha the confidence (0.99), p = 1 - alpha.
// Normal return N(mean, sd^2): VaR = -mean + sd z_alpha, ES = -mean + sd phi(z_alpha) / p.
[[nodiscard]] double normal_var(double mean, double sd, double alpha);
[[nodiscard]] double normal_es(double mean, double sd, double alpha);
// Student-t return mean + scale T_nu: VaR = -mean + scale t_alpha,
// ES = -mean + scale (nu + t_alpha^2) / (nu - 1) f_nu(t_alpha) / p (McNeil, Frey & Embrechts,
// Quantitative Risk Management, 2005, example 2.19). nu > 1.
[[nodiscard]] double student_t_var(double mean, double scale, double nu, double alpha);
[[nodiscard]] double student_t_es(double mean, double scale, double nu, double alpha);
// Cornish-Fisher (Zangari 1996, "modified VaR"): z_cf = z + (z^2 - 1) S / 6 + (z^3 - 3z) K / 24
// - (2 z^3 - 5 z) S^2 / 36 with z = Phi^-1(p), VaR = -(mean + sd z_cf). ES is the same
// expansion averaged over the tail, ES = -(mean + sd e_cf) with
// e_cf = (1/p) int_0^p z_cf(Phi^-1(u)) du
//      = -phi(z) / p [1 + S z / 6 + K (z^2 - 1) / 24 + S^2 (1 - 2 z^2) / 36],
// reported no lower than VaR. S skewness, K excess kurtosis of the return.
[[nodiscard]] double cornish_fisher_var(double mean, double sd, double skewness,
                                        double excess_kurtosis, double alpha);
[[nodiscard]] double cornish_fisher_es(double mean, double sd, double skewness,
                                       double excess_kurtosis, double alpha);
// The expansion is a valid quantile function only if z_cf is increasing in z; that holds for
// every z iff the quadratic dz_cf/dz = (K/8 - S^2/6) z^2 + (S/3) z + (1 - K/8 + 5 S^2/36) has no
// real root and is positive (Maillard 2012, "A user's guide to the Cornish Fisher expansion").
[[nodiscard]] bool cornish_fisher_valid(double skewness, double excess_kurtosis);

// Maillard's domain of validity in (S, K): |S| <= 6 (sqrt(2) - 1) = 2.485 and, for that S,
// K_lo(S) < K < K_hi(S) with K = 8 (a + S^2/6), a = [(1 - S^2/36) -+ sqrt((1 - S^2/36)^2 -
// S^2/9)] / 2 (at S = 0: 0 < K < 8). The fallback used outside it: keep S (clipped to
// +-0.999999 x 2.485), then move K to the nearest bound, 1e-6 of the interval's width inside, so
// the expansion is a monotone quantile function again. Inside the domain (S, K) are returned
// unchanged (projected = false).
struct CornishFisherParameters {
  double skewness = 0.0;
  double excess_kurtosis = 0.0;
  bool projected = false;  // (S, K) were outside the domain and moved onto its boundary
};
inline constexpr double kCornishFisherMaxSkewness = 2.4852813742385702;  // 6 (sqrt(2) - 1)
[[nodiscard]] CornishFisherParameters cornish_fisher_domain(double skewness,
                                                            double excess_kurtosis);
// K_lo(S) and K_hi(S) of the domain; both NaN when |S| > 6 (sqrt(2) - 1).
[[nodiscard]] std::pair<double, double> cornish_fisher_kurtosis_bounds(double skewness);

// Single-asset geometric Brownian motion: log-return N(mean, sd^2), loss = 1 - exp(r):
// VaR = 1 - exp(mean + sd z_p), ES = 1 - exp(mean + sd^2 / 2) Phi(z_p - sd) / p.
[[nodiscard]] double lognormal_var(double mean, double sd, double alpha);
[[nodiscard]] double lognormal_es(double mean, double sd, double alpha);

struct ParametricResult {
  double var = 0.0;
  double cvar = 0.0;
  std::vector<double> component_var;   // Euler: w_i dVaR/dw_i, sums to var
  std::vector<double> component_cvar;  // sums to cvar
  std::vector<double> vega_var;        // dVaR/dln(sigma_i): change per unit relative vol change
  std::vector<double> vega_cvar;
  std::vector<Diagnostic> diagnostics;  // e.g. Cornish-Fisher outside its domain
  // Cornish-Fisher: the h-period skewness and excess kurtosis of the sample, and those the
  // expansion used (equal unless they lay outside Maillard's domain: cornish_fisher_domain).
  double cf_sample_skewness = 0.0;
  double cf_sample_excess_kurtosis = 0.0;
  double cf_skewness = 0.0;
  double cf_excess_kurtosis = 0.0;
  // The forecast loss distribution itself (risk/predictive_law.hpp): the h-period X's location and
  // scale, its family and the loss map used above.
  PredictiveLaw law;
};

struct ParametricOptions {
  double confidence = 0.99;  // alpha in (0, 1)
  int horizon = 1;           // periods (square-root-of-time, iid periods)
  // kFull: loss fractions of value, 1 - exp(X) (see the top of this file); kLinear: -X.
  Revaluation revaluation = Revaluation::kFull;
};

// mean: N per-period means; covariance: N x N row-major per-period covariance.
[[nodiscard]] ParametricResult parametric_normal(std::span<const double> mean,
                                                 std::span<const double> covariance,
                                                 std::span<const double> weights,
                                                 const ParametricOptions& options);
// The multivariate t with location vector, dispersion matrix (N x N row-major, the t's scale
// matrix: covariance = dispersion * nu / (nu - 2)) and nu > 1, e.g. the ML fit of
// risk/student_t_fit.hpp: the portfolio return is a t with location w'mu and scale
// sqrt(w' dispersion w); VaR and ES are student_t_var / student_t_es of that t.
[[nodiscard]] ParametricResult parametric_student_t(std::span<const double> location,
                                                    std::span<const double> dispersion, double nu,
                                                    std::span<const double> weights,
                                                    const ParametricOptions& options);
// From the window's sample moments of the portfolio return w'r_t (skewness and kurtosis with
// divisor T, variance with T - 1); the components use the analytic gradient of the moments
// (Boudt, Peterson & Croux 2008), so they sum to the totals. Outside Maillard's domain the
// expansion uses cornish_fisher_domain's boundary point and says so (diagnostic
// cf_outside_domain, with both pairs of moments).
[[nodiscard]] ParametricResult parametric_cornish_fisher(const ReturnWindow& window,
                                                         std::span<const double> weights,
                                                         const ParametricOptions& options);

}  // namespace varkeeper::risk
