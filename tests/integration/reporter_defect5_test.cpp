// Issue 15, defect 5: stale reports no longer pile up behind a stuck transaction. At most one
// report transaction is in flight per portfolio; newer reports wait (the newest supersedes the
// one waiting) and go out when the one in flight resolves; each attempt is simulated first and a
// payload that would now revert is abandoned without burning a nonce.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/json_rpc.hpp"
#include "chain/secret_key.hpp"
#include "chain/tx_manager.hpp"
#include "chain/url.hpp"
#include "keeper/core/reporter.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using namespace varkeeper::chain;

namespace {

struct Chain {
  keeper::AnvilNode anvil;
  EndpointPool pool;
  EthClient eth;
  Chain() : anvil(keeper::AnvilOptions{}), pool(clients(anvil.http_url())), eth(pool) {}
  static std::vector<std::unique_ptr<JsonRpcClient>> clients(const std::string& url) {
    std::vector<std::unique_ptr<JsonRpcClient>> v;
    v.push_back(std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(url))));
    return v;
  }
  Json rpc(const std::string& method, const Json& params = Json::array()) {
    auto r = pool.call(method, params);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().describe()));
    return *r;
  }
};

SecretKey key0() { return *SecretKey::from_hex(keeper::kAnvilKey0); }

TxRequest payment(const std::string& key) {
  TxRequest r;
  r.key = key;
  r.to = *from_hex_fixed<20>("0x000000000000000000000000000000000000dEaD");
  r.value = 1;
  r.gas_limit = 21'000;
  r.label = "report";
  return r;
}

// RiskOracle (the sender key0 its only signer, portfolio 1: reports up to an hour old, no
// minimum interval, no change limit) and a reporter for portfolio 1.
struct Oracle {
  Chain c;
  InMemoryTxStore store;
  TxManager mgr{c.eth, store, key0(), 31337};
  Address oracle{};
  keeper::PortfolioSpec spec;
  std::unique_ptr<keeper::Reporter> reporter;
  std::uint64_t t0 = 0;
  Oracle() {
    REQUIRE(mgr.start());
    keeper::DeployOptions o;
    o.artifacts_dir = test::artifacts_dir();
    o.limits = {{1, 3600, 0, 0}};
    o.poll_interval = std::chrono::milliseconds(20);
    o.timeout = std::chrono::seconds(30);
    oracle = keeper::deploy_all(c.eth, mgr, o).address_of("RiskOracle");
    spec.id = 1;
    spec.name = "eth";
    spec.period_s = 86'400;
    reporter = std::make_unique<keeper::Reporter>(
        c.eth, mgr, std::vector<SecretKey>{key0()},
        std::map<std::uint64_t, keeper::PortfolioSpec>{{1, spec}},
        keeper::ReporterOptions{oracle, 31337, 0});
    reporter->resume();
    t0 = (*c.eth.get_block(BlockTag::latest()))->timestamp;
  }
  // Tick i's decision to publish portfolio 1: VaR 2 % + i/1000, observed i seconds later.
  static keeper::PortfolioUpdate update(std::uint64_t t0, int i) {
    keeper::PortfolioUpdate u;
    u.portfolio_id = 1;
    u.has_estimate = true;
    u.value = 30'000.0;
    u.published_var = 0.02 + i / 1000.0;
    u.published_cvar = 0.03 + i / 1000.0;
    u.publish = keeper::PublishReason::kHeartbeat;
    u.observed_at = static_cast<std::int64_t>(t0) - 100 + i;
    return u;
  }
  // Report transactions holding a nonce without a receipt.
  std::size_t report_txs_in_flight() const {
    std::size_t n = 0;
    for (const auto& r : store.all()) {
      n += r.request.label == "report" && r.nonce &&
                   (r.state == TxState::kInProgress || r.state == TxState::kUnconfirmed)
               ? 1
               : 0;
    }
    return n;
  }
  std::size_t report_txs() const {
    std::size_t n = 0;
    for (const auto& r : store.all()) {
      n += r.request.label == "report" ? 1 : 0;
    }
    return n;
  }
  std::uint64_t latest_round() {
    auto data = c.eth.call({{}, oracle, keeper::latest_calldata(1), {}, {}});
    REQUIRE(data);
    return keeper::decode_accepted_report(*data)->round;
  }
};

}  // namespace

TEST_CASE("reporter_defect5: a payload that would revert before its first attempt takes no nonce") {
  Chain c;
  InMemoryTxStore store;
  TxManager mgr(c.eth, store, key0(), 31337);
  REQUIRE(mgr.start());
  std::vector<std::string> asked;
  mgr.before_attempt = [&](const TxRecord& rec) -> std::optional<std::string> {
    asked.push_back(rec.request.key);
    if (rec.request.key == "doomed") {
      return std::string("RoundNotIncreasing(3, 5)");
    }
    return std::nullopt;
  };
  const auto doomed = mgr.enqueue(payment("doomed"));
  const auto fine = mgr.enqueue(payment("fine"));
  mgr.tick();
  for (int i = 0; i < 40 && mgr.get(fine)->state != TxState::kFinalized; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));  // anvil mines asynchronously
    mgr.tick();
  }
  const auto d = *mgr.get(doomed);
  CHECK(d.state == TxState::kFatal);
  CHECK_FALSE(d.nonce);
  CHECK(d.attempts.empty());
  CHECK(d.error.find("RoundNotIncreasing(3, 5)") != std::string::npos);
  const auto f = *mgr.get(fine);
  CHECK(f.state == TxState::kFinalized);
  REQUIRE(f.nonce);
  CHECK(*f.nonce == 0);  // the abandoned one took no nonce: no gap behind it
  CHECK(*c.eth.transaction_count(mgr.sender(), BlockTag::latest()) == 1);
  CHECK(asked == std::vector<std::string>{"doomed", "fine"});
  CHECK(mgr.stats().gap_fills == 0);
}

TEST_CASE(
    "reporter_defect5: a stuck payload that would now revert is not bumped; its nonce is "
    "filled") {
  Chain c;
  c.rpc("evm_setAutomine", Json::array({false}));
  InMemoryTxStore store;
  TxManagerOptions opts;
  opts.bump_after_blocks = 2;
  TxManager mgr(c.eth, store, key0(), 31337, opts);
  REQUIRE(mgr.start());
  int simulations = 0;
  bool reverts = false;
  mgr.before_attempt = [&](const TxRecord&) -> std::optional<std::string> {
    ++simulations;
    return reverts ? std::optional<std::string>("StaleReport(100, 4000, 3600)") : std::nullopt;
  };
  const auto id = mgr.enqueue(payment("stuck"));
  mgr.tick();
  auto rec = *mgr.get(id);
  REQUIRE(rec.state == TxState::kUnconfirmed);
  REQUIRE(rec.nonce);
  CHECK(*rec.nonce == 0);
  const U256 first_fee = rec.attempts[0].max_fee_per_gas;
  // The base fee above what the attempt pays: blocks pass without it.
  for (int i = 0; i < 2; ++i) {
    c.rpc("anvil_setNextBlockBaseFeePerGas", Json::array({u256_to_quantity(first_fee * 3)}));
    c.rpc("evm_mine");
  }
  CHECK(*c.eth.transaction_count(mgr.sender(), BlockTag::latest()) == 0);
  reverts = true;  // meanwhile a newer report landed: this one's payload would revert
  mgr.tick();      // due for a bump: simulated first, abandoned
  rec = *mgr.get(id);
  CHECK(simulations == 2);
  CHECK(rec.state == TxState::kFatal);
  CHECK(rec.attempts.size() == 1);  // no bumped attempt of a payload that would revert
  CHECK(rec.error.find("StaleReport(100, 4000, 3600)") != std::string::npos);
  CHECK(mgr.stats().gap_fills == 1);
  // The filler takes nonce 0 (replacing the held attempt in the pool) and is mined.
  for (int i = 0; i < 4 && *c.eth.transaction_count(mgr.sender(), BlockTag::latest()) == 0; ++i) {
    mgr.tick();
    c.rpc("evm_mine");
  }
  CHECK(*c.eth.transaction_count(mgr.sender(), BlockTag::latest()) == 1);
  for (const auto& a : rec.attempts) {
    const auto receipt = c.eth.transaction_receipt(a.hash);
    REQUIRE(receipt);
    CHECK_FALSE(*receipt);  // the report's attempt never landed
  }
  // The next transaction gets nonce 1: no gap, nothing stuck behind the abandoned one.
  reverts = false;
  const auto next = mgr.enqueue(payment("next"));
  mgr.tick();
  c.rpc("evm_mine");
  mgr.tick();
  const auto n = *mgr.get(next);
  REQUIRE(n.nonce);
  CHECK(*n.nonce == 1);
  CHECK(n.state == TxState::kFinalized);
}

TEST_CASE("reporter_defect5: five reports behind a stuck one: one in flight, the newest lands") {
  Oracle o;
  o.c.rpc("evm_setAutomine", Json::array({false}));  // the chain stops taking transactions
  std::vector<std::uint64_t> superseded;
  for (int i = 1; i <= 5; ++i) {
    const auto out = o.reporter->publish({Oracle::update(o.t0, i)});
    o.mgr.tick();
    for (const auto& u : out.superseded) {
      superseded.push_back(u.report.round);
      CHECK(u.why == "superseded by round " + std::to_string(i));
    }
    INFO("tick " << i);
    CHECK(out.refused.empty());
    CHECK(o.report_txs_in_flight() == 1);
    CHECK(o.report_txs() == 1);  // the later reports are not queued behind it
    if (i == 1) {
      CHECK(out.tx_id != 0);
    } else {
      CHECK(out.tx_id == 0);
      REQUIRE(out.waiting.size() == 1);
      CHECK(out.waiting[0].round == static_cast<std::uint64_t>(i));
    }
  }
  CHECK(superseded == std::vector<std::uint64_t>{2, 3, 4});
  REQUIRE(o.reporter->waiting(1));
  CHECK(o.reporter->waiting(1)->round == 5);

  // The jam clears: round 1 is mined, then the newest report (round 5) goes out and lands.
  o.c.rpc("evm_mine");
  o.mgr.tick();
  CHECK_FALSE(o.reporter->in_flight(1));
  const auto out = o.reporter->publish({});
  REQUIRE(out.tx_id != 0);
  REQUIRE(out.reports.size() == 1);
  CHECK(out.reports[0].round == 5);
  CHECK(out.were_waiting.size() == 1);
  CHECK(out.dropped.empty());
  o.mgr.tick();
  o.c.rpc("evm_mine");
  o.mgr.tick();
  CHECK(o.latest_round() == 5);
  CHECK(o.report_txs() == 2);
  for (const auto& r : o.store.all()) {
    if (r.request.label == "report") {
      CHECK(r.state == TxState::kFinalized);
      CHECK(r.mined_success);  // no revert on chain
    }
  }
  CHECK_FALSE(o.reporter->waiting(1));
}

TEST_CASE("reporter_defect5: a waiting report whose round a newer one overtook is dropped unsent") {
  Oracle o;
  o.c.rpc("evm_setAutomine", Json::array({false}));
  REQUIRE(o.reporter->publish({Oracle::update(o.t0, 1)}).tx_id != 0);
  o.mgr.tick();
  REQUIRE(o.reporter->publish({Oracle::update(o.t0, 2)}).waiting.size() == 1);  // round 2 waits
  // Another relayer lands round 9 meanwhile (same signer, its own sender).
  InMemoryTxStore other_store;
  TxManager other_mgr(o.c.eth, other_store, *SecretKey::from_hex(keeper::kAnvilKey1), 31337);
  REQUIRE(other_mgr.start());
  keeper::Reporter other(o.c.eth, other_mgr, {key0()}, {{1, o.spec}},
                         keeper::ReporterOptions{o.oracle, 31337, 0});
  other.skip_rounds_through(1, 8);
  REQUIRE(other.publish({Oracle::update(o.t0, 3)}).tx_id != 0);
  other_mgr.tick();
  o.c.rpc("evm_mine");  // round 1 and round 9
  o.mgr.tick();
  other_mgr.tick();
  REQUIRE(o.latest_round() == 9);
  const auto out = o.reporter->publish({});
  CHECK(out.tx_id == 0);  // nothing broadcast
  REQUIRE(out.dropped.size() == 1);
  CHECK(out.dropped[0].report.round == 2);
  CHECK(out.dropped[0].why.find("would revert") == 0);
  CHECK(o.report_txs() == 1);
  const auto nonce_before = o.mgr.next_nonce();
  o.mgr.tick();
  CHECK(o.mgr.next_nonce() == nonce_before);  // no nonce taken
  CHECK_FALSE(o.reporter->waiting(1));
}
