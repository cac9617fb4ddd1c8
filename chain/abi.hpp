// The Solidity contract ABI as the keeper uses it: function selectors and calldata, event topics
// and logs, and revert data (Error(string), Panic(uint256), custom errors). The type model,
// values and the codec live in abi_type.hpp, abi_value.hpp and abi_codec.hpp.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chain/abi_codec.hpp"
#include "chain/abi_type.hpp"
#include "chain/abi_value.hpp"
#include "chain/bytes.hpp"
#include "chain/expected.hpp"
#include "chain/uint256.hpp"

namespace varkeeper::chain {

using Selector = FixedBytes<4>;

// "Function Selector": the first four bytes of keccak256 of the canonical signature.
[[nodiscard]] Selector selector_of(const AbiSignature& signature);
// Parses (and canonicalises: "uint" -> "uint256") then hashes.
[[nodiscard]] Expected<Selector, AbiTypeParseError> function_selector(std::string_view signature);

// selector ++ enc((a_1, ..., a_n)).
[[nodiscard]] Expected<Bytes, AbiEncodeFailure> encode_call(const AbiSignature& function,
                                                            const std::vector<AbiValue>& args);
// Checks the selector and decodes the arguments (strict; trailing bytes are refused).
[[nodiscard]] Expected<std::vector<AbiValue>, AbiDecodeFailure> decode_call(
    const AbiSignature& function, ByteView calldata);

// --- Events ("Events" and "Encoding of Indexed Event Parameters") ---------------------------

// topic0 = keccak256 of the canonical event signature (without "indexed").
[[nodiscard]] Hash32 event_topic0(const AbiSignature& event);

// The topic of one indexed argument: the 32-byte encoding for value types; for strings, bytes,
// arrays and tuples the keccak256 of their in-place encoding.
[[nodiscard]] Expected<Hash32, AbiEncodeFailure> indexed_topic(const AbiType& type,
                                                               const AbiValue& value);

struct AbiLog {
  std::vector<Hash32> topics;
  Bytes data;
};

// topics = [topic0 unless anonymous] ++ indexed topics; data = enc(non-indexed args).
[[nodiscard]] Expected<AbiLog, AbiEncodeFailure> encode_event(const AbiSignature& event,
                                                              const std::vector<AbiValue>& args,
                                                              bool anonymous = false);

// The arguments in declaration order. An indexed argument of a dynamic or composite type cannot
// be recovered from its hash: it is returned as the 32-byte topic (a Bytes value).
[[nodiscard]] Expected<std::vector<AbiValue>, AbiDecodeFailure> decode_event(
    const AbiSignature& event, std::span<const Hash32> topics, ByteView data,
    bool anonymous = false);

// --- Revert data ("Errors" in the ABI specification; "Panic via assert and Error via require")

enum class RevertKind {
  kEmpty,            // revert() / require(cond) without data
  kError,            // Error(string), selector 0x08c379a0
  kPanic,            // Panic(uint256), selector 0x4e487b71
  kCustom,           // one of the custom errors the caller supplied
  kUnknownSelector,  // a selector that is none of the above
};

struct RevertReason {
  RevertKind kind = RevertKind::kEmpty;
  std::string message;          // kError: the reason string
  U256 panic_code = 0;          // kPanic
  std::string error_signature;  // kCustom: canonical signature of the matched error
  std::vector<AbiValue> args;   // kCustom: decoded arguments
  Selector selector{};          // kError/kPanic/kCustom/kUnknownSelector
};

inline constexpr Selector kErrorSelector{0x08, 0xc3, 0x79, 0xa0};  // Error(string)
inline constexpr Selector kPanicSelector{0x4e, 0x48, 0x7b, 0x71};  // Panic(uint256)

// Empty data -> kEmpty; 1..3 bytes -> kMissingSelector; a known selector whose payload is not a
// strict encoding of its arguments -> that decode error (offsets counted from the selector).
[[nodiscard]] Expected<RevertReason, AbiDecodeFailure> decode_revert(
    ByteView data, std::span<const AbiSignature> custom_errors = {});

// Solidity's panic codes ("Panic via assert and Error via require"); "unknown panic code" for
// others.
[[nodiscard]] std::string_view panic_code_meaning(const U256& code);

// One line for logs and CLI output, e.g. `Error("not authorized")`, `Panic(0x11: arithmetic
// overflow or underflow)`, `InsufficientBalance(1, 2)`, `unknown error selector 0x12345678`.
[[nodiscard]] std::string describe(const RevertReason& reason);

}  // namespace varkeeper::chain
