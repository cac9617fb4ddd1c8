// Issue 15, defect 10: what the keeper loop follows survives a restart. A rebalance whose
// transaction is still pending when the keeper restarts is not sent a second time at a later
// block, and a report row left `pending` resolves once its transaction is mined.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/json_rpc.hpp"
#include "chain/secret_key.hpp"
#include "chain/tx_manager.hpp"
#include "chain/url.hpp"
#include "keeper/core/pipeline.hpp"
#include "keeper/core/reporter.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "keeper/daemon/keeper_loop.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "keeper/store/store.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using namespace varkeeper::chain;

namespace {

// An account without code: an eth_call to it succeeds, so the loop's action simulation passes.
Address target() { return *parse_address("0x000000000000000000000000000000000000dEaD"); }

// The keeper loop over one store, as startup builds it (no feeds, no portfolios: only the
// actions and the report rows matter here).
struct Keeper {
  TxManager tx;
  keeper::ChainlinkSource source;
  keeper::Pipeline pipeline;
  keeper::Reporter reporter;
  keeper::KeeperLoop loop;
  Keeper(EthClient& eth, keeper::KeeperStore& store)
      : tx(eth, store, *SecretKey::from_hex(keeper::kAnvilKey0), 31337, options()),
        source(eth, {}),
        pipeline(keeper::PipelineConfig{}),
        reporter(eth, tx, {}, {}, {target(), 31337, 0}),
        loop(eth, tx, source, pipeline, reporter, {target(), std::nullopt}, &store) {
    REQUIRE(tx.start());
  }
  static TxManagerOptions options() {
    TxManagerOptions o;
    o.confirmations = 1;
    return o;
  }
};

bool has(const std::vector<std::string>& lines, const std::string& prefix) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
}

}  // namespace

TEST_CASE(
    "defect 10: a restart with a pending rebalance sends no second one; pending reports resolve") {
  keeper::AnvilOptions no_mining;
  no_mining.no_mining = true;
  keeper::AnvilNode anvil(no_mining);
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(
      std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(anvil.http_url()))));
  EndpointPool pool(std::move(clients));
  EthClient eth(pool);
  test::TempDir dir("keeper-restart");
  auto store = keeper::KeeperStore::open(dir.file("keeper.db"));

  {
    Keeper first(eth, *store);
    // A report transaction and its row, as publish() leaves them.
    TxRequest report;
    report.key = "report:test";
    report.to = target();
    report.data = {0x01};
    report.label = "report";
    const auto report_tx = first.tx.enqueue(report);
    keeper::PublishedReport row;
    row.portfolio_id = 1;
    row.round = 7;
    row.tx_id = report_tx;
    store->add_report(row);
    // A report held while portfolio 1 had one in flight (no transaction; issue 15, defect 5).
    keeper::PublishedReport held;
    held.portfolio_id = 1;
    held.round = 8;
    store->add_report(held);
    const auto s = first.loop.tick();
    INFO("actions: " << nlohmann::json(s.actions).dump());
    REQUIRE(has(s.actions, "rebalance sent"));
    REQUIRE(store->summary().open_transactions == 2);
  }  // the keeper stops with both transactions unmined

  // A block the pending transactions cannot pay for: the chain moves on without them.
  REQUIRE(
      pool.call("anvil_setNextBlockBaseFeePerGas", Json::array({"0xe8d4a51000"})));  // 1000 gwei
  REQUIRE(pool.call("evm_mine"));
  REQUIRE(store->summary().open_transactions == 2);

  Keeper second(eth, *store);
  CHECK(second.loop.resume_from_store() == 2);
  CHECK(store->report(1, 8)->state == keeper::ReportState::kDropped);  // the hold ended
  const auto after_restart = second.loop.tick();
  INFO("actions after restart: " << nlohmann::json(after_restart.actions).dump());
  CHECK_FALSE(has(after_restart.actions, "rebalance sent"));
  CHECK(store->summary().transactions == 2);  // still one rebalance and one report

  // Fees fall back; the transactions are mined, and the report row resolves.
  REQUIRE(pool.call("anvil_setNextBlockBaseFeePerGas", Json::array({"0x3b9aca00"})));  // 1 gwei
  std::vector<std::string> confirmations;
  for (int i = 0; i < 4 && store->report(1, 7)->state == keeper::ReportState::kPending; ++i) {
    REQUIRE(pool.call("evm_mine"));
    const auto s = second.loop.tick();
    confirmations.insert(confirmations.end(), s.confirmations.begin(), s.confirmations.end());
  }
  CHECK(store->report(1, 7)->state == keeper::ReportState::kAccepted);
  REQUIRE(confirmations.size() == 1);
  CHECK(confirmations[0].rfind("round 7 of portfolio 1 accepted in block ", 0) == 0);
  CHECK(store->summary().transactions == 2);
}
