// Sample estimators on a T x N window of returns (row-major, oldest first).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace varkeeper::risk {

// Column means.
[[nodiscard]] std::vector<double> sample_mean(std::span<const double> returns,
                                              std::size_t n_assets);
// Unbiased sample covariance (divisor T - 1), N x N row-major. Needs T >= 2.
[[nodiscard]] std::vector<double> sample_covariance(std::span<const double> returns,
                                                    std::size_t n_assets);

// Moments of one series with divisor T (scipy.stats.skew / kurtosis with bias=True):
// skewness m3 / m2^1.5 and excess kurtosis m4 / m2^2 - 3.
struct SeriesMoments {
  double mean = 0.0;
  double variance = 0.0;  // divisor T - 1
  double skewness = 0.0;
  double excess_kurtosis = 0.0;
};
[[nodiscard]] SeriesMoments series_moments(std::span<const double> x);

}  // namespace varkeeper::risk
