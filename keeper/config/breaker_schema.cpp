#include "keeper/config/breaker_schema.hpp"

#include "keeper/config/toml_table.hpp"

#include <string>

namespace varkeeper::keeper {
namespace {

// The scenario files' flat layout before issue 13: these keys of [breaker] moved.
constexpr MovedKey kMovedFlatKeys[] = {
    {"policy", "breaker.breaker.policy"},
    {"var_jump_factor", "breaker.breaker.var_jump_factor"},
    {"var_jump_min_abs", "breaker.breaker.var_jump_min_abs"},
    {"clear_s", "breaker.breaker.clear_s"},
    {"cooldown_s", "breaker.breaker.cooldown_s"},
    {"rebalance", "breaker.actions.rebalance"},
    {"payout", "breaker.actions.payout"},
};

void read_checks(const TomlTable& b, risk::PriceCheckConfig& c) {
  const auto k = b.sub("checks", {"heartbeat_grace_s", "max_future_skew_s", "max_step_move",
                                  "step_confirm_s", "mad_k", "max_disagreement"});
  if (!k) {
    return;
  }
  c.heartbeat_grace_s = k->int64("heartbeat_grace_s", c.heartbeat_grace_s);
  c.max_future_skew_s = k->int64("max_future_skew_s", c.max_future_skew_s);
  c.max_step_move = k->number("max_step_move", c.max_step_move);
  c.step_confirm_s = k->int64("step_confirm_s", c.step_confirm_s);
  c.mad_k = k->number("mad_k", c.mad_k);
  c.max_disagreement = k->number("max_disagreement", c.max_disagreement);
}

void read_trigger(const TomlTable& b, risk::BreakerTriggerConfig& c) {
  const auto k =
      b.sub("breaker", {"var_jump_factor", "var_jump_min_abs", "clear_s", "cooldown_s", "policy"});
  if (!k) {
    return;
  }
  c.var_jump_factor = k->number("var_jump_factor", c.var_jump_factor);
  c.var_jump_min_abs = k->number("var_jump_min_abs", c.var_jump_min_abs);
  c.clear_s = k->int64("clear_s", c.clear_s);
  c.cooldown_s = k->int64("cooldown_s", c.cooldown_s);
  if (auto policy = k->opt_string("policy")) {
    auto parsed = risk::parse_trip_policy(*policy);
    if (!parsed) {
      k->fail("policy",
              "must be \"freeze\", \"conservative\" or \"pass-through\", got \"" + *policy + "\"");
    }
    c.policy = *parsed;
  }
}

void read_smoothing(const TomlTable& b, risk::SmoothingConfig& s) {
  const auto k =
      b.sub("smoothing", {"ema_half_life_s", "max_rise_per_update", "max_fall_per_update",
                          "max_rise_per_hour", "max_fall_per_hour", "var_floor", "enabled"});
  if (!k) {
    return;
  }
  s.ema_half_life_s = k->int64("ema_half_life_s", s.ema_half_life_s);
  s.max_rise_per_update = k->number("max_rise_per_update", s.max_rise_per_update);
  s.max_fall_per_update = k->number("max_fall_per_update", s.max_fall_per_update);
  s.max_rise_per_hour = k->number("max_rise_per_hour", s.max_rise_per_hour);
  s.max_fall_per_hour = k->number("max_fall_per_hour", s.max_fall_per_hour);
  s.var_floor = k->number("var_floor", s.var_floor);
  s.enabled = k->boolean("enabled", s.enabled);
}

void read_hysteresis(const TomlTable& actions, std::string_view name, risk::HysteresisConfig& h) {
  const auto k = actions.sub(name, {"upper", "lower", "min_dwell_s"});
  if (!k) {
    return;
  }
  h.upper = k->number("upper", h.upper);
  h.lower = k->number("lower", h.lower);
  h.min_dwell_s = k->int64("min_dwell_s", h.min_dwell_s);
}

// The value as the file wrote it, for "got ...".
std::string value_text(const toml::node& node) {
  if (const auto* i = node.as_integer()) {
    return std::to_string(i->get());
  }
  if (const auto* f = node.as_floating_point()) {
    return format_number(f->get());
  }
  return describe(node);
}

// risk::validate's refusal "checks.max_step_move must be > 0" as
// "FILE:LINE: breaker.checks.max_step_move: must be > 0, got -1", at the key's line (or, for a key
// left out, at the nearest table the file has on its path).
[[noreturn]] void fail_validation(const TomlTable& b, const std::string& problem) {
  const auto space = problem.find(' ');
  const std::string field = problem.substr(0, space);
  std::string rule = space == std::string::npos ? "is out of range" : problem.substr(space + 1);
  // Other fields the rule names are written with their key path too.
  for (const char* section : {" checks.", " breaker.", " smoothing.", " actions."}) {
    for (auto at = rule.find(section); at != std::string::npos; at = rule.find(section, at + 9)) {
      rule.insert(at + 1, "breaker.");
    }
  }
  const toml::node* where = &b.raw();
  std::string path = field;
  while (!path.empty()) {
    if (const auto* node = b.raw().at_path(path).node()) {
      where = node;
      break;
    }
    const auto dot = path.rfind('.');
    path = dot == std::string::npos ? std::string() : path.substr(0, dot);
  }
  if (path == field && !where->is_table()) {
    rule += ", got " + value_text(*where);
  }
  b.file().fail(b.key(field), where, rule);
}

}  // namespace

void read_breaker(const TomlTable& parent, risk::BreakerConfig& config) {
  const auto b = parent.sub("breaker", {"enabled", "checks", "breaker", "smoothing", "actions"},
                            kMovedFlatKeys);
  if (!b) {
    return;
  }
  config.enabled = b->boolean("enabled", config.enabled);
  read_checks(*b, config.checks);
  read_trigger(*b, config.breaker);
  read_smoothing(*b, config.smoothing);
  if (const auto actions = b->sub("actions", {"rebalance", "payout"})) {
    read_hysteresis(*actions, "rebalance", config.actions.rebalance);
    read_hysteresis(*actions, "payout", config.actions.payout);
  }
  if (auto problem = risk::validate(config)) {
    fail_validation(*b, *problem);
  }
}

}  // namespace varkeeper::keeper
