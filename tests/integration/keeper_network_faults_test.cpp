// The fault tools of the keeper network's end-to-end test (issue 18), each performing its fault
// against a real anvil: the fault proxy's lying_price class (a keeper reading an RPC endpoint
// that inflates Chainlink prices) and a cut peer link (tests/support/tcp_relay.hpp).
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "chain/contract_abi.hpp"
#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/json_rpc.hpp"
#include "chain/transport.hpp"
#include "chain/url.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/fault_proxy.hpp"
#include "tests/support/tcp_relay.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using namespace varkeeper::chain;
using test::Fault;
using test::FaultProxy;

namespace {

std::unique_ptr<JsonRpcClient> client_for(const std::string& url) {
  return std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(url)), RetryPolicy{1});
}

struct Client {
  EndpointPool pool;
  EthClient eth;
  explicit Client(const std::string& url) : pool(one(url)), eth(pool) {}
  static std::vector<std::unique_ptr<JsonRpcClient>> one(const std::string& url) {
    std::vector<std::unique_ptr<JsonRpcClient>> v;
    v.push_back(client_for(url));
    return v;
  }
};

// Deploys a MockAggregator (8 decimals) answering `answer` with anvil's account 0; its address.
Address deploy_feed(const std::string& rpc, std::int64_t answer) {
  auto abi = ContractAbi::load(test::artifacts_dir() / "MockAggregator.json");
  REQUIRE(abi);
  const auto code = abi->deploy_data(
      {AbiValue::from_uint(8), AbiValue::from_string("ETH / USD"), AbiValue::from_int(answer)});
  REQUIRE(code);
  const auto r =
      test::run_process({VARKEEPER_CAST, "send", "--json", "--rpc-url", rpc, "--private-key",
                         keeper::kAnvilKey0, "--create", to_hex(*code)});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto receipt = Json::parse(r.out);
  return *parse_address(receipt["contractAddress"].get<std::string>());
}

// cast's reading of the feed's latestRoundData() answer through `rpc` (the int256, in units).
std::string cast_answer(const std::string& rpc, const Address& feed, const std::string& sig,
                        const std::vector<std::string>& args = {}) {
  std::vector<std::string> a{
      VARKEEPER_CAST, "call", "--rpc-url", rpc, to_checksum_address(feed), sig};
  a.insert(a.end(), args.begin(), args.end());
  const auto r = test::run_process(a);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  // "1\n360000000001 [3.6e11]\n...": the second line's first token.
  std::istringstream out(r.out);
  std::string round, answer;
  out >> round >> answer;
  return answer;
}

std::string proxy_url(const FaultProxy& p) {
  return "http://127.0.0.1:" + std::to_string(p.port());
}

}  // namespace

TEST_CASE(
    "lying_price: the proxy multiplies aggregator prices (single calls and batches), nothing "
    "else, and only the feeds it is told to lie about") {
  test::require_tool(VARKEEPER_CAST);
  keeper::AnvilNode anvil;
  const Address eth_feed = deploy_feed(anvil.http_url(), 300'000'000'001);  // 3000.00000001
  const Address btc_feed = deploy_feed(anvil.http_url(), 6'000'000'000'000);
  FaultProxy proxy(anvil.http_url());
  const std::string url = proxy_url(proxy);

  // Forwarded untouched without the fault.
  CHECK(cast_answer(url, eth_feed, "latestRoundData()(uint80,int256,uint256,uint256,uint80)") ==
        "300000000001");

  proxy.set_fault(Fault::kLyingPrice);
  // cast (one eth_call each): latestRoundData and getRoundData, times 6/5 rounded down
  // (300000000001 * 1.2 = 360000000001.2).
  CHECK(cast_answer(url, eth_feed, "latestRoundData()(uint80,int256,uint256,uint256,uint80)") ==
        "360000000001");
  CHECK(cast_answer(url, eth_feed, "getRoundData(uint80)(uint80,int256,uint256,uint256,uint80)",
                    {"1"}) == "360000000001");
  CHECK(proxy.prices_altered() == 2);
  // Another read of the same contract, and the node itself, are untouched.
  const auto decimals = test::run_process({VARKEEPER_CAST, "call", "--rpc-url", url,
                                           to_checksum_address(eth_feed), "decimals()(uint8)"});
  CHECK(decimals.out == "8\n");
  CHECK(cast_answer(anvil.http_url(), eth_feed,
                    "latestRoundData()(uint80,int256,uint256,uint256,uint80)") == "300000000001");

  // The keeper's own reader (one batched, block-pinned poll of both feeds) sees the lie.
  {
    Client through(url);
    keeper::ChainlinkSource source(through.eth,
                                   {{"ETH", "lying", eth_feed}, {"BTC", "lying", btc_feed}});
    source.init();  // decimals() in a batch: untouched, 8
    CHECK(source.decimals(0) == 8);
    const auto poll = source.poll();
    REQUIRE(poll.readings.size() == 2);
    CHECK(poll.readings[0].round.answer == doctest::Approx(3600.000000012));
    CHECK(poll.readings[1].round.answer == doctest::Approx(72'000.0));
    CHECK(proxy.prices_altered() == 4);
    // walk_back's getRoundData batch too.
    const auto history = source.walk_back(0, 5);
    REQUIRE(history.size() == 1);
    CHECK(history[0].second == doctest::Approx(3600.000000012));
  }

  // Told to lie about ETH only (any address case), at another factor: BTC is the truth.
  proxy.set_lying_feeds({to_checksum_address(eth_feed)});
  proxy.set_price_scale(1, 2);
  {
    Client through(url);
    keeper::ChainlinkSource source(through.eth,
                                   {{"ETH", "lying", eth_feed}, {"BTC", "lying", btc_feed}});
    source.init();
    const auto poll = source.poll();
    REQUIRE(poll.readings.size() == 2);
    CHECK(poll.readings[0].round.answer == doctest::Approx(1500.0));
    CHECK(poll.readings[1].round.answer == doctest::Approx(60'000.0));
  }
  CHECK(proxy.injected(Fault::kLyingPrice) > 0);
  CHECK(test::fault_name(Fault::kLyingPrice) == "lying_price");
}

TEST_CASE("a cut peer link: refused and cut while partitioned, relayed again once healed") {
  keeper::AnvilNode anvil;
  test::TcpRelay link(anvil.port());
  auto url = *parse_url("http://127.0.0.1:" + std::to_string(link.port()));
  HttpOptions http;
  http.timeout = std::chrono::milliseconds(2000);
  JsonRpcClient client(make_http_transport(url, http), RetryPolicy{1});
  REQUIRE(client.call("eth_chainId", Json::array()));

  link.set_refusing(true);
  link.cut_all();
  const auto cut = client.call("eth_chainId", Json::array());
  CHECK_FALSE(cut);

  link.set_refusing(false);
  const auto healed = client.call("eth_chainId", Json::array());
  REQUIRE(healed);
  CHECK(*healed == "0x7a69");
}
