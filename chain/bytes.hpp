// Byte containers shared by every chain codec.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace varkeeper::chain {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

template <std::size_t N>
using FixedBytes = std::array<std::uint8_t, N>;

using Hash32 = FixedBytes<32>;

// Views a string's characters as bytes (for hashing text such as "abc" or a type string).
[[nodiscard]] inline ByteView as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Appends `tail` to `out`.
inline void append(Bytes& out, ByteView tail) { out.insert(out.end(), tail.begin(), tail.end()); }

}  // namespace varkeeper::chain
