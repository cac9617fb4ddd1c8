// The empirical VaR/CVaR convention shared by historical simulation and Monte Carlo.
//
// From n equally weighted scenarios with losses L (loss = -P&L), sorted worst first
// L_(1) >= L_(2) >= ... >= L_(n), and tail mass p = n(1 - alpha):
//   VaR_alpha  = L_(k) with k = ceil(p), computed exactly: p is snapped to the nearest integer
//                when it is within rounding of one (n = 1000, alpha = 0.99 gives p = 10, k = 10,
//                although 1000 * (1 - 0.99) = 10.000000000000009 in binary floating point);
//   CVaR_alpha = (L_(1) + ... + L_(m) + (p - m) L_(m+1)) / p with m = floor(p)
//                (Acerbi & Tasche 2002, "On the coherence of expected shortfall", eq. 3.3).
// Weighted scenarios (probabilities q_j summing to 1, e.g. age weighting) use the weighted
// analogue: VaR is the first loss, walking from the worst, at which the cumulative probability
// reaches 1 - alpha; CVaR averages the losses above it, the VaR scenario taking only the
// probability still missing to reach 1 - alpha, divided by 1 - alpha. With q_j = 1/n both reduce
// to the formulas above. Ties are broken by scenario index (lower first) so results are
// deterministic. CVaR >= VaR holds by construction.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace varkeeper::risk {

// n(1 - alpha), snapped to an integer when within floating-point rounding of one.
[[nodiscard]] double tail_mass(std::size_t n, double alpha);
// k = ceil(n(1 - alpha)) (at least 1, at most n): the rank of the VaR scenario.
[[nodiscard]] std::size_t var_rank(std::size_t n, double alpha);

struct TailScenario {
  std::size_t index = 0;  // scenario index
  double weight = 0.0;    // its share of the CVaR average (the shares sum to 1)
};

struct EmpiricalTail {
  double var = 0.0;
  double cvar = 0.0;
  std::size_t var_index = 0;                 // scenario at VaR
  std::vector<TailScenario> cvar_scenarios;  // scenarios in the CVaR average, worst first
  std::vector<std::size_t> ranked;           // worst scenarios, worst first (at least k of them)
};

// Equal weights. `extra_ranks` more scenarios beyond rank k are returned in `ranked` (for
// density and kernel estimates around VaR). Requires 0 < alpha < 1 and a non-empty input.
[[nodiscard]] EmpiricalTail empirical_tail(std::span<const double> losses, double alpha,
                                           std::size_t extra_ranks = 0);

// How many of the worst scenarios empirical_tail ranks: max(k, floor(n(1 - alpha)) + 1) plus
// `extra_ranks`, at most n.
[[nodiscard]] std::size_t tail_ranks_needed(std::size_t n, double alpha, std::size_t extra_ranks);

// empirical_tail from a candidate set: the indices (any order) of every scenario whose loss is at
// or above some threshold, at least tail_ranks_needed(...) of them. The result is identical to
// empirical_tail's; callers that can find candidates faster (in parallel) use this.
[[nodiscard]] EmpiricalTail tail_from_candidates(std::span<const double> losses, double alpha,
                                                 std::size_t extra_ranks,
                                                 std::vector<std::size_t> candidates);

// Scenario probabilities (non-negative, summing to 1).
[[nodiscard]] EmpiricalTail weighted_empirical_tail(std::span<const double> losses,
                                                    std::span<const double> probabilities,
                                                    double alpha);

}  // namespace varkeeper::risk
