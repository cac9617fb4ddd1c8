// The report's observation time (issue 16, defect 10): a quiet but fresh source (a feed that
// updates on a 0.5 % deviation or a 1 h heartbeat) must not hold every report back.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "keeper/core/pipeline.hpp"
#include "keeper/sim/simulator.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

namespace {

constexpr std::int64_t kPeriod = 60;
constexpr std::int64_t kT0 = 1'700'000'040;  // a period start

PipelineConfig one_portfolio() {
  PipelineConfig c;
  c.assets.push_back({"ETH", {{"a", 3600}, {"b", 3600}, {"quiet", 3600}}});
  PortfolioSpec p;
  p.id = 1;
  p.name = "eth";
  p.positions = {{"ETH", 10.0}};
  p.method = risk::RiskMethod::kHistorical;
  p.risk.confidence = 0.95;
  p.period_s = kPeriod;
  p.window = 50;
  p.min_obs = 20;
  p.publish.deviation = 0.5;
  p.publish.heartbeat_s = 120;
  c.portfolios.push_back(p);
  c.breaker.enabled = false;
  return c;
}

PriceReading reading(const char* source, double price, std::int64_t updated_at,
                     std::uint64_t round) {
  PriceReading r;
  r.asset = "ETH";
  r.source = source;
  r.round.round_id = {1, round};
  r.round.answered_in_round = {1, round};
  r.round.answer = price;
  r.round.started_at = updated_at;
  r.round.updated_at = updated_at;
  return r;
}

// 40 closes, one per period, before kT0.
std::vector<std::pair<std::int64_t, double>> history() {
  std::vector<std::pair<std::int64_t, double>> closes;
  closes.reserve(40);
  for (int i = 0; i < 40; ++i) {
    closes.emplace_back(kT0 - (40 - i) * kPeriod, 2000.0 * (1.0 + 0.01 * std::sin(i)));
  }
  return closes;
}

}  // namespace

TEST_CASE("a quiet but fresh source does not hold the observation time back") {
  Pipeline pipe(one_portfolio());
  pipe.seed_history("ETH", history());
  // The quiet source last updated at kT0 (its price within its 0.5 % deviation since) and stays
  // fresh for its whole 1 h heartbeat; a and b update every tick.
  std::int64_t last_observed = 0;
  std::size_t published = 0;
  for (int i = 0; i < 30; ++i) {
    const std::int64_t t = kT0 + i * kPeriod;
    const double p = 2000.0 * (1.0 + 0.001 * std::sin(i));
    const auto u = pipe.tick(t, {reading("a", p, t, i + 1), reading("b", p, t, i + 1),
                                 reading("quiet", 2000.0, kT0, 1)})
                       .portfolios.at(0);
    REQUIRE(u.has_estimate);
    CAPTURE(i);
    // Every price used is fresh: the observation is the tick's (the pinned block's) time.
    CHECK(u.observed_at == t);
    if (u.publish != PublishReason::kNone) {
      // A report the oracle takes: newer than the last one (before, it stayed at the quiet
      // source's kT0, so every report after the first was held back as TooSoon).
      CHECK(u.observed_at > last_observed);
      last_observed = u.observed_at;
      OnchainReport r;
      r.portfolio_id = 1;
      r.observed_at = static_cast<std::uint64_t>(u.observed_at);
      pipe.mark_published(r, t);
      ++published;
    }
  }
  CHECK(published >= 10);  // first, then every 120 s heartbeat
}

TEST_CASE("an asset without a usable consensus keeps the time of its last one") {
  Pipeline pipe(one_portfolio());
  pipe.seed_history("ETH", history());
  const auto first = pipe.tick(kT0, {reading("a", 2000.0, kT0, 1), reading("b", 2000.0, kT0, 1),
                                     reading("quiet", 2000.0, kT0, 1)});
  CHECK(first.portfolios.at(0).observed_at == kT0);
  // Two of three sources unread: no majority, the price is the last consensus, observed then.
  const auto later = pipe.tick(kT0 + 600, {reading("a", 2000.0, kT0 + 600, 2)});
  CHECK(later.prices.count("ETH") == 0);
  CHECK(later.portfolios.at(0).observed_at == kT0);
}

TEST_CASE("depeg: the quiet stablecoin feeds no longer make reports stale") {
  const auto r = run_simulation(
      load_scenario(std::string(VARKEEPER_SOURCE_DIR) + "/config/scenarios/depeg.toml"));
  // Before: 2 StaleReport refusals (the observation was the oldest feed update, up to a day old
  // on the 0.25 % / 24 h stablecoin feeds once they settled at 0.90).
  CHECK(r.summaries.at(0).reports_refused == 0);
  CHECK(r.summaries.at(0).reports_published >= 90);
}
