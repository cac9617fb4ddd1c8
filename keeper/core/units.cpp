#include "keeper/core/units.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>

namespace varkeeper::keeper {

namespace {

// The decimal a double stands for is its shortest round-trip representation (what it prints as:
// 0.99 is "0.99", not 0.98999999999999999112); scale that decimal exactly by 10^decimals,
// rounding half up. So 0.99 becomes exactly 990000000000000000 WAD.
chain::U256 scale_decimal(double v, int decimals) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string_view text(buf, static_cast<std::size_t>(res.ptr - buf));
  const auto e_pos = text.find('e');
  const std::string_view mantissa = text.substr(0, e_pos);
  const int exponent = std::stoi(std::string(text.substr(e_pos + 1)));
  chain::U256 digits = 0;
  int n = 0;
  for (const char c : mantissa) {
    if (c == '.') {
      continue;
    }
    digits = digits * 10 + static_cast<unsigned>(c - '0');
    ++n;
  }
  // value = digits * 10^(exponent - (n - 1)); scaled = value * 10^decimals.
  const int shift = exponent - (n - 1) + decimals;
  if (shift >= 0) {
    if (shift > 60) {
      throw UnitError("amount too large");
    }
    for (int i = 0; i < shift; ++i) {
      digits *= 10;
    }
    return digits;
  }
  if (-shift > 60) {
    return 0;
  }
  chain::U256 divisor = 1;
  for (int i = 0; i < -shift; ++i) {
    divisor *= 10;
  }
  return (digits + divisor / 2) / divisor;
}

}  // namespace

std::uint64_t to_wad(double fraction, double max_fraction) {
  if (!std::isfinite(fraction)) {
    throw UnitError("fraction is not a finite number");
  }
  if (fraction < 0.0) {
    throw UnitError("fraction " + std::to_string(fraction) + " is negative");
  }
  if (fraction > max_fraction) {
    throw UnitError("fraction " + std::to_string(fraction) + " exceeds " +
                    std::to_string(max_fraction));
  }
  if (fraction == 0.0) {
    return 0;
  }
  const chain::U256 wad = scale_decimal(fraction, 18);
  if (wad > std::numeric_limits<std::uint64_t>::max()) {
    throw UnitError("fraction too large for WAD");
  }
  return static_cast<std::uint64_t>(wad);
}

double from_wad(std::uint64_t wad) noexcept {
  // Whole units, then the remainder: more precise than converting the whole of wad at once.
  // NOLINTNEXTLINE(bugprone-integer-division): the whole units are truncated on purpose
  return static_cast<double>(wad / kWad) + static_cast<double>(wad % kWad) / 1e18;
}

chain::U256 to_fixed(double amount, int decimals, int max_bits) {
  if (!std::isfinite(amount)) {
    throw UnitError("amount is not a finite number");
  }
  if (amount < 0.0) {
    throw UnitError("amount " + std::to_string(amount) + " is negative");
  }
  if (decimals < 0 || decimals > 36) {
    throw UnitError("decimals out of range");
  }
  if (amount == 0.0) {
    return 0;
  }
  chain::U256 out = scale_decimal(amount, decimals);  // not const: returned by move
  if (max_bits < 256 && (out >> max_bits) != 0) {
    throw UnitError("amount " + std::to_string(amount) + " does not fit " +
                    std::to_string(max_bits) + " bits at " + std::to_string(decimals) +
                    " decimals");
  }
  return out;
}

chain::U256 to_feed_answer(double price, int decimals) {
  if (!std::isfinite(price)) {
    throw UnitError("price is not a finite number");
  }
  if (price < 0.0) {
    throw UnitError("price " + std::to_string(price) + " is negative");
  }
  return to_fixed(price, decimals, 255);  // int256: the sign bit stays clear
}

chain::U256 to_token_units(double amount, int decimals) { return to_fixed(amount, decimals, 256); }

double from_fixed(const chain::U256& amount, int decimals) {
  return static_cast<double>(amount.convert_to<long double>() / std::pow(10.0L, decimals));
}

}  // namespace varkeeper::keeper
