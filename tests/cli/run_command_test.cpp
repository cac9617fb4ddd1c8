// `varkeeper run --config` misconfigurations: each ends in one sentence on stderr and a non-zero
// exit code, and nothing is left behind (no anvil, no half-written store).
#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>

#include "chain/hex.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using varkeeper::keeper::AnvilNode;

namespace {

struct Dir {
  fs::path path;
  Dir() : path(fs::temp_directory_path() / ("varkeeper-run-errors-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

std::string config(const std::string& rpc, std::uint64_t chain_id, const std::string& oracle,
                   const std::string& feed, const std::string& keys) {
  return "[keeper]\nstore = \"store.db\"\n\n[chain]\nchain_id = " + std::to_string(chain_id) +
         "\nrpc = [\"" + rpc + "\"]\nrequest_timeout_ms = 1000\n\n" + keys +
         "\n[contracts]\nrisk_oracle = \"" + oracle +
         "\"\n\n[[assets]]\nsymbol = \"ETH\"\nhistory_csv = \"" VARKEEPER_SOURCE_DIR
         "/config/data/eth_usd_daily.csv\"\n\n[[assets.sources]]\nname = \"a\"\naggregator = \"" +
         feed + "\"\nheartbeat_s = 3600\n\n[[portfolios]]\nid = 1\npositions = { ETH = 1.0 }\n";
}

const std::string kDevKeys =
    "[keys]\nallow_dev_keys = true\nsigners = [{ dev_key = \"anvil1\" }]\nsender = { dev_key = "
    "\"anvil0\" }\n";
const std::string kNoCode = "0x000000000000000000000000000000000000dEaD";

// Runs `varkeeper run --config FILE --ticks 1`; returns the result after checking the one-line
// error contract.
varkeeper::test::ProcessResult run_config(const std::string& file) {
  auto r =
      varkeeper::test::run_process({VARKEEPER_BINARY, "run", "--config", file, "--ticks", "1"});
  CHECK(r.exit_code != 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);  // one sentence
  return r;
}

}  // namespace

TEST_CASE(
    "run --config: missing file, bad TOML, unknown key, wrong type end in one sentence (exit 2)") {
  Dir d;
  auto missing = run_config((d.path / "nope.toml").string());
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("nope.toml") != std::string::npos);
  auto bad = run_config(d.write("bad.toml", "[chain\nchain_id = 1\n"));
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("bad.toml") != std::string::npos);
  auto unknown = run_config(d.write("unknown.toml", "[chian]\nchain_id = 1\n"));
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("chian") != std::string::npos);
  auto type = run_config(d.write("type.toml", "[chain]\nchain_id = \"one\"\n"));
  CHECK(type.exit_code == 2);
  CHECK(type.err.find("chain.chain_id") != std::string::npos);
}

TEST_CASE(
    "run --config: unreachable node, wrong chain id, contract or feed without code (exit 3)") {
  varkeeper::test::require_tool(VARKEEPER_ANVIL);
  Dir d;
  AnvilNode anvil;
  const std::string closed =
      "http://127.0.0.1:" + std::to_string(varkeeper::keeper::free_loopback_port());
  auto unreachable =
      run_config(d.write("a.toml", config(closed, 31337, kNoCode, kNoCode, kDevKeys)));
  CHECK(unreachable.exit_code == 3);
  CHECK(unreachable.err.find("127.0.0.1") != std::string::npos);
  CHECK_FALSE(fs::exists(d.path / "store.db"));  // nothing half-started

  auto wrong_chain =
      run_config(d.write("b.toml", config(anvil.http_url(), 5, kNoCode, kNoCode, kDevKeys)));
  CHECK(wrong_chain.exit_code == 3);
  CHECK(wrong_chain.err.find("31337") != std::string::npos);

  auto no_oracle =
      run_config(d.write("c.toml", config(anvil.http_url(), 31337, kNoCode, kNoCode, kDevKeys)));
  CHECK(no_oracle.exit_code == 3);
  CHECK(no_oracle.err.find("no contract code") != std::string::npos);

  // A real RiskOracle, but the price feed has no code.
  const auto dep = d.path / "deployment.json";
  const auto deployed = varkeeper::test::run_process(
      {VARKEEPER_BINARY, "deploy", "--rpc", anvil.http_url(), "--chain-id", "31337",
       "--private-key-dev", "anvil0", "--out", dep.string()});
  REQUIRE_MESSAGE(deployed.exit_code == 0, deployed.err);
  const auto deployment = varkeeper::keeper::read_deployment_file(dep);
  REQUIRE(deployment);
  const auto oracle = varkeeper::chain::to_checksum_address(deployment->address_of("RiskOracle"));
  auto no_feed =
      run_config(d.write("e.toml", config(anvil.http_url(), 31337, oracle, kNoCode, kDevKeys)));
  CHECK(no_feed.exit_code == 3);
  CHECK(no_feed.err.find("no contract code") != std::string::npos);
  CHECK(no_feed.err.find("ETH/a") != std::string::npos);
}

TEST_CASE(
    "run --config: a wrong keystore password names the keystore and stops before anything starts") {
  varkeeper::test::require_tool(VARKEEPER_ANVIL);
  Dir d;
  AnvilNode anvil;
  const auto made = varkeeper::test::run_process({VARKEEPER_BINARY, "keys", "new", "--keystore-dir",
                                                  (d.path / "ks").string(), "--password-file",
                                                  d.write("pw", "right\n"), "--light-kdf"});
  REQUIRE(made.exit_code == 0);
  std::string keystore;
  for (const auto& e : fs::directory_iterator(d.path / "ks")) keystore = e.path().string();
  d.write("wrong", "wrong\n");
  const std::string keys = "[keys]\nallow_dev_keys = true\nsigners = [{ keystore = \"" + keystore +
                           "\", password_file = \"wrong\" }]\nsender = { dev_key = \"anvil0\" }\n";
  const auto dep = d.path / "deployment.json";
  REQUIRE(varkeeper::test::run_process({VARKEEPER_BINARY, "deploy", "--rpc", anvil.http_url(),
                                        "--chain-id", "31337", "--private-key-dev", "anvil0",
                                        "--out", dep.string()})
              .exit_code == 0);
  const auto oracle = varkeeper::chain::to_checksum_address(
      varkeeper::keeper::read_deployment_file(dep)->address_of("RiskOracle"));
  auto r = run_config(d.write("k.toml", config(anvil.http_url(), 31337, oracle, kNoCode, keys)));
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("password") != std::string::npos);
  CHECK(r.err.find(fs::path(keystore).filename().string()) != std::string::npos);
  CHECK_FALSE(fs::exists(d.path / "store.db"));
}
