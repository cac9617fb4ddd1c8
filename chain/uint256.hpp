// 256-bit unsigned integers (EVM words) and their big-endian byte forms.
#pragma once

#include <boost/multiprecision/cpp_int.hpp>
#include <string>
#include <string_view>

#include "chain/bytes.hpp"
#include "chain/expected.hpp"

namespace varkeeper::chain {

// Arithmetic wraps modulo 2^256, exactly like the EVM.
using U256 = boost::multiprecision::uint256_t;

enum class UintError {
  kTooLong,       // more than 32 bytes, or a value above 2^256-1
  kEmpty,         // no digits
  kBadDigit,      // a character that is not a digit of the base
  kLeadingZero,   // a JSON-RPC quantity with a leading zero ("0x01")
  kMissingPrefix  // a JSON-RPC quantity without "0x"
};

[[nodiscard]] std::string_view to_string(UintError e) noexcept;

// Big-endian bytes (at most 32, leading zeros allowed) to a U256.
[[nodiscard]] Expected<U256, UintError> u256_from_be(ByteView bytes) noexcept;

// The 32-byte big-endian word (ABI, storage, signatures).
// NOLINTNEXTLINE(bugprone-exception-escape): see uint256.cpp
[[nodiscard]] Hash32 u256_to_be32(const U256& value) noexcept;

// The shortest big-endian form, no leading zero bytes; zero is empty (RLP scalars).
[[nodiscard]] Bytes u256_to_be_minimal(const U256& value);

// A JSON-RPC quantity: "0x" then hex digits without leading zeros ("0x0" for zero).
[[nodiscard]] Expected<U256, UintError> u256_from_quantity(std::string_view text) noexcept;
[[nodiscard]] std::string u256_to_quantity(const U256& value);

// Decimal ("12345") or "0x"-prefixed hex (leading zeros allowed) user input.
[[nodiscard]] Expected<U256, UintError> u256_from_string(std::string_view text) noexcept;

[[nodiscard]] std::string u256_to_decimal(const U256& value);

}  // namespace varkeeper::chain
