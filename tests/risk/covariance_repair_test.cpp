#include "risk/covariance_repair.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "risk/ledoit_wolf.hpp"
#include "risk/monte_carlo.hpp"

using namespace varkeeper::risk;

namespace {

// L L' (row-major N x N).
std::vector<double> times_transpose(const std::vector<double>& l, std::size_t n) {
  std::vector<double> out(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t k = 0; k < n; ++k) {
        out[i * n + j] += l[i * n + k] * l[j * n + k];
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the nearest correlation matrix of Higham's 2002 example") {
  // Higham (2002), section 4: A = [1 1 0; 1 1 1; 0 1 1] is not positive semidefinite
  // (eigenvalues 1 - sqrt 2, 1, 1 + sqrt 2); its nearest correlation matrix is
  // [1 .7607 .1573; .7607 1 .7607; .1573 .7607 1] (four decimals, as printed in the paper).
  const std::vector<double> a{1, 1, 0, 1, 1, 1, 0, 1, 1};
  const auto x = nearest_correlation(a, 3);
  CHECK(x.converged);
  const std::vector<double> want{1, 0.7607, 0.1573, 0.7607, 1, 0.7607, 0.1573, 0.7607, 1};
  for (std::size_t i = 0; i < 9; ++i) {
    CAPTURE(i);
    CHECK(std::fabs(x.matrix[i] - want[i]) < 6e-5);
  }
  // Already a correlation matrix: returned as it is.
  const std::vector<double> c{1, 0.5, 0.5, 1};
  const auto same = nearest_correlation(c, 2);
  CHECK(same.matrix[1] == doctest::Approx(0.5).epsilon(1e-12));
}

TEST_CASE("a singular covariance is repaired, not jittered, and keeps every variance") {
  // Asset 1 is exactly half of asset 0 (correlation 1), asset 2 never moves.
  const std::vector<double> cov{4, 2, 0, 2, 1, 0, 0, 0, 0};
  const auto f = covariance_factor(cov, 3);
  CHECK(f.repaired);
  const auto back = times_transpose(f.lower, 3);
  // Variances kept, the constant asset keeps a zero row, the correlation stays at 1 within the
  // eigenvalue floor (1e-10).
  CHECK(back[0] == doctest::Approx(4.0).epsilon(1e-12));
  CHECK(back[4] == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(back[1] == doctest::Approx(2.0).epsilon(1e-9));
  for (std::size_t k : {2U, 5U, 6U, 7U, 8U}) {
    CHECK(back[k] == 0.0);
  }
  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t j = i + 1; j < 3; ++j) {
      CHECK(f.lower[i * 3 + j] == 0.0);  // lower triangular
    }
  }
  // A positive definite matrix is factored as it is.
  const std::vector<double> pd{4, 1, 1, 2};
  const auto g = covariance_factor(pd, 2);
  CHECK_FALSE(g.repaired);
  CHECK(g.lower[0] == doctest::Approx(2.0).epsilon(1e-15));
  CHECK(g.lower[2] == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(g.lower[3] == doctest::Approx(std::sqrt(2.0 - 0.25)).epsilon(1e-15));
}

TEST_CASE("Monte Carlo on a covariance with a constant and a duplicated asset runs") {
  // Before the repair this relied on a 1e-12 diagonal jitter; now the factor is exact.
  McModel model;
  model.drift = {0.0, 0.0, 0.0};
  model.covariance = {1e-4, 1e-4, 0, 1e-4, 1e-4, 0, 0, 0, 0};
  McSettings s;
  s.paths = 20'000;
  s.seed = 3;
  const std::vector<double> w{0.5, 0.5, 0.0};
  const auto r = monte_carlo_risk(model, w, 0.99, s);
  // Both moving assets are one N(0, 1e-4): the 99 % VaR of a 1 % normal, about 2.3 %.
  CHECK(std::isfinite(r.var));
  CHECK(r.var == doctest::Approx(-std::expm1(-0.01 * 2.3263478740408408)).epsilon(0.05));
}

TEST_CASE("Ledoit-Wolf shrinkage intensity of a small case, computed independently") {
  // scripts/ledoit_wolf_reference.py (plain Python with exact fractions, no shared code):
  //   mu = 43/18, d2 = 535/162, b2 = 299/162, shrinkage = 299/535 = 0.5588785046728972
  //   shrunk covariance rows:
  //   2.6217030114226376 0.77196261682243 0.5146417445482866
  //   0.77196261682243 2.033541017653167 -0.0735202492211838
  //   0.5146417445482866 -0.0735202492211838 2.511422637590862
  const std::vector<double> r{1, 2, -1, -2, -1, 0, 3, 2, 1, 0, -1, 2, -1, 0, -3, 2, 1, 1};
  const auto lw = ledoit_wolf_covariance(r, 3);
  CHECK(lw.shrinkage == doctest::Approx(299.0 / 535.0).epsilon(1e-14));
  CHECK(lw.target_variance == doctest::Approx(43.0 / 18.0).epsilon(1e-14));
  const std::vector<double> want{2.6217030114226376, 0.77196261682243,    0.5146417445482866,
                                 0.77196261682243,   2.033541017653167,   -0.0735202492211838,
                                 0.5146417445482866, -0.0735202492211838, 2.511422637590862};
  for (std::size_t i = 0; i < 9; ++i) {
    CAPTURE(i);
    CHECK(lw.covariance[i] == doctest::Approx(want[i]).epsilon(1e-13));
  }
}

TEST_CASE("Ledoit-Wolf leaves a constant asset at zero variance") {
  std::vector<double> r;
  const std::vector<double> x{1, -2, 3, 0, -1, 2};
  for (double v : x) {
    r.push_back(v);
    r.push_back(5.0);  // constant
  }
  const auto lw = ledoit_wolf_covariance(r, 2);
  CHECK(lw.covariance[1] == 0.0);
  CHECK(lw.covariance[2] == 0.0);
  CHECK(lw.covariance[3] == 0.0);
  // One moving asset: S = mu I already, d2 = 0, no shrinkage, the ML variance (divisor T).
  CHECK(lw.shrinkage == 0.0);
  CHECK(lw.covariance[0] == doctest::Approx((1 + 4 + 9 + 0 + 1 + 4) / 6.0 - 0.25).epsilon(1e-14));
}
