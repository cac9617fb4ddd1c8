// Issue 15, defect 7 in the keeper loop: a report row is `accepted` only once its transaction is
// final, and an action (rebalance, settle, ...) stays open until then. Before, the row was marked
// accepted at the first receipt; a reorg that then took the transaction off the chain (re-sent by
// the manager, and here never landing again) left it accepted, and a second rebalance went out
// while the first was still to be re-mined.
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

constexpr std::uint64_t kDepth = 3;  // tx.confirmations: final 3 blocks deep

// The keeper loop over one store (no feeds, no portfolios: only a rebalance action and a report
// row matter here), finality by depth.
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
    o.confirmations = kDepth;
    o.finality = Finality::kDepth;
    return o;
  }
};

std::size_t count_prefix(const std::vector<std::string>& lines, const std::string& prefix) {
  return static_cast<std::size_t>(std::count_if(
      lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; }));
}

}  // namespace

TEST_CASE(
    "keeper_reorg_report: a report row is accepted only once final, never on a receipt a "
    "reorg undoes; an action stays open until final") {
  keeper::AnvilOptions no_mining;
  no_mining.no_mining = true;
  keeper::AnvilNode anvil(no_mining);
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(
      std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(anvil.http_url()))));
  EndpointPool pool(std::move(clients));
  EthClient eth(pool);
  test::TempDir dir("keeper-reorg-report");
  auto store = keeper::KeeperStore::open(dir.file("keeper.db"));
  Keeper k(eth, *store);

  // A report transaction and its pending row, as publish() leaves them.
  TxRequest report;
  report.key = "report:reorg";
  report.to = target();
  report.data = {0x01};
  report.label = "report";
  const auto report_tx = k.tx.enqueue(report);
  keeper::PublishedReport row;
  row.portfolio_id = 1;
  row.round = 7;
  row.tx_id = report_tx;
  store->add_report(row);
  REQUIRE(k.loop.resume_from_store() == 1);
  const auto state = [&] { return store->report(1, 7)->state; };

  auto s = k.loop.tick();  // both sent (report, rebalance), nothing mined
  REQUIRE(count_prefix(s.actions, "rebalance sent") == 1);
  REQUIRE(k.tx.get(report_tx)->state == TxState::kUnconfirmed);

  // Mined: a receipt, 1 block deep of the 3 it needs.
  REQUIRE(pool.call("evm_mine"));
  std::vector<std::string> confirmations;
  s = k.loop.tick();
  confirmations.insert(confirmations.end(), s.confirmations.begin(), s.confirmations.end());
  REQUIRE(k.tx.get(report_tx)->state == TxState::kConfirmed);
  const auto mined_block = k.tx.get(report_tx)->mined_block;
  CHECK(state() == keeper::ReportState::kPending);  // was kAccepted at the receipt
  s = k.loop.tick();
  confirmations.insert(confirmations.end(), s.confirmations.begin(), s.confirmations.end());
  CHECK(count_prefix(s.actions, "rebalance sent") == 0);  // the first is not final yet
  CHECK(store->summary().transactions == 2);              // one report, one rebalance
  CHECK(confirmations.empty());

  // The block of both receipts replaced by an empty one (they leave the chain and anvil's pool),
  // and fees the re-sent transactions cannot pay: they do not land again.
  REQUIRE(pool.call("anvil_reorg", Json::array({1, Json::array()})));
  REQUIRE(
      pool.call("anvil_setNextBlockBaseFeePerGas", Json::array({"0xe8d4a51000"})));  // 1000 gwei
  s = k.loop.tick();
  CHECK(k.tx.get(report_tx)->state == TxState::kUnconfirmed);
  CHECK(k.tx.stats().reorgs == 2);
  CHECK(count_prefix(s.errors, "report transaction " + std::to_string(report_tx) +
                                   " reorged out, re-sent") == 1);
  for (std::uint64_t i = 0; i < kDepth + 1; ++i) {
    REQUIRE(pool.call("evm_mine"));
    s = k.loop.tick();
    confirmations.insert(confirmations.end(), s.confirmations.begin(), s.confirmations.end());
    CHECK(count_prefix(s.actions, "rebalance sent") == 0);
  }
  CHECK(*eth.block_number() >= mined_block + kDepth);  // deep enough had it stayed
  CHECK(k.tx.get(report_tx)->state == TxState::kUnconfirmed);
  CHECK(state() == keeper::ReportState::kPending);  // stayed kAccepted before the fix
  CHECK(confirmations.empty());
  CHECK(store->summary().transactions == 2);  // one report, one rebalance

  // Fees fall back: the re-sent transactions land, and once final the row is accepted, reported
  // once, and the next rebalance may go.
  REQUIRE(pool.call("anvil_setNextBlockBaseFeePerGas", Json::array({"0x3b9aca00"})));  // 1 gwei
  for (std::uint64_t i = 0; i < kDepth + 3 && state() == keeper::ReportState::kPending; ++i) {
    REQUIRE(pool.call("evm_mine"));
    s = k.loop.tick();
    confirmations.insert(confirmations.end(), s.confirmations.begin(), s.confirmations.end());
  }
  CHECK(k.tx.get(report_tx)->state == TxState::kFinalized);
  CHECK(state() == keeper::ReportState::kAccepted);
  REQUIRE(confirmations.size() == 1);
  CHECK(confirmations[0].rfind("round 7 of portfolio 1 accepted in block ", 0) == 0);
  CHECK(k.tx.stats().finalized >= 1);
}
