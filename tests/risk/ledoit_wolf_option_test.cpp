// RiskOptions::ledoit_wolf through estimate_risk (issue 16, covariance robustness).
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "risk/ledoit_wolf.hpp"
#include "risk/risk_method.hpp"
#include "risk/sample_moments.hpp"

using namespace varkeeper::risk;

TEST_CASE("parametric-normal with Ledoit-Wolf scales with the shrunk portfolio variance") {
  // The 6 x 3 case of covariance_repair_test.cpp in units of 1e-4, so the loss conversion is
  // linear to 1e-3 relative: with a zero mean (the data are centred), VaR_LW / VaR_sample =
  // sqrt(w'S_LW w / w'S w).
  std::vector<double> r{1, 2, -1, -2, -1, 0, 3, 2, 1, 0, -1, 2, -1, 0, -3, 2, 1, 1};
  // Centred (column means 0.5, 0.5, 0) so a sample-mean and a zero-mean convention agree.
  const double mean[3] = {0.5, 0.5, 0.0};
  for (std::size_t k = 0; k < r.size(); ++k) {
    r[k] = (r[k] - mean[k % 3]) * 1e-4;
  }
  const std::vector<double> w{0.5, 0.3, 0.2};
  RiskOptions o;
  const auto sample = estimate_risk(RiskMethod::kParametricNormal, {r, 3}, w, o);
  o.ledoit_wolf = true;
  const auto shrunk = estimate_risk(RiskMethod::kParametricNormal, {r, 3}, w, o);
  const auto s_lw = ledoit_wolf_covariance(r, 3).covariance;
  const auto s = sample_covariance(r, 3);
  double v_lw = 0.0;
  double v = 0.0;
  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t j = 0; j < 3; ++j) {
      v_lw += w[i] * w[j] * s_lw[i * 3 + j];
      v += w[i] * w[j] * s[i * 3 + j];
    }
  }
  CHECK(shrunk.var / sample.var == doctest::Approx(std::sqrt(v_lw / v)).epsilon(1e-3));
  CHECK(shrunk.var != sample.var);
  // mc-normal takes it too; EWMA and Ledoit-Wolf together are refused.
  o.paths = 4'000;
  const auto mc = estimate_risk(RiskMethod::kMcNormal, {r, 3}, w, o);
  CHECK(std::isfinite(mc.var));
  o.ewma_covariance = true;
  CHECK_THROWS_AS((void)estimate_risk(RiskMethod::kParametricNormal, {r, 3}, w, o),
                  std::invalid_argument);
}
