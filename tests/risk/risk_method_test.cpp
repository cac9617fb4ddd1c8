#include "risk/risk_method.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "risk/parametric.hpp"
#include "risk/returns.hpp"
#include "risk/sample_moments.hpp"
#include "risk/student_t_fit.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::risk;

namespace {

double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

// A deterministic, fat-tailed two-asset window with occasional joint crashes.
std::vector<double> window_returns(std::size_t t_obs) {
  std::vector<double> r;
  for (std::size_t t = 0; t < t_obs; ++t) {
    const double x = static_cast<double>(t);
    double a = 0.02 * std::sin(1.7 * x) + 0.01 * std::sin(0.05 * x * x);
    double b = 0.6 * a + 0.02 * std::cos(0.9 * x) + 0.0005;
    if (t % 97 == 13) {
      a -= 0.12;
      b -= 0.15;
    }
    if (t % 61 == 5) a += 0.09;
    r.push_back(a);
    r.push_back(b);
  }
  return r;
}

const auto kAll = all_risk_methods();

}  // namespace

TEST_CASE(
    "all_risk_methods lists every method once, in enum order, and the names list names each") {
  REQUIRE(kAll.size() == 10);
  for (std::size_t i = 0; i < kAll.size(); ++i) CHECK(static_cast<std::size_t>(kAll[i]) == i);
  CHECK(static_cast<std::size_t>(RiskMethod::kEvt) + 1 == kAll.size());
  CHECK(risk_method_names() ==
        "parametric-normal, parametric-t, cornish-fisher, historical, historical-age, "
        "filtered-historical, mc-normal, mc-t, mc-jump, evt");
  CHECK(risk_method_names(", ", " or ") ==
        "parametric-normal, parametric-t, cornish-fisher, historical, historical-age, "
        "filtered-historical, mc-normal, mc-t, mc-jump or evt");
}

TEST_CASE("risk method names round-trip and unknown names are refused") {
  for (RiskMethod m : kAll) CHECK(parse_risk_method(to_string(m)) == m);
  CHECK_FALSE(parse_risk_method("monte-carlo").has_value());
  CHECK(is_monte_carlo(RiskMethod::kMcJump));
  CHECK_FALSE(is_monte_carlo(RiskMethod::kHistorical));
}

TEST_CASE("every method gives CVaR >= VaR > 0 with components summing to the totals") {
  const auto r = window_returns(600);
  const std::vector<double> w{0.6, 0.4};
  RiskOptions o;
  o.paths = 50'000;
  for (int h : {1, 5}) {
    o.horizon = h;
    for (RiskMethod m : kAll) {
      CAPTURE(to_string(m));
      CAPTURE(h);
      const auto e = estimate_risk(m, {r, 2}, w, o);
      CHECK(e.var > 0.0);
      CHECK(e.cvar >= e.var);
      CHECK(e.n_obs == 600);
      REQUIRE(e.component_var.size() == 2);
      CHECK(sum(e.component_var) == doctest::Approx(e.var).epsilon(1e-10));
      CHECK(sum(e.component_cvar) == doctest::Approx(e.cvar).epsilon(1e-10));
      if (is_monte_carlo(m)) {
        CHECK(e.stderr_var > 0.0);
        CHECK(e.stderr_cvar > 0.0);
      } else {
        CHECK(e.stderr_var == 0.0);
      }
    }
  }
}

TEST_CASE("parametric-normal through the facade uses the sample mean and covariance") {
  const auto r = window_returns(300);
  const std::vector<double> w{0.5, 0.5};
  RiskOptions o;
  o.confidence = 0.975;
  o.horizon = 10;
  const auto zero = estimate_risk(RiskMethod::kParametricNormal, {r, 2}, w, o);
  CHECK(zero.var == parametric_normal(std::vector<double>{0.0, 0.0}, sample_covariance(r, 2), w,
                                      {.confidence = 0.975, .horizon = 10})
                        .var);
  o.mean = MeanModel::kSample;
  const auto e = estimate_risk(RiskMethod::kParametricNormal, {r, 2}, w, o);
  const auto direct = parametric_normal(sample_mean(r, 2), sample_covariance(r, 2), w,
                                        {.confidence = 0.975, .horizon = 10});
  CHECK(e.var == direct.var);
  CHECK(e.cvar == direct.cvar);
  o.ewma_covariance = true;
  CHECK(estimate_risk(RiskMethod::kParametricNormal, {r, 2}, w, o).var != direct.var);
}

TEST_CASE("the t methods report the fitted degrees of freedom") {
  const auto r = window_returns(600);
  const std::vector<double> w{0.6, 0.4};
  const auto e = estimate_risk(RiskMethod::kParametricT, {r, 2}, w, RiskOptions{});
  CHECK(e.nu > 2.0);
  CHECK(e.nu < 500.0);
}

// Closes of config/data/btc_usd_daily.csv ("date,close") from first_date to last_date inclusive.
std::vector<double> btc_closes(const std::string& first_date, const std::string& last_date) {
  std::ifstream in(std::string(VARKEEPER_SOURCE_DIR) + "/config/data/btc_usd_daily.csv");
  REQUIRE(in.good());
  std::vector<double> closes;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    const auto comma = line.find(',');
    if (comma == std::string::npos) continue;
    const std::string date = line.substr(0, comma);
    if (date == first_date) inside = true;
    if (inside) closes.push_back(std::stod(line.substr(comma + 1)));
    if (date == last_date) break;
  }
  return closes;
}

// Regression (docs/risk-validation.md): on this BTC window the ML nu sits at its lower bound; the
// t methods once rescaled the sample covariance to a unit-variance t, sqrt((nu - 2) / nu) = 0.16,
// and reported a VaR below the normal one. A t fitted to the same data has fatter tails: its
// 99 % VaR is at least the normal's, and mc-t simulates the same t as parametric-t.
TEST_CASE("on a BTC window with nu at its lower bound the t VaR is not below the normal VaR") {
  const auto closes = btc_closes("2015-09-26", "2017-02-07");
  REQUIRE(closes.size() == 501);
  const auto r = log_returns(closes);
  REQUIRE(r.size() == 500);
  const std::vector<double> w{1.0};
  RiskOptions o;
  o.confidence = 0.99;
  o.revaluation = Revaluation::kLinear;  // the closed forms are linear in r
  o.paths = 400'000;
  o.seed = varkeeper::test::test_seed(20170207);
  const auto normal = estimate_risk(RiskMethod::kParametricNormal, {r, 1}, w, o);
  const auto t = estimate_risk(RiskMethod::kParametricT, {r, 1}, w, o);
  CHECK(t.nu == doctest::Approx(kMinNu).epsilon(1e-6));
  CHECK(t.var >= normal.var);
  CHECK(t.cvar >= normal.cvar);
  const auto mc = estimate_risk(RiskMethod::kMcT, {r, 1}, w, o);
  CHECK(mc.nu == t.nu);
  CAPTURE(mc.var);
  CAPTURE(mc.stderr_var);
  CAPTURE(t.var);
  CHECK(mc.stderr_var > 0.0);
  CHECK(std::fabs(mc.var - t.var) <= 3.0 * mc.stderr_var);
}

TEST_CASE("inputs the caller should have validated are refused with a sentence") {
  const auto r = window_returns(100);
  const std::vector<double> w{0.6, 0.4};
  RiskOptions o;
  o.confidence = 1.0;
  CHECK_THROWS_AS((void)estimate_risk(RiskMethod::kHistorical, {r, 2}, w, o),
                  std::invalid_argument);
  o.confidence = 0.99;
  CHECK_THROWS_AS((void)estimate_risk(RiskMethod::kHistorical, {r, 2}, std::vector<double>{1.0}, o),
                  std::invalid_argument);
  o.horizon = 0;
  CHECK_THROWS_AS((void)estimate_risk(RiskMethod::kParametricNormal, {r, 2}, w, o),
                  std::invalid_argument);
  o.horizon = 1;
  const std::vector<double> one_row{0.01, 0.02};
  CHECK_THROWS_WITH_AS((void)estimate_risk(RiskMethod::kParametricNormal, {one_row, 2}, w, o),
                       "method parametric-normal needs at least 2 observations, the window has 1.",
                       std::invalid_argument);
}

// Issue 16, defect 5: parametric-t scaled the t by sqrt(h) while mc-t summed h t draws, so the
// two disagreed for h > 1 (+9.5 % VaR, +24 % ES at h = 10, nu = 4). Both now use the scaled t.
TEST_CASE("parametric-t and mc-t agree at a 10-period horizon on t(4) data") {
  std::mt19937_64 gen(varkeeper::test::test_seed(4));
  std::student_t_distribution<double> t4(4.0);
  std::vector<double> r(1000);
  for (double& x : r) {
    x = 0.0005 + 0.02 * t4(gen);
  }
  const std::vector<double> w{1.0};
  RiskOptions o;
  o.horizon = 10;
  o.revaluation = Revaluation::kLinear;  // the closed form is linear in r
  o.paths = 200'000;
  o.seed = 10;
  o.components = false;
  const auto p = estimate_risk(RiskMethod::kParametricT, {r, 1}, w, o);
  const auto mc = estimate_risk(RiskMethod::kMcT, {r, 1}, w, o);
  CAPTURE(p.nu);
  CAPTURE(p.var);
  CAPTURE(mc.var);
  CAPTURE(p.cvar);
  CAPTURE(mc.cvar);
  CHECK(p.nu < 10.0);
  CHECK(std::fabs(mc.var - p.var) <= 3.0 * mc.stderr_var);
  CHECK(std::fabs(mc.cvar - p.cvar) <= 3.0 * mc.stderr_cvar);
}
