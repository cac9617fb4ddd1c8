// Values of Solidity ABI types, and a small text syntax for them (CLI arguments, tests):
//   uint/int   decimal ("123", "-5") or hex ("0x7b", "-0x05")
//   address    "0x" + 40 hex digits (all-lower, all-upper or the exact EIP-55 checksum)
//   bool       "true" / "false"
//   bytes<M>   "0x" + 2*M hex digits;  bytes: "0x" + even number of hex digits
//   string     the text itself at top level; inside [...] or (...) either bare text without
//              , ] ) or a double-quoted string with \" and \\ escapes
//   T[] / T[k] "[v1,v2,...]";  tuples "(v1,v2,...)"  (spaces after commas are ignored)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "chain/abi_type.hpp"
#include "chain/address.hpp"
#include "chain/bytes.hpp"
#include "chain/expected.hpp"
#include "chain/uint256.hpp"

namespace varkeeper::chain {

// A signed integer as sign and magnitude; -0 equals 0.
struct AbiInt {
  bool negative = false;
  U256 magnitude = 0;

  [[nodiscard]] static AbiInt from_int64(std::int64_t v);
  bool operator==(const AbiInt& other) const noexcept {
    if (magnitude == 0 && other.magnitude == 0) {
      return true;
    }
    return negative == other.negative && magnitude == other.magnitude;
  }
};

struct AbiValue {
  using List = std::vector<AbiValue>;  // T[], T[k] and tuples
  // U256: uint<M>; AbiInt: int<M>; Address; bool; Bytes: bytes and bytes<M>;
  // std::string: string (raw bytes, not validated as UTF-8, as Solidity does not validate it).
  std::variant<U256, AbiInt, Address, bool, Bytes, std::string, List> data;

  [[nodiscard]] static AbiValue from_uint(U256 v) { return {{std::move(v)}}; }
  [[nodiscard]] static AbiValue from_int(AbiInt v) { return {{std::move(v)}}; }
  [[nodiscard]] static AbiValue from_int(std::int64_t v) { return {{AbiInt::from_int64(v)}}; }
  [[nodiscard]] static AbiValue from_address(const Address& v) { return {{v}}; }
  [[nodiscard]] static AbiValue from_bool(bool v) { return {{v}}; }
  [[nodiscard]] static AbiValue from_bytes(Bytes v) { return {{std::move(v)}}; }
  [[nodiscard]] static AbiValue from_string(std::string v) { return {{std::move(v)}}; }
  [[nodiscard]] static AbiValue from_list(List v) { return {{std::move(v)}}; }

  [[nodiscard]] const U256* as_uint() const noexcept { return std::get_if<U256>(&data); }
  [[nodiscard]] const AbiInt* as_int() const noexcept { return std::get_if<AbiInt>(&data); }
  [[nodiscard]] const Address* as_address() const noexcept { return std::get_if<Address>(&data); }
  [[nodiscard]] const bool* as_bool() const noexcept { return std::get_if<bool>(&data); }
  [[nodiscard]] const Bytes* as_bytes() const noexcept { return std::get_if<Bytes>(&data); }
  [[nodiscard]] const std::string* as_string() const noexcept {
    return std::get_if<std::string>(&data);
  }
  [[nodiscard]] const List* as_list() const noexcept { return std::get_if<List>(&data); }

  bool operator==(const AbiValue&) const = default;
};

enum class AbiValueError {
  kBadInteger,           // not a decimal or 0x-hex integer
  kNegativeUnsigned,     // "-1" for a uint<M>
  kOutOfRange,           // does not fit uint<M>/int<M>
  kBadHex,               // bytes / bytes<M> not 0x-prefixed even-length hex
  kWrongLength,          // bytes<M> with a different number of bytes
  kBadAddress,           // not 40 hex digits, or a wrong EIP-55 checksum
  kBadBool,              // neither "true" nor "false"
  kExpectedBracket,      // an array value not in [...]
  kExpectedParenthesis,  // a tuple value not in (...)
  kWrongElementCount,    // T[k] or a tuple with a different number of elements
  kUnterminatedString,   // a quoted string without its closing quote
  kTrailingCharacters,   // text after a complete value
  kTooDeep,              // nesting above kAbiMaxDepth
};

[[nodiscard]] std::string_view to_string(AbiValueError e) noexcept;

struct AbiValueParseError {
  AbiValueError code = AbiValueError::kBadInteger;
  std::size_t position = 0;
  bool operator==(const AbiValueParseError&) const = default;
};

// Parses `text` as a value of `type` (syntax above); range-checks integers and lengths.
[[nodiscard]] Expected<AbiValue, AbiValueParseError> parse_abi_value(const AbiType& type,
                                                                     std::string_view text);

// Display form, close to `cast abi-decode`: decimal integers, 0x-hex bytes, EIP-55 addresses,
// quoted strings inside lists, "[a, b]" arrays and "(a, b)" tuples.
// A value that does not match `type` is shown by its own shape (lists as "[...]").
[[nodiscard]] std::string format_abi_value(const AbiType& type, const AbiValue& value);

}  // namespace varkeeper::chain
