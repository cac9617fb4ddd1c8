#include "keeper/core/methodology.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "chain/keccak.hpp"
#include "risk/portfolio_loss.hpp"

namespace varkeeper::keeper {

namespace {

nlohmann::json breaker_json(const risk::BreakerConfig& b) {
  const auto hysteresis = [](const risk::HysteresisConfig& h) {
    return nlohmann::json{{"upper", h.upper}, {"lower", h.lower}, {"min_dwell_s", h.min_dwell_s}};
  };
  const auto& c = b.checks;
  const auto& t = b.breaker;
  const auto& s = b.smoothing;
  return {
      {"enabled", b.enabled},
      {"checks",
       {{"heartbeat_grace_s", c.heartbeat_grace_s},
        {"max_future_skew_s", c.max_future_skew_s},
        {"max_step_move", c.max_step_move},
        {"step_confirm_s", c.step_confirm_s},
        {"mad_k", c.mad_k},
        {"max_disagreement", c.max_disagreement}}},
      {"breaker",
       {{"var_jump_factor", t.var_jump_factor},
        {"var_jump_min_abs", t.var_jump_min_abs},
        {"clear_s", t.clear_s},
        {"cooldown_s", t.cooldown_s},
        {"policy", risk::to_string(t.policy)}}},
      {"smoothing",
       {{"enabled", s.enabled},
        {"ema_half_life_s", s.ema_half_life_s},
        {"max_rise_per_update", s.max_rise_per_update},
        {"max_fall_per_update", s.max_fall_per_update},
        {"max_rise_per_hour", s.max_rise_per_hour},
        {"max_fall_per_hour", s.max_fall_per_hour},
        {"var_floor", s.var_floor}}},
      {"actions",
       {{"rebalance", hysteresis(b.actions.rebalance)}, {"payout", hysteresis(b.actions.payout)}}}};
}

}  // namespace

chain::Hash32 methodology_hash(const PortfolioSpec& p, const risk::BreakerConfig& b) {
  // Keys of nlohmann::json objects are sorted, so the dump is canonical. `threads` and
  // `components` are left out: the figures do not depend on them.
  std::map<std::string, double> positions;
  for (const auto& [symbol, quantity] : p.positions) {
    positions[symbol] += quantity;
  }
  nlohmann::json j;
  j["method"] = std::string(risk::to_string(p.method));
  j["confidence"] = p.risk.confidence;
  j["horizon"] = p.risk.horizon;
  j["mean"] = std::string(risk::to_string(p.risk.mean));
  j["period_s"] = p.period_s;
  j["window"] = p.window;
  j["min_obs"] = p.min_obs;
  j["paths"] = p.risk.paths;
  j["seed"] = p.risk.seed;
  j["ewma_lambda"] = p.risk.ewma_lambda;
  j["age_lambda"] = p.risk.age_lambda;
  j["antithetic"] = p.risk.antithetic;
  j["ewma_covariance"] = p.risk.ewma_covariance;
  if (p.risk.ledoit_wolf) {  // only when set: the hashes of existing configs stay as they were
    j["ledoit_wolf"] = true;
  }
  j["revaluation"] = p.risk.revaluation == risk::Revaluation::kFull ? "full" : "linear";
  j["positions"] = positions;
  j["publish"] = {{"deviation", p.publish.deviation}, {"heartbeat_s", p.publish.heartbeat_s}};
  j["breaker"] = breaker_json(b);
  return chain::keccak256(std::string_view(j.dump()));
}

void stamp_methodology(PipelineConfig& config) {
  for (auto& p : config.portfolios) {
    p.config_hash = methodology_hash(p, config.breaker);
  }
}

}  // namespace varkeeper::keeper
