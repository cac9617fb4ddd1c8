// The one place where the keeper's doubles become on-chain integers (DESIGN §3): VaR/CVaR and
// other fractions as WAD (1e18 = 100 %), USD values with 8 decimals, feed prices with the
// feed's decimals. Each conversion refuses what cannot be represented instead of wrapping.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "chain/uint256.hpp"

namespace varkeeper::keeper {

class UnitError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

inline constexpr std::uint64_t kWad = 1'000'000'000'000'000'000ULL;

// A fraction (0.052 = 5.2 %) to WAD, rounded half up. Refuses negative, NaN, infinite values and
// values above `max_fraction` (1.0 for VaR/CVaR, which cannot exceed a total loss).
[[nodiscard]] std::uint64_t to_wad(double fraction, double max_fraction = 1.0);
[[nodiscard]] double from_wad(std::uint64_t wad) noexcept;

// A USD amount to an integer with `decimals` decimals (8 for portfolio values), rounded half up;
// refuses negative, non-finite and values that do not fit 96 bits (the contract's uint96).
[[nodiscard]] chain::U256 to_fixed(double amount, int decimals, int max_bits = 96);
// A price to the answer of a Chainlink-style feed with `decimals` decimals (an int256 on chain,
// here its non-negative magnitude), rounded half up: 0.29 at 8 decimals is 29000000, where
// `static_cast<std::int64_t>(0.29 * 1e8)` truncates to 28999999. Refuses negative, non-finite
// and values that do not fit a positive int256.
[[nodiscard]] chain::U256 to_feed_answer(double price, int decimals);
// A token amount to the token's base units (an ERC-20 uint256 with `decimals` decimals), rounded
// half up; refuses negative, non-finite and values above 2^256 - 1.
[[nodiscard]] chain::U256 to_token_units(double amount, int decimals);
// A feed answer's magnitude, a token amount or a USD amount with `decimals` decimals to a double.
[[nodiscard]] double from_fixed(const chain::U256& amount, int decimals);

}  // namespace varkeeper::keeper
