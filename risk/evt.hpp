// Extreme-value theory: peaks over threshold with a generalised Pareto fit (Balkema-de Haan-
// Pickands; McNeil & Frey 2000; McNeil, Frey & Embrechts, Quantitative Risk Management, 5.2).
//
// Losses L_1..L_n (positive = loss). A threshold u is an upper order statistic: the k-th largest
// loss with k = max(ceil(threshold_fraction n), min_exceedances, ceil(n (1 - alpha)) + 1), capped
// at n - 1; the N_u losses strictly above u give the excesses Y = L - u, fitted by a GPD(xi, beta)
// by maximum likelihood:
//   G(y) = 1 - (1 + xi y / beta)^(-1/xi)   (xi != 0),   1 - exp(-y / beta)   (xi = 0).
// The ML is the profile likelihood in theta = xi / beta (Grimshaw 1993): for fixed theta the
// optimal xi is mean(log(1 + theta Y)), so the fit is a one-dimensional search, with xi -> 0 the
// exponential limit at theta = 0; xi is constrained to xi >= kMinXi = -0.5 (below it the ML
// estimator is not regular, Smith 1985). Standard errors come from the observed information
// (the numerical Hessian of the log-likelihood at the optimum).
// Tail estimator (MFE (5.18), (5.19)): with p = (n / N_u) (1 - alpha),
//   VaR_alpha = u + beta / xi (p^(-xi) - 1)     (u - beta log p at xi = 0),
//   ES_alpha  = VaR_alpha / (1 - xi) + (beta - xi u) / (1 - xi)     for xi < 1.
// Fallbacks (each with a note; risk_method.cpp turns them into an evt_fallback diagnostic):
//   - fewer than kMinFitExceedances positive excesses (a peg, a flat window): VaR and ES are the
//     empirical tail of the losses (risk/empirical_tail.hpp);
//   - xi >= 1 (infinite mean: ES does not exist): VaR is the GPD figure, ES the empirical tail
//     average beyond the GPD VaR's order, at least VaR.
#pragma once

#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "risk/portfolio_loss.hpp"
#include "risk/return_window.hpp"

namespace varkeeper::risk {

inline constexpr double kMinXi = -0.5;
inline constexpr std::size_t kMinFitExceedances = 10;

struct GpdFit {
  double xi = 0.0;
  double beta = 0.0;
  double se_xi = 0.0;  // observed-information standard errors
  double se_beta = 0.0;
  double cov_xi_beta = 0.0;
  double log_likelihood = 0.0;
  bool xi_at_bound = false;  // the ML sat on xi = kMinXi
};

// GPD log-likelihood of the excesses (-inf outside the support).
[[nodiscard]] double gpd_log_likelihood(std::span<const double> excesses, double xi, double beta);

// ML fit of a GPD to positive excesses (at least two, not all equal). Throws
// std::invalid_argument otherwise.
[[nodiscard]] GpdFit fit_gpd(std::span<const double> excesses);

// The POT tail estimators above (xi < 1 for the ES).
[[nodiscard]] double pot_var(double u, double xi, double beta, std::size_t n, std::size_t n_u,
                             double confidence);
[[nodiscard]] double pot_es(double u, double xi, double beta, std::size_t n, std::size_t n_u,
                            double confidence);

struct PotOptions {
  double confidence = 0.99;
  double threshold_fraction = 0.10;  // the top 10 % of losses
  std::size_t min_exceedances = 30;
  // A fixed threshold instead of the order statistic (the published examples use u = 10);
  // NaN = choose by the rule above.
  double threshold = std::numeric_limits<double>::quiet_NaN();
};

struct PotResult {
  double var = 0.0;
  double es = 0.0;
  double se_var = 0.0;  // delta method from the fit's covariance (0 on a fallback)
  double threshold = 0.0;
  std::size_t n = 0;
  std::size_t n_exceedances = 0;
  GpdFit fit;
  bool fitted = false;  // false: the empirical fallback
  std::string note;     // the fallback taken, empty when none
};

[[nodiscard]] PotResult pot_risk(std::span<const double> losses, const PotOptions& options);

// Portfolio losses of the window's overlapping h-period scenarios (as historical simulation:
// sum of h consecutive log-returns per asset, then unit_loss per asset, weighted).
[[nodiscard]] std::vector<double> evt_portfolio_losses(const ReturnWindow& window,
                                                       std::span<const double> weights, int horizon,
                                                       Revaluation revaluation);

}  // namespace varkeeper::risk
