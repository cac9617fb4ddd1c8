// deploy_all and `varkeeper deploy` against a real anvil: every contract gets code, the wiring and
// owner settings read back the same through the ABI bindings and through `cast call`, a second
// run deploys nothing, a changed entry redeploys exactly what depends on it, and a reverting view
// is decoded into the contract's custom error by name.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "chain/contract.hpp"
#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "chain/secp256k1.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using varkeeper::keeper::AnvilNode;
using varkeeper::keeper::Deployment;
using varkeeper::keeper::DeployOptions;
using varkeeper::test::read_file;
using varkeeper::test::run_process;

namespace {

const std::filesystem::path kArtifacts = varkeeper::test::artifacts_dir();

struct Chain {
  AnvilNode anvil;
  EndpointPool pool;
  EthClient eth;
  InMemoryTxStore store;
  TxManager mgr;
  Chain()
      : pool(make_clients(anvil.http_url())),
        eth(pool),
        mgr(eth, store, *SecretKey::from_hex(varkeeper::keeper::kAnvilKey0), 31337) {
    REQUIRE(mgr.start());
  }
  static std::vector<std::unique_ptr<JsonRpcClient>> make_clients(const std::string& url) {
    std::vector<std::unique_ptr<JsonRpcClient>> v;
    v.push_back(std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(url))));
    return v;
  }
  // `cast call ADDRESS SIG ARGS... --rpc-url URL`, its stdout without the final newline.
  std::string cast_call(const Address& to, const std::string& sig,
                        const std::vector<std::string>& args = {}) {
    std::vector<std::string> argv{VARKEEPER_CAST, "call", to_checksum_address(to), sig};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--rpc-url");
    argv.push_back(anvil.http_url());
    const auto r = run_process(argv);
    REQUIRE_MESSAGE(r.exit_code == 0, "cast call " << sig << " failed: " << r.err);
    std::string out = r.out;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }
};

const ContractAbi& artifact(const std::string& name) {
  static std::map<std::string, ContractAbi> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    auto abi = ContractAbi::load(kArtifacts / (name + ".json"));
    REQUIRE_MESSAGE(abi, (abi ? "" : abi.error().describe() + " (build varkeeper_contracts)"));
    it = cache.emplace(name, std::move(*abi)).first;
  }
  return it->second;
}

Address addr_of(const std::string& hex) { return *parse_address(hex); }
const Address kSigner0 = addr_of("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");  // anvil #0
const Address kSigner1 = addr_of("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");  // anvil #1

DeployOptions mock_options() {
  DeployOptions o;
  o.artifacts_dir = kArtifacts;
  o.mocks = true;
  o.signers = {kSigner0, kSigner1};
  o.quorum = 2;
  o.limits = {{1, 3600, 60, 500'000'000'000'000'000ULL}};
  o.poll_interval = std::chrono::milliseconds(50);
  o.timeout = std::chrono::seconds(60);
  return o;
}

std::vector<AbiValue> view(Chain& c, const Deployment& d, const std::string& name,
                           const std::string& artifact_name, const std::string& fn,
                           const std::vector<AbiValue>& args = {}) {
  const Contract contract(c.eth, artifact(artifact_name), d.address_of(name), name);
  auto r = contract.call(fn, args);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().describe()));
  return *r;
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

TEST_CASE("deploy_all with mocks puts code at every address and the reads agree with cast call") {
  varkeeper::test::require_tool(VARKEEPER_CAST);
  Chain c;
  const Deployment d = varkeeper::keeper::deploy_all(c.eth, c.mgr, mock_options());
  CHECK(d.chain_id == 31337);
  CHECK(d.deployer == kSigner0);
  const std::vector<std::string> expected{
      "MockAggregatorBtcUsd", "MockAggregatorEthUsd", "MockConstantProductAMM",
      "MockERC20Risky",       "MockERC20Stable",      "RiskOracle",
      "RiskOracleFeed",       "RiskRebalancer",       "VaRProtection"};
  std::vector<std::string> names;
  for (const auto& [name, contract] : d.contracts) {
    names.push_back(name);
    CAPTURE(name);
    const auto code = c.eth.code(contract.address);
    REQUIRE(code);
    CHECK_FALSE(code->empty());
    CHECK(keccak256(*code) == contract.code_hash);
    CHECK(artifact(contract.artifact).deployed_code_matches(*code));
    CHECK_FALSE(contract.reused);
    CHECK(d.block >= contract.block);
    const auto receipt = c.eth.transaction_receipt(contract.tx_hash);
    REQUIRE(receipt);
    REQUIRE(*receipt);
    CHECK((*receipt)->contract_address == contract.address);
  }
  CHECK(names == expected);
  // 9 deployments, 2 addSigner, setQuorum, setLimits.
  CHECK(d.transactions_sent == 13);
  CHECK(*c.eth.transaction_count(kSigner0, BlockTag::latest()) == 13);

  const Address oracle = d.address_of("RiskOracle");
  // Owner settings, through the bindings and through cast.
  const auto quorum = view(c, d, "RiskOracle", "RiskOracle", "quorum");
  CHECK(*quorum[0].as_uint() == 2);
  CHECK(c.cast_call(oracle, "quorum()(uint8)") == "2");
  const auto owner = view(c, d, "RiskOracle", "RiskOracle", "owner");
  CHECK(*owner[0].as_address() == kSigner0);
  CHECK(c.cast_call(oracle, "owner()(address)") == to_checksum_address(kSigner0));
  CHECK(*view(c, d, "RiskOracle", "RiskOracle", "isSigner", {AbiValue::from_address(kSigner1)})[0]
             .as_bool());
  CHECK(c.cast_call(oracle, "isSigner(address)(bool)", {to_checksum_address(kSigner1)}) == "true");
  const auto limits =
      view(c, d, "RiskOracle", "RiskOracle", "limits", {AbiValue::from_uint(U256(1))});
  REQUIRE(limits.size() == 3);
  CHECK(*limits[0].as_uint() == 3600);
  CHECK(*limits[1].as_uint() == 60);
  CHECK(*limits[2].as_uint() == U256(500'000'000'000'000'000ULL));
  CHECK(c.cast_call(oracle, "limits(uint64)(uint32,uint32,uint64)", {"1"}) ==
        "3600\n60\n500000000000000000 [5e17]");
  // Wiring: each contract points at the ones it was built with.
  const auto feed_oracle = view(c, d, "RiskOracleFeed", "RiskOracleFeed", "oracle");
  CHECK(*feed_oracle[0].as_address() == oracle);
  CHECK(lower(c.cast_call(d.address_of("RiskOracleFeed"), "oracle()(address)")) ==
        lower(to_checksum_address(oracle)));
  const auto collateral = view(c, d, "VaRProtection", "VaRProtection", "collateral");
  CHECK(*collateral[0].as_address() == d.address_of("MockERC20Stable"));
  CHECK(c.cast_call(d.address_of("VaRProtection"), "collateral()(address)") ==
        to_checksum_address(d.address_of("MockERC20Stable")));
  const auto amm = view(c, d, "RiskRebalancer", "RiskRebalancer", "amm");
  CHECK(*amm[0].as_address() == d.address_of("MockConstantProductAMM"));
  CHECK(c.cast_call(d.address_of("RiskRebalancer"), "priceFeed()(address)") ==
        to_checksum_address(d.address_of("MockAggregatorEthUsd")));
  const auto answer = view(c, d, "MockAggregatorEthUsd", "MockAggregator", "latestRoundData");
  REQUIRE(answer.size() == 5);
  CHECK(*answer[1].as_int() == AbiInt::from_int64(3'000'00000000));
  CHECK(c.cast_call(d.address_of("MockERC20Stable"), "decimals()(uint8)") == "6");
  CHECK(c.cast_call(d.address_of("MockERC20Risky"), "symbol()(string)") == "\"mWETH\"");
}

TEST_CASE("a second deploy_all over the same deployment reuses everything and sends nothing") {
  Chain c;
  const Deployment first = varkeeper::keeper::deploy_all(c.eth, c.mgr, mock_options());
  const auto nonce = *c.eth.transaction_count(kSigner0, BlockTag::latest());
  const auto broadcasts = c.mgr.stats().broadcasts;
  const Deployment second = varkeeper::keeper::deploy_all(c.eth, c.mgr, mock_options(), first);
  CHECK(second.transactions_sent == 0);
  CHECK(c.mgr.stats().broadcasts == broadcasts);
  CHECK(*c.eth.transaction_count(kSigner0, BlockTag::latest()) == nonce);
  CHECK(second.block == first.block);
  REQUIRE(second.contracts.size() == first.contracts.size());
  for (const auto& [name, contract] : second.contracts) {
    CAPTURE(name);
    CHECK(contract.reused);
    CHECK(contract.address == first.contracts.at(name).address);
    CHECK(contract.tx_hash == first.contracts.at(name).tx_hash);
  }
  // The file round-trips.
  const Deployment parsed = varkeeper::keeper::deployment_from_json(
      varkeeper::keeper::deployment_to_json(second), "memory");
  CHECK(varkeeper::keeper::deployment_to_json(parsed) ==
        varkeeper::keeper::deployment_to_json(second));
}

TEST_CASE("a missing or mismatching entry is redeployed together with what depends on it") {
  Chain c;
  const Deployment first = varkeeper::keeper::deploy_all(c.eth, c.mgr, mock_options());
  Deployment edited = first;
  edited.contracts.erase("RiskOracleFeed");                  // never deployed
  edited.contracts.at("MockERC20Stable").code_hash[0] ^= 1;  // code hash does not match
  const Deployment second = varkeeper::keeper::deploy_all(c.eth, c.mgr, mock_options(), edited);
  // RiskOracleFeed, MockERC20Stable, and the three built on the stable token.
  CHECK(second.transactions_sent == 5);
  const std::set<std::string> redeployed{"RiskOracleFeed", "MockERC20Stable",
                                         "MockConstantProductAMM", "VaRProtection",
                                         "RiskRebalancer"};
  for (const auto& [name, contract] : second.contracts) {
    CAPTURE(name);
    CHECK(contract.reused == (redeployed.count(name) == 0));
    if (redeployed.count(name) != 0) CHECK(contract.address != first.contracts.at(name).address);
  }
  // The new rebalancer uses the new stable token.
  const auto stable = view(c, second, "RiskRebalancer", "RiskRebalancer", "stable");
  CHECK(*stable[0].as_address() == second.address_of("MockERC20Stable"));
}

TEST_CASE("a deployment file of another chain is refused before anything is sent") {
  Chain c;
  Deployment other;
  other.chain_id = 1;
  CHECK_THROWS_WITH_AS(
      (void)varkeeper::keeper::deploy_all(c.eth, c.mgr, mock_options(), other),
      "the deployment file is for chain 1, not chain 31337; write this deployment to another file",
      varkeeper::keeper::DeployError);
  CHECK(*c.eth.transaction_count(kSigner0, BlockTag::latest()) == 0);
}

TEST_CASE("RiskOracle.latest of an unknown portfolio reverts with NoReport decoded by name") {
  varkeeper::test::require_tool(VARKEEPER_CAST);
  Chain c;
  DeployOptions o = mock_options();
  o.mocks = false;
  const Deployment d = varkeeper::keeper::deploy_all(c.eth, c.mgr, o);
  CHECK(d.find("VaRProtection") == nullptr);  // no feed or collateral without mocks
  const Contract oracle(c.eth, artifact("RiskOracle"), d.address_of("RiskOracle"), "RiskOracle");
  auto r = oracle.call("latest", {AbiValue::from_uint(U256(99))});
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ContractCallErrorKind::kReverted);
  REQUIRE(r.error().revert);
  CHECK(r.error().revert->kind == RevertKind::kCustom);
  CHECK(r.error().revert->error_signature == "NoReport(uint64)");
  REQUIRE(r.error().revert->args.size() == 1);
  CHECK(*r.error().revert->args[0].as_uint() == 99);
  CHECK(r.error().describe() == "RiskOracle.latest reverted: NoReport(99)");
  // cast sees the same revert data.
  const auto cast = run_process({VARKEEPER_CAST, "call", to_checksum_address(oracle.address()),
                                 "latest(uint64)", "99", "--rpc-url", c.anvil.http_url()});
  CHECK(cast.exit_code != 0);
  const std::string needle = "data: \"";
  const auto pos = cast.err.find(needle);
  REQUIRE_MESSAGE(pos != std::string::npos, cast.err);
  const auto end = cast.err.find('"', pos + needle.size());
  CHECK(cast.err.substr(pos + needle.size(), end - pos - needle.size()) ==
        to_hex(r.error().revert_data));
  // A non-view call by a non-owner is simulated and decoded the same way.
  auto not_owner =
      oracle.call("setQuorum", {AbiValue::from_uint(U256(1))}, BlockTag::latest(), kSigner1);
  REQUIRE_FALSE(not_owner);
  REQUIRE(not_owner.error().revert);
  CHECK(not_owner.error().revert->error_signature == "OwnableUnauthorizedAccount(address)");
  CHECK(*not_owner.error().revert->args[0].as_address() == kSigner1);
}

TEST_CASE("varkeeper deploy run twice writes the same file and the second run sends nothing") {
  Chain c;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("varkeeper-deploy-" + std::to_string(c.anvil.port()));
  std::filesystem::create_directories(dir);
  const auto out = (dir / "deployment.json").string();
  std::filesystem::remove(out);
  const std::vector<std::string> argv{
      VARKEEPER_BINARY,
      "deploy",
      "--rpc",
      c.anvil.http_url(),
      "--chain-id",
      "31337",
      "--private-key-dev",
      "anvil0",
      "--mocks",
      "--signers",
      to_checksum_address(kSigner0) + "," + to_checksum_address(kSigner1),
      "--quorum",
      "2",
      "--limits",
      "1:3600",
      "--out",
      out};
  const auto first = run_process(argv);
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  CHECK(first.out.find("9 contracts (0 reused), 13 transactions") != std::string::npos);
  const std::string written = read_file(out);
  const auto json = nlohmann::json::parse(written);
  CHECK(json["chain_id"] == 31337);
  CHECK(json["contracts"].size() == 9);
  CHECK(json["contracts"]["RiskOracle"]["address"] == "0x5FbDB2315678afecb367f032d93F642f64180aa3");
  const auto second = run_process(argv);
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  CHECK(second.out.find("9 contracts (9 reused), 0 transactions") != std::string::npos);
  CHECK(read_file(out) == written);
  CHECK(*c.eth.transaction_count(kSigner0, BlockTag::latest()) == 13);
  // One-sentence refusals with a non-zero exit.
  auto wrong_chain = argv;
  wrong_chain[5] = "1";
  const auto refused = run_process(wrong_chain);
  CHECK(refused.exit_code == 2);
  CHECK(refused.err ==
        "varkeeper: --private-key-dev names a publicly known key and is only accepted on chain "
        "31337 (anvil), not chain 1\n");
  auto bad_quorum = argv;
  bad_quorum[12] = "3";
  const auto too_many = run_process(bad_quorum);
  CHECK(too_many.exit_code == 2);
  CHECK(too_many.err == "varkeeper: --quorum 3 is more than the 2 signer(s) given\n");
  std::filesystem::remove_all(dir);
}

TEST_CASE("varkeeper deploy --config takes chain, keys, signers and the deployment file from it") {
  Chain c;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("varkeeper-deploy-config-" + std::to_string(c.anvil.port()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto config = (dir / "keeper.toml").string();
  {
    std::ofstream f(config);
    f << "[chain]\nchain_id = 31337\nrpc = [\"" << c.anvil.http_url() << "\"]\n\n"
      << "[keys]\nsigners = [{ dev_key = \"anvil1\" }, { dev_key = \"anvil2\" }]\n"
      << "sender = { dev_key = \"anvil0\" }\n\n"
      << "[contracts]\ndeployment = \"deployment.json\"\n\n"
      << "[[assets]]\nsymbol = \"ETH\"\ndecimals = 8\n"
      << "sources = [{ name = \"mock\", aggregator = "
         "\"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512\" }]\n\n"
      << "[[portfolios]]\nid = 1\nname = \"treasury\"\npositions = { ETH = 100.0 }\n";
  }
  const std::vector<std::string> argv{VARKEEPER_BINARY, "deploy", "--config", config,
                                      "--quorum",       "2",      "--limits", "1:3600"};
  const auto first = run_process(argv);
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  // Without --mocks: RiskOracle and RiskOracleFeed; 2 addSigner, setQuorum, setLimits.
  CHECK(first.out.find("2 contracts (0 reused), 6 transactions") != std::string::npos);
  const auto written = varkeeper::keeper::read_deployment_file(dir / "deployment.json");
  REQUIRE(written);
  const Address oracle = written->address_of("RiskOracle");
  CHECK(c.cast_call(oracle, "isSigner(address)(bool)",
                    {"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"}) == "true");  // anvil #2
  CHECK(c.cast_call(oracle, "isSigner(address)(bool)", {to_checksum_address(kSigner0)}) ==
        "false");  // the sender is not a signer unless configured as one
  CHECK(c.cast_call(oracle, "quorum()(uint8)") == "2");
  // `config check` reads the file deploy wrote.
  const auto check = run_process({VARKEEPER_BINARY, "config", "check", config});
  CHECK_MESSAGE(check.exit_code == 0, check.err);
  CHECK(check.out.find(to_checksum_address(oracle)) != std::string::npos);
  const auto second = run_process(argv);
  REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  CHECK(second.out.find("2 contracts (2 reused), 0 transactions") != std::string::npos);
  // Flags that the config already sets are refused.
  auto mixed = argv;
  mixed.push_back("--chain-id");
  mixed.push_back("31337");
  const auto refused = run_process(mixed);
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("--config takes the chain, the keys and the signers from the file") !=
        std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a deployment interrupted after its first group resumes from the saved progress") {
  Chain c;
  std::optional<Deployment> saved;
  struct Interrupted {};
  CHECK_THROWS_AS((void)varkeeper::keeper::deploy_all(c.eth, c.mgr, mock_options(), std::nullopt,
                                                      [&](const Deployment& so_far) {
                                                        saved = so_far;
                                                        throw Interrupted{};
                                                      }),
                  Interrupted);
  REQUIRE(saved);
  // The first group: the oracle, the two feeds and the two tokens (no dependencies).
  CHECK(saved->contracts.size() == 5);
  CHECK(saved->find("RiskOracle") != nullptr);
  CHECK(saved->find("MockConstantProductAMM") == nullptr);
  const Deployment resumed = varkeeper::keeper::deploy_all(c.eth, c.mgr, mock_options(), saved);
  CHECK(resumed.contracts.size() == 9);
  std::size_t reused = 0;
  for (const auto& [name, contract] : resumed.contracts) {
    CAPTURE(name);
    reused += contract.reused ? 1 : 0;
    if (saved->find(name) != nullptr) {
      CHECK(contract.reused);
      CHECK(contract.address == saved->contracts.at(name).address);
    }
  }
  CHECK(reused == 5);
  // 4 remaining deployments and the 4 owner settings.
  CHECK(resumed.transactions_sent == 8);
  CHECK(*c.eth.transaction_count(kSigner0, BlockTag::latest()) == 13);
}

TEST_CASE("varkeeper deploy with a keystore sender and a password file") {
  Chain c;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("varkeeper-deploy-keystore-" + std::to_string(c.anvil.port()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto password = (dir / "password.txt").string();
  {
    std::ofstream f(password);
    f << "correct horse\n";
  }
  const auto created =
      run_process({VARKEEPER_BINARY, "keys", "new", "--keystore-dir", (dir / "keys").string(),
                   "--password-file", password, "--light-kdf"});
  REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  std::string address = created.out;
  while (!address.empty() && address.back() == '\n') address.pop_back();
  const auto keystore = std::filesystem::directory_iterator(dir / "keys")->path().string();
  // Fund the new account (anvil_setBalance), then deploy from it.
  auto funded =
      c.pool.call("anvil_setBalance", Json::array({address, "0x56BC75E2D63100000"}));  // 100 ETH
  REQUIRE(funded);
  const std::vector<std::string> argv{VARKEEPER_BINARY,   "deploy",     "--rpc",
                                      c.anvil.http_url(), "--chain-id", "31337",
                                      "--keystore",       keystore,     "--password-file",
                                      password,           "--out",      (dir / "d.json").string()};
  const auto r = run_process(argv);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("deploying from " + address) != std::string::npos);
  const auto d = varkeeper::keeper::read_deployment_file(dir / "d.json");
  REQUIRE(d);
  CHECK(to_checksum_address(d->deployer) == address);
  CHECK(c.cast_call(d->address_of("RiskOracle"), "owner()(address)") == address);
  // The wrong password: exit 3, one sentence, nothing sent.
  {
    std::ofstream f(password, std::ios::trunc);
    f << "wrong\n";
  }
  const auto refused = run_process(argv);
  CHECK(refused.exit_code == 3);
  CHECK(refused.err.find("password") != std::string::npos);
  std::filesystem::remove_all(dir);
}
