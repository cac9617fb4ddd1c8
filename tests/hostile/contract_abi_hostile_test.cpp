// Hostile input for the artifact loader and the deployment-file reader: byte and structural
// mutations of the real RiskOracle artifact (tests/data) and of a deployment file, and deep JSON
// nesting. Nothing may crash (ASan/UBSan run this too); every refusal carries an error code and a
// location, and every accepted mutation yields a usable ContractAbi.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "chain/contract_abi.hpp"
#include "keeper/deploy/deploy.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using varkeeper::test::read_file;

namespace {

// Uses everything a caller would use; must not crash whatever was loaded.
void exercise(const ContractAbi& abi) {
  for (const auto& f : abi.functions()) {
    (void)abi.function(f.name);
    (void)abi.decode_result(f.signature.canonical(), Bytes(64, 0));
  }
  for (const auto& e : abi.events()) {
    const std::vector<Hash32> topics{e.topic0};
    (void)abi.decode_log(topics, Bytes(32, 0));
  }
  (void)abi.decode_revert(Bytes{0x08, 0xc3, 0x79, 0xa0});
  (void)abi.deployed_code_matches(abi.deployed_bytecode());
  (void)abi.deploy_data({});
}

// Replaces a random JSON value somewhere in `j` by a value of another kind.
void mutate_json(nlohmann::json& j, std::mt19937_64& rng, int depth = 0) {
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  if ((j.is_object() || j.is_array()) && !j.empty() && depth < 8 && pick(4) != 0) {
    const std::size_t i = pick(j.size());
    auto it = j.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(i));
    mutate_json(*it, rng, depth + 1);
    return;
  }
  switch (pick(9)) {
    case 0: j = nullptr; break;
    case 1: j = 42; break;
    case 2: j = -1; break;
    case 3: j = "tuple[]"; break;
    case 4: j = "uint7"; break;
    case 5: j = nlohmann::json::array(); break;
    case 6: j = nlohmann::json::object(); break;
    case 7: j = true; break;
    default:
      if (j.is_object() && !j.empty()) {
        j.erase(j.begin());
      } else {
        j = "0x__$deadbeef$__";
      }
  }
}

}  // namespace

TEST_CASE("mutated artifacts are loaded or refused with a located error, never crash") {
  const std::uint64_t seed = varkeeper::test::test_seed(0xa27f);
  std::mt19937_64 rng(seed);
  const std::string text = read_file(std::string(VARKEEPER_DATA_DIR) + "/RiskOracle.artifact.json");
  const auto root = nlohmann::json::parse(text);
  std::size_t refused = 0;
  std::size_t loaded = 0;
  // Structural mutations: one to three values replaced.
  for (int i = 0; i < 3000; ++i) {
    nlohmann::json j = root;
    const int n = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n; ++k) mutate_json(j, rng);
    auto abi = ContractAbi::from_json_text(j.dump());
    if (abi) {
      exercise(*abi);
      ++loaded;
    } else {
      CHECK_FALSE(abi.error().describe().empty());
      ++refused;
    }
  }
  // Byte mutations of the text (most are no longer JSON; some hit hex digits or names).
  for (int i = 0; i < 300; ++i) {
    std::string t = text;
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k) t[rng() % t.size()] = static_cast<char>(rng() % 256);
    auto abi = ContractAbi::from_json_text(t);
    if (abi) {
      exercise(*abi);
      ++loaded;
    } else {
      ++refused;
    }
  }
  MESSAGE(loaded << " mutated artifacts loaded, " << refused << " refused");
  CHECK(refused > 0);
  CHECK(loaded > 0);
}

TEST_CASE("deeply nested JSON and components are refused without exhausting the stack") {
  const std::string deep_array(100'000, '[');
  CHECK(ContractAbi::from_json_text(deep_array).error().code == ArtifactError::kNotJson);
  // Valid JSON, 10 000 levels of tuple components.
  std::string param = R"({"type":"bool"})";
  for (int i = 0; i < 10'000; ++i) param = R"({"type":"tuple","components":[)" + param + "]}";
  const auto abi =
      ContractAbi::from_json_text(R"([{"type":"event","name":"E","inputs":[)" + param + "]}]");
  REQUIRE_FALSE(abi);
  CHECK(abi.error().code == ArtifactError::kTooDeep);
}

TEST_CASE("mutated deployment files are read or refused with one sentence, never crash") {
  const std::uint64_t seed = varkeeper::test::test_seed(0xa27f);
  std::mt19937_64 rng(seed + 1);
  const std::string good = R"({
    "chain_id": 31337, "block": 9, "deployer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "contracts": {"RiskOracle": {"artifact": "RiskOracle",
      "address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      "tx_hash": "0x9ab2497f8a9c38a6f2ddcc56dc341eac5e1fe983a3a95a592d17334e45cb9287",
      "code_hash": "0xd19b83649525d776a6974b8a9fc6b96045268769faf998f110d103852213c571",
      "block": 1, "constructor_args": "0x"}}})";
  const auto parsed = varkeeper::keeper::deployment_from_json(good, "good.json");
  CHECK(parsed.contracts.size() == 1);
  const auto root = nlohmann::json::parse(good);
  std::size_t refused = 0;
  for (int i = 0; i < 2000; ++i) {
    nlohmann::json j = root;
    mutate_json(j, rng);
    try {
      (void)varkeeper::keeper::deployment_from_json(j.dump(), "mutated.json");
    } catch (const varkeeper::keeper::DeployError& e) {
      const std::string what = e.what();
      CHECK(what.rfind("deployment file mutated.json", 0) == 0);
      ++refused;
    }
  }
  CHECK(refused > 0);
}
