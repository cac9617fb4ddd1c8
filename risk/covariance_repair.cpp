#include "risk/covariance_repair.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <cmath>
#include <stdexcept>

namespace varkeeper::risk {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// P_S: the nearest positive semidefinite matrix with eigenvalues >= floor (Higham 2002, thm 3.2:
// clip the eigenvalues of the symmetric part).
Matrix project_psd(const Matrix& r, double floor) {
  const Eigen::SelfAdjointEigenSolver<Matrix> eig(0.5 * (r + r.transpose()));
  const Eigen::VectorXd clipped = eig.eigenvalues().cwiseMax(floor);
  return eig.eigenvectors() * clipped.asDiagonal() * eig.eigenvectors().transpose();
}

}  // namespace

NearestCorrelation nearest_correlation(std::span<const double> a, std::size_t n,
                                       const NearestCorrelationOptions& options) {
  if (n == 0 || a.size() != n * n) {
    throw std::invalid_argument("the matrix is not square with the given size.");
  }
  const auto nn = static_cast<Eigen::Index>(n);
  const Matrix a0 = Eigen::Map<const Matrix>(a.data(), nn, nn);
  // Algorithm 3.3: Y_0 = A, dS_0 = 0; R = Y - dS; X = P_S(R); dS = X - R; Y = P_U(X).
  Matrix y = 0.5 * (a0 + a0.transpose());
  Matrix ds = Matrix::Zero(nn, nn);
  NearestCorrelation out;
  for (int k = 1; k <= options.max_iterations; ++k) {
    const Matrix r = y - ds;
    const Matrix x = project_psd(r, options.eigenvalue_floor);
    ds = x - r;
    Matrix y_next = x;
    y_next.diagonal().setOnes();  // P_U: unit diagonal
    const double change = (y_next - y).cwiseAbs().maxCoeff();
    const double gap = (y_next - x).cwiseAbs().maxCoeff();
    y = std::move(y_next);
    out.iterations = k;
    if (change <= options.tolerance && gap <= options.tolerance) {
      out.converged = true;
      break;
    }
  }
  if (options.eigenvalue_floor > 0.0) {
    // The last step set the diagonal to one after the eigenvalue projection; one more
    // projection and rescaling keeps both properties to rounding.
    const Matrix x = project_psd(y, options.eigenvalue_floor);
    const Eigen::VectorXd d = x.diagonal().cwiseSqrt().cwiseInverse();
    y = d.asDiagonal() * x * d.asDiagonal();
  }
  out.matrix.resize(n * n);
  Eigen::Map<Matrix>(out.matrix.data(), nn, nn) = 0.5 * (y + y.transpose());
  return out;
}

CovarianceFactor covariance_factor(std::span<const double> covariance, std::size_t n) {
  if (n == 0 || covariance.size() != n * n) {
    throw std::invalid_argument("the covariance matrix is not square with the given size.");
  }
  const auto nn = static_cast<Eigen::Index>(n);
  const Matrix cov = Eigen::Map<const Matrix>(covariance.data(), nn, nn);
  CovarianceFactor out;
  out.lower.assign(n * n, 0.0);
  Eigen::Map<Matrix> lower(out.lower.data(), nn, nn);
  Eigen::LLT<Matrix> llt(cov);
  if (llt.info() == Eigen::Success) {
    lower = llt.matrixL().toDenseMatrix();
    return out;
  }
  out.repaired = true;
  // The assets that move (positive variance); the others keep zero rows.
  std::vector<Eigen::Index> moving;
  for (Eigen::Index i = 0; i < nn; ++i) {
    if (!(cov(i, i) >= 0.0) || !std::isfinite(cov(i, i))) {
      throw std::invalid_argument("a variance in the covariance matrix is negative or not finite.");
    }
    if (cov(i, i) > 0.0) {
      moving.push_back(i);
    }
  }
  const auto k = static_cast<Eigen::Index>(moving.size());
  if (k == 0) {
    return out;
  }
  Eigen::VectorXd sd(k);
  Matrix corr(k, k);
  for (Eigen::Index a = 0; a < k; ++a) {
    sd(a) =
        std::sqrt(cov(moving[static_cast<std::size_t>(a)], moving[static_cast<std::size_t>(a)]));
  }
  for (Eigen::Index a = 0; a < k; ++a) {
    for (Eigen::Index b = 0; b < k; ++b) {
      corr(a, b) = cov(moving[static_cast<std::size_t>(a)], moving[static_cast<std::size_t>(b)]) /
                   (sd(a) * sd(b));
    }
  }
  const auto nc = nearest_correlation(std::span<const double>(corr.data(), corr.size()),
                                      static_cast<std::size_t>(k),
                                      {.eigenvalue_floor = kRepairEigenvalueFloor});
  const Matrix repaired =
      sd.asDiagonal() * Eigen::Map<const Matrix>(nc.matrix.data(), k, k) * sd.asDiagonal();
  llt.compute(repaired);
  if (llt.info() != Eigen::Success) {
    throw std::invalid_argument(
        "the covariance matrix could not be repaired to a positive "
        "definite one.");
  }
  const Matrix l = llt.matrixL().toDenseMatrix();
  // Embedding the factor of the moving assets keeps it lower triangular: `moving` is increasing.
  for (Eigen::Index a = 0; a < k; ++a) {
    for (Eigen::Index b = 0; b <= a; ++b) {
      lower(moving[static_cast<std::size_t>(a)], moving[static_cast<std::size_t>(b)]) = l(a, b);
    }
  }
  return out;
}

}  // namespace varkeeper::risk
