// Ledoit-Wolf shrinkage of the sample covariance toward a scaled identity: Ledoit & Wolf, "A
// well-conditioned estimator for large-dimensional covariance matrices", Journal of Multivariate
// Analysis 88 (2004) 365-411, with the finite-sample estimators of their lemmas 3.2-3.4 (the form
// scikit-learn's covariance.ledoit_wolf computes):
//   X the centred T x N data, S = X'X / T, mu = tr(S) / N, F = mu I,
//   d2 = ||S - F||^2 / N, b2 = min(d2, (1 / (N T^2)) sum_t ||x_t x_t' - S||^2),
//   shrinkage s = b2 / d2 (0 when d2 = 0), estimate (1 - s) S + s F
// (||.|| the Frobenius norm). Assets whose returns are all equal are left out and keep zero rows
// and columns (a constant asset is given no variance by the target).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace varkeeper::risk {

struct LedoitWolf {
  std::vector<double> covariance;  // N x N row-major, divisor T as in the paper
  double shrinkage = 0.0;          // s in [0, 1]
  double target_variance = 0.0;    // mu
};

// Throws std::invalid_argument for fewer than two observations or a window that is not a whole
// number of rows.
[[nodiscard]] LedoitWolf ledoit_wolf_covariance(std::span<const double> returns,
                                                std::size_t n_assets);

}  // namespace varkeeper::risk
