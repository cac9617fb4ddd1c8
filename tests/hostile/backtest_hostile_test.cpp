// Random and extreme series into the backtest battery: it either refuses them with
// std::invalid_argument or returns probabilities in [0, 1], counts within bounds and a zone.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "risk/backtest.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::risk;

namespace {
bool is_probability(double p) { return p >= 0.0 && p <= 1.0; }
}  // namespace

TEST_CASE("the backtest battery survives random and extreme series") {
  std::mt19937_64 rng(varkeeper::test::test_seed(777));
  const double specials[] = {0.0,
                             -0.0,
                             1e-300,
                             -1e-300,
                             1e300,
                             -1e300,
                             std::numeric_limits<double>::denorm_min(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN(),
                             0.02,
                             -0.5};
  bool extremes = false;  // a third of the series carry special values
  auto draw = [&]() {
    if (extremes && rng() % 16 == 0) return specials[rng() % std::size(specials)];
    return (static_cast<double>(rng() >> 11) * 0x1.0p-53 - 0.5) * 0.2;
  };
  std::size_t ran = 0;
  for (int iter = 0; iter < 400; ++iter) {
    extremes = iter % 3 == 0;
    const std::size_t n = rng() % 300;
    std::vector<double> realized(n), var(n), es;
    for (auto& r : realized) r = draw();
    for (auto& v : var) v = std::fabs(draw());
    if (rng() % 2 == 0) {
      for (double v : var) es.push_back(v * (1.0 + std::fabs(draw())));
    }
    BacktestOptions o;
    o.confidence =
        (rng() % 3 == 0) ? 0.5 + 0.4999 * static_cast<double>(rng() % 1000) / 1000.0 : 0.99;
    o.shortfall.simulations = 50;
    o.recalibration =
        rng() % 2 ? RecalibrationBasis::kTrafficLight : RecalibrationBasis::kExceptionRatio;
    try {
      const auto r = run_backtest(realized, var, es, o);
      ++ran;
      CHECK(r.exceptions <= r.n_obs);
      CHECK(is_probability(r.pof.p_value));
      CHECK(is_probability(r.independence.p_value));
      CHECK(is_probability(r.conditional_coverage.p_value));
      CHECK(is_probability(r.traffic_light.cumulative_probability));
      CHECK(is_probability(r.shortfall.p_value));
      CHECK(r.multiplier >= 1.0);
      CHECK(r.calibrated.exceptions <= r.exceptions);
      CHECK(r.calibrated.var.size() == n);
    } catch (const std::invalid_argument&) {
      // refused: fine
    }
  }
  CHECK(ran > 200);
}
