#include "chain/eip712.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "chain/secp256k1.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;

namespace {

Address addr(std::string_view text) {
  auto a = parse_address(text);
  REQUIRE(a.has_value());
  return *a;
}

// The `Mail` example of EIP-712 (assets/eip-712/Example.js in ethereum/EIPs, final version).
constexpr const char* kMailJson = R"({
  "types": {
    "EIP712Domain": [
      {"name": "name", "type": "string"},
      {"name": "version", "type": "string"},
      {"name": "chainId", "type": "uint256"},
      {"name": "verifyingContract", "type": "address"}
    ],
    "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
    "Mail": [
      {"name": "from", "type": "Person"},
      {"name": "to", "type": "Person"},
      {"name": "contents", "type": "string"}
    ]
  },
  "primaryType": "Mail",
  "domain": {
    "name": "Ether Mail",
    "version": "1",
    "chainId": 1,
    "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"
  },
  "message": {
    "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
    "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
    "contents": "Hello, Bob!"
  }
})";

// MetaMask eth-sig-util's signTypedData_v4 example with arrays of structs and addresses (also
// asserted by go-ethereum's signer tests, Trust Wallet Core and 0xsequence ethkit).
constexpr const char* kMailArraysJson = R"({
  "types": {
    "EIP712Domain": [
      {"name": "name", "type": "string"},
      {"name": "version", "type": "string"},
      {"name": "chainId", "type": "uint256"},
      {"name": "verifyingContract", "type": "address"}
    ],
    "Person": [{"name": "name", "type": "string"}, {"name": "wallets", "type": "address[]"}],
    "Mail": [
      {"name": "from", "type": "Person"},
      {"name": "to", "type": "Person[]"},
      {"name": "contents", "type": "string"}
    ],
    "Group": [{"name": "name", "type": "string"}, {"name": "members", "type": "Person[]"}]
  },
  "domain": {
    "name": "Ether Mail",
    "version": "1",
    "chainId": 1,
    "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"
  },
  "primaryType": "Mail",
  "message": {
    "from": {
      "name": "Cow",
      "wallets": ["0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826",
                  "0xDeaDbeefdEAdbeefdEadbEEFdeadbeEFdEaDbeeF"]
    },
    "to": [{
      "name": "Bob",
      "wallets": ["0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB",
                  "0xB0BdaBea57B0BDABeA57b0bdABEA57b0BDabEa57",
                  "0xB0B0b0b0b0b0B000000000000000000000000000"]
    }],
    "contents": "Hello, Bob!"
  }
})";

Eip712Types mail_types() {
  Eip712Types types;
  REQUIRE(types.add({"Person", {{"name", "string"}, {"wallet", "address"}}}).has_value());
  REQUIRE(types.add({"Mail", {{"from", "Person"}, {"to", "Person"}, {"contents", "string"}}})
              .has_value());
  return types;
}

Eip712Value mail_value() {
  return Eip712Value::Struct{
      {"from", Eip712Value::Struct{{"name", "Cow"},
                                   {"wallet", addr("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826")}}},
      {"to", Eip712Value::Struct{{"name", "Bob"},
                                 {"wallet", addr("0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB")}}},
      {"contents", "Hello, Bob!"}};
}

Eip712Domain mail_domain() {
  return {"Ether Mail", "1", 1, addr("0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"), std::nullopt};
}

Eip712ErrorCode error_of(const std::string& json) {
  auto r = hash_typed_data(std::string_view{json});
  REQUIRE_FALSE(r.has_value());
  return r.error().code;
}

}  // namespace

TEST_CASE("the EIP-712 Mail example hashes to the published values through the C++ API") {
  const Eip712Types types = mail_types();
  auto encoded = types.encode_type("Mail");
  REQUIRE(encoded.has_value());
  CHECK(*encoded ==
        "Mail(Person from,Person to,string contents)Person(string name,address wallet)");
  auto type_hash = types.type_hash("Mail");
  REQUIRE(type_hash.has_value());
  CHECK(to_hex(*type_hash) == "0xa0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2");
  auto data = types.encode_data("Mail", mail_value());
  REQUIRE(data.has_value());
  CHECK(to_hex(*data) ==
        "0xa0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2"
        "fc71e5fa27ff56c350aa531bc129ebdf613b772b6604664f5d8dbe21b85eb0c8"
        "cd54f074a4af31b4411ff6a60c9719dbd559c221c8ac3492d9d872b041d703d1"
        "b5aadf3154a261abdd9086fc627b61efca26ae5702701d05cd2305f7c52a2fc8");
  auto struct_hash = types.hash_struct("Mail", mail_value());
  REQUIRE(struct_hash.has_value());
  CHECK(to_hex(*struct_hash) ==
        "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e");
  const Hash32 separator = domain_separator(mail_domain());
  CHECK(to_hex(separator) == "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");
  const Hash32 digest = eip712_digest(separator, *struct_hash);
  CHECK(to_hex(digest) == "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");
}

TEST_CASE("the EIP-712 Mail digest signed with keccak256(\"cow\") gives the published signature") {
  auto key = SecretKey::from_bytes(keccak256(std::string_view{"cow"}));
  REQUIRE(key.has_value());
  auto digest =
      from_hex_fixed<32>("0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");
  REQUIRE(digest.has_value());
  const Signature sig = sign_hash(*digest, *key);
  CHECK(27 + sig.y_parity == 28);
  CHECK(to_hex(sig.r) == "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d");
  CHECK(to_hex(sig.s) == "0x07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562");
  auto signer = recover_address(*digest, sig);
  REQUIRE(signer.has_value());
  CHECK(to_checksum_address(*signer) == "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826");
}

TEST_CASE("the EIP-712 Mail example hashes to the published values from its JSON form") {
  auto hashes = hash_typed_data(std::string_view{kMailJson});
  REQUIRE(hashes.has_value());
  CHECK(to_hex(hashes->domain_separator) ==
        "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");
  CHECK(to_hex(hashes->struct_hash) ==
        "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e");
  CHECK(to_hex(hashes->digest) ==
        "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");
}

TEST_CASE("a JSON domain without an EIP712Domain type infers the type from its fields") {
  auto j = nlohmann::json::parse(kMailJson);
  j["types"].erase("EIP712Domain");
  auto hashes = hash_typed_data(j);
  REQUIRE(hashes.has_value());
  CHECK(to_hex(hashes->digest) ==
        "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");
}

TEST_CASE("nested struct arrays and address arrays hash to eth-sig-util's published values") {
  const auto j = nlohmann::json::parse(kMailArraysJson);
  Eip712Types types;
  for (const auto& [name, members] : j["types"].items()) {
    Eip712StructType t{name, {}};
    for (const auto& m : members) t.members.push_back({m["name"], m["type"]});
    REQUIRE(types.add(t).has_value());
  }
  auto person_hash = types.type_hash("Person");
  REQUIRE(person_hash.has_value());
  CHECK(to_hex(*person_hash) ==
        "0xfabfe1ed996349fc6027709802be19d047da1aa5d6894ff5f6486d92db2e6860");
  auto mail_hash = types.type_hash("Mail");
  REQUIRE(mail_hash.has_value());
  CHECK(to_hex(*mail_hash) == "0x4bd8a9a2b93427bb184aca81e24beb30ffa3c747e2a33d4225ec08bf12e2e753");
  auto from = types.value_from_json("Person", j["message"]["from"], "message.from");
  REQUIRE(from.has_value());
  auto from_hash = types.hash_struct("Person", *from);
  REQUIRE(from_hash.has_value());
  CHECK(to_hex(*from_hash) == "0x9b4846dd48b866f0ac54d61b9b21a9e746f921cefa4ee94c4c0a1c49c774f67f");
  auto to0 = types.value_from_json("Person", j["message"]["to"][0], "message.to[0]");
  REQUIRE(to0.has_value());
  auto to0_hash = types.hash_struct("Person", *to0);
  REQUIRE(to0_hash.has_value());
  CHECK(to_hex(*to0_hash) == "0xefa62530c7ae3a290f8a13a5fc20450bdb3a6af19d9d9d2542b5a94e631a9168");

  auto hashes = hash_typed_data(j);
  REQUIRE(hashes.has_value());
  CHECK(to_hex(hashes->struct_hash) ==
        "0xeb4221181ff3f1a83ea7313993ca9218496e424604ba9492bb4052c03d5c3df8");
  CHECK(to_hex(hashes->digest) ==
        "0xa85c2e2b118698e88db68a8105b794a8cc7cec074e89ef991cb4f5f533819cc2");
}

TEST_CASE("encodeType lists a self-referencing type once") {
  // eth-sig-util's recursive Person example: "Person(string name,Person mother,Person father)".
  Eip712Types types;
  REQUIRE(types.add({"Person", {{"name", "string"}, {"mother", "Person"}, {"father", "Person"}}})
              .has_value());
  auto encoded = types.encode_type("Person");
  REQUIRE(encoded.has_value());
  CHECK(*encoded == "Person(string name,Person mother,Person father)");
  auto hash = types.type_hash("Person");
  REQUIRE(hash.has_value());
  CHECK(to_hex(*hash) == "0x7c5c8e90cb92c8da53b893b24962513be98afcf1b57b00327ae4cc14e3a64116");
}

TEST_CASE("encodeType sorts referenced types by name, found through arrays and nesting") {
  // EIP-712: "the set of referenced struct types is collected, sorted by name and appended".
  Eip712Types types;
  REQUIRE(types.add({"Zeta", {{"a", "Alpha[2][]"}, {"m", "Mid"}}}).has_value());
  REQUIRE(types.add({"Mid", {{"b", "Beta"}}}).has_value());
  REQUIRE(types.add({"Beta", {{"x", "uint8"}}}).has_value());
  REQUIRE(types.add({"Alpha", {{"y", "bytes32"}}}).has_value());
  REQUIRE(types.add({"Unused", {{"z", "bool"}}}).has_value());
  auto encoded = types.encode_type("Zeta");
  REQUIRE(encoded.has_value());
  CHECK(*encoded == "Zeta(Alpha[2][] a,Mid m)Alpha(bytes32 y)Beta(uint8 x)Mid(Beta b)");
}

TEST_CASE("the domain separator includes the salt when one is given") {
  // The inferred JSON domain with salt and the C++ domain with salt are the same struct.
  Eip712Domain domain = mail_domain();
  domain.salt = keccak256(std::string_view{"salt"});
  auto j = nlohmann::json::parse(kMailJson);
  j["types"].erase("EIP712Domain");
  j["domain"]["salt"] = to_hex(*domain.salt);
  auto hashes = hash_typed_data(j);
  REQUIRE(hashes.has_value());
  CHECK(hashes->domain_separator == domain_separator(domain));
  CHECK(hashes->domain_separator != domain_separator(mail_domain()));
  // Closed form: keccak256(typeHash || keccak(name) || keccak(version) || chainId || contract ||
  // salt) with typeHash of the five-field EIP712Domain.
  Bytes pre;
  append(pre, keccak256(std::string_view{
                  "EIP712Domain(string name,string version,uint256 chainId,address "
                  "verifyingContract,bytes32 salt)"}));
  append(pre, keccak256(std::string_view{"Ether Mail"}));
  append(pre, keccak256(std::string_view{"1"}));
  append(pre, u256_to_be32(1));
  Hash32 contract{};
  std::copy(domain.verifying_contract.begin(), domain.verifying_contract.end(),
            contract.begin() + 12);
  append(pre, contract);
  append(pre, *domain.salt);
  CHECK(domain_separator(domain) == keccak256(pre));
}

TEST_CASE("integers are encoded as sign-extended 256-bit words and range-checked per type") {
  Eip712Types types;
  REQUIRE(
      types
          .add({"N",
                {{"a", "int8"}, {"b", "uint8"}, {"c", "int256"}, {"d", "bytes4"}, {"e", "bool"}}})
          .has_value());
  const Eip712Value ok = Eip712Value::Struct{
      {"a", -1}, {"b", 255u}, {"c", I256(-2)}, {"d", Bytes{1, 2, 3, 4}}, {"e", true}};
  auto data = types.encode_data("N", ok);
  REQUIRE(data.has_value());
  const std::string hex = to_hex(*data).substr(2 + 64);             // skip the type hash
  CHECK(hex.substr(0, 64) == std::string(64, 'f'));                 // int8 -1
  CHECK(hex.substr(64, 64) == std::string(62, '0') + "ff");         // uint8 255
  CHECK(hex.substr(128, 64) == std::string(63, 'f') + "e");         // int256 -2
  CHECK(hex.substr(192, 64) == "01020304" + std::string(56, '0'));  // bytes4, right-padded
  CHECK(hex.substr(256, 64) == std::string(63, '0') + "1");         // true
  struct Bad {
    const char* field;
    Eip712Value value;
  };
  const Bad bad[] = {{"a", 128}, {"a", -129},           {"b", 256},
                     {"b", -1},  {"d", Bytes{1, 2, 3}}, {"e", 1}};
  for (const auto& b : bad) {
    CAPTURE(b.field);
    Eip712Value::Struct fields = std::get<Eip712Value::Struct>(ok.data());
    for (auto& f : fields) {
      if (f.first == b.field) f.second = b.value;
    }
    auto r = types.encode_data("N", Eip712Value(fields));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == Eip712ErrorCode::kBadValue);
    CHECK(r.error().where.find(std::string("N.") + b.field) == 0);
  }
}

TEST_CASE("malformed typed data is refused with the specific error and where it is") {
  const std::string mail = kMailJson;
  auto with = [&](auto&& edit) {
    auto j = nlohmann::json::parse(mail);
    edit(j);
    return j.dump();
  };
  using nlohmann::json;
  CHECK(error_of("{not json") == Eip712ErrorCode::kBadJson);
  CHECK(error_of("[]") == Eip712ErrorCode::kNotAnObject);
  CHECK(error_of(with([](json& j) { j.erase("message"); })) == Eip712ErrorCode::kMissingKey);
  CHECK(error_of(with([](json& j) { j["primaryType"] = "Letter"; })) ==
        Eip712ErrorCode::kUnknownType);
  CHECK(error_of(with([](json& j) { j["primaryType"] = "EIP712Domain"; })) ==
        Eip712ErrorCode::kBadTypeDefinition);
  CHECK(error_of(with([](json& j) { j["types"]["Mail"][2]["type"] = "strin"; })) ==
        Eip712ErrorCode::kUnknownType);
  CHECK(error_of(with([](json& j) { j["types"]["Mail"][2]["type"] = "uint7"; })) ==
        Eip712ErrorCode::kUnknownType);
  CHECK(error_of(with([](json& j) { j["types"]["Mail"][2]["type"] = "string[01]"; })) ==
        Eip712ErrorCode::kBadTypeDefinition);
  CHECK(error_of(with([](json& j) { j["types"]["Mail"][2] = json::object(); })) ==
        Eip712ErrorCode::kBadTypeDefinition);
  CHECK(error_of(with([](json& j) { j["types"]["Mail"][1]["name"] = "from"; })) ==
        Eip712ErrorCode::kBadTypeDefinition);
  CHECK(error_of(with([](json& j) { j["message"]["to"].erase("wallet"); })) ==
        Eip712ErrorCode::kMissingField);
  CHECK(error_of(with([](json& j) { j["message"]["extra"] = 1; })) ==
        Eip712ErrorCode::kUnexpectedField);
  CHECK(error_of(with([](json& j) { j["message"]["to"] = "Bob"; })) ==
        Eip712ErrorCode::kNotAnObject);
  CHECK(error_of(with([](json& j) { j["message"]["contents"] = 5; })) ==
        Eip712ErrorCode::kBadValue);
  CHECK(error_of(with([](json& j) { j["domain"]["chainId"] = 1.5; })) ==
        Eip712ErrorCode::kBadValue);
  CHECK(error_of(with([](json& j) { j["domain"]["chainId"] = "-1"; })) ==
        Eip712ErrorCode::kBadValue);
  CHECK(error_of(with([](json& j) {
          j["message"]["to"]["wallet"] =
              "0xBBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB";  // bad EIP-55
        })) == Eip712ErrorCode::kBadValue);
  CHECK(error_of(with([](json& j) { j["domain"]["httpOrigin"] = "x"; })) ==
        Eip712ErrorCode::kUnexpectedField);
  CHECK(error_of(with([](json& j) {
          j["types"]["EIP712Domain"][2]["type"] = "uint64";  // chainId must be uint256
        })) == Eip712ErrorCode::kBadDomain);
  CHECK(error_of(with([](json& j) {
          j["types"].erase("EIP712Domain");
          j["domain"]["origin"] = "x";
        })) == Eip712ErrorCode::kBadDomain);

  auto j = nlohmann::json::parse(mail);
  j["message"]["to"]["wallet"] = "0x12";
  auto r = hash_typed_data(j);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().where.starts_with("message.to.wallet"));
  CHECK(r.error().message().find("message.to.wallet") != std::string::npos);
}

TEST_CASE("fixed-size arrays must have exactly their length") {
  Eip712Types types;
  REQUIRE(types.add({"P", {{"xs", "uint8[2]"}}}).has_value());
  auto r = types.hash_struct("P", Eip712Value::Struct{{"xs", Eip712Value::Array{1, 2, 3}}});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Eip712ErrorCode::kArrayLength);
  CHECK(types.hash_struct("P", Eip712Value::Struct{{"xs", Eip712Value::Array{1, 2}}}).has_value());
}

TEST_CASE("struct type definitions refuse bad and duplicate names") {
  Eip712Types types;
  REQUIRE(types.add({"P", {{"x", "uint8"}}}).has_value());
  CHECK(types.add({"P", {{"x", "uint8"}}}).error().code == Eip712ErrorCode::kBadTypeDefinition);
  CHECK(types.add({"uint256", {}}).error().code == Eip712ErrorCode::kBadTypeDefinition);
  CHECK(types.add({"A B", {}}).error().code == Eip712ErrorCode::kBadTypeDefinition);
  CHECK(types.add({"Q", {{"x", "uint8"}, {"x", "bool"}}}).error().code ==
        Eip712ErrorCode::kBadTypeDefinition);
  CHECK(types.add({"R", {{"", "uint8"}}}).error().code == Eip712ErrorCode::kBadTypeDefinition);
}

TEST_CASE("values nested beyond the depth limit are refused with kTooDeep, not a crash") {
  std::string type = "uint8";
  std::string json = "1";
  for (int i = 0; i < kEip712MaxDepth + 5; ++i) {
    type += "[]";
    json = "[" + json + "]";
  }
  Eip712Types types;
  REQUIRE(types.add({"Deep", {{"v", type}}}).has_value());
  auto v = types.value_from_json("Deep", nlohmann::json::parse("{\"v\":" + json + "}"), "m");
  REQUIRE_FALSE(v.has_value());
  CHECK((v.error().code == Eip712ErrorCode::kTooDeep ||
         v.error().code == Eip712ErrorCode::kBadTypeDefinition));
}

TEST_CASE("the golden RiskReport vector (cast-computed, asserted by Foundry) hashes alike in C++") {
  // tests/data/risk_report_eip712.json: computed with cast 1.7.1, also asserted by
  // contracts/test/GoldenVector.t.sol. Here the struct is defined the way the keeper will.
  const auto golden = nlohmann::json::parse(
      varkeeper::test::read_file(std::string(VARKEEPER_DATA_DIR) + "/risk_report_eip712.json"));
  Eip712Types types;
  REQUIRE(types
              .add({"RiskReport",
                    {{"portfolioId", "uint64"},
                     {"round", "uint64"},
                     {"observedAt", "uint64"},
                     {"horizon", "uint32"},
                     {"confidence", "uint64"},
                     {"method", "uint8"},
                     {"breakerStatus", "uint8"},
                     {"portfolioValue", "uint96"},
                     {"valueAtRisk", "uint64"},
                     {"expectedShortfall", "uint64"},
                     {"configHash", "bytes32"}}})
              .has_value());
  auto encoded = types.encode_type("RiskReport");
  REQUIRE(encoded.has_value());
  CHECK(*encoded == golden["type_string"].get<std::string>());
  auto type_hash = types.type_hash("RiskReport");
  REQUIRE(type_hash.has_value());
  CHECK(to_hex(*type_hash) == golden["type_hash"].get<std::string>());

  const auto& r = golden["report"];
  const auto u = [&](const char* field) {
    auto v = u256_from_string(r[field].get<std::string>());
    REQUIRE(v.has_value());
    return *v;
  };
  auto config_hash = from_hex_fixed<32>(r["configHash"].get<std::string>());
  REQUIRE(config_hash.has_value());
  const Eip712Value report = Eip712Value::Struct{
      {"portfolioId", u("portfolioId")},     {"round", u("round")},
      {"observedAt", u("observedAt")},       {"horizon", u("horizon")},
      {"confidence", u("confidence")},       {"method", u("method")},
      {"breakerStatus", u("breakerStatus")}, {"portfolioValue", u("portfolioValue")},
      {"valueAtRisk", u("valueAtRisk")},     {"expectedShortfall", u("expectedShortfall")},
      {"configHash", *config_hash}};
  auto struct_hash = types.hash_struct("RiskReport", report);
  REQUIRE(struct_hash.has_value());
  CHECK(to_hex(*struct_hash) == golden["struct_hash"].get<std::string>());

  const auto& d = golden["domain"];
  const Eip712Domain domain{d["name"], d["version"], d["chainId"].get<std::uint64_t>(),
                            addr(d["verifyingContract"].get<std::string>()), std::nullopt};
  const Hash32 separator = domain_separator(domain);
  CHECK(to_hex(separator) == d["separator"].get<std::string>());
  const Hash32 digest = eip712_digest(separator, *struct_hash);
  CHECK(to_hex(digest) == golden["digest"].get<std::string>());

  auto key = SecretKey::from_hex(golden["private_key"].get<std::string>());
  REQUIRE(key.has_value());
  CHECK(to_checksum_address(address_of(*key)) == golden["signer"].get<std::string>());
  CHECK(to_hex(to_rsv(sign_hash(digest, *key))) == golden["signature"]["rsv"].get<std::string>());
}
