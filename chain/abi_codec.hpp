// Solidity ABI encoding and strict decoding ("Contract ABI Specification", sections "Formal
// Specification of the Encoding" and "Strict Encoding Mode").
//
// The decoder accepts exactly the strict (canonical) encoding Solidity's encoder produces:
// every offset must point where the previous data area ended (no gaps, no overlaps, nothing
// pointing back into a head), every padding byte must be zero, and integers, addresses and bools
// must be clean. It never reads out of bounds and never allocates more than the input justifies:
// a length or element count is checked against the bytes that remain before anything is
// reserved.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "chain/abi_type.hpp"
#include "chain/abi_value.hpp"
#include "chain/bytes.hpp"
#include "chain/expected.hpp"

namespace varkeeper::chain {

enum class AbiEncodeError {
  kWrongArgumentCount,     // number of values differs from the number of types
  kWrongValueKind,         // e.g. a string value for a uint256
  kUintOutOfRange,         // value >= 2^M for uint<M>
  kIntOutOfRange,          // value outside [-2^(M-1), 2^(M-1)-1] for int<M>
  kFixedBytesWrongLength,  // a bytes<M> value that is not exactly M bytes
  kWrongElementCount,      // T[k] with a list of another length, or a tuple of another arity
};

[[nodiscard]] std::string_view to_string(AbiEncodeError e) noexcept;

struct AbiEncodeFailure {
  AbiEncodeError code = AbiEncodeError::kWrongValueKind;
  std::string path;  // where: "2" is the third argument, "2[1].0" its second element's member 0
};

[[nodiscard]] Expected<Bytes, AbiEncodeFailure> abi_encode(const std::vector<AbiType>& types,
                                                           const std::vector<AbiValue>& values);

enum class AbiDecodeError {
  kTruncated,           // the input ends inside a word, a head or a padded byte string
  kOffsetOutOfBounds,   // an offset points at or beyond the end of the input
  kOffsetIntoHead,      // an offset points back into the head it belongs to
  kOverlappingData,     // an offset points into the data of an earlier value
  kNonCanonicalOffset,  // an offset leaves a gap after the previous data (not strict encoding)
  kLengthOutOfBounds,   // a length or element count larger than the bytes that remain
  kNonZeroPadding,      // bytes<M>, bytes or string padding that is not zero
  kDirtyHighBits,       // uint<M> with bits set above M
  kBadSignExtension,    // int<M> whose upper bytes are not the sign extension
  kBadBool,             // a bool word other than 0 or 1
  kDirtyAddress,        // an address word with non-zero upper 12 bytes
  kTrailingBytes,       // bytes after the end of the encoding
  kMissingSelector,     // calldata / revert data shorter than the 4-byte selector
  kSelectorMismatch,    // calldata for another function
  kTopicCountMismatch,  // a log with another number of topics than the event has
  kTopicMismatch,       // topic0 is not the event's signature hash
};

[[nodiscard]] std::string_view to_string(AbiDecodeError e) noexcept;

struct AbiDecodeFailure {
  AbiDecodeError code = AbiDecodeError::kTruncated;
  std::size_t offset = 0;  // byte offset in the input where the problem was found
  bool operator==(const AbiDecodeFailure&) const = default;
};

struct AbiDecodeOptions {
  // Calldata may legitimately carry extra bytes after the arguments (Solidity ignores them).
  bool allow_trailing_bytes = false;
};

[[nodiscard]] Expected<std::vector<AbiValue>, AbiDecodeFailure> abi_decode(
    const std::vector<AbiType>& types, ByteView data, AbiDecodeOptions options = {});

// One static value from exactly 32 bytes (an indexed event topic).
[[nodiscard]] Expected<AbiValue, AbiDecodeFailure> abi_decode_word(const AbiType& type,
                                                                   ByteView word);

}  // namespace varkeeper::chain
