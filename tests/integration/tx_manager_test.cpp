// The transaction manager against a real anvil: throughput with consecutive nonces, a stuck
// transaction bumped and replaced, crash safety when destroyed mid-flight, and one test per
// defect of issue 15 ("defect N: ..."), each with its fault injected by the fault proxy
// (tests/support/fault_proxy.hpp) or by anvil's own controls.
#include <doctest/doctest.h>

#include <random>
#include <set>
#include <thread>

#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/transaction.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/fault_proxy.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using varkeeper::keeper::AnvilNode;
using varkeeper::keeper::AnvilOptions;
using varkeeper::test::Fault;
using varkeeper::test::FaultProxy;

namespace {

struct Chain {
  AnvilNode anvil;
  EndpointPool pool;
  EthClient eth;
  explicit Chain(AnvilOptions opts = {})
      : anvil(std::move(opts)), pool(make_clients(anvil.http_url())), eth(pool) {}
  static std::vector<std::unique_ptr<JsonRpcClient>> make_clients(const std::string& url) {
    std::vector<std::unique_ptr<JsonRpcClient>> v;
    v.push_back(std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(url))));
    return v;
  }
  Json rpc(const std::string& method, Json params = Json::array()) {
    auto r = pool.call(method, params);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().describe()));
    return *r;
  }
};

// anvil behind the fault proxy: the manager talks through the proxy (`via_proxy`), the test
// steers and reads the chain directly (Chain::rpc, Chain::eth).
struct ProxiedChain : Chain {
  FaultProxy proxy;
  EndpointPool proxied_pool;
  EthClient via_proxy;
  explicit ProxiedChain(AnvilOptions opts = {})
      : Chain(std::move(opts)),
        proxy(anvil.http_url()),
        proxied_pool(make_clients("http://127.0.0.1:" + std::to_string(proxy.port()))),
        via_proxy(proxied_pool) {}
};

SecretKey key1() { return *SecretKey::from_hex(varkeeper::keeper::kAnvilKey1); }

TxRequest transfer(const std::string& key, std::uint64_t wei) {
  TxRequest r;
  r.key = key;
  r.to = *from_hex_fixed<20>("0x000000000000000000000000000000000000dEaD");
  r.value = wei;
  r.gas_limit = 21'000;
  r.label = "test";
  return r;
}

// A store that "crashes" (throws) on its N-th save, before persisting it.
struct CrashingStore final : TxStore {
  InMemoryTxStore& inner;
  int saves_left;
  CrashingStore(InMemoryTxStore& s, int crash_at) : inner(s), saves_left(crash_at) {}
  std::uint64_t insert(const TxRequest& r, const Address& a) override { return inner.insert(r, a); }
  void save(const TxRecord& rec) override {
    if (saves_left-- == 0) throw std::runtime_error("simulated crash");
    inner.save(rec);
  }
  std::optional<TxRecord> get(std::uint64_t id) const override { return inner.get(id); }
  std::optional<TxRecord> find_by_key(std::string_view k) const override {
    return inner.find_by_key(k);
  }
  std::vector<TxRecord> load_open(const Address& a) const override { return inner.load_open(a); }
  std::optional<std::uint64_t> highest_nonce(const Address& a) const override {
    return inner.highest_nonce(a);
  }
};

// Every mined transaction of `from` in blocks 1..head, by nonce (asserting no duplicates).
std::map<std::uint64_t, std::string> mined_by_nonce(Chain& c, const Address& from) {
  std::map<std::uint64_t, std::string> out;
  const auto head = *c.eth.block_number();
  for (std::uint64_t b = 1; b <= head; ++b) {
    const Json block =
        c.rpc("eth_getBlockByNumber", Json::array({u256_to_quantity(U256(b)), true}));
    for (const auto& tx : block["transactions"]) {
      if (*parse_address(tx["from"].get<std::string>()) != from) continue;
      const auto nonce = *decode_u64_quantity(tx["nonce"], "nonce");
      CHECK_MESSAGE(out.count(nonce) == 0, "nonce " << nonce << " mined twice");
      out[nonce] = tx["hash"].get<std::string>();
    }
  }
  return out;
}

}  // namespace

TEST_CASE("200 transactions sent back-to-back land with consecutive nonces and no duplicates") {
  // Interval mining (1 s blocks), as on a real chain: anvil's automine can leave transactions
  // that arrive while it is mining in the pool until the next one arrives.
  AnvilOptions opts;
  opts.block_time_seconds = 1;
  Chain c(opts);
  InMemoryTxStore store;
  TxManager mgr(c.eth, store, key1(), 31337);
  REQUIRE(mgr.start());
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(mgr.enqueue(transfer("t" + std::to_string(i), 1)));
  // Idempotent by key.
  CHECK(mgr.enqueue(transfer("t0", 1)) == ids[0]);
  const auto all_final = [&] {
    return std::all_of(ids.begin(), ids.end(),
                       [&](auto id) { return mgr.get(id)->state == TxState::kFinalized; });
  };
  for (int round = 0; round < 60 && !all_final(); ++round) {
    mgr.tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  std::set<std::uint64_t> nonces;
  for (const auto id : ids) {
    const auto rec = *mgr.get(id);
    CAPTURE(rec.error);
    CAPTURE(rec.attempts.size());
    CAPTURE(*rec.nonce);
    CHECK(rec.state == TxState::kFinalized);
    CHECK(rec.mined_success);
    nonces.insert(*rec.nonce);
  }
  CHECK(mgr.stats().bumps == 0);  // every first attempt was priced to be mined
  CHECK(nonces.size() == 200);
  CHECK(*nonces.begin() == 0);
  CHECK(*nonces.rbegin() == 199);
  const auto mined = mined_by_nonce(c, mgr.sender());
  CHECK(mined.size() == 200);
  CHECK(*c.eth.transaction_count(mgr.sender(), BlockTag::latest()) == 200);
}

TEST_CASE("a stuck transaction is bumped, replaced on the first try, and mined") {
  Chain c;
  c.rpc("evm_setAutomine", Json::array({false}));
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.bump_after_blocks = 2;
  TxManager mgr(c.eth, store, key1(), 31337, opts);
  REQUIRE(mgr.start());
  const auto id = mgr.enqueue(transfer("stuck", 7));
  mgr.tick();
  auto rec = *mgr.get(id);
  REQUIRE(rec.state == TxState::kUnconfirmed);
  const U256 first_fee = rec.attempts[0].max_fee_per_gas;
  // Push the base fee above what the first attempt pays, and mine empty-for-us blocks.
  c.rpc("anvil_setNextBlockBaseFeePerGas", Json::array({u256_to_quantity(first_fee * 3)}));
  c.rpc("evm_mine");
  c.rpc("anvil_setNextBlockBaseFeePerGas", Json::array({u256_to_quantity(first_fee * 3)}));
  c.rpc("evm_mine");
  CHECK(*c.eth.transaction_count(mgr.sender(), BlockTag::latest()) == 0);
  mgr.tick();  // 2 blocks later: bumped
  rec = *mgr.get(id);
  REQUIRE(rec.attempts.size() >= 2);
  CHECK(rec.error.empty());  // no "replacement transaction underpriced"
  CHECK(rec.attempts.back().max_fee_per_gas > first_fee * 3);
  CHECK(rec.attempts.back().state == AttemptState::kBroadcast);
  CHECK(mgr.stats().bumps >= 1);
  c.rpc("evm_mine");
  mgr.tick();
  rec = *mgr.get(id);
  CHECK(rec.state == TxState::kFinalized);
  REQUIRE(rec.mined_hash);
  CHECK(*rec.mined_hash == rec.attempts.back().hash);
  const auto mined = mined_by_nonce(c, mgr.sender());
  CHECK(mined.size() == 1);
}

TEST_CASE("destroyed mid-flight and rebuilt from the store: nothing sent twice, no nonce gap") {
  const std::uint64_t seed = varkeeper::test::test_seed(0x5eed);
  std::mt19937_64 rng(seed);
  Chain c;
  InMemoryTxStore store;
  int total = 0;
  for (int rep = 0; rep < 10; ++rep) {
    // Crash at a random save of a random transaction: after the attempt was saved but before it
    // was broadcast, or after it was broadcast but before that was recorded, or later.
    const int crash_at = static_cast<int>(rng() % 12);
    CAPTURE(rep);
    CAPTURE(crash_at);
    {
      CrashingStore crashing(store, crash_at);
      TxManager mgr(c.eth, crashing, key1(), 31337);
      try {
        REQUIRE(mgr.start());
        for (int i = 0; i < 3; ++i) {
          mgr.enqueue(transfer("crash-" + std::to_string(rep) + "-" + std::to_string(i), 1));
        }
        for (int t = 0; t < 3; ++t) mgr.tick();
      } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "simulated crash");
      }
    }
    total += 3;
    // A new manager over the same store resumes.
    TxManager mgr(c.eth, store, key1(), 31337);
    REQUIRE(mgr.start());
    for (int i = 0; i < 3; ++i) {  // the keeper re-enqueues its intents: idempotent
      mgr.enqueue(transfer("crash-" + std::to_string(rep) + "-" + std::to_string(i), 1));
    }
    for (int t = 0; t < 4; ++t) {
      mgr.tick();
      c.rpc("evm_mine");  // the chain moves on (and flushes anything automine left pending)
    }
  }
  TxManager final_mgr(c.eth, store, key1(), 31337);
  REQUIRE(final_mgr.start());
  const auto mined = mined_by_nonce(c, final_mgr.sender());
  // Every intent mined exactly once (gap fillers, if any, also take nonces), nonces 0..n-1.
  std::size_t intents = 0;
  for (const auto& rec : store.all()) {
    if (rec.request.label == "test") {
      CHECK(rec.state == TxState::kFinalized);
      ++intents;
    }
  }
  CHECK(intents == static_cast<std::size_t>(total));
  REQUIRE_FALSE(mined.empty());
  CHECK(mined.begin()->first == 0);
  CHECK(mined.rbegin()->first == mined.size() - 1);  // consecutive: no gap
  CHECK(mined.size() >= static_cast<std::size_t>(total));
  CHECK(store.load_open(final_mgr.sender()).empty());
}

TEST_CASE(
    "defect 2: a failing receipt lookup never hands a nonce our attempt used to another send") {
  // A load-balanced provider whose receipt backend fails while nonce counts succeed: the
  // transaction was mined, the nonce count is ahead, and no receipt can be read.
  ProxiedChain c;
  c.rpc("evm_setAutomine", Json::array({false}));
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.bump_after_blocks = 2;
  TxManager mgr(c.via_proxy, store, key1(), 31337, opts);
  REQUIRE(mgr.start());
  const auto id = mgr.enqueue(transfer("settle-once", 7));
  mgr.tick();
  REQUIRE(mgr.get(id)->state == TxState::kUnconfirmed);
  c.proxy.set_fault(Fault::kFailReceipts);
  c.rpc("evm_mine");  // mined: nonce 0 used by our only attempt
  for (int i = 0; i < 6; ++i) {
    c.rpc("evm_mine");
    mgr.tick();
  }
  CHECK(c.proxy.injected(Fault::kFailReceipts) > 0);
  auto rec = *mgr.get(id);
  CAPTURE(rec.error);
  CHECK(rec.nonce == std::optional<std::uint64_t>(0));
  CHECK(rec.attempts.size() == 1);
  // The nonce count is ahead and no receipt can be read: confirmed_missing_receipt, said once.
  CHECK(rec.state == TxState::kConfirmedMissingReceipt);
  CHECK(mgr.stats().missing_receipts == 1);
  CHECK(mgr.stats().receipt_lookup_failures > 0);
  CHECK(mgr.next_nonce() == 1);
  c.proxy.set_fault(Fault::kNone);
  for (int i = 0; i < 2; ++i) {
    mgr.tick();
    c.rpc("evm_mine");
  }
  rec = *mgr.get(id);
  CHECK(rec.state == TxState::kFinalized);
  REQUIRE(rec.mined_hash);
  CHECK(*rec.mined_hash == rec.attempts.front().hash);
  // The settlement ran once: one transaction of ours on chain.
  CHECK(mined_by_nonce(c, mgr.sender()).size() == 1);
  CHECK(*c.eth.transaction_count(mgr.sender(), BlockTag::latest()) == 1);
}

TEST_CASE("defect 2: receipts a lagging backend answers null are waited for, not re-sent") {
  ProxiedChain c;
  c.rpc("evm_setAutomine", Json::array({false}));
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.bump_after_blocks = 2;
  TxManager mgr(c.via_proxy, store, key1(), 31337, opts);
  REQUIRE(mgr.start());
  const auto id = mgr.enqueue(transfer("rebalance-once", 7));
  mgr.tick();
  c.proxy.set_fault(Fault::kNullReceipts);
  c.rpc("evm_mine");
  for (int i = 0; i < 3; ++i) {
    c.rpc("evm_mine");
    mgr.tick();
  }
  CHECK(c.proxy.injected(Fault::kNullReceipts) > 0);
  CHECK(mgr.get(id)->state == TxState::kConfirmedMissingReceipt);
  c.proxy.set_fault(Fault::kNone);
  for (int i = 0; i < 2; ++i) {
    mgr.tick();
    c.rpc("evm_mine");
  }
  const auto rec = *mgr.get(id);
  CAPTURE(rec.error);
  CHECK(rec.state == TxState::kFinalized);
  CHECK(rec.nonce == std::optional<std::uint64_t>(0));
  CHECK(mined_by_nonce(c, mgr.sender()).size() == 1);
}

TEST_CASE(
    "defect 2: a nonce another sender used turns fatal after missing_receipt_blocks, unfilled") {
  // An external sender with the same key replaces our pending transaction: the nonce is used,
  // none of our attempts will ever have a receipt. The payload is not re-sent under a new nonce
  // behind the operator's back; the record says what happened.
  Chain c;
  c.rpc("evm_setAutomine", Json::array({false}));
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.bump_after_blocks = 1;
  opts.missing_receipt_blocks = 3;
  TxManager mgr(c.eth, store, key1(), 31337, opts);
  REQUIRE(mgr.start());
  const auto id = mgr.enqueue(transfer("deploy-once", 7));
  mgr.tick();
  auto rec = *mgr.get(id);
  REQUIRE(rec.state == TxState::kUnconfirmed);
  Eip1559Transaction other;
  other.chain_id = 31337;
  other.nonce = 0;
  other.max_priority_fee_per_gas = rec.attempts[0].max_priority_fee_per_gas * 3;
  other.max_fee_per_gas = rec.attempts[0].max_fee_per_gas * 3;
  other.gas_limit = 21'000;
  other.to = *from_hex_fixed<20>("0x00000000000000000000000000000000000000bb");
  other.value = 1;
  const auto signed_other = sign_transaction(other, key1());
  REQUIRE(c.eth.send_raw_transaction(encode_signed(signed_other)));
  for (int i = 0; i < 6; ++i) {
    c.rpc("evm_mine");
    mgr.tick();
  }
  rec = *mgr.get(id);
  CAPTURE(rec.error);
  CHECK(rec.state == TxState::kFatal);
  CHECK(rec.error.find("nonce 0 was used by a transaction we did not sign") != std::string::npos);
  CHECK(mgr.stats().gap_fills == 0);  // the nonce is used: nothing to fill
  for (int i = 0; i < 2; ++i) {
    mgr.tick();
    c.rpc("evm_mine");
  }
  const auto mined = mined_by_nonce(c, mgr.sender());
  REQUIRE(mined.size() == 1);
  CHECK(*from_hex_fixed<32>(mined.at(0)) == transaction_hash(signed_other));
}

TEST_CASE(
    "defect 1: fees rise only from a broadcast attempt; insufficient funds retries the same") {
  // A wallet that covers the first attempt but not a bump: each refused bump used to be bumped
  // again at the next tick (+20 % on an attempt nobody saw) up to the fee cap, which a top-up
  // then paid.
  Chain c;
  c.rpc("evm_setAutomine", Json::array({false}));
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.bump_after_blocks = 1;
  TxManager mgr(c.eth, store, key1(), 31337, opts);
  REQUIRE(mgr.start());
  const auto id = mgr.enqueue(transfer("low-wallet", 1));
  mgr.tick();
  auto rec = *mgr.get(id);
  REQUIRE(rec.state == TxState::kUnconfirmed);
  const U256 first_fee = rec.attempts[0].max_fee_per_gas;
  const std::string sender = to_hex(mgr.sender());
  c.rpc("anvil_setBalance",
        Json::array({sender, u256_to_quantity(U256(21'000) * first_fee * 105 / 100)}));
  for (int i = 0; i < 8; ++i) {  // the base fee stays above the first attempt's cap
    c.rpc("anvil_setNextBlockBaseFeePerGas", Json::array({u256_to_quantity(first_fee * 2)}));
    c.rpc("evm_mine");
    mgr.tick();
  }
  rec = *mgr.get(id);
  CAPTURE(rec.error);
  // One bump was signed (from the broadcast first attempt) and is retried as it is.
  REQUIRE(rec.attempts.size() == 2);
  CHECK(rec.attempts[0].state == AttemptState::kBroadcast);
  CHECK(rec.attempts[1].state == AttemptState::kSaved);
  CHECK(mgr.stats().insufficient_funds >= 2);
  CHECK(mgr.stats().bumps == 1);
  const U256 bump_fee = rec.attempts[1].max_fee_per_gas;
  // Top up; the base fee falls back: the saved bump is what gets mined, not a cap-priced one.
  c.rpc("anvil_setBalance",
        Json::array({sender, u256_to_quantity(U256(10) * 1'000'000'000'000'000'000ULL)}));
  c.rpc("anvil_setNextBlockBaseFeePerGas", Json::array({u256_to_quantity(first_fee / 4)}));
  mgr.tick();
  c.rpc("evm_mine");
  mgr.tick();
  rec = *mgr.get(id);
  CHECK(rec.state == TxState::kFinalized);
  REQUIRE(rec.mined_hash);
  CHECK(*rec.mined_hash == rec.attempts.back().hash);
  CHECK(rec.attempts.back().max_fee_per_gas == bump_fee);
  CHECK(bump_fee < opts.fees.max_fee_cap / 10);
  CHECK(mined_by_nonce(c, mgr.sender()).size() == 1);
}

TEST_CASE("defect 6: a bump the fee cap keeps under the replacement rule is not sent; said once") {
  // The first attempt is priced near the cap (an operator lowered max_fee_gwei and restarted):
  // +10 % on tip and fee cap is impossible, so no replacement is signed; the alert is raised
  // once and the transaction waits for the base fee to fall.
  Chain c;
  c.rpc("evm_setAutomine", Json::array({false}));
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.bump_after_blocks = 1;
  std::uint64_t id = 0;
  U256 first_fee = 0;
  {
    TxManager first(c.eth, store, key1(), 31337, opts);
    REQUIRE(first.start());
    id = first.enqueue(transfer("near-cap", 3));
    first.tick();
    first_fee = first.get(id)->attempts[0].max_fee_per_gas;
  }
  opts.fees.max_fee_cap = first_fee * 105 / 100;
  TxManager mgr(c.eth, store, key1(), 31337, opts);
  std::vector<TxAlert> alerts;
  mgr.on_alert = [&](const TxAlert& a) { alerts.push_back(a); };
  REQUIRE(mgr.start());
  for (int i = 0; i < 5; ++i) {
    c.rpc("anvil_setNextBlockBaseFeePerGas", Json::array({u256_to_quantity(first_fee * 2)}));
    c.rpc("evm_mine");
    mgr.tick();
  }
  auto rec = *mgr.get(id);
  CAPTURE(rec.error);
  CHECK(rec.attempts.size() == 1);
  CHECK(rec.state == TxState::kUnconfirmed);
  CHECK(mgr.stats().fee_cap_reached == 1);
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].kind == TxAlertKind::kFeeCapReached);
  CHECK(alerts[0].tx_id == id);
  CHECK(rec.error.find("fee cap") != std::string::npos);
  // The base fee falls: the held first attempt (re-sent as it is, since anvil's pool drops what
  // cannot pay the base fee) is mined.
  c.rpc("anvil_setNextBlockBaseFeePerGas", Json::array({u256_to_quantity(first_fee / 4)}));
  c.rpc("evm_mine");
  mgr.tick();
  c.rpc("evm_mine");
  mgr.tick();
  rec = *mgr.get(id);
  CHECK(rec.state == TxState::kFinalized);
  REQUIRE(rec.mined_hash);
  CHECK(*rec.mined_hash == rec.attempts[0].hash);
  CHECK(rec.attempts.size() == 1);
  CHECK(mgr.stats().fee_cap_reached == 1);
}

TEST_CASE("defect 13: a receipt of another transaction is not taken for ours") {
  // An endpoint answers eth_getTransactionReceipt(B) with A's receipt: B used to be "mined" in
  // A's block with A's gas, and finalized.
  ProxiedChain c;
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.bump_after_blocks = 1;
  TxManager mgr(c.via_proxy, store, key1(), 31337, opts);
  std::vector<TxAlert> alerts;
  mgr.on_alert = [&](const TxAlert& a) { alerts.push_back(a); };
  REQUIRE(mgr.start());
  const auto decoy_id = mgr.enqueue(transfer("decoy", 1));
  mgr.tick();
  c.rpc("evm_mine");
  mgr.tick();
  const auto decoy = *mgr.get(decoy_id);
  REQUIRE(decoy.state == TxState::kFinalized);
  c.rpc("evm_setAutomine", Json::array({false}));
  c.proxy.set_receipt_decoy(to_hex(*decoy.mined_hash));
  c.proxy.set_fault(Fault::kWrongReceipt);
  const auto id = mgr.enqueue(transfer("real", 2));
  mgr.tick();
  c.rpc("evm_mine");
  for (int i = 0; i < 3; ++i) {
    mgr.tick();
    c.rpc("evm_mine");
  }
  auto rec = *mgr.get(id);
  CAPTURE(rec.error);
  CHECK(c.proxy.injected(Fault::kWrongReceipt) > 0);
  CHECK(rec.state != TxState::kFinalized);
  CHECK(rec.state != TxState::kConfirmed);
  CHECK_FALSE(rec.mined_hash.has_value());
  CHECK(mgr.stats().wrong_receipts > 0);
  const auto told = std::count_if(alerts.begin(), alerts.end(), [](const TxAlert& a) {
    return a.kind == TxAlertKind::kWrongReceipt;
  });
  CHECK(told == 1);
  c.proxy.set_fault(Fault::kNone);
  mgr.tick();
  rec = *mgr.get(id);
  CHECK(rec.state == TxState::kFinalized);
  REQUIRE(rec.mined_hash);
  CHECK(*rec.mined_hash == rec.attempts.front().hash);
  CHECK(*rec.mined_hash != *decoy.mined_hash);
}

TEST_CASE(
    "defect 13: gauges say the open transactions by state, the oldest's age, attempts, balance") {
  Chain c;
  c.rpc("evm_setAutomine", Json::array({false}));
  InMemoryTxStore store;
  TxManager mgr(c.eth, store, key1(), 31337);
  REQUIRE(mgr.start());
  mgr.enqueue(transfer("g1", 1));
  mgr.enqueue(transfer("g2", 1));
  mgr.tick();
  auto g = mgr.gauges();
  CHECK(g.open_by_state.at(TxState::kUnconfirmed) == 2);
  CHECK(g.open_by_state.count(TxState::kUnstarted) == 0);
  CHECK(g.max_attempts == 1);
  CHECK(g.attempts_open == 2);
  REQUIRE(g.sender_balance_wei);
  CHECK(*g.sender_balance_wei == *c.eth.balance(mgr.sender()));
  mgr.enqueue(transfer("g3", 1));  // queued behind max_in_flight = 2
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  TxManagerOptions few;
  few.max_in_flight = 2;
  TxManager capped(c.eth, store, key1(), 31337, few);
  REQUIRE(capped.start());
  capped.tick();
  g = capped.gauges();
  CHECK(g.open_by_state.at(TxState::kUnconfirmed) == 2);
  CHECK(g.open_by_state.at(TxState::kUnstarted) == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  capped.tick();
  CHECK(capped.gauges().oldest_unconfirmed_seconds >= 1.0);
  c.rpc("anvil_setBalance",
        Json::array({to_hex(mgr.sender()), u256_to_quantity(U256(12345) * 1'000'000'000'000ULL)}));
  c.rpc("evm_mine");
  capped.tick();  // g1, g2 mined
  capped.tick();  // g3 sent
  g = capped.gauges();
  CHECK(g.open_by_state.count(TxState::kUnconfirmed) == 1);
  CHECK(g.open_by_state.at(TxState::kUnconfirmed) == 1);
  CHECK(g.oldest_unconfirmed_seconds < 1.0);
  CHECK(*g.sender_balance_wei == *c.eth.balance(mgr.sender()));
  CHECK(*g.sender_balance_wei < U256(12345) * 1'000'000'000'000ULL);
}
