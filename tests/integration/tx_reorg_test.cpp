// The transaction manager through reorgs and on chains that charge more than 21,000 gas (issue
// 15, defects 7 and 8), against a real anvil: reorgs made with anvil's own anvil_reorg, a node
// without the `finalized` tag and a chain whose intrinsic gas is higher played by the fault proxy
// (tests/support/fault_proxy.hpp: no_finalized_tag, gas_surcharge).
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/fault_proxy.hpp"

using namespace varkeeper::chain;
using varkeeper::keeper::AnvilNode;
using varkeeper::keeper::AnvilOptions;
using varkeeper::test::Fault;
using varkeeper::test::FaultProxy;

namespace {

std::vector<std::unique_ptr<JsonRpcClient>> clients_of(const std::string& url) {
  std::vector<std::unique_ptr<JsonRpcClient>> v;
  v.push_back(std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(url))));
  return v;
}

// anvil (automine), read and steered directly (rpc, eth), and through the fault proxy (via_proxy).
struct ReorgChain {
  AnvilNode anvil;
  EndpointPool pool;
  EthClient eth;
  FaultProxy proxy;
  EndpointPool proxied_pool;
  EthClient via_proxy;
  ReorgChain()
      : anvil(AnvilOptions{}),
        pool(clients_of(anvil.http_url())),
        eth(pool),
        proxy(anvil.http_url()),
        proxied_pool(clients_of("http://127.0.0.1:" + std::to_string(proxy.port()))),
        via_proxy(proxied_pool) {}
  Json rpc(const std::string& method, const Json& params = Json::array()) {
    auto r = pool.call(method, params);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().describe()));
    return *r;
  }
  std::uint64_t head() { return *eth.block_number(); }
  Hash32 block_hash(std::uint64_t n) { return (*eth.get_block(BlockTag::number(n)))->hash; }
  // Replaces the last `depth` blocks by as many empty ones: their transactions leave the chain
  // (and anvil's pool).
  void reorg(std::uint64_t depth) { rpc("anvil_reorg", Json::array({depth, Json::array()})); }
  void mine(std::uint64_t blocks) { rpc("anvil_mine", Json::array({u256_to_quantity(blocks)})); }
};

// anvil mines an automined transaction after eth_sendRawTransaction has answered: tick until
// `done` (at most ~5 s), as the daemon's loop would.
template <class Done>
void tick_until(TxManager& mgr, Done done) {
  for (int i = 0; i < 100 && !done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    mgr.tick();
  }
}

SecretKey key1() { return *SecretKey::from_hex(varkeeper::keeper::kAnvilKey1); }

TxRequest transfer(const std::string& key, std::uint64_t wei, std::uint64_t gas_limit = 21'000) {
  TxRequest r;
  r.key = key;
  r.to = *from_hex_fixed<20>("0x000000000000000000000000000000000000dEaD");
  r.value = wei;
  r.gas_limit = gas_limit;
  r.label = "test";
  return r;
}

// Every transaction of `from` mined in blocks 1..head, by nonce; a nonce mined twice fails.
std::map<std::uint64_t, Hash32> mined_by_nonce(ReorgChain& c, const Address& from) {
  std::map<std::uint64_t, Hash32> out;
  for (std::uint64_t b = 1; b <= c.head(); ++b) {
    const Json block =
        c.rpc("eth_getBlockByNumber", Json::array({u256_to_quantity(U256(b)), true}));
    for (const auto& tx : block["transactions"]) {
      if (*parse_address(tx["from"].get<std::string>()) != from) {
        continue;
      }
      const auto nonce = *decode_u64_quantity(tx["nonce"], "nonce");
      CHECK_MESSAGE(out.count(nonce) == 0, "nonce " << nonce << " mined twice");
      out[nonce] = *decode_hash(tx["hash"], "hash");
    }
  }
  return out;
}

}  // namespace

TEST_CASE(
    "tx_manager_defect7_reorg: a transaction reorged out of its block goes back to unconfirmed, "
    "is re-sent, and is counted and charged once") {
  ReorgChain c;
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.confirmations = 4;  // final 4 blocks deep (the depth rule)
  TxManager mgr(c.eth, store, key1(), 31337, opts);
  std::vector<TxAlert> alerts;
  mgr.on_alert = [&](const TxAlert& a) { alerts.push_back(a); };
  REQUIRE(mgr.start());
  const auto id = mgr.enqueue(transfer("reorged", 5));
  mgr.tick();  // signed and sent; anvil mines it in block 1
  tick_until(mgr, [&] { return mgr.get(id)->state == TxState::kConfirmed; });  // its receipt
  auto rec = *mgr.get(id);
  CAPTURE(rec.error);
  CAPTURE(rec.attempts.size());
  REQUIRE(rec.state == TxState::kConfirmed);
  REQUIRE(rec.mined_block == 1);
  const Hash32 first_block = *rec.mined_block_hash;
  CHECK(first_block == c.block_hash(1));
  CHECK(mgr.stats().confirmed == 1);

  c.reorg(1);  // block 1 is now an empty block: the transaction is on no chain and in no pool
  REQUIRE(c.block_hash(1) != first_block);
  REQUIRE(*c.eth.transaction_count(mgr.sender(), BlockTag::latest()) == 0);
  mgr.tick();  // the receipt's block is not canonical any more: unconfirmed, and re-sent
  CHECK(mgr.stats().reorgs == 1);
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].kind == TxAlertKind::kReorg);
  CHECK(alerts[0].tx_id == id);
  tick_until(mgr,
             [&] { return mgr.get(id)->state == TxState::kConfirmed; });  // mined again (block 2)
  rec = *mgr.get(id);
  CAPTURE(rec.error);
  REQUIRE(rec.state == TxState::kConfirmed);
  CHECK(rec.mined_block == 2);
  CHECK(*rec.mined_block_hash == c.block_hash(2));
  CHECK(mgr.stats().confirmed == 1);      // one transaction confirmed, not two
  CHECK(mgr.stats().gas_spent_wei == 0);  // nothing is final yet

  c.mine(3);  // block 2 is 4 deep at head 5
  mgr.tick();
  rec = *mgr.get(id);
  REQUIRE(rec.state == TxState::kFinalized);
  CHECK(mgr.stats().finalized == 1);
  // Charged once, at the canonical receipt's price.
  const auto receipt = **c.eth.transaction_receipt(*rec.mined_hash);
  CHECK(receipt.block_hash == *rec.mined_block_hash);
  CHECK(mgr.stats().gas_spent_wei == U256(receipt.gas_used) * receipt.effective_gas_price);
  const auto mined = mined_by_nonce(c, mgr.sender());
  REQUIRE(mined.size() == 1);
  CHECK(mined.at(0) == *rec.mined_hash);
}

TEST_CASE(
    "tx_manager_defect7_finalized_tag: with the finalized tag a receipt is not final at depth 1; a "
    "reorg before the node's finalized block passes it re-sends it, and then it is final") {
  ReorgChain c;
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.finality = Finality::kTag;  // confirmations stays 1: the depth rule would finalize at once
  TxManager mgr(c.eth, store, key1(), 31337, opts);
  REQUIRE(mgr.start());
  const auto id = mgr.enqueue(transfer("tagged", 9));
  mgr.tick();
  tick_until(mgr, [&] { return mgr.get(id)->state == TxState::kConfirmed; });
  auto rec = *mgr.get(id);
  CAPTURE(rec.error);
  REQUIRE(rec.state == TxState::kConfirmed);
  REQUIRE(rec.mined_block == 1);
  c.mine(5);  // 6 deep; anvil's finalized block is 64 below its head: still the genesis
  mgr.tick();
  CHECK(mgr.get(id)->state == TxState::kConfirmed);

  c.reorg(6);  // blocks 1..6 replaced by empty ones
  mgr.tick();  // block 1 is not the receipt's any more: unconfirmed, re-sent (mined in block 7)
  CHECK(mgr.stats().reorgs == 1);
  tick_until(mgr, [&] { return mgr.get(id)->state == TxState::kConfirmed; });
  rec = *mgr.get(id);
  REQUIRE(rec.state == TxState::kConfirmed);
  CHECK(rec.mined_block == 7);
  CHECK(*rec.mined_block_hash == c.block_hash(7));

  c.mine(63);  // head 70: the finalized block is 6, below the receipt's
  mgr.tick();
  CHECK(mgr.get(id)->state == TxState::kConfirmed);
  c.mine(1);  // head 71: the finalized block is 7
  REQUIRE((*c.eth.get_block(BlockTag::finalized()))->number == 7);
  mgr.tick();
  rec = *mgr.get(id);
  CHECK(rec.state == TxState::kFinalized);
  CHECK(mgr.stats().confirmed == 1);
  CHECK(mgr.stats().finalized == 1);
  CHECK(mgr.stats().finality_depth_fallbacks == 0);
  const auto receipt = **c.eth.transaction_receipt(*rec.mined_hash);
  CHECK(mgr.stats().gas_spent_wei == U256(receipt.gas_used) * receipt.effective_gas_price);
  CHECK(mined_by_nonce(c, mgr.sender()).size() == 1);
}

TEST_CASE(
    "tx_manager_defect7_finalized_tag: a node without the finalized tag is judged by "
    "confirmations depth") {
  ReorgChain c;
  c.proxy.set_fault(Fault::kNoFinalizedTag);
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.finality = Finality::kTag;
  opts.confirmations = 3;
  TxManager mgr(c.via_proxy, store, key1(), 31337, opts);
  REQUIRE(mgr.start());
  const auto id = mgr.enqueue(transfer("untagged", 3));
  mgr.tick();
  tick_until(
      mgr, [&] { return mgr.get(id)->state == TxState::kConfirmed; });  // block 1 at head 1: 1 deep
  REQUIRE(mgr.get(id)->state == TxState::kConfirmed);
  c.mine(1);  // 2 deep
  mgr.tick();
  CHECK(mgr.get(id)->state == TxState::kConfirmed);
  c.mine(1);  // 3 deep
  mgr.tick();
  CHECK(mgr.get(id)->state == TxState::kFinalized);
  CHECK(mgr.stats().finality_depth_fallbacks >= 1);
  CHECK(mgr.stats().rpc_failures == 0);
}

TEST_CASE(
    "tx_manager_defect8_gap_filler: on a chain where 21,000 gas is not enough the filler's gas is "
    "estimated and the nonce gap closes") {
  ReorgChain c;
  c.proxy.set_gas_surcharge(30'000);  // a self-send needs 51,000 gas here
  c.proxy.set_fault(Fault::kGasSurcharge);
  InMemoryTxStore store;
  TxManager mgr(c.via_proxy, store, key1(), 31337);
  REQUIRE(mgr.start());
  // Signed with 21,000 gas: refused ("intrinsic gas too low") and fatal; its nonce 0 is free on
  // chain, so a filler takes it. The next transaction estimates its gas and waits behind the gap.
  const auto doomed = mgr.enqueue(transfer("doomed", 1));
  const auto later = mgr.enqueue(transfer("later", 2, /*gas_limit=*/0));
  tick_until(mgr, [&] {
    return mgr.get(later)->state == TxState::kFinalized || mgr.stats().gap_fills > 3;
  });

  const auto d = *mgr.get(doomed);
  CHECK(d.state == TxState::kFatal);
  CHECK(d.error.find("intrinsic gas too low") != std::string::npos);
  const auto filler = store.find_by_key("gap-fill:0:" + std::to_string(doomed));
  REQUIRE(filler);
  CAPTURE(filler->error);
  CHECK(filler->state == TxState::kFinalized);
  CHECK(filler->mined_success);
  CHECK(filler->nonce == 0);
  CHECK(filler->gas_used == 21'000);  // what anvil charges; the surcharge lives in the proxy
  // The estimate (anvil's 21,000 plus the chain's 30,000) with the manager's margin.
  CHECK(filler->request.gas_limit ==
        static_cast<std::uint64_t>(51'000 * TxManagerOptions{}.gas_limit_multiplier));
  CHECK(mgr.stats().gap_fills == 1);  // one filler, not one per tick
  const auto l = *mgr.get(later);
  CHECK(l.state == TxState::kFinalized);
  CHECK(l.nonce == 1);
  CHECK(*c.eth.transaction_count(mgr.sender(), BlockTag::latest()) == 2);
  const auto mined = mined_by_nonce(c, mgr.sender());
  CHECK(mined.size() == 2);
}
