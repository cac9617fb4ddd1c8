// Issue 15, defect 9: a tick must not stall for minutes behind one bad endpoint. A broadcast goes
// to every endpoint at once (first acceptance wins, every answer is classified); a host name is
// resolved with a timeout (the resolver is injected: nothing leaves loopback); an IoBudget (the
// tick deadline, SIGTERM) cuts a request in progress short. The bad endpoints are a blackhole
// (a loopback socket that completes TCP handshakes in its backlog and never answers) and a name
// whose resolution takes seconds.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chain/endpoint_pool.hpp"
#include "chain/json_rpc.hpp"
#include "chain/transport.hpp"
#include "chain/url.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using namespace varkeeper::chain;
using namespace std::chrono_literals;

namespace {

// Accepts TCP connections (the kernel does, into the backlog) and never answers.
struct Blackhole {
  std::uint16_t port = 0;
  int fd = -1;
  Blackhole() { fd = test::listen_on_loopback(port, 64, "blackhole"); }
  ~Blackhole() { ::close(fd); }
  Blackhole(const Blackhole&) = delete;
  Blackhole& operator=(const Blackhole&) = delete;
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

// A resolver that takes `delay` to answer 127.0.0.1 (a DNS server that does not answer in time).
Resolver slow_resolver(std::chrono::milliseconds delay) {
  return [delay](const std::string&,
                 std::uint16_t) -> Expected<std::vector<std::string>, std::string> {
    std::this_thread::sleep_for(delay);
    return std::vector<std::string>{"127.0.0.1"};
  };
}

// A node that accepts every transaction at once.
class AcceptingNode final : public Transport {
 public:
  Expected<std::string, TransportError> post(std::string_view body) override {
    ++posts;
    const auto request = Json::parse(body);
    return Json{{"jsonrpc", "2.0"}, {"id", request["id"]}, {"result", kHash}}.dump();
  }
  [[nodiscard]] std::string describe() const override { return "accepting"; }
  static constexpr const char* kHash =
      "0x1111111111111111111111111111111111111111111111111111111111111111";
  std::atomic<int> posts{0};
};

std::unique_ptr<JsonRpcClient> http_client(const std::string& url, HttpOptions http) {
  return std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(url), std::move(http)));
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("defect 9: a name that resolves slowly fails after the request timeout, not later") {
  HttpOptions http;
  http.timeout = 300ms;
  http.resolver = slow_resolver(3s);
  auto transport = make_http_transport(*parse_url("http://slow-dns.test:8545"), http);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = transport->post(R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId"})");
  const double took = seconds_since(t0);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == TransportErrorKind::kTimeout);
  CHECK(r.error().message.find("resolve slow-dns.test") != std::string::npos);
  CHECK(took >= 0.25);
  CHECK(took < 1.0);
}

TEST_CASE("defect 9: a broadcast next to a blackhole and a slow-DNS endpoint is not held up") {
  Blackhole hole;
  HttpOptions http;
  http.timeout = 1'000ms;
  HttpOptions slow = http;
  slow.resolver = slow_resolver(5s);
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(http_client(hole.url(), http));  // first in the configured order
  clients.push_back(http_client("http://slow-dns.test:8545", slow));
  auto node = std::make_unique<AcceptingNode>();
  auto* accepting = node.get();
  clients.push_back(std::make_unique<JsonRpcClient>(std::move(node)));
  EndpointPoolOptions options;
  options.broadcast_grace = 200ms;
  EndpointPool pool(std::move(clients), options);

  // One after another with three attempts each, the two bad endpoints cost 2 x 3 x 1 s (plus
  // backoff) before the good one is even asked; at once, the broadcast ends a grace period after
  // the good one accepts.
  const auto t0 = std::chrono::steady_clock::now();
  const auto sent = pool.broadcast_raw_transaction("0x02f8");
  const double took = seconds_since(t0);
  REQUIRE(sent);
  CHECK(*sent == AcceptingNode::kHash);
  CHECK(accepting->posts == 1);
  CHECK(took < 0.9);  // less than one request timeout
  // The endpoints cut short after the acceptance are not counted as failed.
  const auto health = pool.health();
  CHECK(health[0].failures == 0);
  CHECK(health[1].failures == 0);
  CHECK(health[2].successes == 1);
}

TEST_CASE("defect 9: a broadcast that no endpoint answers ends at broadcast_timeout") {
  Blackhole hole;
  HttpOptions http;
  http.timeout = 400ms;
  HttpOptions slow = http;
  slow.resolver = slow_resolver(5s);
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(http_client(hole.url(), http));
  clients.push_back(http_client("http://slow-dns.test:8545", slow));
  EndpointPoolOptions options;
  options.broadcast_timeout = 400ms;
  EndpointPool pool(std::move(clients), options);

  // One after another: 2 endpoints x 3 attempts x 0.4 s + backoff, about 2.7 s.
  const auto t0 = std::chrono::steady_clock::now();
  const auto sent = pool.broadcast_raw_transaction("0x02f8");
  const double took = seconds_since(t0);
  REQUIRE_FALSE(sent);
  CHECK(sent.error().kind == RpcErrorKind::kTimeout);
  CHECK(took >= 0.35);
  CHECK(took < 1.0);
  // Every answer was classified: both endpoints failed, as faults of theirs.
  const auto health = pool.health();
  CHECK(health[0].failures == 1);
  CHECK(health[1].failures == 1);
}

TEST_CASE("defect 9: an IoBudget deadline cuts a request in progress short and names itself") {
  Blackhole hole;
  HttpOptions http;
  http.timeout = 10s;
  JsonRpcClient client(make_http_transport(*parse_url(hole.url()), http));
  IoBudget budget(nullptr, nullptr, "tick deadline");
  budget.set_deadline(std::chrono::steady_clock::now() + 300ms);
  const IoBudgetScope scope(budget);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = client.call("eth_blockNumber");
  const double took = seconds_since(t0);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == RpcErrorKind::kTimeout);
  CHECK(r.error().message.find("tick deadline passed") != std::string::npos);
  CHECK(took >= 0.25);
  CHECK(took < 1.0);  // no retry after the deadline: 3 attempts would be 30 s
  CHECK(client.counters().retries == 0);
  CHECK(budget.stops() > 0);

  // The next request is not even sent.
  const auto t1 = std::chrono::steady_clock::now();
  const auto again = client.call("eth_blockNumber");
  REQUIRE_FALSE(again);
  CHECK(again.error().message.find("not sent: tick deadline passed") != std::string::npos);
  CHECK(seconds_since(t1) < 0.1);
}

TEST_CASE("defect 9: a stop flag set during a stalled request ends it within ~50 ms") {
  Blackhole hole;
  HttpOptions http;
  http.timeout = 10s;
  JsonRpcClient client(make_http_transport(*parse_url(hole.url()), http));
  std::atomic<bool> stop{false};
  const IoBudget budget(nullptr, &stop);
  const IoBudgetScope scope(budget);
  std::thread signal([&stop] {
    std::this_thread::sleep_for(300ms);
    stop = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = client.call("eth_blockNumber");
  const double took = seconds_since(t0);
  signal.join();
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("stop requested") != std::string::npos);
  CHECK(took >= 0.25);
  CHECK(took < 0.6);
}
