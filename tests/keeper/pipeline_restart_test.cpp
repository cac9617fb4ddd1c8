// A restarted keeper's first publish decision (Pipeline::restore_published): the oracle's stored
// report is where deviation, heartbeat and the change limit are measured from, and the first
// decision still sends a report unless the stored one carries the very figures.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "keeper/core/pipeline.hpp"
#include "keeper/core/units.hpp"
#include "tests/keeper/pipeline_fixture.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

namespace {

constexpr std::int64_t kPeriod = 60;
constexpr std::int64_t kT0 = 1'700'000'040;  // a period start
constexpr std::size_t kFirstEstimate = 20;   // min_obs returns: the tick of the first estimate

PipelineConfig config() { return test::one_eth_portfolio(false); }

std::int64_t time_of(std::size_t i) { return kT0 + static_cast<std::int64_t>(i) * kPeriod; }

// Tick i of a seeded random walk (2 % per period), the same three sources agreeing.
std::vector<PriceReading> readings(std::size_t i) {
  std::mt19937_64 rng(23);
  std::normal_distribution<double> z(0.0, 0.02);
  double price = 2000.0;
  for (std::size_t k = 0; k < i; ++k) {
    price *= std::exp(z(rng));
  }
  return test::eth_answers(time_of(i), i + 1, price, price, price);
}

// The decisions of a keeper started with `stored` on the oracle, ticks 0..last.
std::vector<PortfolioUpdate> restarted_run(const OnchainReport& stored, std::int64_t accepted_at,
                                           std::size_t last) {
  Pipeline pipe(config());
  pipe.restore_published(stored, accepted_at);
  std::vector<PortfolioUpdate> out;
  for (std::size_t i = 0; i <= last; ++i) {
    out.push_back(pipe.tick(time_of(i), readings(i)).portfolios.at(0));
  }
  return out;
}

// The figures a keeper computes at its first estimate, as the oracle would store them.
OnchainReport report_of_first_estimate() {
  Pipeline pipe(config());
  PortfolioUpdate u;
  for (std::size_t i = 0; i <= kFirstEstimate; ++i) {
    u = pipe.tick(time_of(i), readings(i)).portfolios.at(0);
  }
  REQUIRE(u.has_estimate);
  REQUIRE(u.publish == PublishReason::kFirst);
  OnchainReport r;
  r.portfolio_id = 1;
  r.round = 7;
  r.observed_at = static_cast<std::uint64_t>(time_of(kFirstEstimate - 1));
  r.value_at_risk = to_wad(u.published_var);
  r.expected_shortfall = to_wad(u.published_cvar);
  return r;
}

}  // namespace

TEST_CASE(
    "a restarted keeper publishes on its first estimate when its figures differ from the "
    "oracle's") {
  OnchainReport stored = report_of_first_estimate();
  // Another run's report: 1 % lower, well inside the 5 % deviation rule, accepted one period ago
  // (well inside the 600 s heartbeat).
  stored.value_at_risk = stored.value_at_risk / 100 * 99;
  stored.expected_shortfall = stored.expected_shortfall / 100 * 99;
  const auto run = restarted_run(stored, time_of(kFirstEstimate - 1), kFirstEstimate + 1);
  for (std::size_t i = 0; i < kFirstEstimate; ++i) {
    CHECK_FALSE(run[i].has_estimate);
    CHECK(run[i].publish == PublishReason::kNone);
  }
  REQUIRE(run[kFirstEstimate].has_estimate);
  CHECK(run[kFirstEstimate].publish == PublishReason::kFirst);
}

TEST_CASE("a restarted keeper whose figures the oracle already holds waits for the heartbeat") {
  const OnchainReport stored = report_of_first_estimate();
  SUBCASE("accepted one period ago: no report, and the next tick is an ordinary decision") {
    const auto run = restarted_run(stored, time_of(kFirstEstimate - 1), kFirstEstimate + 1);
    REQUIRE(run[kFirstEstimate].has_estimate);
    CHECK(to_wad(run[kFirstEstimate].published_var) == stored.value_at_risk);
    CHECK(run[kFirstEstimate].publish == PublishReason::kNone);
    // The next tick's figures differ from the stored ones, yet only the deviation rule could
    // send them now: the restart's first decision was made.
    const auto& next = run[kFirstEstimate + 1];
    REQUIRE(next.has_estimate);
    CHECK(to_wad(next.published_var) != stored.value_at_risk);
    const double dev = std::fabs(next.published_var - from_wad(stored.value_at_risk)) /
                       from_wad(stored.value_at_risk);
    CHECK(next.publish == (dev >= 0.05 ? PublishReason::kDeviation : PublishReason::kNone));
  }
  SUBCASE("accepted a heartbeat ago: the heartbeat sends it") {
    const auto run = restarted_run(stored, time_of(kFirstEstimate) - 600, kFirstEstimate);
    CHECK(run[kFirstEstimate].publish == PublishReason::kHeartbeat);
  }
}
