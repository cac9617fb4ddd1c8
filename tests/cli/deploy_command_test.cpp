// `varkeeper deploy` refusals that need no chain: each is one sentence on stderr with a non-zero
// exit code, and nothing is written.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/test_support.hpp"

using varkeeper::test::run_process;
using varkeeper::test::TempDir;

namespace {

std::vector<std::string> base(const std::string& rpc, const std::string& out) {
  return {VARKEEPER_BINARY,    "deploy", "--rpc", rpc, "--chain-id", "31337",
          "--private-key-dev", "anvil0", "--out", out};
}

void expect_refusal(const std::vector<std::string>& argv, int code, const std::string& prefix) {
  const auto r = run_process(argv);
  CAPTURE(r.out);
  CHECK(r.exit_code == code);
  CHECK(r.err.rfind("varkeeper: " + prefix, 0) == 0);
  // One sentence: one line.
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

}  // namespace

TEST_CASE("varkeeper deploy refuses bad input with one sentence and a non-zero exit") {
  TempDir dir("deploy-cli");
  const auto out = (dir.path() / "deployment.json").string();
  const std::string closed =
      "http://127.0.0.1:" + std::to_string(varkeeper::keeper::free_loopback_port());

  // Unreachable node.
  expect_refusal(base(closed, out), 2, "cannot use the RPC endpoint for chain 31337: ");
  CHECK_FALSE(std::filesystem::exists(out));
  // A dev key on another chain.
  auto other_chain = base(closed, out);
  other_chain[5] = "10";
  expect_refusal(other_chain, 2,
                 "--private-key-dev names a publicly known key and is only accepted on chain "
                 "31337 (anvil), not chain 10");
  // Both key sources.
  auto both = base(closed, out);
  both.insert(both.end(), {"--keystore", "k.json"});
  expect_refusal(both, 2, "give either --private-key-dev or --keystore, not both");
  // No key at all.
  expect_refusal({VARKEEPER_BINARY, "deploy", "--rpc", closed, "--chain-id", "5", "--out", out}, 2,
                 "no sender key: give --keystore FILE");
  // A dev key name that does not exist.
  auto bad_dev = base(closed, out);
  bad_dev[7] = "anvil10";
  expect_refusal(bad_dev, 2, "--private-key-dev 'anvil10' is not one of anvil0 ... anvil9");
  // No --out.
  expect_refusal({VARKEEPER_BINARY, "deploy", "--rpc", closed, "--chain-id", "31337"}, 2,
                 "--out FILE is required (or --config FILE)");
  // Bad options.
  auto bad_signer = base(closed, out);
  bad_signer.insert(bad_signer.end(), {"--signers", "0x1234"});
  expect_refusal(bad_signer, 2, "--signers '0x1234' is not an address");
  auto bad_limits = base(closed, out);
  bad_limits.insert(bad_limits.end(), {"--limits", "1:0"});
  expect_refusal(bad_limits, 2, "--limits '1:0': the max age must be above 0");
  auto mocks_and_feed = base(closed, out);
  mocks_and_feed.insert(mocks_and_feed.end(),
                        {"--mocks", "--price-feed", "0x5FbDB2315678afecb367f032d93F642f64180aa3"});
  expect_refusal(mocks_and_feed, 2, "--mocks deploys its own feed, tokens and AMM");
  auto ws = base("ws://127.0.0.1:8545", out);
  expect_refusal(ws, 2, "--rpc 'ws://127.0.0.1:8545' is not an http(s) URL");
  // Artifacts: a directory without them, and a malformed one (named with its JSON location).
  auto no_artifacts = base(closed, out);
  no_artifacts.insert(no_artifacts.end(), {"--artifacts", dir.path().string()});
  expect_refusal(no_artifacts, 2,
                 "the artifacts directory " + dir.path().string() + " holds no RiskOracle.json");
  const auto real = std::filesystem::path(VARKEEPER_BINARY).parent_path() / "contracts";
  const auto art = dir.path() / "artifacts";
  std::filesystem::create_directories(art);
  for (const auto& entry : std::filesystem::directory_iterator(real)) {
    if (entry.path().extension() == ".json") {
      std::filesystem::copy_file(entry.path(), art / entry.path().filename());
    }
  }
  {
    std::ofstream bad(art / "MockERC20.json", std::ios::trunc);
    bad << R"({"abi": [{"type": "function", "name": "mint", "inputs": [{"type": "uint7"}]}]})";
  }
  auto bad_artifact = base(closed, out);
  bad_artifact.insert(bad_artifact.end(), {"--artifacts", art.string()});
  expect_refusal(bad_artifact, 2,
                 "cannot load contract artifact " + (art / "MockERC20.json").string() +
                     ": abi[0].inputs[0].type: bad parameter type (uint7: ");
  // A malformed deployment file is named with its field, and left as it was.
  {
    std::ofstream f(out);
    f << R"({"chain_id": 31337, "block": 1, "deployer": "0x12", "contracts": {}})";
  }
  expect_refusal(base(closed, out), 2, "deployment file " + out + ": deployer is not an address (");
}
