// Covariance matrices a simulation can factor: the nearest correlation matrix by Higham's
// alternating projections, and the Cholesky factor of a covariance repaired with it, instead of a
// diagonal jitter (issue 16, covariance robustness).
//
// Higham, "Computing the nearest correlation matrix - a problem from finance", IMA Journal of
// Numerical Analysis 22 (2002) 329-343, algorithm 3.3: alternate the projections onto the
// positive semidefinite matrices (eigenvalues clipped at a floor) and onto the unit-diagonal
// matrices, with Dykstra's correction, until the iterates agree. With the eigenvalue floor
// delta > 0 the result is positive definite with smallest eigenvalue about delta.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace varkeeper::risk {

struct NearestCorrelationOptions {
  double eigenvalue_floor = 0.0;  // delta: 0 gives the nearest PSD correlation matrix
  double tolerance = 1e-12;       // stop when successive iterates differ by less (max norm)
  int max_iterations = 10'000;
};

struct NearestCorrelation {
  std::vector<double> matrix;  // N x N row-major, unit diagonal, symmetric
  int iterations = 0;
  bool converged = false;
};

// The correlation matrix nearest to the symmetric N x N matrix `a` in the Frobenius norm
// (Higham 2002, W = I). Throws std::invalid_argument if `a` is not N x N.
[[nodiscard]] NearestCorrelation nearest_correlation(std::span<const double> a, std::size_t n,
                                                     const NearestCorrelationOptions& options = {});

// The lower-triangular Cholesky factor L (row-major) of a covariance matrix, with L L' = the
// covariance when it is positive definite. Otherwise it is repaired, not jittered: assets with
// zero variance keep zero rows and columns (they contribute their observed moves: none); the
// correlation matrix of the others is replaced by its nearest correlation matrix with smallest
// eigenvalue at least kRepairEigenvalueFloor (Higham 2002) and rescaled by the assets' own
// standard deviations, so every variance is kept. `repaired` says whether that happened.
inline constexpr double kRepairEigenvalueFloor = 1e-10;
struct CovarianceFactor {
  std::vector<double> lower;  // N x N row-major, zero above the diagonal
  bool repaired = false;
};
[[nodiscard]] CovarianceFactor covariance_factor(std::span<const double> covariance, std::size_t n);

}  // namespace varkeeper::risk
