// The pegged series of issue 16 (defects 1 and 6): 40 noisy days, 459 flat days, then a -0.2 %
// move. 501 prices, 500 log-returns. The noise is a fixed-seed normal (SplitMix64 and
// Box-Muller written out, so the series is the same with every standard library), daily
// standard deviation 1 %, around a price of 1.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

namespace varkeeper::test {

inline constexpr std::size_t kPeggedNoisyDays = 40;
inline constexpr std::size_t kPeggedFlatDays = 459;
inline constexpr double kPeggedLastMove = -0.002;  // the last day's log-return

// The returns of the pegged series (500 values, oldest first). Seed 16.
inline std::vector<double> pegged_returns() {
  std::uint64_t state = 16;
  const auto next_uniform = [&state] {
    state += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    z ^= z >> 31U;
    return (static_cast<double>(z >> 11U) + 0.5) * 0x1.0p-53;  // in (0, 1)
  };
  std::vector<double> r;
  r.reserve(kPeggedNoisyDays + kPeggedFlatDays + 1);
  while (r.size() < kPeggedNoisyDays) {
    const double u1 = next_uniform();
    const double u2 = next_uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    r.push_back(0.01 * radius * std::cos(2.0 * std::numbers::pi * u2));
    r.push_back(0.01 * radius * std::sin(2.0 * std::numbers::pi * u2));
  }
  r.resize(kPeggedNoisyDays);
  r.insert(r.end(), kPeggedFlatDays, 0.0);
  r.push_back(kPeggedLastMove);
  return r;
}

// The prices: 1, then exp of the cumulative returns (501 values).
inline std::vector<double> pegged_prices() {
  std::vector<double> p{1.0};
  double log_p = 0.0;
  for (double x : pegged_returns()) {
    log_p += x;
    p.push_back(std::exp(log_p));
  }
  return p;
}

}  // namespace varkeeper::test
