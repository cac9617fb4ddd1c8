#include "risk/ledoit_wolf.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <stdexcept>

namespace varkeeper::risk {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

LedoitWolf ledoit_wolf_covariance(std::span<const double> returns, std::size_t n_assets) {
  if (n_assets == 0 || returns.size() % n_assets != 0 || returns.size() / n_assets < 2) {
    throw std::invalid_argument(
        "Ledoit-Wolf shrinkage needs at least two observations of every asset.");
  }
  const auto t_obs = static_cast<Eigen::Index>(returns.size() / n_assets);
  const auto nn = static_cast<Eigen::Index>(n_assets);
  const Matrix all = Eigen::Map<const Matrix>(returns.data(), t_obs, nn);
  std::vector<Eigen::Index> moving;
  for (Eigen::Index j = 0; j < nn; ++j) {
    if (!(all.col(j).array() == all(0, j)).all()) {
      moving.push_back(j);
    }
  }
  LedoitWolf out;
  out.covariance.assign(n_assets * n_assets, 0.0);
  const auto k = static_cast<Eigen::Index>(moving.size());
  if (k == 0) {
    return out;
  }
  Matrix x(t_obs, k);
  for (Eigen::Index a = 0; a < k; ++a) {
    x.col(a) = all.col(moving[static_cast<std::size_t>(a)]);
  }
  x.rowwise() -= x.colwise().mean();
  const double t = static_cast<double>(t_obs);
  const double p = static_cast<double>(k);
  const Matrix s = (x.transpose() * x) / t;
  const double mu = s.trace() / p;
  Matrix f = Matrix::Identity(k, k) * mu;
  const double d2 = (s - f).squaredNorm() / p;
  double b2_sum = 0.0;
  for (Eigen::Index r = 0; r < t_obs; ++r) {
    const Eigen::RowVectorXd xr = x.row(r);
    b2_sum += (xr.transpose() * xr - s).squaredNorm();
  }
  const double b2 = std::min(d2, b2_sum / (p * t * t));
  out.shrinkage = d2 > 0.0 ? b2 / d2 : 0.0;
  out.target_variance = mu;
  const Matrix shrunk = (1.0 - out.shrinkage) * s + out.shrinkage * f;
  for (Eigen::Index a = 0; a < k; ++a) {
    for (Eigen::Index b = 0; b < k; ++b) {
      out.covariance[static_cast<std::size_t>(moving[static_cast<std::size_t>(a)] * nn +
                                              moving[static_cast<std::size_t>(b)])] = shrunk(a, b);
    }
  }
  return out;
}

}  // namespace varkeeper::risk
