// Strict hexadecimal codec for Ethereum data ("0x"-prefixed, two digits per byte).
#pragma once

#include <string>
#include <string_view>

#include "chain/bytes.hpp"
#include "chain/expected.hpp"

namespace varkeeper::chain {

enum class HexError {
  kMissingPrefix,  // "0x" required but absent
  kOddLength,      // an odd number of digits
  kBadDigit,       // a character outside [0-9a-fA-F]
  kWrongLength,    // decoded to a different size than the fixed type requires
};

[[nodiscard]] std::string_view to_string(HexError e) noexcept;

enum class HexPrefix {
  kRequired,  // "0x..." only (JSON-RPC data)
  kOptional,  // "0x..." or bare digits (user input, keystores)
};

[[nodiscard]] Expected<Bytes, HexError> from_hex(std::string_view text,
                                                 HexPrefix prefix = HexPrefix::kOptional);

// Decodes exactly N bytes.
template <std::size_t N>
[[nodiscard]] Expected<FixedBytes<N>, HexError> from_hex_fixed(
    std::string_view text, HexPrefix prefix = HexPrefix::kOptional) {
  auto bytes = from_hex(text, prefix);
  if (!bytes) {
    return unexpected(bytes.error());
  }
  if (bytes->size() != N) {
    return unexpected(HexError::kWrongLength);
  }
  FixedBytes<N> out{};
  for (std::size_t i = 0; i < N; ++i) {
    out[i] = (*bytes)[i];
  }
  return out;
}

// Lower-case hex, "0x"-prefixed unless `prefix` is false.
[[nodiscard]] std::string to_hex(ByteView bytes, bool prefix = true);

}  // namespace varkeeper::chain
