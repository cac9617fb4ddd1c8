// Issue 18: `varkeeper run --keepers 3` on one anvil -- three network keepers in one process, each
// with its own signer key, sender, store and peer listener, quorum 2. Checked from the chain:
// every ReportAccepted round came from exactly one successful submit transaction carrying at
// least 2 signatures, no submit was paid for and reverted, and latest() holds the last round.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <set>

#include "chain/contract_abi.hpp"
#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "keeper/core/reporter.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using namespace varkeeper::chain;

TEST_CASE("keeper set of 3 on one anvil: each round lands once, by one submit with >= 2 sigs") {
  keeper::AnvilOptions o;
  o.block_time_seconds = 1;
  keeper::AnvilNode anvil(o);
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(
      std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(anvil.http_url()))));
  EndpointPool pool(std::move(clients));
  EthClient eth(pool);
  test::TempDir dir("network-keepers");
  const auto run = test::run_process({VARKEEPER_BINARY, "run", "--keepers", "3", "--rpc",
                                      anvil.http_url(), "--deployment", dir.file("deployment.json"),
                                      "--store", dir.file("store.db"), "--ticks", "16", "--tick-ms",
                                      "1000", "--seed", "3"});
  INFO(run.out.substr(run.out.size() > 6000 ? run.out.size() - 6000 : 0));
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto dep = keeper::read_deployment_file(dir.file("deployment.json"));
  REQUIRE(dep);
  const Address oracle = dep->address_of("RiskOracle");

  // ReportAccepted(portfolioId, round, ...) logs.
  auto abi = ContractAbi::load(test::artifacts_dir() / "RiskOracle.json");
  REQUIRE(abi);
  LogFilter f;
  f.from_block = 0;
  f.addresses = {oracle};
  const auto logs = eth.get_logs(f);
  REQUIRE(logs);
  std::map<std::pair<std::uint64_t, std::uint64_t>, int> accepted;
  std::map<std::uint64_t, std::uint64_t> last_round;
  for (const auto& l : *logs) {
    const auto d = abi->decode_log(l.topics, l.data);
    if (d && d->event != nullptr && d->event->name == "ReportAccepted") {
      const auto pid = static_cast<std::uint64_t>(*d->args[0].as_uint());
      const auto round = static_cast<std::uint64_t>(*d->args[1].as_uint());
      ++accepted[{pid, round}];
      last_round[pid] = std::max(last_round[pid], round);
    }
  }
  REQUIRE(accepted.size() >= 2);  // both portfolios' first rounds at least
  for (const auto& [key, n] : accepted) {
    CHECK(n == 1);
  }

  // Every transaction to the oracle: submit()s, their signature counts and receipts.
  const auto submit_sel = chain::to_hex(*chain::function_selector(
      "submit((uint64,uint64,uint64,uint32,uint64,uint8,uint8,uint96,uint64,uint64,bytes32),"
      "(uint8,bytes32,bytes32)[])"));
  const auto head = eth.block_number();
  REQUIRE(head);
  int submits_ok = 0;
  int submits_reverted = 0;
  std::set<std::string> senders;
  for (std::uint64_t b = 0; b <= *head; ++b) {
    auto block =
        pool.call("eth_getBlockByNumber", Json::array({chain::u256_to_quantity(U256(b)), true}));
    REQUIRE(block);
    for (const auto& tx : (*block)["transactions"]) {
      if (!tx["to"].is_string() || *parse_address(tx["to"].get<std::string>()) != oracle) {
        continue;
      }
      const std::string input = tx["input"].get<std::string>();
      if (input.rfind(submit_sel, 0) != 0) {
        continue;
      }
      // selector, 11 report words, the array's offset, then its length.
      const auto data = *chain::from_hex(input);
      REQUIRE(data.size() >= 4 + 13 * 32);
      const auto sigs = data[4 + 12 * 32 + 31];
      CHECK(sigs >= 2);
      auto receipt = eth.transaction_receipt(*decode_hash(tx["hash"], "hash"));
      REQUIRE(receipt);
      REQUIRE(*receipt);
      ((*receipt)->success ? submits_ok : submits_reverted) += 1;
      senders.insert(tx["from"].get<std::string>());
    }
  }
  // One paid submit per accepted round, none paid for a round that had landed.
  CHECK(submits_ok == static_cast<int>(accepted.size()));
  CHECK(submits_reverted == 0);
  CHECK(senders.size() >= 2);  // the transmitter rotates over the keepers

  // latest() holds each portfolio's last accepted round.
  for (const auto& [pid, round] : last_round) {
    auto data = eth.call({{}, oracle, keeper::latest_calldata(pid), {}, {}});
    REQUIRE(data);
    CHECK(keeper::decode_accepted_report(*data)->round == round);
  }
}
