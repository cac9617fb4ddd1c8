// ContractAbi: bindings from a Foundry artifact (tests/data/RiskOracle.artifact.json, a copy of
// the forge build output with the metadata dropped). Expected values come from solc (the
// artifact's own "methodIdentifiers") and from Foundry's cast 1.7.1, with the command that
// produced each one written beside it.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "chain/contract_abi.hpp"
#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using varkeeper::test::read_file;

namespace {

const std::string kArtifactPath = std::string(VARKEEPER_DATA_DIR) + "/RiskOracle.artifact.json";

const ContractAbi& oracle_abi() {
  static const ContractAbi abi = [] {
    auto loaded = ContractAbi::load(kArtifactPath);
    REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error().describe()));
    return *loaded;
  }();
  return abi;
}

Bytes hex(std::string_view text) { return *from_hex(text); }

Bytes word(std::uint64_t v) {
  Bytes w(32, 0);
  for (int i = 0; i < 8; ++i) w[31 - i] = static_cast<std::uint8_t>(v >> (8 * i));
  return w;
}

}  // namespace

TEST_CASE("every function selector equals solc's methodIdentifiers in the artifact") {
  const auto root = nlohmann::json::parse(read_file(kArtifactPath));
  const auto& ids = root["methodIdentifiers"];
  const auto& abi = oracle_abi();
  REQUIRE(abi.functions().size() == ids.size());
  for (const auto& f : abi.functions()) {
    const std::string sig = f.signature.canonical();
    CAPTURE(sig);
    REQUIRE(ids.contains(sig));  // tuples canonicalised exactly as solc does
    CHECK(to_hex(f.selector, false) == ids[sig].get<std::string>());
  }
}

TEST_CASE("functions, events and errors are found by name and by signature") {
  const auto& abi = oracle_abi();
  auto latest = abi.function("latest");
  REQUIRE(latest);
  CHECK((*latest)->signature.canonical() == "latest(uint64)");
  CHECK((*latest)->is_view());
  REQUIRE((*latest)->outputs.size() == 1);
  CHECK((*latest)->outputs[0].type.kind == AbiKind::kTuple);
  CHECK((*latest)->outputs[0].internal_type == "struct AcceptedReport");
  // By signature, with a parameter name and "uint" spellings tolerated.
  auto by_sig = abi.function("setQuorum(uint8 newQuorum)");
  REQUIRE(by_sig);
  CHECK(to_hex((*by_sig)->selector) == "0x6dcab78f");  // cast sig "setQuorum(uint8)"
  auto submit = abi.function("submit");
  REQUIRE(submit);
  // cast sig "submit((uint64,uint64,uint64,uint32,uint64,uint8,uint8,uint96,uint64,uint64,
  // bytes32),(uint8,bytes32,bytes32)[])"
  CHECK(to_hex((*submit)->selector) == "0xffaf1da6");
  CHECK((*abi.function("addSigner"))->state_mutability == "nonpayable");
  auto ev = abi.event("ReportAccepted");
  REQUIRE(ev);
  // cast sig-event "ReportAccepted(uint64 indexed,uint64 indexed,uint64,uint64,uint8)"
  CHECK(to_hex((*ev)->topic0) ==
        "0x97fe7f1a661a2b8f2a1d2f10358b583b91f3fb3163f30cb1dddbcb38e025ccb2");
  auto err = abi.error("NoReport");
  REQUIRE(err);
  CHECK(to_hex((*err)->selector) == "0xd9f04441");  // cast sig "NoReport(uint64)"
  REQUIRE(abi.constructor_inputs().size() == 1);
  CHECK(abi.constructor_inputs()[0].name == "initialOwner");
  CHECK(abi.constructor_inputs()[0].type == abi_address());
}

TEST_CASE("unknown names and signatures are refused with the matching error") {
  const auto& abi = oracle_abi();
  CHECK(abi.function("nope").error().code == BindingError::kUnknownFunction);
  CHECK(abi.function("latest(uint256)").error().code == BindingError::kUnknownFunction);
  CHECK(abi.function("latest(uint7)").error().code == BindingError::kBadSignature);
  CHECK(abi.event("NoReport").error().code == BindingError::kUnknownEvent);
  CHECK(abi.error("ReportAccepted").error().code == BindingError::kUnknownError);
  CHECK(abi.function("nope").error().describe() == "nope: no such function");
}

TEST_CASE("an overloaded name needs the full signature") {
  const auto abi = ContractAbi::from_json_text(R"([
    {"type":"function","name":"f","inputs":[{"name":"a","type":"uint256"}],"outputs":[]},
    {"type":"function","name":"f","inputs":[{"name":"a","type":"address"}],"outputs":[]}])");
  REQUIRE(abi);
  CHECK(abi->function("f").error().code == BindingError::kAmbiguousName);
  auto f = abi->function("f(address)");
  REQUIRE(f);
  CHECK((*f)->signature.canonical() == "f(address)");
  CHECK(abi->function("f(uint)"));  // uint canonicalises to uint256
  // A bare ABI has no bytecode to deploy.
  CHECK(abi->deploy_data({}).error().code == BindingError::kNoBytecode);
}

TEST_CASE("a call is encoded by function name as cast calldata encodes it") {
  const auto& abi = oracle_abi();
  auto data = abi.encode_call("latest", {AbiValue::from_uint(99)});
  REQUIRE(data);
  // cast calldata "latest(uint64)" 99
  CHECK(to_hex(*data) ==
        "0xb0d665f70000000000000000000000000000000000000000000000000000000000000063");
  auto bad = abi.encode_call("latest", {AbiValue::from_string("x")});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == BindingError::kEncodeFailed);
  REQUIRE(bad.error().encode);
  CHECK(bad.error().encode->code == AbiEncodeError::kWrongValueKind);
  CHECK(abi.encode_call("latest", {AbiValue::from_uint(U256(1) << 64)}).error().encode->code ==
        AbiEncodeError::kUintOutOfRange);
}

TEST_CASE("return values are decoded into the function's output tuple") {
  // cast abi-encode "f((uint64,uint64,uint64,uint64,uint96,uint64,uint32,uint8,uint8,uint40,
  // bytes32))" "(5,1700000000,52000000000000000,81000000000000000,100000000000000,
  // 990000000000000000,86400,3,0,1700000012,0x11..11)"
  const Bytes ret =
      hex("0x00000000000000000000000000000000000000000000000000000000000000050000000000000000000000"
          "00000000000000000000000000000000006553f1000000000000000000000000000000000000000000000000"
          "0000b8bdb978520000000000000000000000000000000000000000000000000000011fc51222ce8000000000"
          "00000000000000000000000000000000000000000000005af3107a4000000000000000000000000000000000"
          "0000000000000000000dbd2fc137a30000000000000000000000000000000000000000000000000000000000"
          "0000015180000000000000000000000000000000000000000000000000000000000000000300000000000000"
          "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
          "0000000000000000006553f10c11111111111111111111111111111111111111111111111111111111111111"
          "11");
  auto values = oracle_abi().decode_result("latest", ret);
  REQUIRE(values);
  REQUIRE(values->size() == 1);
  const auto* r = (*values)[0].as_list();
  REQUIRE(r);
  REQUIRE(r->size() == 11);
  CHECK(*(*r)[0].as_uint() == 5);
  CHECK(*(*r)[2].as_uint() == U256(52'000'000'000'000'000ULL));
  CHECK(*(*r)[3].as_uint() == U256(81'000'000'000'000'000ULL));
  CHECK(*(*r)[6].as_uint() == 86'400);
  CHECK(*(*r)[9].as_uint() == 1'700'000'012);
  CHECK(*(*r)[10].as_bytes() == Bytes(32, 0x11));
  // One byte short: a strict-decoding error with its offset.
  auto short_data = oracle_abi().decode_result("latest", ByteView(ret).first(ret.size() - 1));
  REQUIRE_FALSE(short_data);
  CHECK(short_data.error().code == BindingError::kDecodeFailed);
  CHECK(short_data.error().decode->code == AbiDecodeError::kTruncated);
}

TEST_CASE("a log of the contract's event is found by topic0 and decoded") {
  // ReportAccepted(portfolioId = 1 indexed, round = 7 indexed, 0.052e18, 0.081e18, 1):
  // data from cast abi-encode "f(uint64,uint64,uint8)" 52000000000000000 81000000000000000 1
  const Bytes data = hex(
      "0x00000000000000000000000000000000000000000000000000b8bdb97852000000000000000000000000000000"
      "0000000000000000000000011fc51222ce80000000000000000000000000000000000000000000000000000000"
      "000000000001");
  Hash32 t0 =
      *from_hex_fixed<32>("0x97fe7f1a661a2b8f2a1d2f10358b583b91f3fb3163f30cb1dddbcb38e025ccb2");
  Hash32 t1{};
  t1[31] = 1;
  Hash32 t2{};
  t2[31] = 7;
  const std::vector<Hash32> topics{t0, t1, t2};
  auto log = oracle_abi().decode_log(topics, data);
  REQUIRE(log);
  CHECK(log->event->name == "ReportAccepted");
  REQUIRE(log->args.size() == 5);
  CHECK(*log->args[0].as_uint() == 1);
  CHECK(*log->args[1].as_uint() == 7);
  CHECK(*log->args[2].as_uint() == U256(52'000'000'000'000'000ULL));
  CHECK(*log->args[4].as_uint() == 1);
  // A topic0 the contract does not declare.
  Hash32 other = t0;
  other[0] ^= 1;
  const std::vector<Hash32> unknown{other, t1, t2};
  CHECK(oracle_abi().decode_log(unknown, data).error().code == BindingError::kUnknownEventTopic);
  CHECK(oracle_abi().decode_log({}, data).error().code == BindingError::kUnknownEventTopic);
  // Too few topics for the event.
  const std::vector<Hash32> two{t0, t1};
  auto bad = oracle_abi().decode_log(two, data);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == BindingError::kDecodeFailed);
  CHECK(bad.error().decode->code == AbiDecodeError::kTopicCountMismatch);
}

TEST_CASE("revert data is decoded into the contract's custom error by name") {
  Bytes data = hex("0xd9f04441");  // cast sig "NoReport(uint64)"
  append(data, word(99));
  auto reason = oracle_abi().decode_revert(data);
  REQUIRE(reason);
  CHECK(reason->kind == RevertKind::kCustom);
  CHECK(reason->error_signature == "NoReport(uint64)");
  REQUIRE(reason->args.size() == 1);
  CHECK(*reason->args[0].as_uint() == 99);
  CHECK(describe(*reason) == "NoReport(99)");
  // Error(string) and Panic(uint256) are still recognised; an unknown selector is reported.
  // cast calldata "Panic(uint256)" 17
  auto panic = oracle_abi().decode_revert(
      hex("0x4e487b710000000000000000000000000000000000000000000000000000000000000011"));
  REQUIRE(panic);
  CHECK(panic->kind == RevertKind::kPanic);
  CHECK(panic->panic_code == 0x11);
  auto unknown = oracle_abi().decode_revert(hex("0x12345678"));
  REQUIRE(unknown);
  CHECK(unknown->kind == RevertKind::kUnknownSelector);
  // NoReport with a dirty uint64 is a strict-decoding failure, not a wrong value.
  Bytes dirty = hex("0xd9f04441");
  Bytes w = word(99);
  w[0] = 1;
  append(dirty, w);
  auto refused = oracle_abi().decode_revert(dirty);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == AbiDecodeError::kDirtyHighBits);
}

TEST_CASE("deploy data is the creation code followed by the encoded constructor arguments") {
  const auto& abi = oracle_abi();
  const auto root = nlohmann::json::parse(read_file(kArtifactPath));
  const Bytes creation = hex(root["bytecode"]["object"].get<std::string>());
  REQUIRE(abi.bytecode() == creation);
  auto data = abi.deploy_data(
      {AbiValue::from_address(*parse_address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"))});
  REQUIRE(data);
  Bytes expected = creation;
  // cast abi-encode "constructor(address)" 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
  append(expected, hex("0x000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266"));
  CHECK(*data == expected);
  CHECK(abi.deploy_data({}).error().code == BindingError::kEncodeFailed);
}

TEST_CASE("deployed code matches the artifact except inside the immutable ranges") {
  const auto& abi = oracle_abi();
  const Bytes& code = abi.deployed_bytecode();
  REQUIRE_FALSE(code.empty());
  // RiskOracle's EIP712 base keeps 7 immutables (cached domain separator, chain id, ...).
  REQUIRE(abi.immutable_ranges().size() == 7);
  CHECK(abi.deployed_code_matches(code));
  Bytes changed = code;
  for (const auto& r : abi.immutable_ranges()) {
    for (std::size_t i = 0; i < r.length; ++i) changed[r.start + i] ^= 0x5a;
  }
  CHECK(abi.deployed_code_matches(changed));  // only immutables differ
  changed[0] ^= 1;
  CHECK_FALSE(abi.deployed_code_matches(changed));
  Bytes last = code;
  last.at(last.size() - 1) ^= 1;
  CHECK_FALSE(abi.deployed_code_matches(last));
  CHECK_FALSE(abi.deployed_code_matches(ByteView(code).first(code.size() - 1)));
  CHECK_FALSE(abi.deployed_code_matches({}));
}

TEST_CASE("a malformed artifact is refused with the error and the JSON location") {
  struct Case {
    const char* json;
    ArtifactError code;
    const char* where;
  };
  const Case cases[] = {
      {"{", ArtifactError::kNotJson, ""},
      {"{}", ArtifactError::kNotArtifact, ""},
      {"42", ArtifactError::kNotArtifact, ""},
      {R"({"abi": {}})", ArtifactError::kAbiNotArray, "abi"},
      {R"({"abi": [1]})", ArtifactError::kEntryNotObject, "abi[0]"},
      {R"([{"type": 1}])", ArtifactError::kWrongFieldType, "[0].type"},
      {R"([{"type": "modifier", "name": "m"}])", ArtifactError::kUnknownEntryType, "[0].type"},
      {R"([{"type": "function", "inputs": []}])", ArtifactError::kMissingField, "[0].name"},
      {R"([{"type": "function", "name": "1f", "inputs": []}])", ArtifactError::kBadName,
       "[0].name"},
      {R"([{"type": "function", "name": "f", "inputs": {}}])", ArtifactError::kWrongFieldType,
       "[0].inputs"},
      {R"([{"type": "function", "name": "f", "inputs": [{"name": "x"}]}])",
       ArtifactError::kMissingField, "[0].inputs[0].type"},
      {R"([{"type": "function", "name": "f", "inputs": [{"type": "uint7"}]}])",
       ArtifactError::kBadParamType, "[0].inputs[0].type"},
      {R"([{"type": "function", "name": "f", "inputs": [{"type": "tuple"}]}])",
       ArtifactError::kMissingField, "[0].inputs[0].components"},
      {R"([{"type": "function", "name": "f", "inputs": [{"type": "tuplex", "components": []}]}])",
       ArtifactError::kBadParamType, "[0].inputs[0].type"},
      {R"([{"type": "function", "name": "f", "inputs": [{"type": "tuple",
            "components": [{"type": "bool"}, {"type": "uint8x"}]}]}])",
       ArtifactError::kBadParamType, "[0].inputs[0].components[1].type"},
      {R"([{"type": "function", "name": "f", "inputs": [], "outputs": [{"type": "bytes33"}]}])",
       ArtifactError::kBadParamType, "[0].outputs[0].type"},
      {R"([{"type": "event", "name": "E", "inputs": [{"type": "bool", "indexed": "yes"}]}])",
       ArtifactError::kWrongFieldType, "[0].inputs[0].indexed"},
      {R"([{"type": "function", "name": "f", "inputs": [{"type": "uint"}]},
           {"type": "function", "name": "f", "inputs": [{"type": "uint256"}]}])",
       ArtifactError::kDuplicateSignature, "[1]"},
      {R"([{"type": "constructor", "inputs": []}, {"type": "constructor", "inputs": []}])",
       ArtifactError::kDuplicateConstructor, "[1]"},
      {R"({"abi": [], "bytecode": {"object": "0x6001z"}})", ArtifactError::kBadBytecode,
       "bytecode.object"},
      {R"({"abi": [], "bytecode": {"object": "0x73__$5a1b$__"}})", ArtifactError::kUnlinkedBytecode,
       "bytecode.object"},
      {R"({"abi": [], "bytecode": 12})", ArtifactError::kWrongFieldType, "bytecode"},
      {R"({"abi": [], "deployedBytecode": {"object": "0x6001",
           "immutableReferences": {"7": [{"start": 1, "length": 32}]}}})",
       ArtifactError::kBadImmutableReferences, "deployedBytecode.immutableReferences.7"},
      {R"({"abi": [], "deployedBytecode": {"object": "0x6001",
           "immutableReferences": {"7": [{"start": -1, "length": 1}]}}})",
       ArtifactError::kBadImmutableReferences, "deployedBytecode.immutableReferences.7"},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.json));
    auto abi = ContractAbi::from_json_text(c.json);
    REQUIRE_FALSE(abi);
    CHECK(abi.error().code == c.code);
    CHECK(abi.error().where == c.where);
    CHECK_FALSE(abi.error().describe().empty());
  }
}

TEST_CASE("tuple nesting deeper than the ABI limit is refused, not recursed into") {
  std::string param = R"({"type": "bool"})";
  for (std::size_t i = 0; i <= kAbiMaxDepth + 1; ++i) {
    param = R"({"type": "tuple", "components": [)" + param + "]}";
  }
  auto abi = ContractAbi::from_json_text(R"([{"type": "function", "name": "f", "inputs": [)" +
                                         param + "]}]");
  REQUIRE_FALSE(abi);
  CHECK(abi.error().code == ArtifactError::kTooDeep);
}

TEST_CASE("an unreadable artifact file is named in the error") {
  auto abi = ContractAbi::load("/nonexistent/dir/RiskOracle.json");
  REQUIRE_FALSE(abi);
  CHECK(abi.error().code == ArtifactError::kUnreadableFile);
  CHECK(abi.error().describe() == "/nonexistent/dir/RiskOracle.json: cannot read the file");
}

TEST_CASE("fallback and receive entries are accepted and carry no callable name") {
  auto abi = ContractAbi::from_json_text(
      R"([{"type": "fallback", "stateMutability": "payable"}, {"type": "receive",
          "stateMutability": "payable"}, {"name": "g", "inputs": [], "constant": true}])");
  REQUIRE(abi);
  REQUIRE(abi->functions().size() == 1);
  CHECK(abi->functions()[0].is_view());  // pre-0.5 "constant": true, "type" omitted
  CHECK_FALSE(abi->has_bytecode());
}

TEST_CASE("a Hardhat artifact with bytecode as plain strings is read as well") {
  auto abi = ContractAbi::from_json_text(
      R"({"abi": [{"type": "constructor", "inputs": [{"name": "x", "type": "uint8"}]}],
          "bytecode": "0x6001", "deployedBytecode": "0x6002"})");
  REQUIRE(abi);
  CHECK(abi->bytecode() == Bytes{0x60, 0x01});
  CHECK(abi->deployed_bytecode() == Bytes{0x60, 0x02});
  CHECK(abi->deployed_code_matches(Bytes{0x60, 0x02}));
  auto data = abi->deploy_data({AbiValue::from_uint(7)});
  REQUIRE(data);
  Bytes expected{0x60, 0x01};
  append(expected, word(7));
  CHECK(*data == expected);
  // An interface: "0x" means no code.
  auto iface = ContractAbi::from_json_text(R"({"abi": [], "bytecode": {"object": "0x"}})");
  REQUIRE(iface);
  CHECK_FALSE(iface->has_bytecode());
}
