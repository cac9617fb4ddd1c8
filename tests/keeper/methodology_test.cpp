// The methodology hash (keeper/core/methodology.hpp) must change with every field that changes
// the published figures, and only with those: two keepers agree on a hash only if they would
// compute the same figures from the same prices.
#include "keeper/core/methodology.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "chain/hex.hpp"
#include "keeper/config/config.hpp"
#include "risk/portfolio_loss.hpp"

namespace {

using varkeeper::keeper::methodology_hash;
using varkeeper::keeper::PortfolioSpec;
using varkeeper::risk::BreakerConfig;

PortfolioSpec base_portfolio() {
  PortfolioSpec p;
  p.id = 7;
  p.name = "treasury";
  p.positions = {{"BTC", 20.0}, {"ETH", 300.0}};
  p.method = varkeeper::risk::RiskMethod::kMcT;
  p.risk.paths = 20'000;
  p.risk.seed = 11;
  return p;
}

struct Mutation {
  std::string field;
  std::function<void(PortfolioSpec&, BreakerConfig&)> apply;
};

std::vector<Mutation> figure_changing_mutations() {
  using P = PortfolioSpec&;
  using B = BreakerConfig&;
  return {
      {"method", [](P p, B) { p.method = varkeeper::risk::RiskMethod::kFilteredHistorical; }},
      {"confidence", [](P p, B) { p.risk.confidence = 0.975; }},
      {"horizon", [](P p, B) { p.risk.horizon = 10; }},
      {"mean", [](P p, B) { p.risk.mean = varkeeper::risk::MeanModel::kSample; }},
      {"period_s", [](P p, B) { p.period_s = 3600; }},
      {"window", [](P p, B) { p.window = 500; }},
      {"min_obs", [](P p, B) { p.min_obs = 60; }},
      {"paths", [](P p, B) { p.risk.paths = 100'000; }},
      {"seed", [](P p, B) { p.risk.seed = 12; }},
      {"ewma_lambda", [](P p, B) { p.risk.ewma_lambda = 0.97; }},
      {"age_lambda", [](P p, B) { p.risk.age_lambda = 0.99; }},
      {"antithetic", [](P p, B) { p.risk.antithetic = false; }},
      {"ewma_covariance", [](P p, B) { p.risk.ewma_covariance = true; }},
      {"revaluation", [](P p, B) { p.risk.revaluation = varkeeper::risk::Revaluation::kLinear; }},
      {"position quantity", [](P p, B) { p.positions[1].second = 301.0; }},
      {"position asset", [](P p, B) { p.positions[0].first = "WBTC"; }},
      {"extra position", [](P p, B) { p.positions.emplace_back("SOL", 1.0); }},
      {"publish.deviation", [](P p, B) { p.publish.deviation = 0.10; }},
      {"publish.heartbeat_s", [](P p, B) { p.publish.heartbeat_s = 7200; }},
      {"breaker.enabled", [](P, B b) { b.enabled = false; }},
      {"checks.heartbeat_grace_s", [](P, B b) { b.checks.heartbeat_grace_s += 1; }},
      {"checks.max_future_skew_s", [](P, B b) { b.checks.max_future_skew_s += 1; }},
      {"checks.max_step_move", [](P, B b) { b.checks.max_step_move = 0.25; }},
      {"checks.step_confirm_s", [](P, B b) { b.checks.step_confirm_s += 1; }},
      {"checks.mad_k", [](P, B b) { b.checks.mad_k = 4.0; }},
      {"checks.max_disagreement", [](P, B b) { b.checks.max_disagreement = 0.03; }},
      {"breaker.var_jump_factor", [](P, B b) { b.breaker.var_jump_factor = 3.0; }},
      {"breaker.var_jump_min_abs", [](P, B b) { b.breaker.var_jump_min_abs = 0.02; }},
      {"breaker.clear_s", [](P, B b) { b.breaker.clear_s += 1; }},
      {"breaker.cooldown_s", [](P, B b) { b.breaker.cooldown_s += 1; }},
      {"breaker.policy", [](P, B b) { b.breaker.policy = varkeeper::risk::TripPolicy::kFreeze; }},
      {"smoothing.enabled", [](P, B b) { b.smoothing.enabled = false; }},
      {"smoothing.ema_half_life_s", [](P, B b) { b.smoothing.ema_half_life_s += 1; }},
      {"smoothing.max_rise_per_update", [](P, B b) { b.smoothing.max_rise_per_update = 0.6; }},
      {"smoothing.max_fall_per_update", [](P, B b) { b.smoothing.max_fall_per_update = 0.03; }},
      {"smoothing.max_rise_per_hour", [](P, B b) { b.smoothing.max_rise_per_hour = 2.5; }},
      {"smoothing.max_fall_per_hour", [](P, B b) { b.smoothing.max_fall_per_hour = 0.2; }},
      {"smoothing.var_floor", [](P, B b) { b.smoothing.var_floor = 0.002; }},
      {"actions.rebalance.upper", [](P, B b) { b.actions.rebalance.upper = 0.13; }},
      {"actions.rebalance.lower", [](P, B b) { b.actions.rebalance.lower = 0.08; }},
      {"actions.rebalance.min_dwell_s", [](P, B b) { b.actions.rebalance.min_dwell_s += 1; }},
      {"actions.payout.upper", [](P, B b) { b.actions.payout.upper = 0.26; }},
      {"actions.payout.lower", [](P, B b) { b.actions.payout.lower = 0.14; }},
      {"actions.payout.min_dwell_s", [](P, B b) { b.actions.payout.min_dwell_s += 1; }},
  };
}

}  // namespace

TEST_CASE("methodology hash changes with every field that changes the figures") {
  const PortfolioSpec p0 = base_portfolio();
  const BreakerConfig b0;
  const auto h0 = methodology_hash(p0, b0);
  std::set<std::string> seen{varkeeper::chain::to_hex(h0)};
  for (const auto& m : figure_changing_mutations()) {
    PortfolioSpec p = p0;
    BreakerConfig b = b0;
    m.apply(p, b);
    const auto h = methodology_hash(p, b);
    INFO("field: " << m.field);
    CHECK(h != h0);
    // Each field moves the hash somewhere new (no two fields collapse onto one key).
    CHECK(seen.insert(varkeeper::chain::to_hex(h)).second);
  }
}

TEST_CASE("methodology hash ignores what does not change the figures") {
  const PortfolioSpec p0 = base_portfolio();
  const BreakerConfig b0;
  const auto h0 = methodology_hash(p0, b0);
  PortfolioSpec p = p0;
  p.id = 8;            // the portfolio's identity is in the report, not its methodology
  p.name = "renamed";  // a label
  p.risk.threads = 3;  // results do not depend on the thread count
  p.risk.components = false;
  p.config_hash[0] = 0xff;                    // the output field itself
  std::swap(p.positions[0], p.positions[1]);  // positions are a set: order is not methodology
  CHECK(methodology_hash(p, b0) == h0);
}

TEST_CASE("a config and the pipeline it builds carry the hash of the portfolio as run") {
  // The daemon's pipeline_config stamps each portfolio with the hash of its own PortfolioSpec:
  // a config that changes paths, seed or a lambda changes the hash (the embedded run and the
  // daemon used to hash a settings object that could drop them).
  const auto config =
      varkeeper::keeper::load_config(std::string(VARKEEPER_SOURCE_DIR) + "/config/local.toml");
  REQUIRE(config.portfolios.size() == 2);
  REQUIRE(config.portfolios[1].paths == 20'000);  // eth-tail: mc-t, paths 20000, seed 7
  const auto pc = varkeeper::keeper::pipeline_config(config);
  REQUIRE(pc.portfolios.size() == 2);
  const auto& spec = pc.portfolios[1];
  CHECK(spec.risk.paths == 20'000);
  CHECK(spec.risk.seed == 7);
  CHECK(spec.config_hash == methodology_hash(spec, pc.breaker));

  auto other = config;
  other.portfolios[1].paths = 100'000;
  CHECK(varkeeper::keeper::pipeline_config(other).portfolios[1].config_hash != spec.config_hash);
  other = config;
  other.portfolios[1].seed = 8;
  CHECK(varkeeper::keeper::pipeline_config(other).portfolios[1].config_hash != spec.config_hash);
}
