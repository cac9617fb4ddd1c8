#include "risk/attribution.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "risk/parametric.hpp"
#include "risk/sample_moments.hpp"
#include "risk/sampling_distributions.hpp"

using namespace varkeeper::risk;

namespace {

std::vector<double> window_returns(std::size_t t_obs) {
  std::vector<double> r;
  for (std::size_t t = 0; t < t_obs; ++t) {
    const double x = static_cast<double>(t);
    const double a = 0.02 * std::sin(1.7 * x) + 0.01 * std::sin(0.05 * x * x);
    r.push_back(a);
    r.push_back(0.6 * a + 0.02 * std::cos(0.9 * x) + 0.0005);
    r.push_back(0.015 * std::sin(2.3 * x + 1.0));
  }
  return r;
}

}  // namespace

TEST_CASE("parametric vega by bumping matches the analytic volatility sensitivity") {
  const auto r = window_returns(500);
  const std::vector<double> w{0.5, 0.3, 0.2};
  const auto a = attribute_risk(RiskMethod::kParametricNormal, {r, 3}, w, RiskOptions{});
  const auto exact = parametric_normal(sample_mean(r, 3), sample_covariance(r, 3), w,
                                       {.confidence = 0.99, .horizon = 1});
  for (std::size_t i = 0; i < 3; ++i) {
    // Central difference in ln(sigma) with a 1 % bump: error O(1e-4) relative.
    CHECK(a.vega_var[i] == doctest::Approx(exact.vega_var[i]).epsilon(1e-3));
    CHECK(a.vega_cvar[i] == doctest::Approx(exact.vega_cvar[i]).epsilon(1e-3));
    CHECK(a.marginal_var[i] * w[i] == doctest::Approx(a.estimate.component_var[i]));
  }
}

TEST_CASE("Monte Carlo vega with common random numbers is close to the analytic one") {
  const auto r = window_returns(500);
  const std::vector<double> w{0.5, 0.3, 0.2};
  RiskOptions o;
  o.paths = 200'000;
  o.revaluation = Revaluation::kLinear;
  const auto a = attribute_risk(RiskMethod::kMcNormal, {r, 3}, w, o);
  const auto exact = parametric_normal(sample_mean(r, 3), sample_covariance(r, 3), w,
                                       {.confidence = 0.99, .horizon = 1});
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(std::fabs(a.vega_var[i] - exact.vega_var[i]) < 0.05 * exact.var);
    CHECK(std::fabs(a.vega_cvar[i] - exact.vega_cvar[i]) < 0.05 * exact.cvar);
  }
}

TEST_CASE("the marginal VaR of an asset not held is the derivative in its weight") {
  const auto r = window_returns(500);
  const std::vector<double> w{0.6, 0.4, 0.0};
  const auto a = attribute_risk(RiskMethod::kParametricNormal, {r, 3}, w, RiskOptions{});
  const auto mean = sample_mean(r, 3);
  const auto cov = sample_covariance(r, 3);
  double sw2 = 0.0, var_p = 0.0;
  for (std::size_t i = 0; i < 3; ++i) {
    double s = 0.0;
    for (std::size_t j = 0; j < 3; ++j) s += cov[i * 3 + j] * w[j];
    var_p += w[i] * s;
    if (i == 2) sw2 = s;
  }
  // VaR = 1 - exp(-V), V = -w'mu + z sigma_p the linear figure: dVaR/dw_3 = (1 - VaR) dV/dw_3,
  // dV/dw_3 = -mu_3 + z (Sigma w)_3 / sigma_p.
  const double z = stat::normal_quantile(0.99);
  CHECK(a.marginal_var[2] ==
        doctest::Approx((1.0 - a.estimate.var) * (-mean[2] + z * sw2 / std::sqrt(var_p)))
            .epsilon(1e-6));
  CHECK(a.estimate.component_var[2] == 0.0);
}
