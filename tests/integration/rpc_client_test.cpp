// The JSON-RPC client against a real anvil: batching, failover through injected faults, HTTPS.
#include <doctest/doctest.h>

#include <filesystem>

#include "chain/endpoint_pool.hpp"
#include "chain/hex.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/fault_proxy.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using varkeeper::keeper::AnvilNode;
using varkeeper::keeper::AnvilOptions;
using varkeeper::test::Fault;
using varkeeper::test::FaultProxy;

namespace {
std::unique_ptr<JsonRpcClient> client_for(const std::string& url, HttpOptions http = {},
                                          RetryPolicy retry = {}) {
  auto parsed = parse_url(url);
  REQUIRE(parsed);
  return std::make_unique<JsonRpcClient>(make_http_transport(*parsed, http), retry);
}
}  // namespace

TEST_CASE("100 eth_calls in one batch are answered and matched to their requests") {
  AnvilNode anvil;
  auto client = client_for(anvil.http_url());
  // The identity precompile (address 0x04) returns its input: each answer proves its match.
  std::vector<RpcRequest> calls;
  for (int i = 0; i < 100; ++i) {
    Bytes data(32, 0);
    data[31] = static_cast<std::uint8_t>(i);
    data[0] = 0xab;
    calls.push_back({"eth_call", Json::array({{{"to", "0x0000000000000000000000000000000000000004"},
                                               {"data", to_hex(data)}},
                                              "latest"})});
  }
  const auto results = client->batch(calls);
  REQUIRE(results.size() == 100);
  for (int i = 0; i < 100; ++i) {
    const auto& r = results[static_cast<std::size_t>(i)];
    REQUIRE(r);
    auto bytes = from_hex(r->get<std::string>(), HexPrefix::kRequired);
    REQUIRE(bytes);
    REQUIRE(bytes->size() == 32);
    CHECK((*bytes)[31] == i);
    CHECK((*bytes)[0] == 0xab);
  }
  CHECK(client->counters().requests == 1);
}

TEST_CASE(
    "failover: every call succeeds through the healthy endpoint and each fault is classified") {
  AnvilNode anvil;
  FaultProxy proxy(anvil.http_url());
  const std::uint16_t closed_port = varkeeper::keeper::free_loopback_port();
  HttpOptions fast;
  fast.timeout = std::chrono::milliseconds(400);
  const RetryPolicy one_try{1};

  struct Case {
    Fault fault;
    RpcErrorKind kind;
  };
  const Case cases[] = {{Fault::kDrop, RpcErrorKind::kTransport},
                        {Fault::kDelay, RpcErrorKind::kTimeout},
                        {Fault::kGarbage, RpcErrorKind::kMalformedResponse},
                        {Fault::kWrongId, RpcErrorKind::kMalformedResponse},
                        {Fault::kHttp500, RpcErrorKind::kHttpStatus}};
  for (const auto& c : cases) {
    CAPTURE(static_cast<int>(c.fault));
    proxy.set_fault(c.fault);
    proxy.set_delay_ms(1500);
    std::vector<std::unique_ptr<JsonRpcClient>> clients;
    clients.push_back(client_for("http://127.0.0.1:" + std::to_string(closed_port), fast, one_try));
    clients.push_back(
        client_for("http://127.0.0.1:" + std::to_string(proxy.port()), fast, one_try));
    clients.push_back(client_for(anvil.http_url(), fast, one_try));
    EndpointPool pool(std::move(clients));
    for (int i = 0; i < 5; ++i) {
      auto r = pool.call("eth_blockNumber");
      REQUIRE(r);
    }
    auto results = pool.batch(std::vector<RpcRequest>(10, RpcRequest{"eth_chainId"}));
    for (const auto& r : results) {
      REQUIRE(r);
      CHECK(*r == "0x7a69");
    }
    // The direct fault classification, endpoint by endpoint.
    auto closed = pool.client(0).call("eth_blockNumber");
    REQUIRE_FALSE(closed);
    CHECK(closed.error().kind == RpcErrorKind::kTransport);
    auto faulty = pool.client(1).call("eth_blockNumber");
    REQUIRE_FALSE(faulty);
    CHECK(faulty.error().kind == c.kind);
    // The healthy endpoint ranks first after the failures.
    const auto health = pool.health();
    CHECK(health[2].consecutive_failures == 0);
    CHECK(health[0].consecutive_failures >= 1);
  }
}

TEST_CASE("an endpoint on the wrong chain is disabled at connect") {
  AnvilNode anvil;
  FaultProxy proxy(anvil.http_url());
  proxy.set_fault(Fault::kWrongChain);
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(client_for("http://127.0.0.1:" + std::to_string(proxy.port())));
  clients.push_back(client_for(anvil.http_url()));
  EndpointPool pool(std::move(clients));
  auto good = pool.connect(31337);
  REQUIRE(good);
  CHECK(*good == 1);
  CHECK_FALSE(pool.health()[0].enabled);
  CHECK(pool.health()[1].enabled);

  std::vector<std::unique_ptr<JsonRpcClient>> only_wrong;
  only_wrong.push_back(client_for("http://127.0.0.1:" + std::to_string(proxy.port())));
  EndpointPool wrong(std::move(only_wrong));
  auto none = wrong.connect(31337);
  REQUIRE_FALSE(none);
  CHECK(none.error().kind == RpcErrorKind::kWrongChain);
}

TEST_CASE(
    "HTTPS to a local TLS endpoint verifies the peer; an unverifiable certificate is refused") {
  AnvilNode anvil;
  const auto dir =
      std::filesystem::temp_directory_path() / ("varkeeper-pki-" + std::to_string(::getpid()));
  const auto pki = varkeeper::test::make_test_pki(dir.string(), "localhost");
  FaultProxy tls_proxy(anvil.http_url(), pki.server);
  const std::string url = "https://localhost:" + std::to_string(tls_proxy.port());

  HttpOptions trusted;
  trusted.ca_file = pki.ca_pem;
  auto ok = client_for(url, trusted)->call("eth_chainId");
  REQUIRE(ok);
  CHECK(*ok == "0x7a69");

  // Without our CA the certificate does not verify.
  auto refused = client_for(url, HttpOptions{}, RetryPolicy{1})->call("eth_chainId");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == RpcErrorKind::kTransport);
  CHECK(refused.error().message.find("TLS") != std::string::npos);

  // A certificate issued for another name is refused even when its CA is trusted.
  const auto other = varkeeper::test::make_test_pki((dir / "other").string(), "elsewhere.invalid");
  FaultProxy misnamed_proxy(anvil.http_url(), other.server);
  HttpOptions trusts_other;
  trusts_other.ca_file = other.ca_pem;
  auto misnamed = client_for("https://localhost:" + std::to_string(misnamed_proxy.port()),
                             trusts_other, RetryPolicy{1})
                      ->call("eth_chainId");
  REQUIRE_FALSE(misnamed);
  CHECK(misnamed.error().message.find("TLS") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("reads that must agree: two endpoints compared, disagreement detected") {
  AnvilNode a;
  AnvilNode b;
  std::vector<std::unique_ptr<JsonRpcClient>> same;
  same.push_back(client_for(a.http_url()));
  same.push_back(client_for(a.http_url()));
  EndpointPool agree(std::move(same));
  const Json pinned = Json::array(
      {{{"to", "0x0000000000000000000000000000000000000004"}, {"data", "0x1234"}}, "0x0"});
  auto ok = agree.agreeing_call("eth_call", pinned);
  REQUIRE(ok);
  CHECK(*ok == "0x1234");

  // Two chains that have diverged: b mined a block that a has not.
  REQUIRE(client_for(b.http_url())->call("evm_mine"));
  std::vector<std::unique_ptr<JsonRpcClient>> diverged;
  diverged.push_back(client_for(a.http_url()));
  diverged.push_back(client_for(b.http_url()));
  EndpointPool pool(std::move(diverged));
  auto bad = pool.agreeing_call("eth_blockNumber", Json::array());
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == RpcErrorKind::kDisagreement);
}

TEST_CASE("a raw transaction is broadcast to every endpoint; 'already known' counts as sent") {
  AnvilOptions no_mine;
  no_mine.no_mining = true;
  AnvilNode anvil(no_mine);
  FaultProxy proxy(anvil.http_url());  // a second endpoint in front of the same node
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(client_for(anvil.http_url()));
  clients.push_back(client_for("http://127.0.0.1:" + std::to_string(proxy.port())));
  EndpointPool pool(std::move(clients));
  // A signed transfer from anvil's account 0 (cast mktx output would do as well).
  auto raw = client_for(anvil.http_url())
                 ->call("eth_signTransaction",
                        Json::array({{{"from", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"},
                                      {"to", "0x000000000000000000000000000000000000dEaD"},
                                      {"value", "0x1"},
                                      {"gas", "0x5208"},
                                      {"maxFeePerGas", "0x77359400"},
                                      {"maxPriorityFeePerGas", "0x1"},
                                      {"nonce", "0x0"},
                                      {"chainId", "0x7a69"}}}));
  REQUIRE(raw);
  auto sent = pool.broadcast_raw_transaction(raw->get<std::string>());
  REQUIRE(sent);
  CHECK(proxy.requests() >= 1);  // both endpoints were asked
  // Sent again: every endpoint says it already has it, which is still a success.
  auto again = pool.broadcast_raw_transaction(raw->get<std::string>());
  CHECK(again);
}
