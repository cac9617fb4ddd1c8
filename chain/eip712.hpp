// EIP-712 typed structured data hashing: encodeType, typeHash, encodeData, hashStruct, the
// domain separator and the signing digest keccak256("\x19\x01" || domainSeparator ||
// hashStruct(message)); for structs defined in C++ and for the eth_signTypedData_v4 JSON object
// (what `cast wallet sign --data` takes).
//
// Defining a struct in C++ (the RiskReport will be one):
//
//   Eip712Types types;
//   types.add({"Person", {{"name", "string"}, {"wallet", "address"}}});
//   types.add({"Mail", {{"from", "Person"}, {"to", "Person"}, {"contents", "string"}}});
//   const Eip712Value mail = Eip712Value::Struct{
//       {"from", Eip712Value::Struct{{"name", "Cow"}, {"wallet", cow_address}}},
//       {"to", Eip712Value::Struct{{"name", "Bob"}, {"wallet", bob_address}}},
//       {"contents", "Hello, Bob!"}};
//   auto struct_hash = types.hash_struct("Mail", mail);           // Expected<Hash32, Eip712Error>
//   Hash32 digest = eip712_digest(domain_separator(domain), *struct_hash);
//
// Every error a caller or a JSON document can cause is a value (Eip712Error) naming what was
// wrong and where (a path such as "message.to[2].wallet"); nothing here throws on bad input.
#pragma once

#include <boost/multiprecision/cpp_int.hpp>
#include <concepts>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "chain/address.hpp"
#include "chain/bytes.hpp"
#include "chain/expected.hpp"
#include "chain/uint256.hpp"

namespace varkeeper::chain {

// Signed EVM integers for int<N> members (sign and magnitude; ranges are checked per type).
using I256 = boost::multiprecision::int256_t;

enum class Eip712ErrorCode {
  kBadJson,            // the text is not JSON
  kNotAnObject,        // typed data, domain, message or a struct value is not a JSON object
  kMissingKey,         // typed data lacks "types", "primaryType", "domain" or "message"
  kBadTypeDefinition,  // a types entry that is not [{name, type}...], a bad or duplicate name
  kUnknownType,        // a member or primary type that is neither atomic nor defined
  kMissingField,       // a struct value lacks one of its type's members
  kUnexpectedField,    // a struct value has a member its type does not declare
  kBadValue,           // a value of the wrong kind, out of range, bad hex or wrong byte length
  kArrayLength,        // a fixed-size array T[k] given another number of elements
  kBadDomain,          // an EIP712Domain type or domain object outside the EIP's field set/order
  kTooDeep,            // nesting beyond kEip712MaxDepth (hostile input)
};

[[nodiscard]] std::string_view to_string(Eip712ErrorCode code) noexcept;

struct Eip712Error {
  Eip712ErrorCode code{};
  std::string where;  // a path ("message.from.wallet") or a type name ("Mail")
  // One sentence: what was wrong, and where.
  [[nodiscard]] std::string message() const;
};

// Struct values nest at most this deep (values, arrays and type references together).
inline constexpr int kEip712MaxDepth = 64;

// A value of any EIP-712 type. The member type decides how it is encoded; numeric kinds are
// interchangeable (a non-negative I256 for uint256 is fine), ranges are checked.
class Eip712Value {
 public:
  using Array = std::vector<Eip712Value>;
  using Struct = std::vector<std::pair<std::string, Eip712Value>>;  // member name, value
  using Data = std::variant<U256, I256, bool, Address, Bytes, std::string, Array, Struct>;

  Eip712Value() = default;
  Eip712Value(const U256& v) : data_(v) {}                    // NOLINT: uint<N>
  Eip712Value(const I256& v) : data_(v) {}                    // NOLINT: int<N>
  Eip712Value(const Address& v) : data_(v) {}                 // NOLINT: address (or bytes20)
  Eip712Value(Bytes v) : data_(std::move(v)) {}               // NOLINT: bytes, bytes<N>
  Eip712Value(std::string v) : data_(std::move(v)) {}         // NOLINT: string
  Eip712Value(std::string_view v) : data_(std::string(v)) {}  // NOLINT: string
  Eip712Value(const char* v) : data_(std::string(v)) {}       // NOLINT: string, never bool
  Eip712Value(Array v) : data_(std::move(v)) {}               // NOLINT: T[] and T[k]
  Eip712Value(Struct v) : data_(std::move(v)) {}              // NOLINT: a struct type
  template <std::size_t N>
  requires(N != 20) Eip712Value(const FixedBytes<N>& v)
      : data_(Bytes(v.begin(), v.end())) {}  // NOLINT: bytes<N>
  template <class T>
  requires std::same_as<T, bool> Eip712Value(T v)
      : data_(v) {}  // NOLINT: bool only, no integer or pointer sneaks in
  template <class T>
  requires(std::unsigned_integral<T> && !std::same_as<T, bool>) Eip712Value(T v)
      : data_(U256(v)) {}  // NOLINT
  template <class T>
  requires std::signed_integral<T> Eip712Value(T v) : data_(I256(v)) {}  // NOLINT

  [[nodiscard]] const Data& data() const noexcept { return data_; }

 private:
  Data data_;
};

struct Eip712Member {
  std::string name;
  std::string type;  // "uint256", "address", "Person", "Person[]", "bytes32[2][]", ...
};

struct Eip712StructType {
  std::string name;
  std::vector<Eip712Member> members;
};

// A set of struct types, and the EIP-712 encodings that depend on it.
class Eip712Types {
 public:
  // Adds a struct type. Refuses a name that is not an identifier or names an atomic type, a
  // second definition of a name, and empty or duplicate member names (kBadTypeDefinition).
  // Member types are resolved when used, so types may be added in any order.
  Expected<void, Eip712Error> add(Eip712StructType type);

  [[nodiscard]] const std::vector<Eip712Member>* find(std::string_view name) const noexcept;

  // encodeType: "Mail(Person from,Person to,string contents)Person(string name,address wallet)"
  // (the primary type, then every type it references, directly or not, sorted by name).
  [[nodiscard]] Expected<std::string, Eip712Error> encode_type(std::string_view primary) const;
  // typeHash = keccak256(encodeType).
  [[nodiscard]] Expected<Hash32, Eip712Error> type_hash(std::string_view primary) const;
  // encodeData = typeHash || enc(member 1) || ... (32 bytes each).
  [[nodiscard]] Expected<Bytes, Eip712Error> encode_data(std::string_view type,
                                                         const Eip712Value& value) const;
  // hashStruct = keccak256(encodeData).
  [[nodiscard]] Expected<Hash32, Eip712Error> hash_struct(std::string_view type,
                                                          const Eip712Value& value) const;

  // Reads a JSON value as a value of `type` ("uint256": JSON integer, decimal or 0x string;
  // "address": 0x + 40 hex, EIP-55-checked when mixed case; "bytes"/"bytesN": 0x hex; "bool":
  // true/false; arrays: JSON arrays; structs: objects with exactly the declared members).
  [[nodiscard]] Expected<Eip712Value, Eip712Error> value_from_json(std::string_view type,
                                                                   const nlohmann::json& json,
                                                                   std::string_view where) const;

 private:
  std::map<std::string, std::vector<Eip712Member>, std::less<>> structs_;
};

// The EIP-712 domain with the fields a keeper uses; salt is optional. The EIP712Domain type is
// "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract[,bytes32
// salt])".
struct Eip712Domain {
  std::string name;
  std::string version;
  U256 chain_id;
  Address verifying_contract{};
  std::optional<Hash32> salt;
};

[[nodiscard]] Hash32 domain_separator(const Eip712Domain& domain);

// keccak256("\x19\x01" || domainSeparator || hashStruct(message)).
[[nodiscard]] Hash32 eip712_digest(const Hash32& domain_separator, const Hash32& struct_hash);

// The eth_signTypedData_v4 JSON object: {types, primaryType, domain, message}. The domain's
// fields must be a subset of name, version, chainId, verifyingContract, salt, in that order
// and with those types when "types" declares EIP712Domain; when it does not, the type is
// inferred from the fields present (as ethers, viem and alloy do).
struct Eip712Hashes {
  Hash32 domain_separator{};
  Hash32 struct_hash{};
  Hash32 digest{};
};
[[nodiscard]] Expected<Eip712Hashes, Eip712Error> hash_typed_data(const nlohmann::json& typed_data);
[[nodiscard]] Expected<Eip712Hashes, Eip712Error> hash_typed_data(std::string_view json_text);

}  // namespace varkeeper::chain
