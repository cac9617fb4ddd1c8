// Two independence backtests beyond Christoffersen's (1998) first-order Markov test:
//  - Christoffersen & Pelletier (2004), "Backtesting Value-at-Risk: A Duration-Based Approach",
//    J. Financial Econometrics 2(1): the no-hit durations of a correct VaR are memoryless
//    (exponential); a Weibull hazard with shape b != 1 is the alternative (b < 1: clustered
//    exceptions, a decreasing hazard; b > 1: exceptions more evenly spaced than chance).
//  - Engle & Manganelli (2004), "CAViaR", J. Business & Economic Statistics 22(4), the dynamic
//    quantile (DQ) test: the demeaned hit Hit_t = I_t - (1 - alpha) must be unpredictable from
//    its own lags and from the VaR forecast.
// Conventions as in risk/backtest.hpp: I_t = 1 if -realized[t] > var[t]; alpha is the VaR
// confidence (0.99), so 1 - alpha is the exception probability under H0. Both p-values are the
// asymptotic chi-square ones (the papers also give Monte Carlo p-values for small samples).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "risk/backtest.hpp"

namespace varkeeper::risk {

// Durations and censoring (Christoffersen & Pelletier 2004, section 2.2). With exceptions at the
// 1-based days t_1 < ... < t_N of T days:
//   D_1 = t_1, censored (C_1 = 1) unless t_1 = 1 (the spell before day 1 is unobserved, so all we
//     know is that the duration is at least t_1: it enters through the survival S(D_1));
//   D_i = t_i - t_(i-1) for i = 2..N, uncensored (density f(D_i));
//   D_(N+1) = T - t_N, always censored (survival), and dropped when t_N = T (it would be 0).
// Weibull: f(d) = a^b b d^(b-1) exp(-(a d)^b), S(d) = exp(-(a d)^b); b = 1 is the exponential.
// For a given b the likelihood is maximised by a^b = n_u / sum_i D_i^b (n_u = uncensored
// durations, the sum over all durations), so b is found on the profile log-likelihood
//   l(b) = n_u ln(n_u / sum D_i^b) + n_u ln b + (b - 1) sum_uncensored ln D_i - n_u
// by golden-section search on ln b over [kMinShape, kMaxShape] (l is unimodal in b). The bound
// only binds when every uncensored duration is equal and no censored spell is longer (then
// l grows without limit in b); the LR is then the one at b = kMaxShape.
// LR = 2 (l(b_hat) - l(1)) ~ chi2(1). Undefined (defined = false, LR 0, p 1) without at least
// one uncensored duration, i.e. with fewer than two exceptions unless the first is on day 1.
struct DurationTestResult {
  static constexpr double kMinShape = 1e-3;
  static constexpr double kMaxShape = 1e3;
  LikelihoodRatioTest lr;
  bool defined = false;
  double shape_b = 1.0;             // Weibull b (ML)
  double weibull_a = 0.0;           // Weibull a at b
  double exponential_a = 0.0;       // a at b = 1: the estimated hazard n_u / sum D_i
  double loglik_weibull = 0.0;      // l(b_hat)
  double loglik_exponential = 0.0;  // l(1)
  std::size_t durations = 0;        // durations entering the likelihood (censored included)
  std::size_t uncensored = 0;
  bool first_censored = false;
  bool last_censored = false;
};
[[nodiscard]] DurationTestResult christoffersen_pelletier_duration(
    std::span<const std::uint8_t> hits);

// Engle & Manganelli (2004) DQ test with `lags` = K lagged hits: for t = K..T-1 (0-based),
//   Hit_t = b0 + sum_k b_k Hit_(t-k) + b_(K+1) VaR_t + u_t,  Hit_t = I_t - (1 - alpha),
// by OLS; DQ = b' X'X b / ((1 - alpha) alpha) ~ chi2(K + 2). b' X'X b = ||X b||^2, the squared
// fitted values, which is also what is computed when X is rank-deficient (a constant VaR, or no
// exception in the sample, makes columns collinear with the constant): the fitted values are the
// projection of Hit on X's column space (column-pivoting QR) and the degrees of freedom are
// rank(X) (= K + 2 when X has full rank). Throws std::invalid_argument for mismatched sizes,
// alpha outside (0, 1), or T <= 2 K + 2 (fewer than K + 2 regression rows after the K lags, plus
// one).
struct DynamicQuantileResult {
  double dq = 0.0;
  double p_value = 1.0;
  int dof = 0;                   // rank of X (K + 2 at full rank)
  std::size_t lags = 0;          // K
  std::size_t observations = 0;  // regression rows, T - K
  std::vector<double>
      beta;  // OLS coefficients: constant, K lags, VaR (minimum-norm if rank-deficient)
};
inline constexpr std::size_t kDefaultDqLags = 4;
[[nodiscard]] DynamicQuantileResult engle_manganelli_dq(std::span<const double> realized,
                                                        std::span<const double> var, double alpha,
                                                        std::size_t lags = kDefaultDqLags);

}  // namespace varkeeper::risk
