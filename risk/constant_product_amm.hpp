// A constant-product AMM (x * y = k, Uniswap v2) holding a risky asset and a stable one: the
// market the feedback loop's vault sells into, in the risk study (risk/feedback_loop.hpp) and in
// the dry-run simulator's feedback scenario (keeper/sim/simulator.hpp).
#pragma once

namespace varkeeper::risk {

// Uniswap v2 getAmountOut (UniswapV2Library.sol): amount_in * 997 * reserve_out /
// (reserve_in * 1000 + amount_in * 997) with fee_bps = 30; 0 unless every argument is > 0.
[[nodiscard]] double amm_amount_out(double amount_in, double reserve_in, double reserve_out,
                                    int fee_bps = 30) noexcept;

struct ConstantProductAmm {
  double risky = 0.0;   // x
  double stable = 0.0;  // y

  // Stable per risky.
  [[nodiscard]] double price() const noexcept { return stable / risky; }
  // Moves the pool along x * y = k to price `p` (what fee-less arbitrage does).
  void move_to(double p) noexcept;
  // Sells `dq` risky into the pool (fee 0.3 %); returns the stable received.
  double sell_risky(double dq) noexcept;
  // Spends `dy` stable on risky (fee 0.3 %); returns the risky received.
  double buy_risky(double dy) noexcept;
  // The largest sale (risky in) that lowers the price by at most `impact` (fee ignored):
  // (x / (x + dq))^2 >= 1 - impact.
  [[nodiscard]] double max_sale(double impact) const noexcept;
  // The largest purchase (stable in) that raises the price by at most `impact` (fee ignored):
  // ((y + dy) / y)^2 <= 1 + impact.
  [[nodiscard]] double max_purchase(double impact) const noexcept;
};

}  // namespace varkeeper::risk
