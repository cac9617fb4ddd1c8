// ContractAbi against Foundry on the real artifacts of the bundled contracts (<build>/contracts):
// the function selectors, event topics and error selectors equal what `forge inspect` reports for
// the same contract, every function's calldata for seeded random arguments equals `cast
// calldata`, and deploy data ends in `cast abi-encode` of the constructor arguments.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chain/contract_abi.hpp"
#include "chain/hex.hpp"
#include "keeper/deploy/deploy.hpp"
#include "tests/support/abi_random.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using varkeeper::test::run_process;

namespace {

const std::filesystem::path kArtifacts = varkeeper::test::artifacts_dir();
const std::string kContracts = std::string(VARKEEPER_SOURCE_DIR) + "/contracts";

ContractAbi load(const std::string& name) {
  auto abi = ContractAbi::load(kArtifacts / (name + ".json"));
  REQUIRE_MESSAGE(abi, (abi ? "" : abi.error().describe() + " (build varkeeper_contracts)"));
  return std::move(*abi);
}

// `forge inspect NAME FIELD --json` on the contracts' sources, as hex -> name. (forge keys
// events with struct parameters by their Solidity names, "PolicySet(RiskRebalancer.Policy)", so
// the hash is compared with the signature's name, and the hash covers the canonical types.)
std::map<std::string, std::string> forge_inspect(const std::string& name,
                                                 const std::string& field) {
  const auto r = run_process({VARKEEPER_FORGE, "inspect", name, field, "--root", kContracts,
                              "--use", kContracts + "/tools/solc", "--offline", "--json"});
  REQUIRE_MESSAGE(r.exit_code == 0, "forge inspect " << name << " " << field << ": " << r.err);
  const auto json = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE_MESSAGE(json.is_object(), "forge inspect " << name << " " << field << ": " << r.out);
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : json.items()) {
    REQUIRE_MESSAGE(v.is_string(), "forge inspect " << name << " " << field << ": " << r.out);
    std::string h = v.get<std::string>();
    if (h.rfind("0x", 0) == 0) h = h.substr(2);
    out[h] = k.substr(0, k.find('('));
  }
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// cast's argument syntax for a value.
std::string cast_arg(const AbiType& type, const AbiValue& value, bool nested) {
  switch (type.kind) {
    case AbiKind::kUint: return u256_to_decimal(*value.as_uint());
    case AbiKind::kInt: {
      const AbiInt& v = *value.as_int();
      return (v.negative ? "-" : "") + u256_to_decimal(v.magnitude);
    }
    case AbiKind::kAddress: return to_hex(*value.as_address());
    case AbiKind::kBool: return *value.as_bool() ? "true" : "false";
    case AbiKind::kFixedBytes:
    case AbiKind::kBytes: return to_hex(*value.as_bytes());
    case AbiKind::kString: return nested ? "\"" + *value.as_string() + "\"" : *value.as_string();
    default: break;
  }
  const auto& items = *value.as_list();
  std::string out = type.kind == AbiKind::kTuple ? "(" : "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ", ";
    const AbiType& t = type.kind == AbiKind::kTuple ? type.components[i] : type.components[0];
    out += cast_arg(t, items[i], true);
  }
  return out + (type.kind == AbiKind::kTuple ? ")" : "]");
}

}  // namespace

TEST_CASE("selectors, event topics and error selectors of every artifact equal forge inspect") {
  varkeeper::test::require_tool(VARKEEPER_FORGE);
  for (const char* name : varkeeper::keeper::kBundledContracts) {
    CAPTURE(std::string(name));
    const ContractAbi abi = load(name);
    std::map<std::string, std::string> functions;
    for (const auto& f : abi.functions()) {
      functions[to_hex(f.selector, false)] = f.name;
    }
    CHECK(functions == forge_inspect(name, "methodIdentifiers"));
    std::map<std::string, std::string> events;
    for (const auto& e : abi.events()) events[to_hex(e.topic0, false)] = e.name;
    CHECK(events == forge_inspect(name, "events"));
    std::map<std::string, std::string> errors;
    for (const auto& e : abi.errors()) errors[to_hex(e.selector, false)] = e.name;
    CHECK(errors == forge_inspect(name, "errors"));
  }
}

TEST_CASE("calldata of every function for random arguments equals cast calldata") {
  varkeeper::test::require_tool(VARKEEPER_CAST);
  const std::uint64_t seed = varkeeper::test::test_seed(0xca11da7a);
  varkeeper::test::AbiRandom random(seed);
  std::size_t compared = 0;
  for (const char* name : varkeeper::keeper::kBundledContracts) {
    const ContractAbi abi = load(name);
    for (const auto& f : abi.functions()) {
      const std::string sig = f.signature.canonical();
      CAPTURE(sig);
      std::vector<AbiValue> args;
      std::vector<std::string> argv{VARKEEPER_CAST, "calldata", sig};
      for (const auto& p : f.inputs) {
        args.push_back(random.value(p.type));
        argv.push_back(cast_arg(p.type, args.back(), false));
      }
      // By name when the name is not overloaded, else by signature.
      const auto by_name = abi.function(f.name);
      auto data = abi.encode_call(by_name ? f.name : sig, args);
      REQUIRE_MESSAGE(data, (data ? "" : data.error().describe()));
      const auto cast = run_process(argv);
      REQUIRE_MESSAGE(cast.exit_code == 0, cast.err);
      CHECK(to_hex(*data) == trim(cast.out));
      // And the arguments decode back.
      auto back = decode_call(f.signature, *data);
      REQUIRE(back);
      CHECK(*back == args);
      ++compared;
    }
  }
  MESSAGE(compared << " functions compared with cast calldata");
  CHECK(compared > 100);
}

TEST_CASE("deploy data is the creation code followed by cast abi-encode of the constructor") {
  varkeeper::test::require_tool(VARKEEPER_CAST);
  const std::uint64_t seed = varkeeper::test::test_seed(0xc0de);
  varkeeper::test::AbiRandom random(seed);
  for (const char* name : varkeeper::keeper::kBundledContracts) {
    CAPTURE(std::string(name));
    const ContractAbi abi = load(name);
    REQUIRE(abi.has_bytecode());
    std::vector<AbiValue> args;
    std::string sig = "constructor(";
    std::vector<std::string> argv{VARKEEPER_CAST, "abi-encode", ""};
    for (std::size_t i = 0; i < abi.constructor_inputs().size(); ++i) {
      const auto& p = abi.constructor_inputs()[i];
      sig += (i ? "," : "") + canonical_name(p.type);
      args.push_back(random.value(p.type));
      argv.push_back(cast_arg(p.type, args.back(), false));
    }
    argv[2] = sig + ")";
    auto data = abi.deploy_data(args);
    REQUIRE(data);
    const auto cast = run_process(argv);
    REQUIRE_MESSAGE(cast.exit_code == 0, cast.err);
    Bytes expected = abi.bytecode();
    append(expected, *from_hex(trim(cast.out)));
    CHECK(to_hex(*data) == to_hex(expected));
  }
}
