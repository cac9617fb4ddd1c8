#include "risk/predictive_law.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "risk/sampling_distributions.hpp"

namespace varkeeper::risk {

double cornish_fisher_z(double z, double skewness, double excess_kurtosis) noexcept {
  const double s = skewness;
  const double k = excess_kurtosis;
  return z + (z * z - 1.0) * s / 6.0 + (z * z * z - 3.0 * z) * k / 24.0 -
         (2.0 * z * z * z - 5.0 * z) * s * s / 36.0;
}

double PredictiveLaw::lowest_u() const noexcept {
  if (kind != Kind::kSample || sample_size == 0) {
    return 0.0;
  }
  return 1.0 - static_cast<double>(tail.size()) / static_cast<double>(sample_size);
}

double PredictiveLaw::loss_quantile(double u) const {
  switch (kind) {
    case Kind::kNone: throw std::logic_error("The forecast has no predictive law.");
    case Kind::kSample: {
      if (tail.empty() || sample_size == 0) {
        throw std::logic_error("The forecast's sample law holds no losses.");
      }
      // Rank from the worst: u in ((n - j - 1) / n, (n - j) / n] is the loss of rank j.
      const double from_top = (1.0 - u) * static_cast<double>(sample_size);
      auto j = static_cast<std::size_t>(std::max(from_top, 0.0));
      j = std::min(j, tail.size() - 1);
      return tail[j];
    }
    case Kind::kNormal:
    case Kind::kStudentT:
    case Kind::kCornishFisher: break;
  }
  // X's quantile at 1 - u (the loss is decreasing in X).
  const double p = 1.0 - u;
  return loss_at_standard(kind == Kind::kStudentT ? stat::student_t_quantile(p, nu)
                                                  : stat::normal_quantile(p));
}

double PredictiveLaw::loss_at_standard(double z) const {
  if (kind == Kind::kNone || kind == Kind::kSample) {
    throw std::logic_error("Only a parametric law has a standard variate.");
  }
  if (kind == Kind::kCornishFisher) {
    z = cornish_fisher_z(z, skewness, excess_kurtosis);
  }
  const double x = location + scale * z;
  switch (loss_map) {
    case LossMap::kLinear: return -x;
    case LossMap::kFull: return -std::expm1(x);
    case LossMap::kLoneShort: return short_weight * std::expm1(-x / short_weight);
  }
  return -x;
}

}  // namespace varkeeper::risk
