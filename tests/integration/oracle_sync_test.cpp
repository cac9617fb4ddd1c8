// Issue 14, keeper side of the change limit (keeper/daemon/oracle_limits.hpp): the daemon reads
// the oracle's limits and stored report again while it runs. Against a real RiskOracle on anvil:
// limits changed on chain after the keeper started are followed at the next periodic read, and a
// report the keeper sent that did not land stops being the base its next figures are stepped
// from once its transaction ends (the oracle's latest() is). Before, both were read once at start
// and the pipeline stepped from the last report sent.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <thread>

#include "chain/abi.hpp"
#include "chain/abi_codec.hpp"
#include "chain/address.hpp"
#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/json_rpc.hpp"
#include "chain/secret_key.hpp"
#include "chain/tx_manager.hpp"
#include "chain/url.hpp"
#include "keeper/core/change_limit.hpp"
#include "keeper/core/risk_report.hpp"
#include "keeper/core/units.hpp"
#include "keeper/daemon/oracle_limits.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/keeper/pipeline_fixture.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using namespace varkeeper::chain;
using namespace varkeeper::keeper;

namespace {

constexpr std::uint64_t kPid = 1;
constexpr std::uint64_t kHalf = 500'000'000'000'000'000ULL;  // maxVaRChange 50 % per period

// A deployed RiskOracle (quorum 1, anvil key 0 signs and owns it) and a keeper pipeline for
// portfolio 1 (one ETH position, tests/keeper/pipeline_fixture.hpp).
struct Fixture {
  SecretKey key = *SecretKey::from_hex(kAnvilKey0);  // before mgr, which copies it
  AnvilNode anvil;
  EndpointPool pool;
  EthClient eth;
  InMemoryTxStore store;
  TxManager mgr;
  Address oracle{};
  Address owner{};
  Pipeline pipeline{keeper::test::one_eth_portfolio(false)};

  Fixture() : pool(clients(anvil.http_url())), eth(pool), mgr(eth, store, key, 31337) {
    REQUIRE(mgr.start());
    DeployOptions o;
    o.artifacts_dir = varkeeper::test::artifacts_dir();
    o.mocks = true;
    owner = *parse_address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");  // anvil #0
    o.signers = {owner};
    o.quorum = 1;
    o.limits = {{kPid, 3600, 60, kHalf}};
    o.poll_interval = std::chrono::milliseconds(50);
    o.timeout = std::chrono::seconds(60);
    oracle = deploy_all(eth, mgr, o).address_of("RiskOracle");
  }
  static std::vector<std::unique_ptr<JsonRpcClient>> clients(const std::string& url) {
    std::vector<std::unique_ptr<JsonRpcClient>> v;
    v.push_back(std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(url))));
    return v;
  }
  // A transaction from the owner (anvil's unlocked account #0), mined at once; it must succeed.
  void send(const Bytes& data) {
    Json tx{{"from", to_checksum_address(owner)},
            {"to", to_checksum_address(oracle)},
            {"data", to_hex(data)},
            {"gas", "0x1e8480"}};
    const auto hash = pool.call("eth_sendTransaction", Json::array({tx}));
    REQUIRE_MESSAGE(hash, (hash ? "" : hash.error().describe()));
    // Automine: mined with the call, though the receipt may take a moment to be served.
    Json receipt;
    for (int i = 0; i < 100 && receipt.is_null(); ++i) {
      const auto r = pool.call("eth_getTransactionReceipt", Json::array({*hash}));
      REQUIRE(r);
      receipt = *r;
      if (receipt.is_null()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    REQUIRE_FALSE(receipt.is_null());
    REQUIRE(receipt["status"] == "0x1");
  }
  void owner_call(const char* signature, const std::vector<std::uint64_t>& args) {
    std::vector<AbiValue> values;
    values.reserve(args.size());
    for (const auto a : args) {
      values.push_back(AbiValue::from_uint(a));
    }
    send(*encode_call(*parse_abi_signature(signature), values));
  }
  std::uint64_t chain_time() {
    const auto head = eth.get_block(BlockTag::latest());
    REQUIRE(head);
    REQUIRE(*head);
    return (*head)->timestamp;
  }
  // A report of portfolio 1 signed by the one signer (not sent).
  [[nodiscard]] OnchainReport report(std::uint64_t round, std::uint64_t observed_at, double var,
                                     double cvar) const {
    OnchainReport r;
    r.portfolio_id = kPid;
    r.round = round;
    r.observed_at = observed_at;
    r.horizon = 86'400;
    r.confidence = to_wad(0.99);
    r.portfolio_value = 2'000'000'000'000ULL;
    r.value_at_risk = to_wad(var);
    r.expected_shortfall = to_wad(cvar);
    r.config_hash[0] = 0xab;
    return r;
  }
  void submit(const OnchainReport& r) {
    send(submit_calldata(r, {sign_report({31337, oracle}, r, key)}));
  }
  // The pipeline from `start` (a period start) to its first estimate (min_obs returns: 21 ticks
  // of a seeded random walk, 2 % per 60 s period): that tick's update of portfolio 1.
  PortfolioUpdate first_estimate(std::int64_t start) {
    std::mt19937_64 rng(23);
    std::normal_distribution<double> z(0.0, 0.02);
    double price = 2000.0;
    PortfolioUpdate u;
    for (std::uint64_t i = 0; i <= 20; ++i) {
      const std::int64_t t = start + static_cast<std::int64_t>(i) * 60;
      u = pipeline.tick(t, keeper::test::eth_answers(t, i + 1, price, price, price))
              .portfolios.at(0);
      price *= std::exp(z(rng));
    }
    REQUIRE(u.has_estimate);
    return u;
  }
};

// The VaR the oracle accepts after `base` on the way to `target`, `elapsed` seconds later.
double stepped(const ChangeLimit& limit, const OnchainReport& base, double target,
               std::uint64_t elapsed) {
  return from_wad(step_within_limit(limit, base.value_at_risk, to_wad(target), elapsed, true));
}

}  // namespace

TEST_CASE("oracle sync: limits changed on chain after the keeper started are followed") {
  Fixture f;
  OracleSync sync(f.eth, f.oracle, f.pipeline, [](std::uint64_t) { return false; });
  REQUIRE(sync.start().empty());
  const ChangeLimit at_start{kHalf, 3600, 4};  // the contract's default change policy
  CHECK(sync.limit(kPid) == at_start);

  // Still the setup phase (no report accepted yet): the owner's changes apply at once.
  f.owner_call("setLimits(uint64,uint32,uint32,uint64)", {kPid, 3600, 60, kHalf / 5 * 2});
  f.owner_call("setChangePolicy(uint64,uint32,uint8)", {kPid, 600, 2});
  const ChangeLimit changed{kHalf / 5 * 2, 600, 2};  // 20 % per 10 min, widening 2
  TickSummary s;
  for (s.tick = 1; s.tick < kOracleSyncTicks; ++s.tick) {
    CHECK(sync.after_tick(s).empty());
    CHECK(sync.limit(kPid) == at_start);  // not read yet: every kOracleSyncTicks ticks
  }
  CHECK(sync.after_tick(s).empty());
  CHECK(sync.limit(kPid) == changed);

  // The pipeline steps with it: from the oracle's report (read at the next periodic read), the
  // first estimate moves VaR by at most 20 % of it, not the 50 % of the limit at start.
  const OnchainReport r1 = f.report(1, f.chain_time() - 5, 0.30, 0.40);
  f.submit(r1);
  s.tick = 2 * kOracleSyncTicks;
  CHECK(sync.after_tick(s).empty());
  REQUIRE(sync.base(kPid));
  CHECK(sync.base(kPid)->round == 1);
  const std::int64_t start = static_cast<std::int64_t>(r1.observed_at / 60 * 60 + 3600);
  const PortfolioUpdate u = f.first_estimate(start);
  const auto elapsed = static_cast<std::uint64_t>(u.observed_at) - r1.observed_at;
  CHECK(u.published_var == doctest::Approx(stepped(changed, r1, u.target_var, elapsed)));
  CHECK(u.published_var != doctest::Approx(stepped(at_start, r1, u.target_var, elapsed)));
  CHECK(std::fabs(u.published_var - 0.30) / 0.30 <= 0.2);
}

TEST_CASE("oracle sync: a sent report that did not land is not the base once its tx ended") {
  Fixture f;
  const std::uint64_t now = f.chain_time();
  const OnchainReport r1 = f.report(1, now - 120, 0.30, 0.40);
  f.submit(r1);
  bool open = true;  // the report transaction of round 2 (record 42)
  OracleSync sync(f.eth, f.oracle, f.pipeline, [&](std::uint64_t id) { return id == 42 && open; });
  REQUIRE(sync.start().empty());
  REQUIRE(sync.base(kPid));
  CHECK(sync.base(kPid)->round == 1);
  const ChangeLimit limit{kHalf, 3600, 4};

  // The keeper sends round 2 (KeeperLoop marks it published): while its transaction is open it
  // is the base, as the oracle will measure from it if it lands.
  const OnchainReport r2 = f.report(2, now - 60, 0.60, 0.70);
  f.pipeline.mark_published(r2, static_cast<std::int64_t>(now));
  TickSummary s;
  s.tick = 1;
  s.submitted.reports = {r2};
  s.submitted.tx_id = 42;
  CHECK(sync.after_tick(s).empty());
  CHECK(sync.base(kPid)->round == 2);
  s.submitted = {};
  s.tick = 2;
  CHECK(sync.after_tick(s).empty());
  CHECK(sync.base(kPid)->round == 2);
  const auto reads = sync.reads();

  // It ends without landing (reverted or abandoned): read at once, the oracle's round 1 is the
  // base again, and the pipeline steps its next figures from it.
  open = false;
  s.tick = 3;
  CHECK(sync.after_tick(s).empty());
  CHECK(sync.reads() == reads + 1);
  REQUIRE(sync.base(kPid));
  CHECK(sync.base(kPid)->round == 1);
  CHECK(sync.base(kPid)->value_at_risk == r1.value_at_risk);
  const std::int64_t start = static_cast<std::int64_t>(now / 60 * 60 + 3600);
  const PortfolioUpdate u = f.first_estimate(start);
  const auto elapsed = static_cast<std::uint64_t>(u.observed_at) - r1.observed_at;
  CHECK(u.published_var == doctest::Approx(stepped(limit, r1, u.target_var, elapsed)));
  CHECK(u.published_var !=
        doctest::Approx(stepped(limit, r2, u.target_var,
                                static_cast<std::uint64_t>(u.observed_at) - r2.observed_at)));

  // A report that lands is the base as the oracle stores it (no extra read while nothing ends).
  const OnchainReport landed = f.report(2, f.chain_time() - 1, 0.301, 0.401);
  f.submit(landed);
  s.tick = 4;
  s.submitted.reports = {landed};
  s.submitted.tx_id = 43;  // already ended (mined) when the tick is over
  CHECK(sync.after_tick(s).empty());
  CHECK(sync.base(kPid)->round == 2);
  CHECK(sync.base(kPid)->value_at_risk == landed.value_at_risk);
}
