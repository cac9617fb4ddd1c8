// Keccak-256 as Ethereum uses it (the original Keccak padding, not NIST SHA3-256).
#pragma once

#include <string_view>

#include "chain/bytes.hpp"

namespace varkeeper::chain {

[[nodiscard]] Hash32 keccak256(ByteView data) noexcept;
[[nodiscard]] inline Hash32 keccak256(std::string_view text) noexcept {
  return keccak256(as_bytes(text));
}

}  // namespace varkeeper::chain
