// Backtests: MATLAB's published varbacktest example, the Basel (1996) traffic-light table,
// closed forms, and the Acerbi-Szekely Z2 test under true and understated models.
#include "risk/backtest.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

#include "risk/sampling_distributions.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::risk;

namespace {

// MATLAB varbacktest documentation (Risk Management Toolbox; pages varbacktest.summary, .pof, .cci,
// .tl; https://www.mathworks.com/help/risk/varbacktest.cci.html), EquityIndex with Normal95:
// 1043 observations, 57 failures, first failure at 58, N00 = 932, N10 = 53, N01 = 53, N11 = 4;
// POF LR 0.46147 p 0.49694; CCI LR 0.25866 p 0.61104; TL green, probability 0.77913, type I
// 0.26396; summary expected 52.15, ratio 1.093. CC LR = 0.46147 + 0.25866 = 0.72013.
//
// A hit sequence with those counts: 57 exceptions neither at the first nor at the last day give
// n01 + n11 = 57 (transitions into a hit) and n10 + n11 = 57 (out of one), so n01 = n10 = 57 - n11
// and n00 = 1042 - 57 - n01. LR_ind as a function of n11 alone equals 0.25866 only at n11 = 4 (the
// test below checks every n11 in 0..57), i.e. 53 runs of hits of which 4 are pairs.
struct Series {
  std::vector<double> realized;
  std::vector<double> var;
};

Series matlab_example_series() {
  constexpr std::size_t kN = 1043;
  Series s{std::vector<double>(kN, 0.001), std::vector<double>(kN, 0.02)};
  for (std::size_t run = 0; run < 53; ++run) {
    const std::size_t start = 57 + 18 * run;  // first failure on day 58
    s.realized[start] = -0.03;
    if (run % 10 == 5 && run < 40) s.realized[start + 1] = -0.025;  // runs 5, 15, 25, 35: pairs
  }
  return s;
}

}  // namespace

TEST_CASE("the MATLAB varbacktest transition counts follow from 57 exceptions and LR_ind") {
  std::vector<std::size_t> matches;
  for (std::size_t n11 = 0; n11 <= 57; ++n11) {
    const std::size_t n01 = 57 - n11;
    const TransitionCounts c{1042 - 57 - n01, n01, n01, n11};
    if (std::fabs(christoffersen_independence(c).lr - 0.25866) < 5e-6) matches.push_back(n11);
  }
  REQUIRE(matches.size() == 1);
  CHECK(matches[0] == 4);
}

TEST_CASE("the MATLAB varbacktest example is reproduced from a hit sequence with its counts") {
  const auto s = matlab_example_series();
  const auto hits = hit_sequence(s.realized, s.var);
  const auto c = transition_counts(hits);
  CHECK(c.n00 == 932);
  CHECK(c.n01 == 53);
  CHECK(c.n10 == 53);
  CHECK(c.n11 == 4);

  BacktestOptions options;
  options.confidence = 0.95;
  options.shortfall.simulations = 200;
  const auto r = run_backtest(s.realized, s.var, {}, options);
  CHECK(r.n_obs == 1043);
  CHECK(r.exceptions == 57);
  CHECK(r.first_exception == 58);
  CHECK(r.expected_exceptions == doctest::Approx(52.15).epsilon(1e-12));
  CHECK(r.exception_ratio == doctest::Approx(1.093).epsilon(5e-4));
  CHECK(r.pof.lr == doctest::Approx(0.46147).epsilon(2e-5));
  CHECK(r.pof.p_value == doctest::Approx(0.49694).epsilon(2e-5));
  CHECK(r.independence.lr == doctest::Approx(0.25866).epsilon(2e-5));
  CHECK(r.independence.p_value == doctest::Approx(0.61104).epsilon(2e-5));
  CHECK(r.conditional_coverage.lr == doctest::Approx(0.72013).epsilon(2e-5));
  CHECK(r.conditional_coverage.dof == 2);
  CHECK_FALSE(r.pof_reject);
  CHECK_FALSE(r.independence_reject);
  CHECK_FALSE(r.conditional_coverage_reject);
  CHECK(r.traffic_light.zone == TrafficLightZone::kGreen);
  CHECK(r.traffic_light.cumulative_probability == doctest::Approx(0.77913).epsilon(2e-5));
  CHECK(r.traffic_light.type1_error == doctest::Approx(0.26396).epsilon(2e-5));
  CHECK(r.multiplier_zone == 1.0);
}

TEST_CASE("Basel zones for 250 days at 99 percent are green 0-4, yellow 5-9, red from 10") {
  for (std::size_t x = 0; x <= 30; ++x) {
    CAPTURE(x);
    const auto tl = traffic_light(250, x, 0.99);
    const auto want = x <= 4   ? TrafficLightZone::kGreen
                      : x <= 9 ? TrafficLightZone::kYellow
                               : TrafficLightZone::kRed;
    CHECK(tl.zone == want);
    CHECK(tl.green_max == 4);
    CHECK(tl.yellow_max == 9);
  }
  // Basel (1996) Table 2, cumulative probabilities (rounded to 0.01 %): 4 -> 89.22 %,
  // 5 -> 95.88 %, 9 -> 99.97 %, 10 -> 99.99 %.
  CHECK(traffic_light(250, 4, 0.99).cumulative_probability ==
        doctest::Approx(0.8922).epsilon(1e-4));
  CHECK(traffic_light(250, 5, 0.99).cumulative_probability ==
        doctest::Approx(0.9588).epsilon(1e-4));
  CHECK(traffic_light(250, 9, 0.99).cumulative_probability ==
        doctest::Approx(0.9997).epsilon(1e-4));
  CHECK(traffic_light(250, 10, 0.99).cumulative_probability ==
        doctest::Approx(0.9999).epsilon(1e-4));
}

TEST_CASE("Basel plus factors for 250 days at 99 percent match the 1996 table") {
  const double want[] = {0, 0, 0, 0, 0, 0.40, 0.50, 0.65, 0.75, 0.85, 1.0, 1.0, 1.0};
  for (std::size_t x = 0; x < std::size(want); ++x) {
    CAPTURE(x);
    CHECK(basel_plus_factor(250, x, 0.99) == want[x]);
    CHECK(zone_multiplier(250, x, 0.99) == doctest::Approx((3.0 + want[x]) / 3.0).epsilon(1e-15));
  }
}

TEST_CASE("zones generalise to other sample sizes and confidences by the binomial CDF") {
  // The boundaries are where P(X <= x) first reaches 0.95 and 0.9999 (SciPy, see
  // sampling_distributions_test.cpp for the CDF values used).
  for (const auto& [n, alpha] : {std::pair{1043ul, 0.95}, {500ul, 0.99}, {4650ul, 0.99}}) {
    const auto tl = traffic_light(n, 0, alpha);
    const double p = 1.0 - alpha;
    CHECK(varkeeper::risk::stat::binomial_cdf(tl.green_max, n, p) < 0.95);
    CHECK(varkeeper::risk::stat::binomial_cdf(tl.green_max + 1, n, p) >= 0.95);
    CHECK(varkeeper::risk::stat::binomial_cdf(tl.yellow_max, n, p) < 0.9999);
    CHECK(varkeeper::risk::stat::binomial_cdf(tl.yellow_max + 1, n, p) >= 0.9999);
    CHECK(traffic_light(n, tl.green_max, alpha).zone == TrafficLightZone::kGreen);
    CHECK(traffic_light(n, tl.green_max + 1, alpha).zone == TrafficLightZone::kYellow);
    CHECK(traffic_light(n, tl.yellow_max + 1, alpha).zone == TrafficLightZone::kRed);
  }
}

TEST_CASE("Kupiec's statistic has its closed form when there are no exceptions") {
  // x = 0: LR = -2 n ln(1 - p); n = 250, p = 0.01 -> 5.025167926750726, p-value (SciPy
  // stats.chi2.sf) 0.02498150305344973.
  const auto t = kupiec_pof(250, 0, 0.99);
  CHECK(t.lr == doctest::Approx(5.025167926750726).epsilon(1e-13));
  CHECK(t.p_value == doctest::Approx(0.02498150305344973).epsilon(1e-11));
  // x = n p exactly: the estimate equals the null, LR = 0.
  CHECK(kupiec_pof(1000, 10, 0.99).lr == doctest::Approx(0.0).epsilon(1e-12));
}

TEST_CASE("Christoffersen independence handles zero transition counts as 0 ln 0 = 0") {
  // No exceptions at all: every likelihood term vanishes.
  CHECK(christoffersen_independence({100, 0, 0, 0}).lr == 0.0);
  // Hits never follow hits (n11 = 0): pi11 = 0, L_alt finite. Closed form with pi01 = 5/95,
  // pi = 5/100: LR = -2[(95) ln(0.95) + 5 ln(0.05)] + 2[90 ln(90/95) + 5 ln(5/95)].
  const double want = -2.0 * (95.0 * std::log(0.95) + 5.0 * std::log(0.05)) +
                      2.0 * (90.0 * std::log(90.0 / 95.0) + 5.0 * std::log(5.0 / 95.0));
  CHECK(christoffersen_independence({90, 5, 5, 0}).lr == doctest::Approx(want).epsilon(1e-13));
  // All hits: pi = 1, pi11 = 1.
  CHECK(christoffersen_independence({0, 0, 0, 10}).lr == 0.0);
}

TEST_CASE("the exception-ratio multiplier is the normal quantile ratio") {
  // z_0.99 / z_(1 - 7/250) (SciPy: stats.norm.ppf(0.99) / stats.norm.ppf(1 - 7/250)).
  CHECK(exception_ratio_multiplier(250, 7, 0.99).value() ==
        doctest::Approx(1.21732311850088).epsilon(1e-13));
  CHECK(exception_ratio_multiplier(250, 2, 0.99).value() == 1.0);
  CHECK_FALSE(exception_ratio_multiplier(10, 5, 0.99).has_value());
}

TEST_CASE("the normal-implied ES is sigma phi(z) / (1 - alpha) with sigma = VaR / z") {
  // SciPy: stats.norm.pdf(z) / 0.01 / z, z = stats.norm.ppf(0.99) -> 1.1456645199483253.
  CHECK(normal_implied_es(0.02, 0.99) == doctest::Approx(0.02 * 1.1456645199483253).epsilon(1e-13));
}

namespace {
// Normal losses with a time-varying volatility; the forecasts use sigma_t * scale.
struct EsCase {
  std::vector<double> realized, var, es;
};
EsCase normal_case(std::size_t n, double alpha, double scale, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z;
  const double q = varkeeper::risk::stat::normal_quantile(alpha);
  const double e = varkeeper::risk::stat::normal_pdf(q) / (1.0 - alpha);
  EsCase c;
  for (std::size_t t = 0; t < n; ++t) {
    const double sigma = 0.02 + 0.01 * std::sin(0.01 * static_cast<double>(t));
    c.realized.push_back(sigma * z(rng));
    c.var.push_back(scale * sigma * q);
    c.es.push_back(scale * sigma * e);
  }
  return c;
}
}  // namespace

TEST_CASE("Z2 is near zero when the forecasts come from the true model") {
  const auto seed = varkeeper::test::test_seed(20260301);
  constexpr double kAlpha = 0.975;
  constexpr std::size_t kN = 5000;
  const auto c = normal_case(kN, kAlpha, 1.0, seed);
  // Closed form: Var(L I / ES) = (p + q phi(q)) / e^2 - p^2 = 0.024908762615835908 at 97.5 %
  // (SciPy), so sd(Z2) = sqrt(0.0249088 / T) / p = 0.0893 for T = 5000; allow 4 sd.
  const double sd = std::sqrt(0.024908762615835908 / kN) / 0.025;
  ShortfallTestOptions o;
  o.simulations = 2000;
  o.seed = seed;
  const auto r = acerbi_szekely_test(c.realized, c.var, c.es, kAlpha, o);
  CHECK(std::fabs(r.z2) < 4.0 * sd);
  CHECK(r.p_value > 1e-4);
  CHECK(r.critical_value < 0.0);
}

TEST_CASE("the simulated Z2 distribution has the closed-form mean and spread") {
  // Under the model the simulated Z2 has mean 0 and sd sqrt(Var(L I / ES) / T) / p.
  constexpr double kAlpha = 0.975;
  constexpr std::size_t kN = 1000;
  const auto c = normal_case(kN, kAlpha, 1.0, 7);
  const double sd = std::sqrt(0.024908762615835908 / kN) / 0.025;
  // A one-sided normal approximation puts the 5 % critical value near -1.645 sd; Z2 is skewed
  // (long left tail), so only its sign and order of magnitude are checked here.
  ShortfallTestOptions o;
  o.simulations = 4000;
  o.seed = varkeeper::test::test_seed(99);
  const auto r = acerbi_szekely_test(c.realized, c.var, c.es, kAlpha, o);
  CHECK(r.critical_value < -1.0 * sd);
  CHECK(r.critical_value > -2.5 * sd);
  // Same seed, same answer.
  const auto again = acerbi_szekely_test(c.realized, c.var, c.es, kAlpha, o);
  CHECK(again.critical_value == r.critical_value);
  CHECK(again.p_value == r.p_value);
}

TEST_CASE("Z2 is significantly negative when VaR and ES are understated") {
  const auto seed = varkeeper::test::test_seed(20260302);
  constexpr double kAlpha = 0.975;
  // Forecasts at 70 % of the true scale: E[Z2] = 1 - phi(0.7 q) / (0.7 e p) = -2.81.
  const auto c = normal_case(1000, kAlpha, 0.7, seed);
  ShortfallTestOptions o;
  o.simulations = 2000;
  o.seed = seed;
  const auto r = acerbi_szekely_test(c.realized, c.var, c.es, kAlpha, o);
  CHECK(r.z2 < -1.5);
  CHECK(r.reject);
  CHECK(r.p_value < 0.01);
  o.tail_dof = 4.0;  // the Student-t tail model rejects too
  CHECK(acerbi_szekely_test(c.realized, c.var, c.es, kAlpha, o).reject);
}

TEST_CASE("invalid backtest inputs are refused with a sentence") {
  const std::vector<double> r{0.01, -0.02};
  const std::vector<double> v{0.02};
  CHECK_THROWS_AS((void)run_backtest(r, v, {}, {}), std::invalid_argument);
  const std::vector<double> v2{0.02, std::nan("")};
  CHECK_THROWS_AS((void)run_backtest(r, v2, {}, {}), std::invalid_argument);
  BacktestOptions bad;
  bad.confidence = 1.0;
  const std::vector<double> v3{0.02, 0.02};
  CHECK_THROWS_AS((void)run_backtest(r, v3, {}, bad), std::invalid_argument);
  const std::vector<double> es_below{0.01, 0.01};
  CHECK_THROWS_AS((void)run_backtest(r, v3, es_below, {}), std::invalid_argument);
}

TEST_CASE("the Student-t tail model accepts forecasts that come from that model") {
  // Losses L = s * eps, eps ~ t(4), with VaR and ES the t(4) closed forms: the Z2 test with
  // tail_dof = 4 should find nothing (p-value not extreme), and Z2 stays near 0.
  const auto seed = varkeeper::test::test_seed(20260303);
  constexpr double kAlpha = 0.975;
  constexpr double kNu = 4.0;
  const double q = varkeeper::risk::stat::student_t_quantile(kAlpha, kNu);
  // ES of the standard t: (nu + q^2) / (nu - 1) * f(q) / (1 - alpha).
  const double e =
      (kNu + q * q) / (kNu - 1.0) * varkeeper::risk::stat::student_t_pdf(q, kNu) / (1.0 - kAlpha);
  std::mt19937_64 rng(seed);
  std::student_t_distribution<double> t(kNu);
  std::vector<double> realized, var, es;
  for (std::size_t i = 0; i < 5000; ++i) {
    const double s = 0.01 + 0.005 * std::cos(0.02 * static_cast<double>(i));
    realized.push_back(-s * t(rng));
    var.push_back(s * q);
    es.push_back(s * e);
  }
  ShortfallTestOptions o;
  o.simulations = 2000;
  o.seed = seed;
  o.tail_dof = kNu;
  const auto r = acerbi_szekely_test(realized, var, es, kAlpha, o);
  CHECK(r.p_value > 1e-3);
  CHECK(std::fabs(r.z2) < 0.5);
}

TEST_CASE("out-of-sample recalibration applies Basel's multiplier of the trailing 250 days") {
  // Constant VaR 2 %, six exceptions (3 % losses) on periods 300..305, alpha 0.99, window 250.
  // m_t = (3 + plus(x_t)) / 3 with x_t the exceptions in [t - 250, t) and Basel's plus factors
  // (0 for 0-4, 0.40 for 5, 0.50 for 6); 1 while min(t, 250) * 0.01 < 1, i.e. t < 100.
  std::vector<double> realized(600, 0.0);
  const std::vector<double> var(600, 0.02);
  for (std::size_t t = 300; t < 306; ++t) realized[t] = -0.03;
  const auto c = rolling_recalibration(realized, var, 0.99, 250, RecalibrationBasis::kTrafficLight);
  CHECK(c.multiplier[0] == 1.0);
  CHECK(c.multiplier[99] == 1.0);
  CHECK(c.multiplier[300] == 1.0);
  CHECK(c.multiplier[304] == 1.0);                                         // 4 exceptions: green
  CHECK(c.multiplier[305] == doctest::Approx(3.40 / 3.0).epsilon(1e-15));  // 5
  CHECK(c.multiplier[306] == doctest::Approx(3.50 / 3.0).epsilon(1e-15));  // 6
  CHECK(c.multiplier[550] == doctest::Approx(3.50 / 3.0).epsilon(1e-15));  // [300, 550)
  CHECK(c.multiplier[551] == doctest::Approx(3.40 / 3.0).epsilon(1e-15));  // [301, 551)
  CHECK(c.multiplier[556] == 1.0);                                         // [306, 556): none
  CHECK(c.var[306] == doctest::Approx(0.02 * 3.5 / 3.0).epsilon(1e-15));
  // Each exception happened before the multiplier could react to it.
  CHECK(c.exceptions == 6);
  // Exception-ratio basis: z_0.99 / z_(1 - 6/250) = 1.1764868098858832 (SciPy).
  const auto r =
      rolling_recalibration(realized, var, 0.99, 250, RecalibrationBasis::kExceptionRatio);
  CHECK(r.multiplier[306] == doctest::Approx(1.1764868098858832).epsilon(1e-13));
  CHECK(r.multiplier[304] ==
        doctest::Approx(varkeeper::risk::stat::normal_quantile(0.99) /
                        varkeeper::risk::stat::normal_quantile(1.0 - 4.0 / 250))
            .epsilon(1e-15));
}

TEST_CASE("zero exceptions is green even when n is too small for the rule, e.g. n <= 5 at 99 %") {
  // Issue 16, defect 7: F(0) = 0.99^n >= 0.95 for n <= 5, so the CDF rule alone said yellow (and
  // a plus factor of 0.40) for a model never exceeded. Failed before the fix, passes now.
  for (std::size_t n = 1; n <= 5; ++n) {
    CAPTURE(n);
    const auto tl = traffic_light(n, 0, 0.99);
    CHECK(tl.cumulative_probability >= 0.95);
    CHECK(tl.zone == TrafficLightZone::kGreen);
    CHECK(tl.plus_factor == 0.0);
    CHECK(basel_plus_factor(n, 0, 0.99) == 0.0);
    // One exception in five days at 99 %: F(1) = 0.99^5 + 5 (0.01) 0.99^4 = 0.99902 -> yellow.
    if (n == 5) {
      const auto one = traffic_light(n, 1, 0.99);
      CHECK(one.cumulative_probability ==
            doctest::Approx(std::pow(0.99, 5) + 5 * 0.01 * std::pow(0.99, 4)).epsilon(1e-12));
      CHECK(one.zone == TrafficLightZone::kYellow);
    }
  }
  CHECK(traffic_light(6, 0, 0.99).zone == TrafficLightZone::kGreen);  // F(0) = 0.94148 < 0.95
}
