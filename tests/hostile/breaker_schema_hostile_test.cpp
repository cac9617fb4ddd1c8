// One [breaker] schema for keeper configs and scenario files (keeper/config/breaker_schema.hpp):
// hostile and mutated [breaker] blocks are refused by both file kinds with the same one-sentence
// error naming the file, the line and the key, and a block both accept gives the same config.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "keeper/config/config.hpp"
#include "keeper/sim/scenario.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;

namespace {

// Both files put the [breaker] block on line 12: a minimal valid config, and a scenario padded
// with comments to the same length.
constexpr int kBlockLine = 12;
const std::string kConfigHead =
    "[chain]\nanvil = true\nchain_id = 31337\n"
    "[keys]\nsigners = [{ dev_key = \"anvil1\" }]\nsender = { dev_key = \"anvil0\" }\n"
    "[[assets]]\nsymbol = \"ETH\"\n[[portfolios]]\nid = 1\npositions = { ETH = 1.5 }\n";
const std::string kScenarioHead = "[[assets]]\nsymbol = \"ETH\"\n#\n#\n#\n#\n#\n#\n#\n#\n#\n";

struct Outcome {
  std::optional<risk::BreakerConfig> breaker;  // read
  std::string error;                           // refused: the message after "FILE"
};

Outcome as_config(const std::string& block) {
  try {
    return {keeper::parse_config(kConfigHead + block, "f.toml").breaker, {}};
  } catch (const keeper::ConfigError& e) {
    return {std::nullopt, std::string(e.what()).substr(6)};
  }
}

Outcome as_scenario(const std::string& block) {
  try {
    return {keeper::parse_scenario(kScenarioHead + block, "f.toml").breaker, {}};
  } catch (const keeper::ScenarioError& e) {
    return {std::nullopt, std::string(e.what()).substr(6)};
  }
}

bool same(const risk::BreakerConfig& a, const risk::BreakerConfig& b) {
  const auto band = [](const risk::HysteresisConfig& x, const risk::HysteresisConfig& y) {
    return x.upper == y.upper && x.lower == y.lower && x.min_dwell_s == y.min_dwell_s;
  };
  const auto &c = a.checks, &d = b.checks;
  const auto &t = a.breaker, &u = b.breaker;
  const auto &s = a.smoothing, &r = b.smoothing;
  return a.enabled == b.enabled && c.heartbeat_grace_s == d.heartbeat_grace_s &&
         c.max_future_skew_s == d.max_future_skew_s && c.max_step_move == d.max_step_move &&
         c.step_confirm_s == d.step_confirm_s && c.mad_k == d.mad_k &&
         c.max_disagreement == d.max_disagreement && t.var_jump_factor == u.var_jump_factor &&
         t.var_jump_min_abs == u.var_jump_min_abs && t.clear_s == u.clear_s &&
         t.cooldown_s == u.cooldown_s && t.policy == u.policy &&
         s.ema_half_life_s == r.ema_half_life_s && s.max_rise_per_update == r.max_rise_per_update &&
         s.max_fall_per_update == r.max_fall_per_update &&
         s.max_rise_per_hour == r.max_rise_per_hour && s.max_fall_per_hour == r.max_fall_per_hour &&
         s.var_floor == r.var_floor && s.enabled == r.enabled &&
         band(a.actions.rebalance, b.actions.rebalance) && band(a.actions.payout, b.actions.payout);
}

}  // namespace

TEST_CASE("hostile [breaker] blocks get the same sentence, with line and key, in both file kinds") {
  struct Row {
    const char* block;
    const char* error;  // after "f.toml"
  };
  const Row rows[] = {
      {"[breaker]\nenabled = 1\n",
       ":13: breaker.enabled: must be true or false, got an integer (1)"},
      {"[breaker]\n\n[breaker.breaker]\nvar_jump_factor = 0.5\n",
       ":15: breaker.breaker.var_jump_factor: must be > 1, got 0.5"},
      {"[breaker.breaker]\nvar_jump_factor = 1e7\n",
       ":13: breaker.breaker.var_jump_factor: must be <= 1e6, got 10000000"},
      {"[breaker.breaker]\nvar_jump_factor = nan\n",
       ":13: breaker.breaker.var_jump_factor: must be a finite number, got nan"},
      {"[breaker.breaker]\nclear_s = 9223372036854775807\n",
       ":13: breaker.breaker.clear_s: must be <= 31536000 (a year), got 9223372036854775807"},
      {"[breaker.breaker]\ncooldown_s = 1.5\n",
       ":13: breaker.breaker.cooldown_s: must be an integer, got a float (1.5)"},
      {"[breaker.breaker]\npolicy = \"panic\"\n",
       ":13: breaker.breaker.policy: must be \"freeze\", \"conservative\" or \"pass-through\", got "
       "\"panic\""},
      {"[breaker.checks]\nmax_future_skew_s = -1\n",
       ":13: breaker.checks.max_future_skew_s: must be >= 0, got -1"},
      {"[breaker.checks]\nmax_disagreement = 1\n",
       ":13: breaker.checks.max_disagreement: must be in (0, 1), got 1"},
      {"[breaker.smoothing]\nvar_floor = 0\n",
       ":13: breaker.smoothing.var_floor: must be > 0, got 0"},
      {"[breaker.actions.rebalance]\nupper = 0.05\nlower = 0.10\n",
       ":14: breaker.actions.rebalance.lower: must be >= 0 and <= "
       "breaker.actions.rebalance.upper, got 0.1"},
      {"[breaker.actions.payout]\nupper = 0.05\n",
       ":12: breaker.actions.payout.lower: must be >= 0 and <= breaker.actions.payout.upper"},
      {"[breaker.actions.payout]\nupper = 2\nlower = 0.5\n",
       ":13: breaker.actions.payout.upper: must be <= 1, got 2"},
      // The scenario files' old flat layout: refused, naming where the key lives now.
      {"[breaker]\npolicy = \"freeze\"\n",
       ":13: unknown key 'policy' in breaker (it is now breaker.breaker.policy)"},
      {"[breaker.rebalance]\nupper = 0.2\n",
       ":12: unknown key 'rebalance' in breaker (it is now breaker.actions.rebalance)"},
      {"[breaker.smoothing]\nmax_rise_per_updte = 1\n",
       ":13: unknown key 'max_rise_per_updte' in breaker.smoothing (did you mean "
       "'max_rise_per_update'?)"},
      {"[breaker]\n\"a\\nb\" = 1\n", ":13: unknown key 'a\\x0ab' in breaker"},
      {"[breaker]\nsmoothing = 3\n", ":13: breaker.smoothing: must be a table, got an integer (3)"},
      {"[breaker]\nchecks = [1, 2]\n", ":13: breaker.checks: must be a table, got an array"},
      {"[breaker.actions]\nrebalance = { upper = \"high\" }\n",
       ":13: breaker.actions.rebalance.upper: must be a number, got a string (\"high\")"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.block);
    const auto config = as_config(row.block);
    const auto scenario = as_scenario(row.block);
    CHECK(config.error == row.error);
    CHECK(scenario.error == row.error);
  }
}

TEST_CASE("mutated [breaker] blocks are read alike or refused alike by configs and scenarios") {
  const std::uint64_t seed = test::test_seed(0xb4ea7e5);
  std::mt19937_64 rng(seed);
  const std::string base =
      "[breaker]\nenabled = true\n\n[breaker.checks]\nheartbeat_grace_s = 300\n"
      "max_future_skew_s = 60\nmax_step_move = 0.20\nstep_confirm_s = 1800\nmad_k = 3.0\n"
      "max_disagreement = 0.02\n\n[breaker.breaker]\nvar_jump_factor = 2.0\n"
      "var_jump_min_abs = 0.01\nclear_s = 900\ncooldown_s = 3600\npolicy = \"conservative\"\n\n"
      "[breaker.smoothing]\nema_half_life_s = 900\nmax_rise_per_update = 0.5\n"
      "max_fall_per_update = 0.02\nmax_rise_per_hour = 2.0\nmax_fall_per_hour = 0.1\n"
      "var_floor = 0.001\nenabled = true\n\n[breaker.actions.rebalance]\nupper = 0.12\n"
      "lower = 0.09\nmin_dwell_s = 0\n\n[breaker.actions.payout]\nupper = 0.25\nlower = 0.15\n"
      "min_dwell_s = 1800\n";
  const std::string tokens[] = {
      "=", "[", "]", "\"", "-", "0",    "1e308", "nan", "inf", "\n",
      "{", "}", ",", ".",  "#", "true", "\xff",  "2",   "1e7", "9999999999999999999"};
  int read = 0, refused = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string block = base;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % block.size();
      switch (rng() % 3) {
        case 0: block.erase(at, 1 + rng() % 6); break;
        case 1: block.insert(at, tokens[rng() % std::size(tokens)]); break;
        default: block[at] = static_cast<char>(rng() % 256); break;
      }
    }
    CAPTURE(block);
    const auto config = as_config(block);
    const auto scenario = as_scenario(block);
    for (const auto* o : {&config, &scenario}) {
      if (o->breaker) continue;
      CHECK(o->error.find('\n') == std::string::npos);
      CHECK(o->error.front() == ':');  // "f.toml:LINE: ..." (or LINE:COLUMN for TOML syntax)
    }
    if (config.breaker && scenario.breaker) {
      ++read;
      CHECK(same(*config.breaker, *scenario.breaker));
    } else if (!config.breaker && !scenario.breaker) {
      ++refused;
      // The mutation may have turned the block into a table the two files treat differently
      // (`[keeper]` belongs in a config only); about [breaker] they must agree word for word.
      const bool about_breaker = config.error.find(" breaker") != std::string::npos ||
                                 scenario.error.find(" breaker") != std::string::npos;
      if (about_breaker) CHECK(config.error == scenario.error);
    } else {
      const auto& error = config.breaker ? scenario.error : config.error;
      CHECK(error.find(" breaker") == std::string::npos);
    }
  }
  CHECK(read > 0);
  CHECK(refused > 0);
  MESSAGE("seed " << seed << ": " << read << " read alike, " << refused << " refused");
}
