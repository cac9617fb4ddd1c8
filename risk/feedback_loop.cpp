#include "risk/feedback_loop.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>

#include "risk/circuit_breaker.hpp"
#include "risk/random_stream.hpp"
#include "risk/signal_var.hpp"
#include "risk/smoothing.hpp"

namespace varkeeper::risk {

namespace {

// SplitMix64 (risk/random_stream.hpp) + Box-Muller (portable across standard libraries).
class Gaussian {
 public:
  explicit Gaussian(std::uint64_t seed) : state_(seed) {}
  double next() {
    const double u1 = (static_cast<double>(splitmix64(state_) >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = static_cast<double>(splitmix64(state_) >> 11) * 0x1.0p-53;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  std::uint64_t state_;
};

}  // namespace

FeedbackResult run_feedback_loop(const FeedbackConfig& c, const BreakerConfig& breaker_config) {
  FeedbackResult out;
  Gaussian rng(c.seed);
  ConstantProductAmm amm{c.amm_risky, c.amm_stable};
  SignalVarConfig var_config;
  var_config.variance_half_life_s = c.variance_half_life_s;
  var_config.initial_daily_vol = c.daily_vol;
  EwmaNormalVar model(var_config);
  CircuitBreaker breaker(breaker_config);
  double fair = amm.price();
  double risky = c.vault_risky;
  double stable = 0.0;
  HysteresisTrigger threshold(breaker_config.actions.rebalance);
  double to_sell = 0.0;   // risky still to sell for the current de-risk order
  double to_spend = 0.0;  // stable still to spend for the current re-risk order
  double running_max = amm.price();
  out.min_price = amm.price();
  const double step_vol = c.daily_vol * std::sqrt(static_cast<double>(c.step_s) / 86'400.0);
  for (int k = 0; k < c.updates; ++k) {
    const std::int64_t t = c.start + k * c.step_s;
    const double fair_before = fair;
    if (k > 0) {
      fair *= std::exp(step_vol * rng.next());
    }
    if (k == c.shock_at) {
      fair *= 1.0 + c.shock;
    }
    // Arbitrage carries the wider market's move into the AMM at once and closes arb_speed of the
    // gap the vault's own trades opened: gap' = (1 - arb_speed) * gap, gap = ln(amm / fair).
    amm.move_to(fair * std::exp((1.0 - c.arb_speed) * std::log(amm.price() / fair_before)));

    const double price = amm.price();
    const double computed = model.update(t, price);
    const BreakerOutput b = breaker.step({t, computed, {}});

    if (c.rebalancer) {
      // RiskRebalancer (DESIGN.md §4): de-risk when the published VaR crosses the upper
      // threshold, re-risk below the lower one; each order is worked off in slices of bounded
      // price impact.
      switch (threshold.update(t, b.published)) {
        case ActionEdge::kFired:
          to_sell = c.derisk_fraction * risky;
          to_spend = 0.0;
          break;
        case ActionEdge::kReset:
          to_spend = stable;
          to_sell = 0.0;
          break;
        case ActionEdge::kNone: break;
      }
      if (to_sell > 0.0) {
        const double dq = std::min({to_sell, risky, amm.max_sale(c.max_price_impact)});
        stable += amm.sell_risky(dq);
        risky -= dq;
        to_sell -= dq;
        out.risky_sold += dq;
        ++out.trades;
      } else if (to_spend > 0.0) {
        const double dy = std::min({to_spend, stable, amm.max_purchase(c.max_price_impact)});
        risky += amm.buy_risky(dy);
        stable -= dy;
        to_spend -= dy;
        ++out.trades;
      }
    }

    const double after = amm.price();
    running_max = std::max(running_max, after);
    out.max_drawdown = std::max(out.max_drawdown, 1.0 - after / running_max);
    out.min_price = std::min(out.min_price, after);
    out.max_discount = std::max(out.max_discount, 1.0 - after / fair);
    out.peak_computed_var = std::max(out.peak_computed_var, computed);
    out.peak_published_var = std::max(out.peak_published_var, b.published);
    const double value = risky * after + stable;
    out.path.push_back({t, fair, after, computed, b.published, risky * after / value});
  }
  out.final_vault_value = risky * amm.price() + stable;
  return out;
}

}  // namespace varkeeper::risk
