// Exponentially weighted (RiskMetrics) volatility and covariance, zero-mean as in RiskMetrics
// Technical Document (1996) section 5.2: sigma2_{t+1} = lambda sigma2_t + (1 - lambda) r_t^2,
// and the same recursion for every covariance entry with r_t r_t'. lambda = 0.94 for daily data.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace varkeeper::risk {

inline constexpr double kRiskMetricsLambda = 0.94;

// One step of the recursion (Hull, Options, Futures and Other Derivatives, "the EWMA model").
[[nodiscard]] inline double ewma_variance_update(double previous_variance, double last_return,
                                                 double lambda) noexcept {
  return lambda * previous_variance + (1.0 - lambda) * last_return * last_return;
}

// The covariance forecast for the period after the window, N x N row-major. The recursion is
// seeded with the window's sample covariance (divisor T - 1), then run over every row.
[[nodiscard]] std::vector<double> ewma_covariance(std::span<const double> returns,
                                                  std::size_t n_assets, double lambda);

// Per-asset EWMA variances sigma2[t][i] for t = 0..T (T + 1 rows, row-major): row t is the
// variance forecast for period t made with data up to t - 1, row T the forecast for the next
// period. Row 0 is the window's sample variance.
[[nodiscard]] std::vector<double> ewma_variance_path(std::span<const double> returns,
                                                     std::size_t n_assets, double lambda);

// Filtered historical simulation no longer rescales by sigma_now / sigma_t of this path alone: on
// a flat stretch it decays toward zero and the next move is rescaled without bound (issue 16,
// defect 1). risk/garch.hpp's filter_returns uses it only as the fallback, with a floor.

}  // namespace varkeeper::risk
