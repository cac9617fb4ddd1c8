// Recursive Length Prefix (RLP) encoding, Yellow Paper appendix B: an encoder that appends to a
// caller's Bytes, and a strict decoder over untrusted bytes. The decoder accepts only the canonical
// encoding of every item (so an accepted input re-encodes to the same bytes), never reads out of
// bounds, never throws, and names exactly what was wrong. Decoded items are views into the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chain/bytes.hpp"
#include "chain/expected.hpp"
#include "chain/uint256.hpp"

namespace varkeeper::chain {

enum class RlpError {
  kInputTooShort,        // the input ends inside an item's header (or is empty)
  kLeadingZero,          // a long-form length whose first byte is zero (0xb90021...)
  kNonCanonicalSize,     // 0x81XX with XX < 0x80, or a long form for a length below 56
  kOverlongLength,       // the declared length runs past the input (or the enclosing list)
  kLengthOverflow,       // the declared length does not fit in size_t with its header
  kTrailingBytes,        // bytes follow the top-level item
  kUnexpectedList,       // a string was expected, a list was found
  kUnexpectedString,     // a list was expected, a string was found
  kLeadingZeroInScalar,  // an integer with a leading zero byte (zero must be the empty string)
  kScalarOverflow,       // an integer wider than the target type
  kUnexpectedLength,     // a fixed-size string (address, hash) of another length
  kListEnded,            // a list has fewer elements than the caller reads
};

[[nodiscard]] std::string_view to_string(RlpError e) noexcept;

// ---------------------------------------------------------------------------------------------
// Encoding

// Appends RLP items to `out`. Lists are opened with begin_list() and closed with end_list(): the
// header is written in place (one byte reserved; widened once if the payload reaches 56 bytes).
class RlpEncoder {
 public:
  // Opaque position of an open list's header.
  struct ListMark {
    std::size_t offset;
  };

  explicit RlpEncoder(Bytes& out) noexcept : out_(out) {}

  void add_bytes(ByteView bytes);
  void add_string(std::string_view text) { add_bytes(as_bytes(text)); }
  // Integers as scalars: big-endian without leading zeros, zero as the empty string.
  void add_uint(std::uint64_t value);
  void add_u256(const U256& value);
  template <std::size_t N>
  void add_fixed(const FixedBytes<N>& bytes) {
    add_bytes(ByteView(bytes));
  }
  // Appends an already-encoded item (or several, inside a list) verbatim.
  void add_raw(ByteView encoded) { append(out_, encoded); }

  [[nodiscard]] ListMark begin_list();
  void end_list(ListMark mark);

  [[nodiscard]] Bytes& out() noexcept { return out_; }

 private:
  Bytes& out_;
};

// One-shot helpers.
[[nodiscard]] Bytes rlp_encode_bytes(ByteView bytes);
[[nodiscard]] Bytes rlp_encode_u256(const U256& value);

// Size of the header for a payload of `payload_size` bytes (strings other than a single byte
// below 0x80, and lists): 1 below 56, else 1 + the length's byte count.
[[nodiscard]] std::size_t rlp_header_size(std::size_t payload_size) noexcept;

// ---------------------------------------------------------------------------------------------
// Decoding

// One decoded item: views into the decoded input.
struct RlpItem {
  bool is_list = false;
  ByteView payload;  // the string's bytes, or the list's concatenated element encodings
  ByteView encoded;  // the whole item, header included
};

// NOLINTBEGIN(bugprone-exception-escape): the only throw clang-tidy finds in these is
// std::get in Expected's accessors (bad_variant_access), reached only after has_value().
// Reads the item at the front of `input` (its header only; a list's elements are checked when
// read) and advances `input` past it.
[[nodiscard]] Expected<RlpItem, RlpError> rlp_read_item(ByteView& input) noexcept;

// Decodes exactly one item spanning all of `input`: kTrailingBytes if anything follows it.
[[nodiscard]] Expected<RlpItem, RlpError> rlp_decode_item(ByteView input) noexcept;
// NOLINTEND(bugprone-exception-escape)

// Checks that `input` is exactly one canonical item, every nested item included, at any depth
// (iterative: deep nesting cannot exhaust the stack).
[[nodiscard]] Expected<void, RlpError> rlp_validate(ByteView input);

// Typed views of an item.
[[nodiscard]] Expected<ByteView, RlpError> rlp_bytes(const RlpItem& item) noexcept;
// A canonical integer: no leading zero byte, at most 32 (resp. 8) bytes.
[[nodiscard]] Expected<U256, RlpError> rlp_u256(const RlpItem& item) noexcept;
[[nodiscard]] Expected<std::uint64_t, RlpError> rlp_u64(const RlpItem& item) noexcept;

template <std::size_t N>
[[nodiscard]] Expected<FixedBytes<N>, RlpError> rlp_fixed(const RlpItem& item) noexcept {
  if (item.is_list) {
    return unexpected(RlpError::kUnexpectedList);
  }
  if (item.payload.size() != N) {
    return unexpected(RlpError::kUnexpectedLength);
  }
  FixedBytes<N> out{};
  for (std::size_t i = 0; i < N; ++i) {
    out[i] = item.payload[i];
  }
  return out;
}

// Reads a list's elements in order.
class RlpListReader {
 public:
  // kUnexpectedString if `item` is a string.
  [[nodiscard]] static Expected<RlpListReader, RlpError> open(const RlpItem& item) noexcept;
  // NOLINTBEGIN(bugprone-exception-escape): the only throw clang-tidy finds in these is
  // std::get in Expected's accessors (bad_variant_access), reached only after has_value().
  // Decodes `input` as exactly one list (kTrailingBytes if anything follows it).
  [[nodiscard]] static Expected<RlpListReader, RlpError> decode(ByteView input) noexcept;

  [[nodiscard]] bool at_end() const noexcept { return rest_.empty(); }
  // Counts the remaining elements (checking their headers) without consuming them.
  [[nodiscard]] Expected<std::size_t, RlpError> count() const noexcept;

  // kListEnded when no element is left.
  [[nodiscard]] Expected<RlpItem, RlpError> next() noexcept;
  [[nodiscard]] Expected<ByteView, RlpError> next_bytes() noexcept;
  [[nodiscard]] Expected<U256, RlpError> next_u256() noexcept;
  [[nodiscard]] Expected<std::uint64_t, RlpError> next_u64() noexcept;
  [[nodiscard]] Expected<RlpListReader, RlpError> next_list() noexcept;
  template <std::size_t N>
  [[nodiscard]] Expected<FixedBytes<N>, RlpError> next_fixed() noexcept {
    auto item = next();
    if (!item) {
      return unexpected(item.error());
    }
    return rlp_fixed<N>(*item);
  }
  // NOLINTEND(bugprone-exception-escape)

 private:
  explicit RlpListReader(ByteView payload) noexcept : rest_(payload) {}
  ByteView rest_;
};

}  // namespace varkeeper::chain
