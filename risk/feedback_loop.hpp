// The feedback-loop scenario (issue 5 item 4): a vault that de-risks on the published VaR sells
// into a constant-product AMM, its sales move the AMM price, the oracle reads that price, and the
// VaR rises again. run_feedback_loop() measures the loop's amplification (peak VaR, price drawdown)
// with the breaker stage off (the vault acts on the computed VaR) and on (smoothed, rate-limited).
//
// Model, one step every step_s seconds:
//  1. the fair price (the wider market) follows a driftless lognormal walk with one scripted jump;
//  2. arbitrageurs carry the fair price's move into the AMM and close `arb_speed` of the log gap
//     the vault's trades opened (a fee-less move along x * y = k);
//  3. the oracle reads the AMM price; EwmaNormalVar computes the VaR; the CircuitBreaker publishes;
//  4. the vault (DESIGN.md §4 RiskRebalancer) watches the published VaR through the rebalance
//     threshold of BreakerConfig::actions (HysteresisTrigger): when it fires, it sells
//     derisk_fraction of its risky holding; when it resets, it buys back with all its stable;
//     orders are worked off in slices that move the AMM price by at most max_price_impact each
//     step, through the AMM with the Uniswap v2 fee (risk/constant_product_amm.hpp).
// "Without smoothing" is BreakerConfig{enabled = false} with a bare threshold (lower = upper,
// no dwell); "with" is the defaults.
#pragma once

#include <cstdint>
#include <vector>

#include "risk/breaker_config.hpp"
#include "risk/constant_product_amm.hpp"  // the AMM of step 2

namespace varkeeper::risk {

struct FeedbackConfig {
  std::int64_t start = 1'700'000'000;
  std::int64_t step_s = 300;
  int updates = 864;          // three days
  int shock_at = 288;         // the fair price jumps after one day
  double shock = -0.10;       // relative jump of the fair price
  double daily_vol = 0.035;   // of the fair price
  double amm_risky = 10'000;  // AMM reserves: 10 000 risky at 2000 = 20 M stable
  double amm_stable = 20'000'000;
  double arb_speed = 0.2;        // fraction of the log gap closed per step
  double vault_risky = 3'000;    // the vault starts fully risky, 30 % of the AMM's risky reserve
  double derisk_fraction = 0.5;  // of the risky holding, sold when the threshold fires
  double max_price_impact = 0.02;
  std::int64_t variance_half_life_s = 14'400;  // 4 h: a reactive risk model
  std::uint64_t seed = 7;
  bool rebalancer = true;  // false: no vault trades (the loop is open)
};

struct FeedbackPoint {
  std::int64_t t = 0;
  double fair = 0.0;
  double amm_price = 0.0;
  double computed_var = 0.0;
  double published_var = 0.0;
  double vault_weight = 0.0;  // risky value / vault value
};

struct FeedbackResult {
  std::vector<FeedbackPoint> path;
  double peak_computed_var = 0.0;
  double peak_published_var = 0.0;
  double max_drawdown = 0.0;  // max over t of 1 - amm_price / running max
  double max_discount = 0.0;  // max over t of 1 - amm_price / fair: the loop's own damage
  double min_price = 0.0;
  double risky_sold = 0.0;         // total risky sold by the vault
  double final_vault_value = 0.0;  // at the final AMM price, in stable
  int trades = 0;
};

[[nodiscard]] FeedbackResult run_feedback_loop(const FeedbackConfig& loop,
                                               const BreakerConfig& breaker);

}  // namespace varkeeper::risk
