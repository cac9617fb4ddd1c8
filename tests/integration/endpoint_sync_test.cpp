// Issue 15, defect 4: failover that sees a lagging or frozen node. The pool tracks each
// endpoint's head, demotes one more than max_head_lag_blocks behind the best head or whose head
// has not moved for head_stall; a "header not found" on a pinned block fails over; an endpoint
// unreachable at start is asked for its chain id before it is trusted; equal ranks keep the
// configured order. The faulty nodes are transports in front of one real anvil.
#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/json_rpc.hpp"
#include "chain/transport.hpp"
#include "chain/uint256.hpp"
#include "chain/url.hpp"
#include "keeper/devchain/anvil_node.hpp"

using namespace varkeeper;
using namespace varkeeper::chain;
using namespace std::chrono_literals;

namespace {

// Forwards to the real node unless `answer` returns a reply for the request (a single JSON-RPC
// object; batches are forwarded as they are).
class HookedTransport : public Transport {
 public:
  using Hook = std::function<std::optional<Json>(const Json& request)>;
  HookedTransport(const std::string& url, std::string name, Hook answer)
      : inner_(make_http_transport(*parse_url(url))),
        name_(std::move(name)),
        answer_(std::move(answer)) {}
  Expected<std::string, TransportError> post(std::string_view body) override {
    if (down) {
      return unexpected(TransportError{TransportErrorKind::kConnect, "connection refused", 0});
    }
    const Json request = Json::parse(body);
    if (request.is_object()) {
      if (auto reply = answer_(request)) {
        Json full{{"jsonrpc", "2.0"}, {"id", request["id"]}};
        full.update(*reply);
        return full.dump();
      }
    }
    return inner_->post(body);
  }
  [[nodiscard]] std::string describe() const override { return name_; }
  std::atomic<bool> down{false};

 private:
  std::unique_ptr<Transport> inner_;
  std::string name_;
  Hook answer_;
};

Json result(const Json& v) { return Json{{"result", v}}; }

std::string quantity(std::uint64_t n) { return u256_to_quantity(U256(n)); }

struct Pool {
  std::vector<HookedTransport*> nodes;
  std::unique_ptr<EndpointPool> pool;
  Pool(const std::string& url,
       const std::vector<std::pair<std::string, HookedTransport::Hook>>& specs,
       EndpointPoolOptions options = {}) {
    std::vector<std::unique_ptr<JsonRpcClient>> clients;
    for (const auto& [name, hook] : specs) {
      auto t = std::make_unique<HookedTransport>(url, name, hook);
      nodes.push_back(t.get());
      clients.push_back(std::make_unique<JsonRpcClient>(std::move(t), RetryPolicy{1}));
    }
    pool = std::make_unique<EndpointPool>(std::move(clients), options);
  }
};

HookedTransport::Hook forward() {
  return [](const Json&) { return std::optional<Json>(); };
}

// A node whose head stays at `head`: eth_blockNumber and the latest block say so.
HookedTransport::Hook stuck_at(std::uint64_t head) {
  return [head](const Json& req) -> std::optional<Json> {
    if (req["method"] == "eth_blockNumber") {
      return result(quantity(head));
    }
    return std::nullopt;
  };
}

std::uint64_t mine(keeper::AnvilNode& anvil, int blocks) {
  JsonRpcClient c(make_http_transport(*parse_url(anvil.http_url())));
  for (int i = 0; i < blocks; ++i) {
    REQUIRE(c.call("evm_mine"));
  }
  auto n = c.call("eth_blockNumber");
  REQUIRE(n);
  return static_cast<std::uint64_t>(*u256_from_quantity(n->get<std::string>()));
}

}  // namespace

TEST_CASE(
    "defect 4: a lagging node first in the configured order is demoted; it returns once in sync") {
  keeper::AnvilNode anvil;
  const std::uint64_t head = mine(anvil, 12);
  std::atomic<std::uint64_t> lagging_head{head - 10};
  Pool p(anvil.http_url(),
         {{"lagging",
           [&](const Json& req) -> std::optional<Json> {
             if (req["method"] == "eth_blockNumber") {
               return result(quantity(lagging_head.load()));
             }
             return std::nullopt;
           }},
          {"synced", forward()}},
         {.max_head_lag_blocks = 3, .head_stall = 600s});
  EthClient eth(*p.pool);

  // Before any head is seen, the configured order: the lagging node answers.
  auto before = eth.block_number();
  REQUIRE(before);
  CHECK(*before == head - 10);

  p.pool->observe_heads();
  const auto h = p.pool->health();
  CHECK(h[0].out_of_sync);
  CHECK(h[0].head_lag == 10);
  CHECK(h[0].out_of_sync_reason == "10 blocks behind");
  CHECK_FALSE(h[1].out_of_sync);
  CHECK(h[1].head_lag == 0);
  auto after = eth.block_number();
  REQUIRE(after);
  CHECK(*after == head);  // the synced node now answers first

  // Within the allowed lag again: back to the configured order.
  lagging_head = head - 2;
  p.pool->observe_heads();
  CHECK_FALSE(p.pool->health()[0].out_of_sync);
  CHECK(p.pool->health()[0].head_lag == 2);
  auto again = eth.block_number();
  REQUIRE(again);
  CHECK(*again == head - 2);
}

TEST_CASE("defect 4: a node whose head has not moved for head_stall is demoted") {
  keeper::AnvilNode anvil;
  const std::uint64_t head = mine(anvil, 3);
  // Both are at the same head at first; then the chain moves and the frozen one does not (by
  // less than the lag limit, so only the stall can catch it).
  Pool p(anvil.http_url(), {{"frozen", stuck_at(head)}, {"live", forward()}},
         {.max_head_lag_blocks = 100, .head_stall = 2s});
  const auto t0 = std::chrono::steady_clock::now();
  p.pool->observe_heads(t0);
  CHECK_FALSE(p.pool->health()[0].out_of_sync);
  mine(anvil, 1);
  p.pool->observe_heads(t0 + 1s);
  CHECK_FALSE(p.pool->health()[0].out_of_sync);  // 1 s unchanged: not yet
  mine(anvil, 1);
  p.pool->observe_heads(t0 + 3s);
  const auto h = p.pool->health();
  CHECK(h[0].out_of_sync);
  CHECK(h[0].out_of_sync_reason == "head " + std::to_string(head) + " unchanged for 3 s");
  CHECK_FALSE(h[1].out_of_sync);  // it moved at t0 + 1 s and t0 + 3 s
  EthClient eth(*p.pool);
  auto n = eth.block_number();
  REQUIRE(n);
  CHECK(*n == head + 2);
}

TEST_CASE("defect 4: 'header not found' on a pinned block fails over to a node that has it") {
  keeper::AnvilNode anvil;
  const std::uint64_t head = mine(anvil, 5);
  Pool p(anvil.http_url(),
         {{"behind",
           [](const Json& req) -> std::optional<Json> {
             if (req["method"] == "eth_call" || req["method"] == "eth_getBlockByNumber") {
               return Json{{"error", {{"code", -32000}, {"message", "header not found"}}}};
             }
             return std::nullopt;
           }},
          {"has it", forward()}});
  EthClient eth(*p.pool);
  auto block = eth.get_block(BlockTag::number(head));
  REQUIRE_MESSAGE(block, (block ? "" : block.error().describe()));
  REQUIRE(*block);
  CHECK((*block)->number == head);
  CHECK(p.pool->health()[0].consecutive_failures == 1);
  CHECK(p.pool->health()[0].last_error.find("header not found") != std::string::npos);
}

TEST_CASE("defect 4: an endpoint unreachable at start is checked for its chain id before use") {
  keeper::AnvilNode anvil;
  // "later" serves chain 1 (a misconfigured URL), but is down when the keeper starts.
  Pool p(anvil.http_url(), {{"later",
                             [](const Json& req) -> std::optional<Json> {
                               if (req["method"] == "eth_chainId") {
                                 return result("0x1");
                               }
                               return std::nullopt;
                             }},
                            {"primary", forward()}});
  p.nodes[0]->down = true;
  auto connected = p.pool->connect(31337);
  REQUIRE(connected);
  CHECK(*connected == 1);
  CHECK_FALSE(p.pool->health()[0].chain_verified);

  // It comes up, the primary goes down: its chain id is asked first, and it is not used.
  p.nodes[0]->down = false;
  p.nodes[1]->down = true;
  EthClient eth(*p.pool);
  auto n = eth.block_number();
  CHECK_FALSE(n);
  const auto h = p.pool->health();
  CHECK_FALSE(h[0].enabled);
  CHECK(h[0].chain_verified);
  CHECK(h[0].last_error == "wrong chain id 0x1, expected 31337");
}
