// The one [breaker] schema (risk::BreakerConfig) of keeper configs and scenario files: a block
// copied from a config works unchanged in a scenario. The layout mirrors the struct:
//   [breaker]                     enabled
//   [breaker.checks]              heartbeat_grace_s, max_future_skew_s, max_step_move, ...
//   [breaker.breaker]             var_jump_factor, var_jump_min_abs, clear_s, cooldown_s, policy
//   [breaker.smoothing]           ema_half_life_s, max_rise_per_update, ..., var_floor, enabled
//   [breaker.actions.rebalance]   upper, lower, min_dwell_s (and [breaker.actions.payout])
// The ranges are risk::validate's (one copy of the rule); its refusal is reported at the key's
// line. docs/config.md documents every key and its default.
#pragma once

#include "risk/breaker_config.hpp"

namespace varkeeper::keeper {

class TomlTable;  // keeper/config/toml_table.hpp

// Reads `parent`'s [breaker] table, if any, over `config` (keys left out keep its values). The
// scenario files' old flat layout (`[breaker] policy = ...`, `[breaker.rebalance]`) is refused
// with a TomlError that names the key's new place.
void read_breaker(const TomlTable& parent, risk::BreakerConfig& config);

}  // namespace varkeeper::keeper
