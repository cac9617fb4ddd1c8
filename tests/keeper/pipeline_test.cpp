#include "keeper/core/pipeline.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "risk/oprisk.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

namespace {

constexpr std::int64_t kPeriod = 60;
constexpr std::int64_t kT0 = 1'700'000'040;  // a period start

PipelineConfig one_asset_config(bool breaker_on) {
  PipelineConfig c;
  c.assets.push_back({"ETH", {{"a", 3600}, {"b", 3600}, {"c", 3600}}});
  PortfolioSpec p;
  p.id = 1;
  p.name = "eth";
  p.positions = {{"ETH", 10.0}};
  p.method = risk::RiskMethod::kParametricNormal;
  p.risk.confidence = 0.99;
  p.period_s = kPeriod;
  p.window = 50;
  p.min_obs = 20;
  p.publish.deviation = 0.05;
  p.publish.heartbeat_s = 600;
  c.portfolios.push_back(p);
  c.breaker.enabled = breaker_on;
  return c;
}

std::vector<PriceReading> readings(std::int64_t t, double price, std::uint64_t round,
                                   double b_factor = 1.0) {
  std::vector<PriceReading> out;
  for (const auto* s : {"a", "b", "c"}) {
    PriceReading r;
    r.asset = "ETH";
    r.source = s;
    r.round.round_id = {1, round};
    r.round.answered_in_round = {1, round};
    r.round.answer = price * (std::string(s) == "b" ? b_factor : 1.0);
    r.round.started_at = t;
    r.round.updated_at = t;
    out.push_back(r);
  }
  return out;
}

// A seeded random walk of `n` prices (daily-like 2 % volatility).
std::vector<double> walk(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0.0, 0.02);
  std::vector<double> p{2000.0};
  for (std::size_t i = 1; i < n; ++i) p.push_back(p.back() * std::exp(z(rng)));
  return p;
}

}  // namespace

TEST_CASE("with the breaker off the pipeline publishes exactly the engine's figures") {
  Pipeline pipe(one_asset_config(false));
  const auto prices = walk(80, 7);
  std::size_t published = 0;
  for (std::size_t i = 0; i < prices.size(); ++i) {
    const std::int64_t t = kT0 + static_cast<std::int64_t>(i) * kPeriod;
    const auto r = pipe.tick(t, readings(t, prices[i], i + 1));
    REQUIRE(r.portfolios.size() == 1);
    const auto& u = r.portfolios[0];
    CHECK(r.incidents.empty());
    if (i < 20) {  // 20 returns needed: ticks 0..19 give 0..19 returns
      CHECK_FALSE(u.has_estimate);
      continue;
    }
    REQUIRE(u.has_estimate);
    CHECK(u.value == doctest::Approx(10.0 * prices[i]));
    CHECK(u.published_var == u.computed.var);
    CHECK(u.published_cvar == doctest::Approx(u.computed.cvar));
    CHECK(u.status == risk::BreakerStatus::kNormal);
    if (u.publish != PublishReason::kNone) {
      ++published;
      pipe.mark_published(1, t, u.published_var);
    }
    if (i == 20) CHECK(u.publish == PublishReason::kFirst);
  }
  CHECK(published >= 2);  // the first, then deviation or heartbeat (600 s = 10 ticks)
}

TEST_CASE("a publish follows the deviation and heartbeat rules of the portfolio") {
  Pipeline pipe(one_asset_config(false));
  const auto prices = walk(60, 11);
  std::optional<std::pair<std::int64_t, double>> last;
  for (std::size_t i = 0; i < prices.size(); ++i) {
    const std::int64_t t = kT0 + static_cast<std::int64_t>(i) * kPeriod;
    const auto u = pipe.tick(t, readings(t, prices[i], i + 1)).portfolios[0];
    if (!u.has_estimate) continue;
    if (!last) {
      CHECK(u.publish == PublishReason::kFirst);
    } else {
      const double dev = std::fabs(u.published_var - last->second) / last->second;
      if (dev >= 0.05) {
        CHECK(u.publish == PublishReason::kDeviation);
      } else if (t - last->first >= 600) {
        CHECK(u.publish == PublishReason::kHeartbeat);
      } else {
        CHECK(u.publish == PublishReason::kNone);
      }
    }
    if (u.publish != PublishReason::kNone) {
      pipe.mark_published(1, t, u.published_var);
      last = {t, u.published_var};
    }
  }
  CHECK(last.has_value());
}

TEST_CASE("one manipulated source of three is dropped and recorded, not published") {
  Pipeline pipe(one_asset_config(true));
  const auto prices = walk(40, 3);
  for (std::size_t i = 0; i < prices.size(); ++i) {
    const std::int64_t t = kT0 + static_cast<std::int64_t>(i) * kPeriod;
    const double spike = i == 30 ? 1.5 : 1.0;  // source b reports +50 % once
    const auto r = pipe.tick(t, readings(t, prices[i], i + 1, spike));
    REQUIRE(r.prices.count("ETH") == 1);
    CHECK(r.prices.at("ETH") == doctest::Approx(prices[i]));  // the median ignores b
    if (i == 30) {
      REQUIRE(r.incidents.size() == 1);
      CHECK(r.incidents[0].category == risk::oprisk::kOracleManipulation);
      CHECK(r.incidents[0].subject == "ETH/b");
    } else {
      CHECK(r.incidents.empty());
    }
    CHECK(r.portfolios[0].status == risk::BreakerStatus::kNormal);
  }
}

TEST_CASE(
    "a silent feed makes the asset unusable, records a stale-feed incident and trips the breaker") {
  Pipeline pipe(one_asset_config(true));
  const auto prices = walk(40, 5);
  bool tripped = false;
  for (std::size_t i = 0; i < prices.size(); ++i) {
    const std::int64_t t = kT0 + static_cast<std::int64_t>(i) * kPeriod;
    auto rs = readings(t, prices[i], i + 1);
    if (i >= 30) rs.clear();  // every source goes silent
    const auto r = pipe.tick(t, rs);
    if (i == 30) {
      CHECK(r.prices.count("ETH") == 0);
      std::size_t stale = 0;
      for (const auto& inc : r.incidents) stale += inc.category == risk::oprisk::kStaleFeed ? 1 : 0;
      CHECK(stale == 4);  // three sources, then the asset
    }
    if (i > 30) CHECK(r.incidents.empty());  // recorded once, not every tick
    if (i >= 30 && r.portfolios[0].status == risk::BreakerStatus::kTripped) tripped = true;
  }
  CHECK(tripped);
}
