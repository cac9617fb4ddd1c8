// Shared inputs of the Pipeline tests: one ETH portfolio read from three sources a, b, c.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "keeper/core/pipeline.hpp"

namespace varkeeper::keeper::test {

// One tick's answers of sources a, b, c for ETH: fresh rounds `round` at t, at the given prices.
inline std::vector<PriceReading> eth_answers(std::int64_t t, std::uint64_t round, double a,
                                             double b, double c) {
  std::vector<PriceReading> out;
  const std::pair<const char*, double> quotes[] = {{"a", a}, {"b", b}, {"c", c}};
  for (const auto& [name, price] : quotes) {
    PriceReading r;
    r.asset = "ETH";
    r.source = name;
    r.round.round_id = {1, round};
    r.round.answered_in_round = {1, round};
    r.round.answer = price;
    r.round.started_at = t;
    r.round.updated_at = t;
    out.push_back(r);
  }
  return out;
}

// Portfolio 1 "eth" (10 ETH, parametric normal at 99 %), 60 s periods, a window of 50 returns,
// estimates from 20, published on a 5 % move or every 600 s; three sources with a 1 h heartbeat.
inline PipelineConfig one_eth_portfolio(bool breaker_on) {
  PipelineConfig c;
  c.assets.push_back({"ETH", {{"a", 3600}, {"b", 3600}, {"c", 3600}}});
  PortfolioSpec p;
  p.id = 1;
  p.name = "eth";
  p.positions = {{"ETH", 10.0}};
  p.method = risk::RiskMethod::kParametricNormal;
  p.risk.confidence = 0.99;
  p.period_s = 60;
  p.window = 50;
  p.min_obs = 20;
  p.publish.deviation = 0.05;
  p.publish.heartbeat_s = 600;
  c.portfolios.push_back(p);
  c.breaker.enabled = breaker_on;
  return c;
}

}  // namespace varkeeper::keeper::test
