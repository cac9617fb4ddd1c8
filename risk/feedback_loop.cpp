#include "risk/feedback_loop.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>

#include "risk/circuit_breaker.hpp"
#include "risk/signal_var.hpp"
#include "risk/smoothing.hpp"

namespace varkeeper::risk {

double amm_amount_out(double amount_in, double reserve_in, double reserve_out,
                      int fee_bps) noexcept {
  if (!(amount_in > 0.0) || !(reserve_in > 0.0) || !(reserve_out > 0.0)) return 0.0;
  const double with_fee = amount_in * static_cast<double>(10'000 - fee_bps);
  return with_fee * reserve_out / (reserve_in * 10'000.0 + with_fee);
}

namespace {

// SplitMix64 + Box-Muller (portable across standard libraries).
class Gaussian {
 public:
  explicit Gaussian(std::uint64_t seed) : state_(seed) {}
  double next() {
    const double u1 = (static_cast<double>(bits() >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = static_cast<double>(bits() >> 11) * 0x1.0p-53;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  std::uint64_t bits() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};

struct Amm {
  double x;  // risky reserve
  double y;  // stable reserve
  [[nodiscard]] double price() const { return y / x; }
  // Moves the price to p along x * y = k (an arbitrageur's net trade, fee ignored).
  void move_to(double p) {
    const double k = x * y;
    x = std::sqrt(k / p);
    y = std::sqrt(k * p);
  }
  double sell_risky(double dq) {
    const double dy = amm_amount_out(dq, x, y);
    x += dq;
    y -= dy;
    return dy;
  }
  double buy_risky(double dy) {
    const double dq = amm_amount_out(dy, y, x);
    y += dy;
    x -= dq;
    return dq;
  }
};

}  // namespace

FeedbackResult run_feedback_loop(const FeedbackConfig& c, const BreakerConfig& breaker_config) {
  FeedbackResult out;
  Gaussian rng(c.seed);
  Amm amm{c.amm_risky, c.amm_stable};
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
  // sell at most dq such that (x / (x + dq))^2 >= 1 - impact (price after/before of a sale).
  const double impact_factor = 1.0 / std::sqrt(1.0 - c.max_price_impact) - 1.0;
  for (int k = 0; k < c.updates; ++k) {
    const std::int64_t t = c.start + k * c.step_s;
    const double fair_before = fair;
    if (k > 0) fair *= std::exp(step_vol * rng.next());
    if (k == c.shock_at) fair *= 1.0 + c.shock;
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
        const double dq = std::min({to_sell, risky, amm.x * impact_factor});
        stable += amm.sell_risky(dq);
        risky -= dq;
        to_sell -= dq;
        out.risky_sold += dq;
        ++out.trades;
      } else if (to_spend > 0.0) {
        const double dy = std::min({to_spend, stable, amm.y * impact_factor});
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
