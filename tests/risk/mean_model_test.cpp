// Issue 16, defect 2: the sample mean extrapolated over the horizon. On the 500 BTC returns to
// 2017-12-16 the daily mean is 0.71 % and the daily sd 4.1 %: over 30 days the drift (21 %) took
// 41 % of the 99 % VaR, and over 250 days it made the VaR negative. The default is now mean =
// zero; mean = sample keeps the drift, and a VaR <= 0 says so in the diagnostics.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "risk/parametric.hpp"
#include "risk/risk_method.hpp"
#include "risk/sample_moments.hpp"
#include "risk/sampling_distributions.hpp"
#include "tests/risk/btc_window.hpp"

using namespace varkeeper::risk;

namespace {

const std::vector<double>& btc_bull_window() {
  static const std::vector<double> r = varkeeper::test::btc_log_returns("2016-08-03", "2017-12-16");
  return r;
}

}  // namespace

TEST_CASE("mean names round-trip and the default is zero") {
  CHECK(to_string(MeanModel::kZero) == "zero");
  CHECK(to_string(MeanModel::kSample) == "sample");
  CHECK(parse_mean_model("zero") == MeanModel::kZero);
  CHECK(parse_mean_model("sample") == MeanModel::kSample);
  CHECK_FALSE(parse_mean_model("Sample").has_value());
  CHECK(RiskOptions{}.mean == MeanModel::kZero);
}

TEST_CASE("on a BTC bull window the 30-day parametric VaR is not eroded by the sample drift") {
  const auto& r = btc_bull_window();
  REQUIRE(r.size() == 500);
  const double mu = sample_mean(r, 1)[0];
  const double sd = std::sqrt(sample_covariance(r, 1)[0]);
  REQUIRE(mu > 0.007);  // a strong drift: 30 mu = 21 %
  const std::vector<double> w{1.0};
  RiskOptions o;
  o.horizon = 30;
  const double z = stat::normal_quantile(0.99);
  const double sh = std::sqrt(30.0);
  // Default (zero mean): the 30-day log-return is N(0, 30 sd^2); VaR is the loss fraction
  // 1 - exp of its quantile.
  const auto zero = estimate_risk(RiskMethod::kParametricNormal, {r, 1}, w, o);
  CHECK(zero.var == doctest::Approx(-std::expm1(-sh * sd * z)).epsilon(1e-12));
  // mean = sample: N(30 mu, 30 sd^2); the VaR is lower by the drift.
  o.mean = MeanModel::kSample;
  const auto sample = estimate_risk(RiskMethod::kParametricNormal, {r, 1}, w, o);
  CHECK(sample.var == doctest::Approx(-std::expm1(-(sh * sd * z - 30.0 * mu))).epsilon(1e-12));
  CHECK(sample.var < zero.var);
  // The log-return quantiles differ by exactly the extrapolated drift 30 mu.
  CHECK(std::log1p(-sample.var) - std::log1p(-zero.var) == doctest::Approx(30.0 * mu));
  CHECK(sample.var / zero.var < 0.7);  // the drift took more than 30 % of the figure
}

TEST_CASE("the mean option applies to every method") {
  const auto& r = btc_bull_window();
  const double mu = sample_mean(r, 1)[0];
  const std::vector<double> w{1.0};
  RiskOptions o;
  o.horizon = 30;
  o.paths = 20'000;
  o.components = false;
  for (RiskMethod m : all_risk_methods()) {
    CAPTURE(to_string(m));
    o.mean = MeanModel::kZero;
    const auto zero = estimate_risk(m, {r, 1}, w, o);
    o.mean = MeanModel::kSample;
    const auto sample = estimate_risk(m, {r, 1}, w, o);
    CHECK(sample.var < zero.var);
    if (m == RiskMethod::kHistorical || m == RiskMethod::kMcNormal) {
      // A shift of every scenario's 30-day log-return by 30 mu: 1 - VaR scales by exp(30 mu)
      // (historical: the same ranked scenario; Monte Carlo: the same random numbers).
      CHECK((1.0 - sample.var) == doctest::Approx((1.0 - zero.var) * std::exp(30.0 * mu)));
    }
  }
}

TEST_CASE("a long horizon with the sample mean gives a negative VaR and says so") {
  const auto& r = btc_bull_window();
  const std::vector<double> w{1.0};
  RiskOptions o;
  o.horizon = 250;
  o.mean = MeanModel::kSample;
  const auto sample = estimate_risk(RiskMethod::kParametricNormal, {r, 1}, w, o);
  CHECK(sample.var < 0.0);
  CHECK(has_diagnostic(sample.diagnostics, DiagnosticKind::kNonPositiveVar));
  o.mean = MeanModel::kZero;
  const auto zero = estimate_risk(RiskMethod::kParametricNormal, {r, 1}, w, o);
  CHECK(zero.var > 0.5);
  CHECK_FALSE(has_diagnostic(zero.diagnostics, DiagnosticKind::kNonPositiveVar));
}
