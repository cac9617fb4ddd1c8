#include "risk/ewma.hpp"

#include <cmath>
#include <stdexcept>

#include "risk/sample_moments.hpp"

namespace varkeeper::risk {
namespace {

void check_lambda(double lambda) {
  if (!(lambda > 0.0 && lambda < 1.0)) {
    throw std::invalid_argument("the EWMA decay lambda must be strictly between 0 and 1.");
  }
}

}  // namespace

std::vector<double> ewma_covariance(std::span<const double> returns, std::size_t n_assets,
                                    double lambda) {
  check_lambda(lambda);
  auto cov = sample_covariance(returns, n_assets);
  const std::size_t t_obs = returns.size() / n_assets;
  for (std::size_t t = 0; t < t_obs; ++t) {
    const double* r = returns.data() + t * n_assets;
    for (std::size_t i = 0; i < n_assets; ++i) {
      for (std::size_t j = 0; j < n_assets; ++j) {
        cov[i * n_assets + j] = lambda * cov[i * n_assets + j] + (1.0 - lambda) * r[i] * r[j];
      }
    }
  }
  return cov;
}

std::vector<double> ewma_variance_path(std::span<const double> returns, std::size_t n_assets,
                                       double lambda) {
  check_lambda(lambda);
  const auto cov = sample_covariance(returns, n_assets);
  const std::size_t t_obs = returns.size() / n_assets;
  std::vector<double> path((t_obs + 1) * n_assets);
  for (std::size_t i = 0; i < n_assets; ++i) {
    path[i] = cov[i * n_assets + i];
  }
  for (std::size_t t = 0; t < t_obs; ++t) {
    for (std::size_t i = 0; i < n_assets; ++i) {
      path[(t + 1) * n_assets + i] =
          ewma_variance_update(path[t * n_assets + i], returns[t * n_assets + i], lambda);
    }
  }
  return path;
}

}  // namespace varkeeper::risk
