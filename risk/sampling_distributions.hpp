// The distributions the VaR backtests need for their p-values, zones and simulations: chi-square
// (likelihood-ratio tests), binomial (traffic-light zones), standard normal and Student-t
// (quantiles for the recalibration multiplier and the expected-shortfall test's simulation model).
//
// Implemented from the classical definitions (Abramowitz & Stegun 6.5 for the incomplete gamma
// function, 26.5 for the incomplete beta function) rather than taken from a library, so risk/
// stays dependency-free; accuracy is ~1e-14 relative in the bodies and the tails, checked in
// tests/risk/sampling_distributions_test.cpp against values computed independently with SciPy.
#pragma once

#include <cstddef>

namespace varkeeper::risk::stat {

// Regularised lower incomplete gamma P(a, x) = gamma(a, x) / Gamma(a), a > 0, x >= 0.
[[nodiscard]] double regularized_gamma_p(double a, double x);
// Regularised upper incomplete gamma Q(a, x) = 1 - P(a, x), computed directly (accurate tails).
[[nodiscard]] double regularized_gamma_q(double a, double x);

// Regularised incomplete beta I_x(a, b), a, b > 0, 0 <= x <= 1.
[[nodiscard]] double regularized_beta(double x, double a, double b);

// Chi-square with k > 0 degrees of freedom: CDF and survival function P(X > x) = Q(k/2, x/2).
[[nodiscard]] double chi_square_cdf(double x, double k);
[[nodiscard]] double chi_square_sf(double x, double k);

// Binomial(n, p): P(X <= k) and P(X >= k), through the identity
// P(X <= k) = I_{1-p}(n - k, k + 1) (A&S 26.5.24), exact for every k in [0, n].
[[nodiscard]] double binomial_cdf(std::size_t k, std::size_t n, double p);
[[nodiscard]] double binomial_sf_inclusive(std::size_t k, std::size_t n, double p);

// Standard normal: density, CDF (via erfc, accurate in both tails) and quantile (Acklam's
// rational approximation refined by one Halley step: ~1e-15 relative).
[[nodiscard]] double normal_pdf(double x) noexcept;
[[nodiscard]] double normal_cdf(double x) noexcept;
[[nodiscard]] double normal_quantile(double p);

// Student-t with nu > 0 degrees of freedom (not standardised): density, CDF and quantile.
[[nodiscard]] double student_t_pdf(double x, double nu);
[[nodiscard]] double student_t_cdf(double x, double nu);
[[nodiscard]] double student_t_quantile(double p, double nu);

}  // namespace varkeeper::risk::stat
