// Issue 15, defect 3: chain.agree_reads. One lying endpoint must not set the prices the signers
// sign: with agreement required, the poll's price reads and the block they are pinned to are
// read from two endpoints and compared; a lie empties the poll (no reading, `disagreement`).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/json_rpc.hpp"
#include "chain/secret_key.hpp"
#include "chain/transport.hpp"
#include "chain/tx_manager.hpp"
#include "chain/url.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using namespace varkeeper::chain;

namespace {

// A node in front of the real one that lies about prices: every 160-byte eth_call answer (an
// AggregatorV3 latestRoundData) gets another answer word, 12,345.00000000.
class LyingTransport : public Transport {
 public:
  explicit LyingTransport(const std::string& url) : inner_(make_http_transport(*parse_url(url))) {}
  Expected<std::string, TransportError> post(std::string_view body) override {
    auto answer = inner_->post(body);
    if (!answer) {
      return answer;
    }
    Json j = Json::parse(*answer);
    const auto lie = [](Json& one) {
      if (one.is_object() && one.contains("result") && one["result"].is_string()) {
        auto text = one["result"].get<std::string>();
        if (text.size() == 2 + 320) {
          text.replace(2 + 64, 64, std::string(64 - 11, '0') + "11f6def1900");  // 12345e8
          one["result"] = text;
          ++lies;
        }
      }
    };
    if (j.is_array()) {
      for (auto& one : j) {
        lie(one);
      }
    } else {
      lie(j);
    }
    return j.dump();
  }
  [[nodiscard]] std::string describe() const override { return "liar"; }
  static inline int lies = 0;

 private:
  std::unique_ptr<Transport> inner_;
};

std::unique_ptr<JsonRpcClient> honest(const std::string& url) {
  return std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(url)), RetryPolicy{1});
}

std::unique_ptr<JsonRpcClient> liar(const std::string& url) {
  return std::make_unique<JsonRpcClient>(std::make_unique<LyingTransport>(url), RetryPolicy{1});
}

// The mock ETH/USD aggregator (3,000.00000000) on a fresh anvil.
Address deploy_feed(EthClient& eth) {
  InMemoryTxStore store;
  TxManager mgr(eth, store, *SecretKey::from_hex(keeper::kAnvilKey0), 31337);
  REQUIRE(mgr.start());
  keeper::DeployOptions o;
  o.artifacts_dir = test::artifacts_dir();
  o.mocks = true;
  o.poll_interval = std::chrono::milliseconds(50);
  o.timeout = std::chrono::seconds(60);
  return keeper::deploy_all(eth, mgr, o).address_of("MockAggregatorEthUsd");
}

}  // namespace

TEST_CASE("defect 3: with agree_reads a lying endpoint's prices are refused, not signed") {
  keeper::AnvilNode anvil;
  std::vector<std::unique_ptr<JsonRpcClient>> deployer_clients;
  deployer_clients.push_back(honest(anvil.http_url()));
  EndpointPool deployer_pool(std::move(deployer_clients));
  EthClient deployer_eth(deployer_pool);
  const Address feed = deploy_feed(deployer_eth);
  const std::vector<keeper::FeedRef> feeds{{"ETH", "mock", feed}};

  // The liar first in the configured order, the honest node second.
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(liar(anvil.http_url()));
  clients.push_back(honest(anvil.http_url()));
  EndpointPool pool(std::move(clients));
  EthClient eth(pool);
  keeper::ChainlinkSource source(eth, feeds);
  source.init();

  // One endpoint read (what the daemon did whatever chain.agree_reads said): the lie is the price.
  const auto trusting = source.poll();
  REQUIRE(trusting.readings.size() == 1);
  CHECK(trusting.readings[0].round.answer == doctest::Approx(12'345.0));
  CHECK_FALSE(trusting.disagreement);

  // Agreement of two: the lie is caught, nothing is read, the failure names both endpoints.
  source.require_agreement(2);
  const int lies_before = LyingTransport::lies;
  const auto checked = source.poll();
  CHECK(LyingTransport::lies > lies_before);  // the liar was asked, and lied
  CHECK(checked.readings.empty());
  CHECK(checked.disagreement);
  REQUIRE(checked.failures.size() == 1);
  INFO(checked.failures[0]);
  CHECK(checked.failures[0].find("disagree on eth_call") != std::string::npos);
  CHECK(checked.failures[0].find("liar and http://127.0.0.1:") != std::string::npos);

  // Two honest endpoints agree: the true price, 3,000.
  std::vector<std::unique_ptr<JsonRpcClient>> good;
  good.push_back(honest(anvil.http_url()));
  good.push_back(honest(anvil.http_url()));
  EndpointPool good_pool(std::move(good));
  EthClient good_eth(good_pool);
  keeper::ChainlinkSource agreed(good_eth, feeds);
  agreed.init();
  agreed.require_agreement(2);
  const auto fine = agreed.poll();
  CHECK(fine.failures.empty());
  CHECK_FALSE(fine.disagreement);
  REQUIRE(fine.readings.size() == 1);
  CHECK(fine.readings[0].round.answer == doctest::Approx(3'000.0));

  // Too few endpoints answer: no reading either, but not a disagreement.
  std::vector<std::unique_ptr<JsonRpcClient>> one;
  one.push_back(honest(anvil.http_url()));
  one.push_back(honest("http://127.0.0.1:1"));
  EndpointPool half_pool(std::move(one));
  EthClient half_eth(half_pool);
  keeper::ChainlinkSource half(half_eth, feeds);
  half.init();
  half.require_agreement(2);
  const auto short_of_quorum = half.poll();
  CHECK(short_of_quorum.readings.empty());
  CHECK_FALSE(short_of_quorum.disagreement);
  REQUIRE(short_of_quorum.failures.size() == 1);
  CHECK(short_of_quorum.failures[0].find("only 1 of 2 endpoints answered") != std::string::npos);
}
