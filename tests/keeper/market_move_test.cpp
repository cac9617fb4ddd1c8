// A real crash is a market move, not manipulation (issue 16, defect 8): sources that move together
// in one tick confirm the move at once; a source that moves alone is the manipulation candidate.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "keeper/sim/simulator.hpp"
#include "risk/oprisk.hpp"
#include "tests/keeper/pipeline_fixture.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

namespace {

ScenarioSpec library(const std::string& name) {
  return load_scenario(std::string(VARKEEPER_SOURCE_DIR) + "/config/scenarios/" + name + ".toml");
}

std::size_t manipulation_incidents(const SimulationResult& r) {
  std::size_t n = 0;
  for (const auto& inc : r.incidents) {
    if (inc.category == risk::oprisk::kOracleManipulation) {
      ++n;
    }
  }
  return n;
}

}  // namespace

TEST_CASE("covid-2020-03: the crash seen by every source is no manipulation and enters at once") {
  const auto r = run_simulation(library("covid-2020-03"));
  // Before: 8 oracle_manipulation incidents (each source's "single-step move beyond bound", and
  // the assets unusable for "no majority of sources").
  CHECK(manipulation_incidents(r) == 0);
  // The crash tick: BTC's market close falls by more than the 20 % step bound.
  std::size_t btc = 0;
  while (r.assets.at(btc) != "BTC") {
    ++btc;
  }
  std::size_t crash = 0;
  for (std::size_t k = 1; k < r.times.size(); ++k) {
    if (r.market[k][btc] < 0.8 * r.market[k - 1][btc]) {
      crash = k;
      break;
    }
  }
  REQUIRE(crash > 0);
  // The consensus of that tick is the crashed price (before: unusable, NaN, until a tick later).
  REQUIRE(std::isfinite(r.prices[crash][btc]));
  CHECK(r.prices[crash][btc] == doctest::Approx(r.market[crash][btc]).epsilon(1e-6));
  // ... and the breaker takes the move as an input.
  CHECK(r.points[0][crash].status == risk::BreakerStatus::kTripped);
}

namespace {

PipelineConfig three_sources() {
  PipelineConfig c;
  c.assets.push_back({"ETH", {{"a", 3600}, {"b", 3600}, {"c", 3600}}});
  return c;
}

}  // namespace

TEST_CASE(
    "a source that jumps alone is still the manipulation candidate, and the incident says so") {
  Pipeline pipe(three_sources());
  const std::int64_t t0 = 1'700'000'000;
  (void)pipe.tick(t0, test::eth_answers(t0, 1, 2000.0, 2000.0, 2000.0));
  // b alone +30 % (beyond the 20 % step bound): not confirmed, an incident naming it.
  const auto lone = pipe.tick(t0 + 60, test::eth_answers(t0 + 60, 2, 2000.0, 2600.0, 2000.0));
  REQUIRE(lone.incidents.size() == 1);
  CHECK(lone.incidents[0].category == risk::oprisk::kOracleManipulation);
  CHECK(lone.incidents[0].subject == "ETH/b");
  CHECK(lone.incidents[0].evidence.find("single-step move beyond bound") != std::string::npos);
  CHECK(lone.incidents[0].evidence.find("lone source") != std::string::npos);
  CHECK(lone.prices.at("ETH") == doctest::Approx(2000.0));
  // All three -39 % in one tick: a market move, no incident, the new price at once.
  const auto crash = pipe.tick(t0 + 120, test::eth_answers(t0 + 120, 3, 1220.0, 1221.0, 1219.0));
  CHECK(crash.incidents.empty());
  REQUIRE(crash.prices.count("ETH") == 1);
  CHECK(crash.prices.at("ETH") == doctest::Approx(1220.0));
  // Two of three moving together are a majority: confirmed; the lagging one is outvoted.
  const auto two = pipe.tick(t0 + 180, test::eth_answers(t0 + 180, 4, 800.0, 801.0, 1219.0));
  REQUIRE(two.prices.count("ETH") == 1);
  CHECK(two.prices.at("ETH") == doctest::Approx(800.5));
  for (const auto& inc : two.incidents) {
    CHECK(inc.evidence.find("single-step move beyond bound") == std::string::npos);
  }
}
