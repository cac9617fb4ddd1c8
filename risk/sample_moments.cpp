#include "risk/sample_moments.hpp"

#include <cmath>
#include <stdexcept>

namespace varkeeper::risk {

std::vector<double> sample_mean(std::span<const double> returns, std::size_t n_assets) {
  if (n_assets == 0 || returns.size() % n_assets != 0 || returns.empty()) {
    throw std::invalid_argument("the return window is empty or not a whole number of rows.");
  }
  const std::size_t t_obs = returns.size() / n_assets;
  std::vector<double> mean(n_assets, 0.0);
  for (std::size_t t = 0; t < t_obs; ++t) {
    for (std::size_t i = 0; i < n_assets; ++i) {
      mean[i] += returns[t * n_assets + i];
    }
  }
  for (auto& m : mean) {
    m /= static_cast<double>(t_obs);
  }
  return mean;
}

std::vector<double> sample_covariance(std::span<const double> returns, std::size_t n_assets) {
  const auto mean = sample_mean(returns, n_assets);
  const std::size_t t_obs = returns.size() / n_assets;
  if (t_obs < 2) {
    throw std::invalid_argument("a covariance needs at least two observations.");
  }
  std::vector<double> cov(n_assets * n_assets, 0.0);
  std::vector<double> d(n_assets);
  for (std::size_t t = 0; t < t_obs; ++t) {
    for (std::size_t i = 0; i < n_assets; ++i) {
      d[i] = returns[t * n_assets + i] - mean[i];
    }
    for (std::size_t i = 0; i < n_assets; ++i) {
      for (std::size_t j = 0; j <= i; ++j) {
        cov[i * n_assets + j] += d[i] * d[j];
      }
    }
  }
  const double denom = static_cast<double>(t_obs - 1);
  for (std::size_t i = 0; i < n_assets; ++i) {
    for (std::size_t j = 0; j <= i; ++j) {
      cov[i * n_assets + j] /= denom;
      cov[j * n_assets + i] = cov[i * n_assets + j];
    }
  }
  return cov;
}

SeriesMoments series_moments(std::span<const double> x) {
  if (x.size() < 2) {
    throw std::invalid_argument("moments need at least two observations.");
  }
  const double n = static_cast<double>(x.size());
  double mean = 0.0;
  for (double v : x) {
    mean += v;
  }
  mean /= n;
  double m2 = 0.0, m3 = 0.0, m4 = 0.0;
  for (double v : x) {
    const double d = v - mean;
    const double d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  SeriesMoments out;
  out.mean = mean;
  out.variance = m2 / (n - 1.0);
  m2 /= n;
  m3 /= n;
  m4 /= n;
  if (m2 > 0.0) {
    out.skewness = m3 / (m2 * std::sqrt(m2));
    out.excess_kurtosis = m4 / (m2 * m2) - 3.0;
  }
  return out;
}

}  // namespace varkeeper::risk
