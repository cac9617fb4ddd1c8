// `varkeeper deploy --config` with chain.finality = "tag" (issue 15, defect 7): a deploy waits for
// its steps by depth, never for the node's `finalized` block (anvil's is 64 blocks behind a head
// that only moves when something is mined; Ethereum's ~13 minutes behind).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/test_support.hpp"

using varkeeper::keeper::AnvilNode;
using varkeeper::keeper::AnvilOptions;
using varkeeper::test::run_process;
using varkeeper::test::TempDir;

TEST_CASE("tx_manager_defect7_deploy: deploy --config with finality = \"tag\" waits by depth") {
  AnvilNode anvil(AnvilOptions{});
  const TempDir dir("deploy-finality");
  const auto config = dir.file("keeper.toml");
  {
    std::ofstream f(config);
    f << "[chain]\nchain_id = 31337\nfinality = \"tag\"\nrpc = [\"" << anvil.http_url() << "\"]\n\n"
      << "[keys]\nsigners = [{ dev_key = \"anvil1\" }, { dev_key = \"anvil2\" }]\n"
      << "sender = { dev_key = \"anvil0\" }\n\n"
      << "[contracts]\ndeployment = \"deployment.json\"\n\n"
      << "[[assets]]\nsymbol = \"ETH\"\ndecimals = 8\n"
      << "sources = [{ name = \"mock\", aggregator = "
         "\"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512\" }]\n\n"
      << "[[portfolios]]\nid = 1\nname = \"treasury\"\npositions = { ETH = 100.0 }\n";
  }
  const auto deployed = run_process({VARKEEPER_BINARY, "deploy", "--config", config, "--quorum",
                                     "2", "--limits", "1:3600", "--timeout", "15"});
  REQUIRE_MESSAGE(deployed.exit_code == 0, deployed.err);
  CHECK(deployed.out.find("2 contracts (0 reused), 6 transactions") != std::string::npos);
  CHECK(std::filesystem::exists(dir / "deployment.json"));
}
