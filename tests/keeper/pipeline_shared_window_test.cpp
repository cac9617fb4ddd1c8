// Issue 17 (scale): a tick aligns each (assets held, period, window) once and lets the portfolios
// holding those assets share it. Every portfolio's figures must be bit for bit those of a keeper
// estimating that portfolio alone, whatever other portfolios it shares the tick with.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "keeper/core/pipeline.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

namespace {

constexpr std::int64_t kPeriod = 60;

std::vector<PriceReading> answers(std::int64_t t, std::uint64_t round,
                                  const std::vector<std::pair<std::string, double>>& prices) {
  std::vector<PriceReading> out;
  for (const auto& [asset, price] : prices) {
    for (const char* s : {"a", "b", "c"}) {
      PriceReading r;
      r.asset = asset;
      r.source = s;
      r.round.round_id = {1, round};
      r.round.answered_in_round = {1, round};
      r.round.answer = price;
      r.round.started_at = t;
      r.round.updated_at = t;
      out.push_back(r);
    }
  }
  return out;
}

PortfolioSpec portfolio(std::uint64_t id, std::vector<std::pair<std::string, double>> positions,
                        risk::RiskMethod method, std::size_t window) {
  PortfolioSpec p;
  p.id = id;
  p.name = "p" + std::to_string(id);
  p.positions = std::move(positions);
  p.method = method;
  p.risk.paths = 2000;
  p.risk.components = false;
  p.period_s = kPeriod;
  p.window = window;
  p.min_obs = 20;
  return p;
}

bool same_bits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

}  // namespace

TEST_CASE("portfolios sharing a tick get the figures each would get alone") {
  using risk::RiskMethod;
  const std::vector<PortfolioSpec> specs{
      portfolio(1, {{"X", 2.0}, {"Y", 5.0}}, RiskMethod::kMcT, 40),
      portfolio(2, {{"X", 7.0}, {"Y", 1.0}}, RiskMethod::kMcT, 40),
      portfolio(3, {{"Y", 5.0}, {"X", 2.0}}, RiskMethod::kMcT, 40),  // the same assets reordered
      portfolio(4, {{"X", 1.0}, {"Y", 1.0}}, RiskMethod::kHistorical, 25),  // a shorter window
      portfolio(5, {{"X", 1.0}, {"Y", 1.0}}, RiskMethod::kHistorical, 40),
      portfolio(6, {{"X", 3.0}, {"Z", 2.0}}, RiskMethod::kFilteredHistorical, 40),  // Z starts late
      portfolio(7, {{"X", 3.0}, {"Y", -1.0}, {"Z", 2.0}}, RiskMethod::kParametricNormal, 40),
  };
  PipelineConfig all;
  for (const char* a : {"X", "Y", "Z"}) {
    all.assets.push_back({a, {{"a", 3600}, {"b", 3600}, {"c", 3600}}});
  }
  std::vector<Pipeline> alone;
  alone.reserve(specs.size());
  for (const auto& s : specs) {
    PipelineConfig c;
    c.assets = all.assets;
    c.portfolios = {s};
    alone.emplace_back(c);
  }
  all.portfolios = specs;
  Pipeline together(all);
  std::mt19937_64 rng(20261208);
  std::normal_distribution<double> z(0.0, 0.01);
  double x = 100.0, y = 50.0, w = 10.0;
  std::size_t estimated = 0;
  for (std::uint64_t round = 1; round <= 70; ++round) {
    const std::int64_t t = 1'800'000'000 + static_cast<std::int64_t>(round) * kPeriod;
    x *= std::exp(z(rng));
    y *= std::exp(z(rng));
    w *= std::exp(2.0 * z(rng));
    std::vector<std::pair<std::string, double>> prices{{"X", x}, {"Y", y}};
    if (round > 30) {
      prices.emplace_back("Z", w);
    }
    const auto readings = answers(t, round, prices);
    const TickResult shared = together.tick(t, readings);
    REQUIRE(shared.portfolios.size() == specs.size());
    for (std::size_t k = 0; k < specs.size(); ++k) {
      CAPTURE(round);
      CAPTURE(k);
      const TickResult solo = alone[k].tick(t, readings);
      REQUIRE(solo.portfolios.size() == 1);
      const auto& a = shared.portfolios[k];
      const auto& b = solo.portfolios[0];
      CHECK(a.has_estimate == b.has_estimate);
      CHECK(a.note == b.note);
      CHECK(same_bits(a.computed.var, b.computed.var));
      CHECK(same_bits(a.computed.cvar, b.computed.cvar));
      CHECK(same_bits(a.published_var, b.published_var));
      CHECK(a.computed.n_obs == b.computed.n_obs);
      estimated += a.has_estimate ? 1 : 0;
    }
  }
  // Z's portfolios wait for its history while the others estimate; all of them estimate at last.
  CHECK(estimated > 5 * 40);
  CHECK(estimated < specs.size() * 70);
}
