// Issue 15's fault classes that had no test of their own: 429 and 503 storms (the pool and the
// transaction manager) and a transaction dropped from the mempool (anvil_dropTransaction). Each
// performs the fault through the fault proxy (tests/support/fault_proxy.hpp) or anvil's controls.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/json_rpc.hpp"
#include "chain/transaction.hpp"
#include "chain/transport.hpp"
#include "chain/tx_manager.hpp"
#include "chain/uint256.hpp"
#include "chain/url.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/fault_proxy.hpp"

using namespace varkeeper;
using namespace varkeeper::chain;
using test::Fault;
using test::FaultProxy;
using test::FaultStep;

namespace {

std::unique_ptr<JsonRpcClient> client_for(const std::string& url) {
  return std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(url)), RetryPolicy{1});
}

std::string proxy_url(const FaultProxy& p) {
  return "http://127.0.0.1:" + std::to_string(p.port());
}

Json call(JsonRpcClient& c, const std::string& method, const Json& params = Json::array()) {
  auto r = c.call(method, params);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().describe()));
  return *r;
}

SecretKey key1() { return *SecretKey::from_hex(keeper::kAnvilKey1); }

TxRequest transfer(const std::string& key, std::uint64_t wei) {
  TxRequest r;
  r.key = key;
  r.to = *from_hex_fixed<20>("0x000000000000000000000000000000000000dEaD");
  r.value = wei;
  r.gas_limit = 21'000;
  r.label = "test";
  return r;
}

// Every mined transaction of `from`, by nonce; a nonce mined twice fails the test.
std::map<std::uint64_t, std::string> mined_by_nonce(JsonRpcClient& c, EthClient& eth,
                                                    const Address& from) {
  std::map<std::uint64_t, std::string> out;
  const auto head = *eth.block_number();
  for (std::uint64_t b = 1; b <= head; ++b) {
    const Json block =
        call(c, "eth_getBlockByNumber", Json::array({u256_to_quantity(U256(b)), true}));
    for (const auto& tx : block["transactions"]) {
      if (*parse_address(tx["from"].get<std::string>()) != from) {
        continue;
      }
      const auto nonce = *decode_u64_quantity(tx["nonce"], "nonce");
      CHECK_MESSAGE(out.count(nonce) == 0, "nonce " << nonce << " mined twice");
      out[nonce] = tx["hash"].get<std::string>();
    }
  }
  return out;
}

}  // namespace

TEST_CASE(
    "fault http_429 and http_503 storms: every call fails over, each refusal is classified, "
    "the endpoint serves again after the storm") {
  keeper::AnvilNode anvil;
  for (const Fault storm : {Fault::kHttp429, Fault::kHttp503}) {
    CAPTURE(test::fault_name(storm));
    FaultProxy proxy(anvil.http_url());
    // A storm of 30 requests on the endpoint configured first, then it recovers.
    proxy.script({FaultStep{storm, "", 30}});
    std::vector<std::unique_ptr<JsonRpcClient>> clients;
    clients.push_back(client_for(proxy_url(proxy)));
    clients.push_back(client_for(anvil.http_url()));
    EndpointPool pool(std::move(clients));
    for (int i = 0; i < 10; ++i) {
      const auto r = pool.call("eth_chainId");
      REQUIRE(r);
      CHECK(*r == "0x7a69");
    }
    const auto during = pool.health();
    CHECK(during[0].consecutive_failures >= 1);
    CHECK(during[1].consecutive_failures == 0);
    // Asked directly during the storm: an HTTP status error, not a transport or parse fault.
    const auto direct = pool.client(0).call("eth_blockNumber");
    REQUIRE_FALSE(direct);
    CHECK(direct.error().kind == RpcErrorKind::kHttpStatus);
    CHECK(proxy.injected(storm) >= 2);
    // Use up the storm; the endpoint answers again and its failures are reset by a success.
    while (proxy.injected(storm) < 30) {
      (void)pool.client(0).call("eth_blockNumber");
    }
    const auto after = pool.client(0).call("eth_chainId");
    REQUIRE(after);
    CHECK(*after == "0x7a69");
  }
}

TEST_CASE(
    "fault http_503 storm on eth_sendRawTransaction: the same signed attempt is sent when "
    "it ends, fees unchanged, mined once") {
  // A storm on the only endpoint while the first attempt is due: no node saw the attempt, so
  // blocks passing must not re-price it (defect 1's rule holds for a storm as for a drained
  // wallet), and it must not be signed again under another nonce.
  keeper::AnvilNode anvil;
  auto direct = client_for(anvil.http_url());
  call(*direct, "evm_setAutomine", Json::array({false}));
  FaultProxy proxy(anvil.http_url());
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(client_for(proxy_url(proxy)));
  EndpointPool pool(std::move(clients));
  EthClient eth(pool);
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.bump_after_blocks = 2;
  TxManager mgr(eth, store, key1(), 31337, opts);
  REQUIRE(mgr.start());
  proxy.script({FaultStep{Fault::kHttp503, "eth_sendRawTransaction"}});
  const auto id = mgr.enqueue(transfer("storm", 5));
  for (int i = 0; i < 6; ++i) {
    mgr.tick();
    call(*direct, "evm_mine");
  }
  auto rec = *mgr.get(id);
  CHECK(proxy.injected(Fault::kHttp503) >= 6);
  REQUIRE(rec.attempts.size() == 1);
  CHECK(rec.attempts[0].state != AttemptState::kBroadcast);
  REQUIRE(rec.nonce);
  CHECK(*rec.nonce == 0);
  CHECK(mgr.stats().bumps == 0);
  const auto first = rec.attempts[0];
  proxy.clear_script();
  mgr.tick();  // the storm is over: the saved bytes go out
  call(*direct, "evm_mine");
  mgr.tick();
  rec = *mgr.get(id);
  CHECK(rec.state == TxState::kFinalized);
  REQUIRE(rec.attempts.size() == 1);
  CHECK(rec.attempts[0].max_fee_per_gas == first.max_fee_per_gas);
  CHECK(rec.attempts[0].max_priority_fee_per_gas == first.max_priority_fee_per_gas);
  REQUIRE(rec.mined_hash);
  CHECK(*rec.mined_hash == first.hash);
  const auto mined = mined_by_nonce(*direct, eth, mgr.sender());
  REQUIRE(mined.size() == 1);
  CHECK(mined.begin()->first == 0);
}

TEST_CASE(
    "fault anvil_dropTransaction: a transaction dropped from the mempool is replaced at its "
    "nonce after bump_after_blocks and mined once") {
  keeper::AnvilNode anvil;
  auto direct = client_for(anvil.http_url());
  call(*direct, "evm_setAutomine", Json::array({false}));
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(client_for(anvil.http_url()));
  EndpointPool pool(std::move(clients));
  EthClient eth(pool);
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.bump_after_blocks = 2;
  TxManager mgr(eth, store, key1(), 31337, opts);
  REQUIRE(mgr.start());
  const auto id = mgr.enqueue(transfer("dropped", 3));
  mgr.tick();
  auto rec = *mgr.get(id);
  REQUIRE(rec.state == TxState::kUnconfirmed);
  REQUIRE(rec.attempts.size() == 1);
  const auto first = rec.attempts[0];
  // The node forgets it: the next blocks do not mine it, the nonce stays free.
  call(*direct, "anvil_dropTransaction", Json::array({to_hex(first.hash)}));
  call(*direct, "evm_mine");
  mgr.tick();
  call(*direct, "evm_mine");
  CHECK(*eth.transaction_count(mgr.sender(), BlockTag::latest()) == 0);
  mgr.tick();  // bump_after_blocks later: a new attempt at the same nonce reaches the pool
  rec = *mgr.get(id);
  REQUIRE(rec.attempts.size() == 2);
  CHECK(rec.attempts[1].state == AttemptState::kBroadcast);
  CHECK(rec.attempts[1].max_fee_per_gas > first.max_fee_per_gas);
  CHECK(rec.state != TxState::kConfirmedMissingReceipt);
  call(*direct, "evm_mine");
  mgr.tick();
  rec = *mgr.get(id);
  CHECK(rec.state == TxState::kFinalized);
  REQUIRE(rec.mined_hash);
  CHECK(*rec.mined_hash == rec.attempts[1].hash);
  const auto mined = mined_by_nonce(*direct, eth, mgr.sender());
  REQUIRE(mined.size() == 1);
  CHECK(mined.begin()->first == 0);
  CHECK(mgr.stats().gap_fills == 0);
}

TEST_CASE(
    "fault gas_surcharge on a bump: a refused replacement does not make a transaction fatal "
    "while its broadcast attempt can still be mined") {
  // Attempt 1 is in the pool, stuck under a base-fee spike. Its bump reaches an endpoint that
  // refuses it for a reason that is no fault of its price ("intrinsic gas too low": a node that
  // charges more gas). The transaction used to turn fatal with a gap filler queued behind it:
  // attempt 1 was then mined (the base fee fell before the filler was signed), the record stayed
  // fatal though its payload landed, and a caller reading "fatal" sends the payload again.
  keeper::AnvilNode anvil;
  auto direct = client_for(anvil.http_url());
  EndpointPool direct_pool([&] {
    std::vector<std::unique_ptr<JsonRpcClient>> v;
    v.push_back(client_for(anvil.http_url()));
    return v;
  }());
  EthClient direct_eth(direct_pool);
  call(*direct, "evm_setAutomine", Json::array({false}));
  FaultProxy proxy(anvil.http_url());
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(client_for(proxy_url(proxy)));
  EndpointPool pool(std::move(clients));
  EthClient eth(pool);
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.bump_after_blocks = 2;
  TxManager mgr(eth, store, key1(), 31337, opts);
  REQUIRE(mgr.start());
  const auto id = mgr.enqueue(transfer("held", 9));
  mgr.tick();
  auto rec = *mgr.get(id);
  REQUIRE(rec.state == TxState::kUnconfirmed);
  const auto first = rec.attempts[0];
  const U256 spike = first.max_fee_per_gas * 3;
  for (int i = 0; i < 2; ++i) {
    call(*direct, "anvil_setNextBlockBaseFeePerGas", Json::array({u256_to_quantity(spike)}));
    call(*direct, "evm_mine");
  }
  REQUIRE(*direct_eth.transaction_count(mgr.sender(), BlockTag::latest()) == 0);
  proxy.set_fault(Fault::kGasSurcharge);
  mgr.tick();  // the bump is due and refused: intrinsic gas too low
  CHECK(proxy.injected(Fault::kGasSurcharge) > 0);
  rec = *mgr.get(id);
  CAPTURE(rec.error);
  CHECK(rec.state != TxState::kFatal);
  proxy.set_fault(Fault::kNone);
  // The base fee falls: the held attempt 1 is mined before the keeper's next tick.
  call(*direct, "anvil_setNextBlockBaseFeePerGas",
       Json::array({u256_to_quantity(first.max_fee_per_gas / 4)}));
  call(*direct, "evm_mine");
  for (int i = 0; i < 3; ++i) {
    mgr.tick();
    call(*direct, "evm_mine");
  }
  const auto mined = mined_by_nonce(*direct, direct_eth, mgr.sender());
  REQUIRE(mined.size() == 1);
  rec = *mgr.get(id);
  CAPTURE(rec.error);
  CHECK(rec.state == TxState::kFinalized);
  REQUIRE(rec.mined_hash);
  CHECK(to_hex(*rec.mined_hash) == mined.begin()->second);
  CHECK(mgr.stats().gap_fills == 0);
}

TEST_CASE(
    "fault null_receipts on the first endpoint while the second is healthy: a mined "
    "transaction is confirmed with its hash, never made fatal") {
  // docs/reliability.md, soak run 2, tx 9: the endpoint the pool picks answered null receipts
  // for more than missing_receipt_blocks blocks while another endpoint had the receipt; the
  // manager declared the nonce used by a transaction we did not sign, and the keeper dropped the
  // report row of a transaction that was on chain.
  keeper::AnvilNode anvil;
  auto direct = client_for(anvil.http_url());
  call(*direct, "evm_setAutomine", Json::array({false}));
  FaultProxy proxy(anvil.http_url());
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(client_for(proxy_url(proxy)));
  clients.push_back(client_for(anvil.http_url()));
  EndpointPool pool(std::move(clients));
  EthClient eth(pool);
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.bump_after_blocks = 2;
  TxManager mgr(eth, store, key1(), 31337, opts);
  REQUIRE(mgr.start());
  const auto id = mgr.enqueue(transfer("report-once", 3));
  mgr.tick();
  REQUIRE(mgr.get(id)->state == TxState::kUnconfirmed);
  proxy.set_fault(Fault::kNullReceipts);
  call(*direct, "evm_mine");  // mined: nonce 0 used by our only attempt
  const auto blocks = static_cast<int>(opts.missing_receipt_blocks) + 10;
  for (int i = 0; i < blocks; ++i) {
    call(*direct, "evm_mine");
    mgr.tick();
    const auto state = mgr.get(id)->state;
    CHECK(state != TxState::kFatal);
    if (state == TxState::kFatal) {
      break;
    }
  }
  // The first endpoint kept answering null receipts all along.
  CHECK(proxy.injected(Fault::kNullReceipts) > 0);
  CHECK(pool.health()[0].consecutive_failures == 0);
  const auto rec = *mgr.get(id);
  CAPTURE(rec.error);
  CHECK(rec.state == TxState::kFinalized);
  REQUIRE(rec.attempts.size() == 1);
  REQUIRE(rec.mined_hash);
  CHECK(*rec.mined_hash == rec.attempts[0].hash);
  const auto mined = mined_by_nonce(*direct, eth, mgr.sender());
  REQUIRE(mined.size() == 1);
  CHECK(*from_hex_fixed<32>(mined.at(0)) == rec.attempts[0].hash);
}

TEST_CASE(
    "fault null_receipts on the first endpoint: a nonce another sender used turns fatal only "
    "once every endpoint has no receipt and the nonce's use is final") {
  keeper::AnvilNode anvil;
  auto direct = client_for(anvil.http_url());
  call(*direct, "evm_setAutomine", Json::array({false}));
  FaultProxy proxy(anvil.http_url());
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(client_for(proxy_url(proxy)));
  clients.push_back(client_for(anvil.http_url()));
  EndpointPool pool(std::move(clients));
  EthClient eth(pool);
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.bump_after_blocks = 1;
  opts.missing_receipt_blocks = 3;
  opts.confirmations = 8;  // final 8 blocks deep: later than missing_receipt_blocks
  TxManager mgr(eth, store, key1(), 31337, opts);
  REQUIRE(mgr.start());
  const auto id = mgr.enqueue(transfer("deploy-once", 7));
  mgr.tick();
  auto rec = *mgr.get(id);
  REQUIRE(rec.state == TxState::kUnconfirmed);
  proxy.set_fault(Fault::kNullReceipts);
  // The same key, signed elsewhere, takes nonce 0 with higher fees.
  Eip1559Transaction other;
  other.chain_id = 31337;
  other.nonce = 0;
  other.max_priority_fee_per_gas = rec.attempts[0].max_priority_fee_per_gas * 3;
  other.max_fee_per_gas = rec.attempts[0].max_fee_per_gas * 3;
  other.gas_limit = 21'000;
  other.to = *from_hex_fixed<20>("0x00000000000000000000000000000000000000bb");
  other.value = 1;
  const auto signed_other = sign_transaction(other, key1());
  REQUIRE(eth.send_raw_transaction(encode_signed(signed_other)));
  call(*direct, "evm_mine");
  const auto other_block = *eth.block_number();
  std::uint64_t fatal_at = 0;
  for (int i = 0; i < 16 && fatal_at == 0; ++i) {
    call(*direct, "evm_mine");
    mgr.tick();
    if (mgr.get(id)->state == TxState::kFatal) {
      fatal_at = *eth.block_number();
    }
  }
  rec = *mgr.get(id);
  CAPTURE(rec.error);
  CHECK(proxy.injected(Fault::kNullReceipts) > 0);
  CHECK(rec.state == TxState::kFatal);
  CHECK(rec.error.find("nonce 0 was used by a transaction we did not sign") != std::string::npos);
  // Not before the other transaction's block was final (8 deep), although missing_receipt_blocks
  // (3) had passed well before.
  CHECK(fatal_at >= other_block + opts.confirmations - 1);
  CHECK(mgr.stats().gap_fills == 0);
  const auto mined = mined_by_nonce(*direct, eth, mgr.sender());
  REQUIRE(mined.size() == 1);
  CHECK(*from_hex_fixed<32>(mined.at(0)) == transaction_hash(signed_other));
}
