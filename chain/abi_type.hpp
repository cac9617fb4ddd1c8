// Solidity contract ABI types ("Contract ABI Specification", section "Types"): the type tree,
// its canonical text (used for selectors and topics) and a strict parser for type strings and
// function / event / error signatures.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "chain/expected.hpp"

namespace varkeeper::chain {

enum class AbiKind {
  kUint,        // uint<M>, M in 8..256 step 8 (`uint` = uint256)
  kInt,         // int<M>, two's complement (`int` = int256)
  kAddress,     // as uint160
  kBool,        // as uint8 restricted to 0 and 1
  kFixedBytes,  // bytes<M>, 0 < M <= 32, right-padded
  kBytes,       // dynamic byte string
  kString,      // dynamic UTF-8 text, encoded as bytes
  kArray,       // T[] (dynamic)
  kFixedArray,  // T[k], k > 0
  kTuple,       // (T1,...,Tn)
};

struct AbiType {
  AbiKind kind = AbiKind::kUint;
  // Bits for kUint/kInt, bytes for kFixedBytes, element count for kFixedArray, else 0.
  std::size_t size = 0;
  // One element type for kArray/kFixedArray; the members of a kTuple.
  std::vector<AbiType> components;

  bool operator==(const AbiType&) const = default;
};

// Convenience constructors.
[[nodiscard]] AbiType abi_uint(std::size_t bits = 256);
[[nodiscard]] AbiType abi_int(std::size_t bits = 256);
[[nodiscard]] AbiType abi_address();
[[nodiscard]] AbiType abi_bool();
[[nodiscard]] AbiType abi_fixed_bytes(std::size_t n);
[[nodiscard]] AbiType abi_bytes();
[[nodiscard]] AbiType abi_string();
[[nodiscard]] AbiType abi_array(AbiType element);
[[nodiscard]] AbiType abi_fixed_array(AbiType element, std::size_t length);
[[nodiscard]] AbiType abi_tuple(std::vector<AbiType> members);

// Spec "Formal Specification of the Encoding": bytes, string, T[], T[k] with dynamic T and
// tuples with a dynamic member are dynamic; everything else is static.
[[nodiscard]] bool is_dynamic(const AbiType& type) noexcept;

// Size of the type's slot in the head of an enclosing tuple: 32 for dynamic types, the full
// encoded size for static ones. Types from the parser keep this below kAbiMaxStaticSize.
[[nodiscard]] std::size_t head_size(const AbiType& type) noexcept;

// The canonical form used in signatures: "uint256", "bytes3[2]", "(uint256,address)[]".
[[nodiscard]] std::string canonical_name(const AbiType& type);
[[nodiscard]] std::string canonical_list(const std::vector<AbiType>& types);  // "(a,b)"

// Limits the parser enforces so that hostile type strings cannot blow up memory or recursion.
inline constexpr std::size_t kAbiMaxDepth = 32;                         // nesting of arrays/tuples
inline constexpr std::size_t kAbiMaxStaticSize = std::size_t{1} << 24;  // bytes of a static type

enum class AbiTypeError {
  kEmpty,               // nothing where a type was expected
  kUnknownType,         // an elementary name that is not a Solidity ABI type (e.g. "uint7x")
  kBadIntegerWidth,     // uint<M>/int<M> with M not in 8..256 step 8, or a leading zero
  kBadFixedBytesWidth,  // bytes<M> with M not in 1..32
  kUnsupportedType,     // fixed/ufixed/function: valid ABI, not supported here
  kBadArrayLength,      // "[0]", "[01]", "[x]" or an unterminated "["
  kEmptyTuple,          // "()" as a component (only an empty argument list may be empty)
  kUnbalancedParenthesis,
  kMissingComma,        // two types without a separating comma
  kTrailingCharacters,  // text after a complete type or signature
  kTooDeep,             // nesting above kAbiMaxDepth
  kTooLarge,            // a static type above kAbiMaxStaticSize bytes
  kBadName,             // a signature whose name is not an identifier
  kMissingParenthesis,  // a signature without its "(" argument list
  kBadModifier,         // a parameter word other than "indexed" (events) or a name
};

[[nodiscard]] std::string_view to_string(AbiTypeError e) noexcept;

struct AbiTypeParseError {
  AbiTypeError code = AbiTypeError::kEmpty;
  std::size_t position = 0;  // offset in the parsed text where the problem was found
  bool operator==(const AbiTypeParseError&) const = default;
};

// One type: "uint256", "(uint256,address[2],(bytes,string)[])[]". No whitespace inside.
[[nodiscard]] Expected<AbiType, AbiTypeParseError> parse_abi_type(std::string_view text);

// A parenthesised type list "(t1,t2)" or a bare comma-separated list "t1,t2" ("" and "()" are
// the empty list).
[[nodiscard]] Expected<std::vector<AbiType>, AbiTypeParseError> parse_abi_type_list(
    std::string_view text);

// A function / error / event signature "name(t1,t2,...)". Whitespace after commas and a
// parameter name after each type are tolerated ("transfer(address to, uint256 amount)"); for
// events the word "indexed" marks a parameter as indexed.
struct AbiSignature {
  std::string name;
  std::vector<AbiType> inputs;
  std::vector<bool> indexed;  // same length as inputs; only events use it

  // "name(canonical,types)", the text hashed for selectors and topic0.
  [[nodiscard]] std::string canonical() const;
};

[[nodiscard]] Expected<AbiSignature, AbiTypeParseError> parse_abi_signature(std::string_view text);

}  // namespace varkeeper::chain
