// The rolling driver: window placement, refit schedule, realised returns, and that the backtest
// battery separates a correct model from an understated one on simulated histories.
#include "risk/rolling_backtest.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "tests/support/test_support.hpp"

using namespace varkeeper::risk;

namespace {

// T x N normal log returns with per-row volatility sigma(t).
template <typename Sigma>
std::vector<double> normal_history(std::size_t t_obs, std::size_t n_assets, std::uint64_t seed,
                                   Sigma sigma) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z;
  std::vector<double> r(t_obs * n_assets);
  for (std::size_t t = 0; t < t_obs; ++t) {
    for (std::size_t i = 0; i < n_assets; ++i) r[t * n_assets + i] = sigma(t) * z(rng);
  }
  return r;
}

}  // namespace

TEST_CASE("each forecast uses exactly the trailing window and is held between refits") {
  const auto returns =
      normal_history(300, 2, varkeeper::test::test_seed(11), [](std::size_t) { return 0.02; });
  const std::vector<double> weights{0.6, 0.4};
  const ReturnWindow history{returns, 2};
  RollingBacktestOptions o;
  o.method = RiskMethod::kHistorical;
  o.window = 100;
  o.refit_every = 7;
  o.backtest.confidence = 0.95;
  o.backtest.shortfall.simulations = 100;
  const auto r = rolling_backtest(history, weights, {}, o);
  REQUIRE(r.forecasts.var.size() == 200);
  CHECK(r.refits == 29);  // rows 100, 107, ..., 296: ceil(200 / 7)
  RiskOptions risk;
  risk.confidence = 0.95;
  risk.components = false;
  for (std::size_t j = 0; j < 200; ++j) {
    const std::size_t t = 100 + j;
    const std::size_t fit_row = 100 + (j / 7) * 7;
    CAPTURE(t);
    CHECK(r.forecasts.row[j] == t);
    const ReturnWindow slice{std::span<const double>(returns).subspan((fit_row - 100) * 2, 200), 2};
    const auto direct = estimate_risk(RiskMethod::kHistorical, slice, weights, risk);
    CHECK(r.forecasts.var[j] == direct.var);
    CHECK(r.forecasts.cvar[j] == direct.cvar);
    // Realised: the weighted simple return of row t.
    const double want = 0.6 * std::expm1(returns[t * 2]) + 0.4 * std::expm1(returns[t * 2 + 1]);
    CHECK(r.forecasts.realized[j] == doctest::Approx(want).epsilon(1e-15));
  }
  CHECK(r.report.n_obs == 200);
}

TEST_CASE("portfolio simple returns rebalance to fixed weights each period") {
  const std::vector<double> returns{std::log(1.10), std::log(0.95), std::log(0.80), std::log(1.02)};
  const auto p = portfolio_simple_returns(ReturnWindow{returns, 2}, std::vector<double>{0.5, 0.5});
  REQUIRE(p.size() == 2);
  CHECK(p[0] == doctest::Approx(0.5 * 0.10 - 0.5 * 0.05).epsilon(1e-14));
  CHECK(p[1] == doctest::Approx(-0.5 * 0.20 + 0.5 * 0.02).epsilon(1e-14));
}

TEST_CASE("a correct model passes its rolling backtest") {
  // i.i.d. normal returns and the parametric normal method: Kupiec rejects a correct model at the
  // 0.1 % level with probability 0.001, and the red zone is reached with probability < 1e-4.
  const auto returns =
      normal_history(2500, 1, varkeeper::test::test_seed(12), [](std::size_t) { return 0.01; });
  RollingBacktestOptions o;
  o.method = RiskMethod::kParametricNormal;
  o.window = 500;
  o.backtest.confidence = 0.99;
  o.backtest.shortfall.simulations = 1000;
  const auto r = rolling_backtest(ReturnWindow{returns, 1}, std::vector<double>{1.0}, {}, o);
  CHECK(r.report.n_obs == 2000);
  CHECK(r.report.expected_exceptions == doctest::Approx(20.0));
  CHECK(r.report.pof.p_value > 1e-3);
  CHECK(r.report.traffic_light.zone != TrafficLightZone::kRed);
  CHECK(r.report.shortfall.p_value > 1e-3);
}

TEST_CASE("a model that lags a volatility jump is flagged red and recalibrated upwards") {
  // Volatility triples at row 1000; the parametric normal method's equally weighted 500-row
  // variance takes hundreds of days to catch up (after 100 days it is still at 1.6 % against 3 %).
  const auto returns = normal_history(2000, 1, varkeeper::test::test_seed(13),
                                      [](std::size_t t) { return t < 1000 ? 0.01 : 0.03; });
  RollingBacktestOptions o;
  o.method = RiskMethod::kParametricNormal;
  o.window = 500;
  o.backtest.confidence = 0.99;
  o.backtest.shortfall.simulations = 1000;
  const auto r = rolling_backtest(ReturnWindow{returns, 1}, std::vector<double>{1.0}, {}, o);
  CHECK(r.report.exceptions > 2 * r.report.expected_exceptions);
  CHECK(r.report.traffic_light.zone == TrafficLightZone::kRed);
  CHECK(r.report.pof_reject);
  CHECK(r.report.shortfall.reject);
  CHECK(r.report.multiplier_zone == doctest::Approx(4.0 / 3.0));
  CHECK(r.report.calibrated_exceptions < r.report.exceptions);
  // Out of sample, the trailing-250-day multiplier reacts to the cluster and cuts the exceptions.
  CHECK(r.report.calibrated.exceptions < r.report.exceptions);
  CHECK(r.report.calibrated.mean_var > r.report.mean_var);
}

TEST_CASE("the rolling driver refuses a history no longer than its window") {
  const std::vector<double> returns(100, 0.001);
  RollingBacktestOptions o;
  o.window = 100;
  CHECK_THROWS_AS((void)rolling_backtest(ReturnWindow{returns, 1}, std::vector<double>{1.0}, {}, o),
                  std::invalid_argument);
  o.window = 50;
  CHECK_THROWS_AS(
      (void)rolling_backtest(ReturnWindow{returns, 1}, std::vector<double>{0.5, 0.5}, {}, o),
      std::invalid_argument);
  o.refit_every = 0;
  CHECK_THROWS_AS((void)rolling_backtest(ReturnWindow{returns, 1}, std::vector<double>{1.0}, {}, o),
                  std::invalid_argument);
}

TEST_CASE("the rolling forecast series does not depend on the thread count") {
  const auto returns = normal_history(400, 2, varkeeper::test::test_seed(14), [](std::size_t t) {
    return 0.01 + 0.00002 * static_cast<double>(t);
  });
  RollingBacktestOptions o;
  o.method = RiskMethod::kMcNormal;
  o.window = 250;
  o.refit_every = 3;
  o.risk.paths = 2000;
  o.backtest.shortfall.simulations = 100;
  const std::vector<double> weights{0.3, 0.7};
  o.threads = 1;
  const auto one = rolling_backtest(ReturnWindow{returns, 2}, weights, {}, o);
  for (unsigned threads : {2u, 3u, 0u}) {
    CAPTURE(threads);
    o.threads = threads;
    const auto many = rolling_backtest(ReturnWindow{returns, 2}, weights, {}, o);
    CHECK(many.refits == one.refits);
    CHECK(many.forecasts.var == one.forecasts.var);  // bit for bit
    CHECK(many.forecasts.cvar == one.forecasts.cvar);
  }
  CHECK(one.refits == 50);  // ceil(150 / 3)
}
