#include "risk/student_t_fit.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <utility>
#include <vector>

#include "risk/sample_moments.hpp"

namespace varkeeper::risk {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

struct EmResult {
  Vector location;
  Matrix dispersion;
  double log_likelihood = 0.0;
};

// Scratch space of em_fixed_nu, sized once per fit so the EM iterations do not allocate.
struct EmWorkspace {
  EmWorkspace(Eigen::Index t_obs, Eigen::Index d, Vector floor)
      : llt(d),
        centered(t_obs, d),
        solved(d, t_obs),
        delta(t_obs),
        w(t_obs),
        dispersion_floor(std::move(floor)) {}
  Eigen::LLT<Matrix> llt;
  Matrix centered;  // T x d
  Matrix solved;    // d x T
  Vector delta;
  Vector w;
  Vector dispersion_floor;  // lower bound of each diagonal entry of the dispersion
};

// Profile maximum likelihood of (location, dispersion) for fixed nu, by EM. X is T x d.
EmResult em_fixed_nu(const Matrix& x, double nu, const Vector& start_location,
                     const Matrix& start_dispersion, EmWorkspace& ws) {
  const auto t_obs = x.rows();
  const auto d = static_cast<double>(x.cols());
  EmResult r{start_location, start_dispersion, -INFINITY};
  auto& llt = ws.llt;
  auto& centered = ws.centered;
  auto& solved = ws.solved;
  const double log_norm = std::lgamma(0.5 * (nu + d)) - std::lgamma(0.5 * nu) -
                          0.5 * d * std::log(nu * std::numbers::pi);
  for (int iter = 0; iter < 500; ++iter) {
    llt.compute(r.dispersion);
    if (llt.info() != Eigen::Success) {
      throw std::invalid_argument("the returns are degenerate (a singular covariance).");
    }
    centered = x.rowwise() - r.location.transpose();
    // delta_t = c_t' S^-1 c_t via the Cholesky factor.
    solved = centered.transpose();
    llt.matrixL().solveInPlace(solved);
    ws.delta = solved.colwise().squaredNorm().transpose();
    // log det S = 2 sum log L_ii (the factor's diagonal, read in place).
    const double log_det = 2.0 * llt.matrixLLT().diagonal().array().log().sum();
    double ll = static_cast<double>(t_obs) * (log_norm - 0.5 * log_det);
    ll -= 0.5 * (nu + d) * (ws.delta.array() / nu).log1p().sum();
    const bool converged = std::fabs(ll - r.log_likelihood) <= 1e-12 * std::fabs(ll);
    r.log_likelihood = ll;
    if (converged) {
      break;
    }
    ws.w = (nu + d) / (nu + ws.delta.array());
    const double sw = ws.w.sum();
    r.location.noalias() = (x.transpose() * ws.w) / sw;
    centered = x.rowwise() - r.location.transpose();
    r.dispersion.noalias() = centered.transpose() * ws.w.asDiagonal() * centered;
    r.dispersion /= static_cast<double>(t_obs);
    // The floor: with many identical returns (a peg's flat stretch) the t likelihood is
    // unbounded as the dispersion collapses onto them; the floored EM maximises it over the
    // dispersions whose diagonal stays at or above kDispersionFloorFraction^2 s_i^2.
    r.dispersion.diagonal() = r.dispersion.diagonal().cwiseMax(ws.dispersion_floor);
  }
  return r;
}

struct NuFit {
  double nu;
  EmResult em;
};

NuFit maximise_over_nu(const Matrix& x) {
  if (x.rows() < x.cols() + 2) {
    throw std::invalid_argument("too few observations to fit a Student-t distribution.");
  }
  const Vector mean = x.colwise().mean().transpose();
  const Matrix c = x.rowwise() - mean.transpose();
  const Matrix cov = (c.transpose() * c) / static_cast<double>(x.rows() - 1);
  EmWorkspace ws(x.rows(), x.cols(),
                 cov.diagonal() * (kDispersionFloorFraction * kDispersionFloorFraction));
  // Every nu evaluated so far, with its converged location and dispersion.
  struct Evaluated {
    double log_nu;
    Vector location;
    Matrix dispersion;
  };
  std::vector<Evaluated> evaluated;
  const auto profile = [&](double log_nu) {
    const double nu = std::exp(log_nu);
    const Evaluated* nearest = nullptr;
    for (const auto& e : evaluated) {
      if (nearest == nullptr ||
          std::fabs(e.log_nu - log_nu) < std::fabs(nearest->log_nu - log_nu)) {
        nearest = &e;
      }
    }
    // The first EM starts from the moment match (dispersion = covariance (nu - 2) / nu); later
    // ones from the optimum at the nearest nu already evaluated, a few iterations away. The EM's
    // fixed point for a given nu does not depend on its start, so only the last digits within
    // its convergence tolerance do (tests/risk/student_t_fit_test.cpp).
    Matrix start = cov * ((nu - 2.0) / nu);
    start.diagonal() = start.diagonal().cwiseMax(ws.dispersion_floor);
    EmResult r = nearest == nullptr
                     ? em_fixed_nu(x, nu, mean, start, ws)
                     : em_fixed_nu(x, nu, nearest->location, nearest->dispersion, ws);
    evaluated.push_back({log_nu, r.location, r.dispersion});
    return r;
  };
  // Golden-section search on log(nu): the profile likelihood is unimodal in practice.
  const double invphi = (std::sqrt(5.0) - 1.0) / 2.0;
  double a = std::log(kMinNu);
  double b = std::log(kMaxNu);
  double c1 = b - invphi * (b - a);
  double c2 = a + invphi * (b - a);
  double f1 = profile(c1).log_likelihood;
  double f2 = profile(c2).log_likelihood;
  while (b - a > 1e-9) {
    if (f1 >= f2) {
      b = c2;
      c2 = c1;
      f2 = f1;
      c1 = b - invphi * (b - a);
      f1 = profile(c1).log_likelihood;
    } else {
      a = c1;
      c1 = c2;
      f1 = f2;
      c2 = a + invphi * (b - a);
      f2 = profile(c2).log_likelihood;
    }
  }
  // The bounds themselves are candidates (a boundary maximum).
  double best = 0.5 * (a + b);
  EmResult em = profile(best);
  for (double edge : {std::log(kMinNu), std::log(kMaxNu)}) {
    EmResult e = profile(edge);
    if (e.log_likelihood > em.log_likelihood) {
      em = std::move(e);
      best = edge;
    }
  }
  return {std::exp(best), std::move(em)};
}

// Whether every value of column j is the same (a constant price: zero sample variance).
bool constant_column(const Matrix& x, Eigen::Index j) {
  return (x.col(j).array() == x(0, j)).all();
}

}  // namespace

StudentTFit fit_student_t(std::span<const double> x) {
  const Matrix m = Eigen::Map<const Matrix>(x.data(), static_cast<Eigen::Index>(x.size()), 1);
  if (m.rows() >= 3 && constant_column(m, 0)) {
    return {x[0], 0.0, kMaxNu, 0.0};  // a point mass: no dispersion to fit
  }
  const auto fit = maximise_over_nu(m);
  return {fit.em.location(0), std::sqrt(fit.em.dispersion(0, 0)), fit.nu, fit.em.log_likelihood};
}

MultivariateTFit fit_multivariate_t(std::span<const double> returns, std::size_t n_assets) {
  if (n_assets == 0 || returns.size() % n_assets != 0) {
    throw std::invalid_argument("the return window is not a whole number of rows.");
  }
  const auto rows = static_cast<Eigen::Index>(returns.size() / n_assets);
  const auto cols = static_cast<Eigen::Index>(n_assets);
  const Matrix m = Eigen::Map<const Matrix>(returns.data(), rows, cols);
  if (rows < cols + 2) {
    throw std::invalid_argument("too few observations to fit a Student-t distribution.");
  }
  // Assets whose price never moved are a point mass: they keep their (constant) return as
  // location and a zero row and column of dispersion; the t is fitted to the others.
  std::vector<Eigen::Index> moving;
  for (Eigen::Index j = 0; j < cols; ++j) {
    if (!constant_column(m, j)) {
      moving.push_back(j);
    }
  }
  MultivariateTFit out;
  out.location.resize(n_assets);
  out.dispersion.assign(n_assets * n_assets, 0.0);
  for (Eigen::Index j = 0; j < cols; ++j) {
    out.location[static_cast<std::size_t>(j)] = m(0, j);
  }
  out.nu = kMaxNu;
  if (moving.empty()) {
    return out;
  }
  const auto k = static_cast<Eigen::Index>(moving.size());
  Matrix sub(rows, k);
  for (Eigen::Index j = 0; j < k; ++j) {
    sub.col(j) = m.col(moving[static_cast<std::size_t>(j)]);
  }
  const auto fit = maximise_over_nu(sub);
  for (Eigen::Index a = 0; a < k; ++a) {
    const auto ia = static_cast<std::size_t>(moving[static_cast<std::size_t>(a)]);
    out.location[ia] = fit.em.location(a);
    for (Eigen::Index b = 0; b < k; ++b) {
      const auto ib = static_cast<std::size_t>(moving[static_cast<std::size_t>(b)]);
      out.dispersion[ia * n_assets + ib] = fit.em.dispersion(a, b);
    }
  }
  out.nu = fit.nu;
  out.log_likelihood = fit.em.log_likelihood;
  return out;
}

}  // namespace varkeeper::risk
