#include "risk/jump_calibration.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "risk/sample_moments.hpp"

namespace varkeeper::risk {
namespace {

double median(std::vector<double> v) {
  const std::size_t n = v.size();
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n / 2), v.end());
  const double upper = v[n / 2];
  if (n % 2 == 1) {
    return upper;
  }
  return 0.5 *
         (upper + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n / 2)));
}

void mean_sd(const std::vector<double>& v, double& mean, double& sd) {
  mean = 0.0;
  sd = 0.0;
  if (v.empty()) {
    return;
  }
  for (double x : v) {
    mean += x;
  }
  mean /= static_cast<double>(v.size());
  if (v.size() < 2) {
    return;
  }
  for (double x : v) {
    sd += (x - mean) * (x - mean);
  }
  sd = std::sqrt(sd / static_cast<double>(v.size() - 1));
}

}  // namespace

McModel calibrate_jump_diffusion(std::span<const double> returns, std::size_t n_assets) {
  if (n_assets == 0 || returns.size() % n_assets != 0) {
    throw std::invalid_argument("the return window is not a whole number of rows.");
  }
  const std::size_t n = n_assets;
  const std::size_t t_obs = returns.size() / n;
  if (t_obs < n + 3) {
    throw std::invalid_argument("too few observations to calibrate jumps.");
  }

  std::vector<char> flag(returns.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> col(t_obs);
    for (std::size_t t = 0; t < t_obs; ++t) {
      col[t] = returns[t * n + i];
    }
    const double med = median(col);
    for (auto& c : col) {
      c = std::fabs(c - med);
    }
    double robust_sd = 1.4826 * median(col);
    if (!(robust_sd > 0.0)) {
      // MAD = 0 (more than half the returns equal: a peg): the robust scale says every other
      // return is a jump. Measure the threshold in sample standard deviations instead.
      double mean = 0.0;
      double sd = 0.0;
      std::vector<double> raw(t_obs);
      for (std::size_t t = 0; t < t_obs; ++t) {
        raw[t] = returns[t * n + i];
      }
      mean_sd(raw, mean, sd);
      robust_sd = sd;
    }
    for (std::size_t t = 0; t < t_obs; ++t) {
      flag[t * n + i] = std::fabs(returns[t * n + i] - med) > kJumpThreshold * robust_sd ? 1 : 0;
    }
  }

  std::vector<double> quiet;  // rows without any jump
  std::vector<char> common(t_obs, 0);
  for (std::size_t t = 0; t < t_obs; ++t) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < n; ++i) {
      count += flag[t * n + i] ? 1 : 0;
    }
    if (count == 0) {
      quiet.insert(quiet.end(), returns.begin() + static_cast<std::ptrdiff_t>(t * n),
                   returns.begin() + static_cast<std::ptrdiff_t>((t + 1) * n));
    }
    common[t] = (n >= 2 && count == n) ? 1 : 0;
  }
  if (quiet.size() / n < n + 2) {
    // Too few jump-free periods to estimate a diffusion covariance: no jumps are separated, the
    // diffusion is estimated from every period (a plain normal model) instead of refusing.
    std::fill(flag.begin(), flag.end(), 0);
    std::fill(common.begin(), common.end(), 0);
    quiet.assign(returns.begin(), returns.end());
  }

  McModel m;
  m.distribution = McDistribution::kJumpDiffusion;
  m.drift = sample_mean(quiet, n);
  m.covariance = sample_covariance(quiet, n);
  auto& j = m.jumps;
  j.intensity.assign(n, 0.0);
  j.mean.assign(n, 0.0);
  j.stdev.assign(n, 0.0);
  j.common_mean.assign(n, 0.0);
  j.common_stdev.assign(n, 0.0);
  const double tn = static_cast<double>(t_obs);
  std::size_t n_common = 0;
  for (std::size_t t = 0; t < t_obs; ++t) {
    n_common += common[t] ? 1 : 0;
  }
  j.common_intensity = static_cast<double>(n_common) / tn;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> own, shared;
    for (std::size_t t = 0; t < t_obs; ++t) {
      if (!flag[t * n + i]) {
        continue;
      }
      const double size = returns[t * n + i] - m.drift[i];
      (common[t] ? shared : own).push_back(size);
    }
    j.intensity[i] = static_cast<double>(own.size()) / tn;
    mean_sd(own, j.mean[i], j.stdev[i]);
    mean_sd(shared, j.common_mean[i], j.common_stdev[i]);
  }
  return m;
}

}  // namespace varkeeper::risk
