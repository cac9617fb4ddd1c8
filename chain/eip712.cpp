#include "chain/eip712.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "chain/hex.hpp"
#include "chain/keccak.hpp"

namespace varkeeper::chain {

namespace {

using Json = nlohmann::json;

Eip712Error error(Eip712ErrorCode code, std::string where) { return {code, std::move(where)}; }

// ---- type names ----------------------------------------------------------------------------

enum class AtomicKind { kUint, kInt, kBool, kAddress, kFixedBytes, kBytes, kString };

struct AtomicType {
  AtomicKind kind;
  unsigned size = 0;  // bits for uint/int, bytes for bytes<N>
};

// Parses decimal digits without a leading zero into [lo, hi].
std::optional<unsigned> parse_width(std::string_view digits, unsigned lo, unsigned hi) {
  if (digits.empty() || digits.size() > 3 || digits[0] == '0') {
    return std::nullopt;
  }
  unsigned v = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v < lo || v > hi) {
    return std::nullopt;
  }
  return v;
}

// EIP-712 "Definition of atomic types": bytes1..bytes32, uint8..uint256, int8..int256 (steps of
// 8), bool, address; and the dynamic types bytes and string.
std::optional<AtomicType> parse_atomic(std::string_view t) {
  if (t == "bool") {
    return AtomicType{AtomicKind::kBool, 0};
  }
  if (t == "address") {
    return AtomicType{AtomicKind::kAddress, 0};
  }
  if (t == "string") {
    return AtomicType{AtomicKind::kString, 0};
  }
  if (t == "bytes") {
    return AtomicType{AtomicKind::kBytes, 0};
  }
  if (t.starts_with("bytes")) {
    if (auto n = parse_width(t.substr(5), 1, 32)) {
      return AtomicType{AtomicKind::kFixedBytes, *n};
    }
    return std::nullopt;
  }
  const bool is_uint = t.starts_with("uint");
  if (is_uint || t.starts_with("int")) {
    auto n = parse_width(t.substr(is_uint ? 4 : 3), 8, 256);
    if (n && *n % 8 == 0) {
      return AtomicType{is_uint ? AtomicKind::kUint : AtomicKind::kInt, *n};
    }
  }
  return std::nullopt;
}

bool is_identifier(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  const auto head = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
  };
  if (!head(s[0])) {
    return false;
  }
  return std::all_of(s.begin() + 1, s.end(),
                     [&](char c) { return head(c) || (c >= '0' && c <= '9'); });
}

// The outermost array suffix of a type: "T[k]" -> {"T", k}, "T[]" -> {"T", nullopt}.
struct ArraySplit {
  std::string_view element;
  std::optional<std::size_t> length;
};
enum class SplitResult { kNotArray, kArray, kMalformed };

SplitResult split_array(std::string_view type, ArraySplit& out) {
  if (type.empty() || type.back() != ']') {
    return SplitResult::kNotArray;
  }
  const auto open = type.rfind('[');
  if (open == std::string_view::npos || open == 0) {
    return SplitResult::kMalformed;
  }
  const std::string_view digits = type.substr(open + 1, type.size() - open - 2);
  out.element = type.substr(0, open);
  if (digits.empty()) {
    out.length.reset();
    return SplitResult::kArray;
  }
  // Solidity fixed-size arrays: a positive length, no leading zero, bounded to stay sane.
  if (digits.size() > 9 || digits[0] == '0') {
    return SplitResult::kMalformed;
  }
  std::size_t k = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') {
      return SplitResult::kMalformed;
    }
    k = k * 10 + static_cast<std::size_t>(c - '0');
  }
  out.length = k;
  return SplitResult::kArray;
}

// Strips every array suffix; kMalformed when a suffix is not "[]" or "[k]".
std::optional<std::string_view> base_type(std::string_view type) {
  ArraySplit split;
  for (int guard = 0; guard <= kEip712MaxDepth; ++guard) {
    switch (split_array(type, split)) {
      case SplitResult::kNotArray: return type;
      case SplitResult::kMalformed: return std::nullopt;
      case SplitResult::kArray: type = split.element; break;
    }
  }
  return std::nullopt;  // more array dimensions than any value could nest
}

// ---- values ----------------------------------------------------------------------------------

std::string kind_name(const Eip712Value::Data& d) {
  switch (d.index()) {
    case 0: return "an unsigned integer";
    case 1: return "a signed integer";
    case 2: return "a bool";
    case 3: return "an address";
    case 4: return "bytes";
    case 5: return "a string";
    case 6: return "an array";
    case 7: return "a struct";
  }
  return "a value";
}

Eip712Error wrong_kind(const std::string& where, std::string_view type, const Eip712Value& v) {
  return error(Eip712ErrorCode::kBadValue,
               where + ": " + kind_name(v.data()) + " given for type " + std::string(type));
}

// The integer a value holds, as sign and magnitude.
struct Integer {
  bool negative = false;
  U256 magnitude;
};
std::optional<Integer> as_integer(const Eip712Value& v) {
  if (const auto* u = std::get_if<U256>(&v.data())) {
    return Integer{false, *u};
  }
  if (const auto* i = std::get_if<I256>(&v.data())) {
    const bool neg = *i < 0;
    return Integer{neg, static_cast<U256>(neg ? I256(-*i) : *i)};
  }
  return std::nullopt;
}

// EIP-712 encodeData for atomic types: 32-byte words; integers sign-extended, bytes<N>
// right-padded, address as uint160, bool as uint256 0/1.
// Longer than 80 lines on purpose: one case per EIP-712 atomic type, side by side so each
// encoding can be read against the specification's list.
Expected<Hash32, Eip712Error> encode_atomic(const AtomicType& t, std::string_view type,
                                            const Eip712Value& v, const std::string& where) {
  switch (t.kind) {
    case AtomicKind::kUint: {
      auto n = as_integer(v);
      if (!n) {
        return unexpected(wrong_kind(where, type, v));
      }
      if ((n->negative && n->magnitude != 0) || (t.size < 256 && (n->magnitude >> t.size) != 0)) {
        return unexpected(error(Eip712ErrorCode::kBadValue,
                                where + ": value out of range for " + std::string(type)));
      }
      return u256_to_be32(n->magnitude);
    }
    case AtomicKind::kInt: {
      auto n = as_integer(v);
      if (!n) {
        return unexpected(wrong_kind(where, type, v));
      }
      // -2^(N-1) <= value <= 2^(N-1) - 1
      const U256 half = U256(1) << (t.size - 1);
      const bool in_range = n->negative ? n->magnitude <= half : n->magnitude < half;
      if (!in_range) {
        return unexpected(error(Eip712ErrorCode::kBadValue,
                                where + ": value out of range for " + std::string(type)));
      }
      // Two's complement over 256 bits (U256 arithmetic wraps like the EVM).
      return u256_to_be32(n->negative ? U256(U256(0) - n->magnitude) : n->magnitude);
    }
    case AtomicKind::kBool: {
      const auto* b = std::get_if<bool>(&v.data());
      if (!b) {
        return unexpected(wrong_kind(where, type, v));
      }
      Hash32 out{};
      out[31] = *b ? 1 : 0;
      return out;
    }
    case AtomicKind::kAddress: {
      const auto* a = std::get_if<Address>(&v.data());
      if (!a) {
        return unexpected(wrong_kind(where, type, v));
      }
      Hash32 out{};
      std::copy(a->begin(), a->end(), out.begin() + 12);
      return out;
    }
    case AtomicKind::kFixedBytes: {
      ByteView bytes;
      if (const auto* b = std::get_if<Bytes>(&v.data())) {
        bytes = *b;
      } else if (const auto* a = std::get_if<Address>(&v.data())) {
        bytes = *a;
      } else {
        return unexpected(wrong_kind(where, type, v));
      }
      if (bytes.size() != t.size) {
        return unexpected(error(
            Eip712ErrorCode::kBadValue,
            where + ": " + std::to_string(bytes.size()) + " bytes given for " + std::string(type)));
      }
      Hash32 out{};
      std::copy(bytes.begin(), bytes.end(), out.begin());
      return out;
    }
    case AtomicKind::kBytes: {
      const auto* b = std::get_if<Bytes>(&v.data());
      if (!b) {
        return unexpected(wrong_kind(where, type, v));
      }
      return keccak256(*b);
    }
    case AtomicKind::kString: {
      const auto* s = std::get_if<std::string>(&v.data());
      if (!s) {
        return unexpected(wrong_kind(where, type, v));
      }
      return keccak256(std::string_view{*s});
    }
  }
  return unexpected(error(Eip712ErrorCode::kUnknownType, where));
}

// ---- JSON scalars ------------------------------------------------------------------------------

Expected<Integer, Eip712Error> integer_from_json(const Json& j, bool allow_negative,
                                                 const std::string& where) {
  if (j.is_number_unsigned()) {
    return Integer{false, U256(j.get<std::uint64_t>())};
  }
  if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (v >= 0) {
      return Integer{false, U256(static_cast<std::uint64_t>(v))};
    }
    if (!allow_negative) {
      return unexpected(error(Eip712ErrorCode::kBadValue, where + ": negative value"));
    }
    return Integer{true, U256(std::uint64_t{0} - static_cast<std::uint64_t>(v))};
  }
  if (j.is_number_float()) {
    return unexpected(
        error(Eip712ErrorCode::kBadValue,
              where + ": not an integer JSON number (quote big integers as strings)"));
  }
  if (!j.is_string()) {
    return unexpected(error(Eip712ErrorCode::kBadValue, where + ": expected an integer"));
  }
  std::string_view text = j.get_ref<const std::string&>();
  bool negative = false;
  if (!text.empty() && text[0] == '-') {
    if (!allow_negative) {
      return unexpected(error(Eip712ErrorCode::kBadValue, where + ": negative value"));
    }
    negative = true;
    text.remove_prefix(1);
  }
  auto magnitude = u256_from_string(text);
  if (!magnitude) {
    return unexpected(error(Eip712ErrorCode::kBadValue,
                            where + ": " + std::string(to_string(magnitude.error()))));
  }
  return Integer{negative, *magnitude};
}

Expected<Eip712Value, Eip712Error> atomic_from_json(const AtomicType& t, const Json& j,
                                                    const std::string& where) {
  switch (t.kind) {
    case AtomicKind::kUint: {
      auto n = integer_from_json(j, false, where);
      if (!n) {
        return unexpected(n.error());
      }
      return Eip712Value(n->magnitude);
    }
    case AtomicKind::kInt: {
      auto n = integer_from_json(j, true, where);
      if (!n) {
        return unexpected(n.error());
      }
      const I256 magnitude(n->magnitude);
      return Eip712Value(n->negative ? I256(-magnitude) : magnitude);
    }
    case AtomicKind::kBool:
      if (!j.is_boolean()) {
        return unexpected(error(Eip712ErrorCode::kBadValue, where + ": expected true or false"));
      }
      return Eip712Value(j.get<bool>());
    case AtomicKind::kAddress: {
      if (!j.is_string()) {
        return unexpected(
            error(Eip712ErrorCode::kBadValue, where + ": expected an address string"));
      }
      auto a = parse_address(j.get_ref<const std::string&>());
      if (!a) {
        return unexpected(
            error(Eip712ErrorCode::kBadValue, where + ": " + std::string(to_string(a.error()))));
      }
      return Eip712Value(*a);
    }
    case AtomicKind::kFixedBytes:
    case AtomicKind::kBytes: {
      if (!j.is_string()) {
        return unexpected(error(Eip712ErrorCode::kBadValue, where + ": expected a 0x hex string"));
      }
      auto b = from_hex(j.get_ref<const std::string&>(), HexPrefix::kRequired);
      if (!b) {
        return unexpected(
            error(Eip712ErrorCode::kBadValue, where + ": " + std::string(to_string(b.error()))));
      }
      if (t.kind == AtomicKind::kFixedBytes && b->size() != t.size) {
        return unexpected(error(Eip712ErrorCode::kBadValue,
                                where + ": " + std::to_string(b->size()) +
                                    " bytes given for bytes" + std::to_string(t.size)));
      }
      return Eip712Value(std::move(*b));
    }
    case AtomicKind::kString:
      if (!j.is_string()) {
        return unexpected(error(Eip712ErrorCode::kBadValue, where + ": expected a string"));
      }
      return Eip712Value(j.get<std::string>());
  }
  return unexpected(error(Eip712ErrorCode::kUnknownType, where));
}

// ---- the domain --------------------------------------------------------------------------------

// EIP-712 "Definition of domainSeparator": these fields, in this order, each optional.
constexpr std::pair<std::string_view, std::string_view> kDomainFields[] = {
    {"name", "string"},     {"version", "string"},
    {"chainId", "uint256"}, {"verifyingContract", "address"},
    {"salt", "bytes32"},
};

// The implementation behind the public members, with a path for errors and a depth bound.
class Encoder {
 public:
  explicit Encoder(const Eip712Types& types) : types_(types) {}

  Expected<Bytes, Eip712Error> encode_data(std::string_view type, const Eip712Value& value,
                                           const std::string& where, int depth) const {
    if (depth > kEip712MaxDepth) {
      return unexpected(error(Eip712ErrorCode::kTooDeep, where));
    }
    const auto* members = types_.find(type);
    if (!members) {
      return unexpected(error(Eip712ErrorCode::kUnknownType, std::string(type)));
    }
    const auto* fields = std::get_if<Eip712Value::Struct>(&value.data());
    if (!fields) {
      return unexpected(wrong_kind(where, type, value));
    }
    // Every given field must be declared, once.
    for (std::size_t i = 0; i < fields->size(); ++i) {
      const auto& name = (*fields)[i].first;
      const bool declared = std::any_of(members->begin(), members->end(),
                                        [&](const Eip712Member& m) { return m.name == name; });
      bool repeated = false;
      for (std::size_t k = 0; k < i && !repeated; ++k) {
        repeated = (*fields)[k].first == name;
      }
      if (!declared || repeated) {
        return unexpected(error(Eip712ErrorCode::kUnexpectedField, join(where, name)));
      }
    }
    auto type_hash = cached_type_hash(type);
    if (!type_hash) {
      return unexpected(type_hash.error());
    }
    Bytes out;
    out.reserve(32 * (members->size() + 1));
    append(out, *type_hash);
    for (const auto& m : *members) {
      const auto it = std::find_if(fields->begin(), fields->end(),
                                   [&](const auto& f) { return f.first == m.name; });
      if (it == fields->end()) {
        return unexpected(error(Eip712ErrorCode::kMissingField, join(where, m.name)));
      }
      auto word = encode_field(m.type, it->second, join(where, m.name), depth + 1);
      if (!word) {
        return unexpected(word.error());
      }
      append(out, *word);
    }
    return out;
  }

  Expected<Hash32, Eip712Error> encode_field(std::string_view type, const Eip712Value& value,
                                             const std::string& where, int depth) const {
    if (depth > kEip712MaxDepth) {
      return unexpected(error(Eip712ErrorCode::kTooDeep, where));
    }
    ArraySplit split;
    switch (split_array(type, split)) {
      case SplitResult::kMalformed:
        return unexpected(error(Eip712ErrorCode::kBadTypeDefinition, std::string(type)));
      case SplitResult::kArray: {
        // EIP-712: arrays are keccak256 of the concatenated encodeData of their elements.
        const auto* items = std::get_if<Eip712Value::Array>(&value.data());
        if (!items) {
          return unexpected(wrong_kind(where, type, value));
        }
        if (split.length && items->size() != *split.length) {
          return unexpected(
              error(Eip712ErrorCode::kArrayLength, where + ": " + std::to_string(items->size()) +
                                                       " elements given for " + std::string(type)));
        }
        Bytes concat;
        concat.reserve(32 * items->size());
        for (std::size_t i = 0; i < items->size(); ++i) {
          auto word = encode_field(split.element, (*items)[i], index(where, i), depth + 1);
          if (!word) {
            return unexpected(word.error());
          }
          append(concat, *word);
        }
        return keccak256(concat);
      }
      case SplitResult::kNotArray: break;
    }
    if (auto atomic = parse_atomic(type)) {
      return encode_atomic(*atomic, type, value, where);
    }
    if (types_.find(type)) {
      // EIP-712: a struct member is encoded as hashStruct of its value.
      auto data = encode_data(type, value, where, depth + 1);
      if (!data) {
        return unexpected(data.error());
      }
      return keccak256(*data);
    }
    return unexpected(error(Eip712ErrorCode::kUnknownType, where + ": " + std::string(type)));
  }

  Expected<Eip712Value, Eip712Error> from_json(std::string_view type, const Json& j,
                                               const std::string& where, int depth) const {
    if (depth > kEip712MaxDepth) {
      return unexpected(error(Eip712ErrorCode::kTooDeep, where));
    }
    ArraySplit split;
    switch (split_array(type, split)) {
      case SplitResult::kMalformed:
        return unexpected(error(Eip712ErrorCode::kBadTypeDefinition, std::string(type)));
      case SplitResult::kArray: {
        if (!j.is_array()) {
          return unexpected(error(Eip712ErrorCode::kBadValue,
                                  where + ": expected a JSON array for " + std::string(type)));
        }
        if (split.length && j.size() != *split.length) {
          return unexpected(
              error(Eip712ErrorCode::kArrayLength, where + ": " + std::to_string(j.size()) +
                                                       " elements given for " + std::string(type)));
        }
        Eip712Value::Array items;
        items.reserve(j.size());
        for (std::size_t i = 0; i < j.size(); ++i) {
          auto item = from_json(split.element, j[i], index(where, i), depth + 1);
          if (!item) {
            return unexpected(item.error());
          }
          items.push_back(std::move(*item));
        }
        return Eip712Value(std::move(items));
      }
      case SplitResult::kNotArray: break;
    }
    if (auto atomic = parse_atomic(type)) {
      return atomic_from_json(*atomic, j, where);
    }
    const auto* members = types_.find(type);
    if (!members) {
      return unexpected(error(Eip712ErrorCode::kUnknownType, where + ": " + std::string(type)));
    }
    if (!j.is_object()) {
      return unexpected(error(Eip712ErrorCode::kNotAnObject,
                              where + ": expected a JSON object for " + std::string(type)));
    }
    for (const auto& item : j.items()) {
      const bool declared =
          std::any_of(members->begin(), members->end(),
                      [&](const Eip712Member& m) { return m.name == item.key(); });
      if (!declared) {
        return unexpected(error(Eip712ErrorCode::kUnexpectedField, join(where, item.key())));
      }
    }
    Eip712Value::Struct fields;
    fields.reserve(members->size());
    for (const auto& m : *members) {
      const auto it = j.find(m.name);
      if (it == j.end()) {
        return unexpected(error(Eip712ErrorCode::kMissingField, join(where, m.name)));
      }
      auto v = from_json(m.type, *it, join(where, m.name), depth + 1);
      if (!v) {
        return unexpected(v.error());
      }
      fields.emplace_back(m.name, std::move(*v));
    }
    return Eip712Value(std::move(fields));
  }

  static std::string join(const std::string& where, std::string_view name) {
    return where.empty() ? std::string(name) : where + "." + std::string(name);
  }
  static std::string index(const std::string& where, std::size_t i) {
    return where + "[" + std::to_string(i) + "]";
  }

 private:
  // typeHash walks the type graph; an array of N structs would otherwise walk it N times.
  Expected<Hash32, Eip712Error> cached_type_hash(std::string_view type) const {
    if (const auto it = type_hashes_.find(type); it != type_hashes_.end()) {
      return it->second;
    }
    auto hash = types_.type_hash(type);
    if (hash) {
      type_hashes_.emplace(std::string(type), *hash);
    }
    return hash;
  }

  const Eip712Types& types_;
  mutable std::map<std::string, Hash32, std::less<>> type_hashes_;
};

// Builds the EIP712Domain type for a JSON typed-data object and checks it against the EIP.
Expected<void, Eip712Error> add_domain_type(Eip712Types& types, const Json& types_json,
                                            const Json& domain) {
  Eip712StructType domain_type{"EIP712Domain", {}};
  const auto declared = types_json.find("EIP712Domain");
  if (declared != types_json.end()) {
    const auto* members = types.find("EIP712Domain");
    std::size_t next = 0;  // index into kDomainFields: members must follow the EIP's order
    for (const auto& m : *members) {
      while (next < std::size(kDomainFields) && kDomainFields[next].first != m.name) {
        ++next;
      }
      if (next == std::size(kDomainFields) || kDomainFields[next].second != m.type) {
        return unexpected(
            error(Eip712ErrorCode::kBadDomain, "types.EIP712Domain." + m.name + " (" + m.type +
                                                   "): the EIP allows name, version, chainId, "
                                                   "verifyingContract, salt, in that order"));
      }
      ++next;
    }
    return {};
  }
  for (const auto& item : domain.items()) {
    const bool known = std::any_of(std::begin(kDomainFields), std::end(kDomainFields),
                                   [&](const auto& f) { return f.first == item.key(); });
    if (!known) {
      return unexpected(error(Eip712ErrorCode::kBadDomain,
                              "domain." + item.key() + ": not an EIP-712 domain field"));
    }
  }
  for (const auto& [name, type] : kDomainFields) {
    if (domain.contains(name)) {
      domain_type.members.push_back({std::string(name), std::string(type)});
    }
  }
  return types.add(std::move(domain_type));
}

// Longer than 80 lines on purpose: the EIP-712 steps in the specification's order (shape,
// types, primary type, domain separator, message hash), each refusal naming its step.
Expected<Eip712Hashes, Eip712Error> hash_typed_data_impl(const Json& j) {
  if (!j.is_object()) {
    return unexpected(error(Eip712ErrorCode::kNotAnObject, "typed data: expected a JSON object"));
  }
  for (const char* key : {"types", "primaryType", "domain", "message"}) {
    if (!j.contains(key)) {
      return unexpected(error(Eip712ErrorCode::kMissingKey, key));
    }
  }
  const Json& types_json = j["types"];
  const Json& domain = j["domain"];
  const Json& message = j["message"];
  const Json& primary = j["primaryType"];
  if (!types_json.is_object()) {
    return unexpected(error(Eip712ErrorCode::kNotAnObject, "types: expected a JSON object"));
  }
  if (!domain.is_object()) {
    return unexpected(error(Eip712ErrorCode::kNotAnObject, "domain: expected a JSON object"));
  }
  if (!message.is_object()) {
    return unexpected(error(Eip712ErrorCode::kNotAnObject, "message: expected a JSON object"));
  }
  if (!primary.is_string()) {
    return unexpected(error(Eip712ErrorCode::kBadTypeDefinition, "primaryType: expected a string"));
  }
  Eip712Types types;
  for (const auto& item : types_json.items()) {
    const std::string where = "types." + item.key();
    if (!item.value().is_array()) {
      return unexpected(error(Eip712ErrorCode::kBadTypeDefinition,
                              where + ": expected an array of {name, type}"));
    }
    Eip712StructType type{item.key(), {}};
    for (std::size_t i = 0; i < item.value().size(); ++i) {
      const Json& m = item.value()[i];
      const std::string member_where = where + "[" + std::to_string(i) + "]";
      if (!m.is_object()) {
        return unexpected(
            error(Eip712ErrorCode::kBadTypeDefinition, member_where + ": expected {name, type}"));
      }
      const auto name = m.find("name");
      const auto type_name = m.find("type");
      if (name == m.end() || type_name == m.end() || !name->is_string() ||
          !type_name->is_string()) {
        return unexpected(error(Eip712ErrorCode::kBadTypeDefinition,
                                member_where + ": expected string \"name\" and \"type\""));
      }
      type.members.push_back({name->get<std::string>(), type_name->get<std::string>()});
    }
    if (auto added = types.add(std::move(type)); !added) {
      return unexpected(added.error());
    }
  }
  if (auto d = add_domain_type(types, types_json, domain); !d) {
    return unexpected(d.error());
  }

  const std::string& primary_type = primary.get_ref<const std::string&>();
  // Signing the domain alone is not a message (libraries disagree on its digest): refuse it.
  if (primary_type == "EIP712Domain") {
    return unexpected(error(Eip712ErrorCode::kBadTypeDefinition,
                            "primaryType: EIP712Domain is not a message type"));
  }
  if (!types.find(primary_type)) {
    return unexpected(error(Eip712ErrorCode::kUnknownType, "primaryType: " + primary_type));
  }
  auto domain_value = types.value_from_json("EIP712Domain", domain, "domain");
  if (!domain_value) {
    return unexpected(domain_value.error());
  }
  auto message_value = types.value_from_json(primary_type, message, "message");
  if (!message_value) {
    return unexpected(message_value.error());
  }
  const Encoder encoder(types);
  auto domain_data = encoder.encode_data("EIP712Domain", *domain_value, "domain", 0);
  if (!domain_data) {
    return unexpected(domain_data.error());
  }
  auto message_data = encoder.encode_data(primary_type, *message_value, "message", 0);
  if (!message_data) {
    return unexpected(message_data.error());
  }
  Eip712Hashes out;
  out.domain_separator = keccak256(*domain_data);
  out.struct_hash = keccak256(*message_data);
  out.digest = eip712_digest(out.domain_separator, out.struct_hash);
  return out;
}

}  // namespace

std::string_view to_string(Eip712ErrorCode code) noexcept {
  switch (code) {
    case Eip712ErrorCode::kBadJson: return "typed data is not valid JSON";
    case Eip712ErrorCode::kNotAnObject: return "expected a JSON object";
    case Eip712ErrorCode::kMissingKey: return "typed data lacks a required key";
    case Eip712ErrorCode::kBadTypeDefinition: return "malformed type definition";
    case Eip712ErrorCode::kUnknownType: return "unknown type";
    case Eip712ErrorCode::kMissingField: return "struct value lacks a member";
    case Eip712ErrorCode::kUnexpectedField: return "struct value has an undeclared member";
    case Eip712ErrorCode::kBadValue: return "value does not fit its type";
    case Eip712ErrorCode::kArrayLength: return "fixed-size array has the wrong number of elements";
    case Eip712ErrorCode::kBadDomain: return "domain is not an EIP-712 domain";
    case Eip712ErrorCode::kTooDeep: return "typed data nests too deeply";
  }
  return "unknown EIP-712 error";
}

std::string Eip712Error::message() const {
  std::string out = "EIP-712: ";
  out += to_string(code);
  if (!where.empty()) {
    out += " (" + where + ")";
  }
  return out;
}

Expected<void, Eip712Error> Eip712Types::add(Eip712StructType type) {
  if (!is_identifier(type.name) || parse_atomic(type.name)) {
    return unexpected(error(Eip712ErrorCode::kBadTypeDefinition,
                            "types." + type.name + ": not a struct type name"));
  }
  if (structs_.contains(type.name)) {
    return unexpected(
        error(Eip712ErrorCode::kBadTypeDefinition, "types." + type.name + ": defined twice"));
  }
  std::set<std::string_view> seen;
  for (const auto& m : type.members) {
    if (!is_identifier(m.name) || !seen.insert(m.name).second) {
      return unexpected(error(
          Eip712ErrorCode::kBadTypeDefinition,
          "types." + type.name + "." + m.name + ": member name missing, malformed or repeated"));
    }
    if (m.type.empty()) {
      return unexpected(error(Eip712ErrorCode::kBadTypeDefinition,
                              "types." + type.name + "." + m.name + ": empty type"));
    }
  }
  structs_.emplace(std::move(type.name), std::move(type.members));
  return {};
}

const std::vector<Eip712Member>* Eip712Types::find(std::string_view name) const noexcept {
  const auto it = structs_.find(name);
  return it == structs_.end() ? nullptr : &it->second;
}

Expected<std::string, Eip712Error> Eip712Types::encode_type(std::string_view primary) const {
  const auto* root = find(primary);
  if (!root) {
    return unexpected(error(Eip712ErrorCode::kUnknownType, std::string(primary)));
  }
  // Every struct type reachable from the primary one (worklist, not recursion: a hostile type
  // graph may be long).
  std::set<std::string_view> found{primary};
  std::vector<std::string_view> pending{primary};
  while (!pending.empty()) {
    const std::string_view current = pending.back();
    pending.pop_back();
    for (const auto& m : *find(current)) {
      const auto base = base_type(m.type);
      if (!base) {
        return unexpected(error(Eip712ErrorCode::kBadTypeDefinition,
                                std::string(current) + "." + m.name + ": " + m.type));
      }
      if (parse_atomic(*base)) {
        continue;
      }
      const auto it = structs_.find(*base);
      if (it == structs_.end()) {
        return unexpected(error(Eip712ErrorCode::kUnknownType,
                                std::string(current) + "." + m.name + ": " + m.type));
      }
      if (found.insert(it->first).second) {
        pending.push_back(it->first);
      }
    }
  }
  // EIP-712 encodeType: the primary type first, then the referenced types sorted by name.
  found.erase(primary);
  std::string out;
  const auto emit = [&](std::string_view name) {
    out += name;
    out += '(';
    bool first = true;
    for (const auto& m : *find(name)) {
      if (!first) {
        out += ',';
      }
      first = false;
      out += m.type;
      out += ' ';
      out += m.name;
    }
    out += ')';
  };
  emit(primary);
  for (const auto name : found) {
    emit(name);  // std::set<string_view>: byte-wise name order
  }
  return out;
}

Expected<Hash32, Eip712Error> Eip712Types::type_hash(std::string_view primary) const {
  auto encoded = encode_type(primary);
  if (!encoded) {
    return unexpected(encoded.error());
  }
  return keccak256(std::string_view{*encoded});
}

Expected<Bytes, Eip712Error> Eip712Types::encode_data(std::string_view type,
                                                      const Eip712Value& value) const {
  return Encoder(*this).encode_data(type, value, std::string(type), 0);
}

Expected<Hash32, Eip712Error> Eip712Types::hash_struct(std::string_view type,
                                                       const Eip712Value& value) const {
  auto data = encode_data(type, value);
  if (!data) {
    return unexpected(data.error());
  }
  return keccak256(*data);
}

Expected<Eip712Value, Eip712Error> Eip712Types::value_from_json(std::string_view type,
                                                                const Json& json,
                                                                std::string_view where) const {
  return Encoder(*this).from_json(type, json, std::string(where), 0);
}

Hash32 domain_separator(const Eip712Domain& domain) {
  Eip712Types types;
  Eip712StructType type{"EIP712Domain",
                        {{"name", "string"},
                         {"version", "string"},
                         {"chainId", "uint256"},
                         {"verifyingContract", "address"}}};
  Eip712Value::Struct value{{"name", domain.name},
                            {"version", domain.version},
                            {"chainId", domain.chain_id},
                            {"verifyingContract", domain.verifying_contract}};
  if (domain.salt) {
    type.members.push_back({"salt", "bytes32"});
    value.emplace_back("salt", *domain.salt);
  }
  (void)types.add(std::move(type));  // a fixed, valid definition
  // Cannot fail: the type and the value are built together above.
  return *types.hash_struct("EIP712Domain", Eip712Value(std::move(value)));
}

Hash32 eip712_digest(const Hash32& domain_separator, const Hash32& struct_hash) {
  // EIP-712: "\x19\x01" ‖ domainSeparator ‖ hashStruct(message) (EIP-191 version 0x01).
  Bytes buffer;
  buffer.reserve(66);
  buffer.push_back(0x19);
  buffer.push_back(0x01);
  append(buffer, domain_separator);
  append(buffer, struct_hash);
  return keccak256(buffer);
}

Expected<Eip712Hashes, Eip712Error> hash_typed_data(const Json& typed_data) {
  try {
    return hash_typed_data_impl(typed_data);
  } catch (const std::exception& e) {  // allocation failure on a hostile document
    return unexpected(error(Eip712ErrorCode::kBadValue, e.what()));
  }
}

Expected<Eip712Hashes, Eip712Error> hash_typed_data(std::string_view json_text) {
  // Parse without exceptions; nlohmann's parser is iterative, so deep nesting cannot overflow
  // the stack here, and kEip712MaxDepth bounds our own recursion afterwards.
  Json j = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return unexpected(error(Eip712ErrorCode::kBadJson, "typed data"));
  }
  return hash_typed_data(j);
}

}  // namespace varkeeper::chain
