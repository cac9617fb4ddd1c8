// How scenario returns become portfolio losses. Inside risk/, returns are log-returns r; the
// portfolio holds value fractions w_i (weights), and the loss as a fraction of portfolio value is
//   full revaluation:  L = -sum_i w_i (exp(r_i) - 1)   (exact for a buy-and-hold position)
//   linear:            L = -sum_i w_i r_i              (delta approximation, as in the parametric
//                                                       methods, which model w'r directly)
// Either way L is linear in the per-asset losses X_i = L restricted to asset i, which is what
// makes the Euler components of empirical VaR/CVaR sum exactly to the totals.
#pragma once

#include <cmath>

namespace varkeeper::risk {

enum class Revaluation { kFull, kLinear };

// Loss of one unit of value held in an asset whose log-return is r.
[[nodiscard]] inline double unit_loss(double log_return, Revaluation revaluation) noexcept {
  return revaluation == Revaluation::kFull ? -std::expm1(log_return) : -log_return;
}

}  // namespace varkeeper::risk
