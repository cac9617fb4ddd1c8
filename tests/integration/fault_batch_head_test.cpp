// The fault proxy's batch and head behaviours against the RPC client and pool (issue 15, "a
// fault-injection suite"): a truncated batch answer is an error of the endpoint and the pool fails
// over; a reordered one is matched by id; a frozen or lagging head demotes the endpoint. Each
// pool puts the faulty proxy first in the configured order, a direct endpoint to the same anvil
// second.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chain/endpoint_pool.hpp"
#include "chain/json_rpc.hpp"
#include "chain/transport.hpp"
#include "chain/uint256.hpp"
#include "chain/url.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/fault_proxy.hpp"

using namespace varkeeper;
using namespace varkeeper::chain;
using namespace std::chrono_literals;
using test::Fault;
using test::FaultProxy;

namespace {

std::unique_ptr<JsonRpcClient> client_for(const std::string& url, int attempts = 1) {
  return std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(url)),
                                         RetryPolicy{attempts});
}

std::string proxy_url(const FaultProxy& p) {
  return "http://127.0.0.1:" + std::to_string(p.port());
}

// [the proxy, anvil directly], in that order.
std::unique_ptr<EndpointPool> pool_of(const FaultProxy& proxy, const keeper::AnvilNode& anvil,
                                      EndpointPoolOptions options = {}) {
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(client_for(proxy_url(proxy)));
  clients.push_back(client_for(anvil.http_url()));
  return std::make_unique<EndpointPool>(std::move(clients), options);
}

std::uint64_t number(const RpcResult& r) {
  REQUIRE(r);
  REQUIRE(r->is_string());
  return static_cast<std::uint64_t>(*u256_from_quantity(r->get<std::string>()));
}

void mine(JsonRpcClient& c, int blocks) {
  REQUIRE(c.call("anvil_mine", Json::array({u256_to_quantity(U256(blocks))})));
}

const std::vector<RpcRequest> kReads = {
    {"eth_chainId", Json::array()},
    {"eth_blockNumber", Json::array()},
    {"eth_getBalance", Json::array({"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "latest"})},
};

}  // namespace

TEST_CASE("fault truncated_batch: the missing answer is an error and the pool fails over") {
  keeper::AnvilNode anvil;
  FaultProxy proxy(anvil.http_url());
  proxy.set_fault(Fault::kTruncatedBatch);

  // The client alone: the answers present are matched by id, the cut one is an error of the
  // endpoint (retried as a smaller batch, cut again).
  auto alone = client_for(proxy_url(proxy), 2);
  const auto results = alone->batch(kReads);
  REQUIRE(results.size() == 3);
  CHECK(number(results[0]) == 31337);
  CHECK(results[1]);
  REQUIRE_FALSE(results[2]);
  CHECK(results[2].error().kind == RpcErrorKind::kMalformedResponse);
  CHECK(results[2].error().message.find("lacks id") != std::string::npos);
  CHECK(results[2].error().endpoint_fault());

  // The pool: the batch is answered whole by the next endpoint; the proxy's failure is counted.
  auto pool = pool_of(proxy, anvil);
  const auto before = proxy.injected(Fault::kTruncatedBatch);
  const auto whole = pool->batch(kReads);
  REQUIRE(whole.size() == 3);
  for (const auto& r : whole) CHECK(r);
  CHECK(number(whole[0]) == 31337);
  CHECK(proxy.injected(Fault::kTruncatedBatch) == before + 1);
  const auto health = pool->health();
  CHECK(health[0].failures == 1);
  CHECK(health[1].successes == 1);
}

TEST_CASE("fault reordered_batch: answers in another order are matched by id") {
  keeper::AnvilNode anvil;
  FaultProxy proxy(anvil.http_url());
  proxy.set_fault(Fault::kReorderedBatch);
  auto direct = client_for(anvil.http_url());
  auto through = client_for(proxy_url(proxy));
  mine(*direct, 3);
  const auto expected = direct->batch(kReads);
  const auto got = through->batch(kReads);
  CHECK(proxy.injected(Fault::kReorderedBatch) == 1);
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    REQUIRE(got[i]);
    CHECK(*got[i] == *expected[i]);
  }
  CHECK(number(got[0]) == 31337);
  CHECK(number(got[1]) == 3);
}

TEST_CASE("fault frozen_head: the stuck endpoint is demoted once head_stall passes") {
  keeper::AnvilNode anvil;
  FaultProxy proxy(anvil.http_url());
  proxy.set_fault(Fault::kFrozenHead);
  auto direct = client_for(anvil.http_url());
  EndpointPoolOptions options;
  options.head_stall = 300ms;
  auto pool = pool_of(proxy, anvil, options);
  REQUIRE(pool->connect(31337));
  mine(*direct, 2);
  pool->observe_heads();  // the proxy freezes at 2
  CHECK_FALSE(pool->health()[0].out_of_sync);
  // The chain moves on; the frozen node keeps answering block 2, its latest block too.
  mine(*direct, 1);
  std::this_thread::sleep_for(200ms);
  pool->observe_heads();
  mine(*direct, 1);
  std::this_thread::sleep_for(200ms);
  pool->observe_heads();
  const auto health = pool->health();
  CHECK(health[0].head == 2);
  CHECK(health[1].head == 4);
  CHECK(health[0].head_lag == 2);
  CHECK(health[0].out_of_sync);
  CHECK(health[0].out_of_sync_reason.find("head 2 unchanged for") != std::string::npos);
  CHECK_FALSE(health[1].out_of_sync);
  auto through = client_for(proxy_url(proxy));
  const auto latest = through->call("eth_getBlockByNumber", Json::array({"latest", false}));
  REQUIRE(latest);
  CHECK((*latest)["number"] == "0x2");
  // Reads now go to the endpoint that moves, though the frozen one is first in the config.
  CHECK(number(pool->call("eth_blockNumber")) == 4);
}

TEST_CASE("fault lagging_head: an endpoint K blocks behind is demoted, reads go to the other") {
  keeper::AnvilNode anvil;
  FaultProxy proxy(anvil.http_url());
  proxy.set_fault(Fault::kLaggingHead);
  proxy.set_head_lag(8);
  auto direct = client_for(anvil.http_url());
  mine(*direct, 20);
  EndpointPoolOptions options;
  options.max_head_lag_blocks = 5;
  auto pool = pool_of(proxy, anvil, options);
  REQUIRE(pool->connect(31337));
  pool->observe_heads();
  const auto health = pool->health();
  CHECK(health[0].head == 12);
  CHECK(health[1].head == 20);
  CHECK(health[0].head_lag == 8);
  CHECK(health[0].out_of_sync);
  CHECK(health[0].out_of_sync_reason == "8 blocks behind");
  CHECK(number(pool->call("eth_blockNumber")) == 20);
  auto through = client_for(proxy_url(proxy));
  const auto latest = through->call("eth_getBlockByNumber", Json::array({"latest", false}));
  REQUIRE(latest);
  CHECK((*latest)["number"] == "0xc");

  // Within the allowed lag it is in sync again, and first in the configured order.
  proxy.set_head_lag(3);
  pool->observe_heads();
  CHECK_FALSE(pool->health()[0].out_of_sync);
  CHECK(number(pool->call("eth_blockNumber")) == 17);
}
