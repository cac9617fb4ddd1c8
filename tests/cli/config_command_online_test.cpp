// `varkeeper config check --online` against a real anvil: chain id per endpoint, code at every
// contract and aggregator, and each feed's decimals(); each problem is one sentence, exit code 2.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using varkeeper::keeper::AnvilNode;
using varkeeper::test::run_process;
using varkeeper::test::TempDir;

namespace {

// A feed stand-in: runtime code that answers every call with the 32-byte word 8
// (PUSH1 8, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN), so decimals() = 8.
const std::string kAnswers8 = "0x600860005260206000f3";
const std::string kFeed = "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419";
const std::string kOracle = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const std::string kEmpty = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

void set_code(const AnvilNode& anvil, const std::string& address, const std::string& code) {
  varkeeper::test::require_tool(VARKEEPER_CAST);
  const auto r = run_process(
      {VARKEEPER_CAST, "rpc", "--rpc-url", anvil.http_url(), "anvil_setCode", address, code});
  REQUIRE(r.exit_code == 0);
}

struct Settings {
  std::string chain_id = "31337";
  std::string rpc{};
  std::string oracle = kOracle;
  std::string decimals{};  // empty: read from the feed
};

std::string config_text(const Settings& s) {
  std::string text = "[chain]\nchain_id = " + s.chain_id + "\nrpc = [\"" + s.rpc + "\"]\n\n";
  text += "[keys]\nallow_dev_keys = true\nsigners = [{ dev_key = \"anvil1\" }]\n";
  text += "sender = { dev_key = \"anvil0\" }\n\n";
  text += "[contracts]\nrisk_oracle = \"" + s.oracle + "\"\n\n";
  text += "[[assets]]\nsymbol = \"ETH\"\n" +
          (s.decimals.empty() ? "" : "decimals = " + s.decimals + "\n");
  text += "[[assets.sources]]\nname = \"chainlink\"\naggregator = \"" + kFeed + "\"\n\n";
  text += "[[portfolios]]\nid = 1\npositions = { ETH = 1 }\n";
  return text;
}

varkeeper::test::ProcessResult check(const fs::path& file, const std::string& text) {
  {
    std::ofstream out(file, std::ios::binary);
    out << text;
  }
  return run_process({VARKEEPER_BINARY, "config", "check", file.string(), "--online"});
}

}  // namespace

TEST_CASE("config check --online passes when the chain holds the contracts and feeds") {
  AnvilNode anvil;
  set_code(anvil, kFeed, kAnswers8);
  set_code(anvil, kOracle, kAnswers8);
  TempDir dir("config-online");
  const auto r = check(dir / "config.toml", config_text({.rpc = anvil.http_url()}));
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("chain.rpc[0] " + anvil.http_url() + ": chain 31337, block ") !=
        std::string::npos);
  CHECK(r.out.find("contracts.risk_oracle " + kOracle + ": 10 bytes of code\n") !=
        std::string::npos);
  CHECK(r.out.find("assets[0].sources[0].aggregator " + kFeed +
                   ": 10 bytes of code, decimals 8\n") != std::string::npos);
  CHECK(r.out.find("config ok") != std::string::npos);
}

TEST_CASE("config check --online names the endpoint, address or key the chain contradicts") {
  AnvilNode anvil;
  set_code(anvil, kFeed, kAnswers8);
  set_code(anvil, kOracle, kAnswers8);
  TempDir dir("config-online");
  const fs::path file = dir / "config.toml";
  const std::string prefix = "varkeeper: " + file.string() + ": ";
  struct Case {
    std::string what;
    Settings settings;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"wrong chain id",
       {.chain_id = "5", .rpc = anvil.http_url()},
       "chain.rpc[0]: " + anvil.http_url() + " serves chain 31337, not chain.chain_id 5"},
      {"contract address without code",
       {.rpc = anvil.http_url(), .oracle = kEmpty},
       "contracts.risk_oracle: no contract at " + kEmpty + " on chain 31337"},
      {"configured decimals the feed contradicts",
       {.rpc = anvil.http_url(), .decimals = "18"},
       "assets[0].decimals: 18 configured, but the feed at " + kFeed + " answers decimals() = 8"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const auto r = check(file, config_text(c.settings));
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err == prefix + c.expected + "\n");
  }
  // A feed address without code is named as such before decimals() is tried.
  set_code(anvil, kFeed, "0x");
  const auto r = check(file, config_text({.rpc = anvil.http_url()}));
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        prefix + "assets[0].sources[0].aggregator: no contract at " + kFeed + " on chain 31337\n");
}

TEST_CASE("config check --online names an unreachable endpoint") {
  TempDir dir("config-online");
  const std::string url =
      "http://127.0.0.1:" + std::to_string(varkeeper::keeper::free_loopback_port());
  const fs::path file = dir / "config.toml";
  const auto r = check(file, config_text({.rpc = url}));
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("varkeeper: " + file.string() +
                        ": chain.rpc[0]: cannot read eth_chainId from " + url + " (",
                    0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1);
}
