// Issue 15, defect 11: a reorged header at a height already delivered used to be dropped (the
// watcher only took heights above the last one). anvil_reorg replaces the last block by another
// at the same height; the watcher delivers it.
#include <doctest/doctest.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include "chain/head_watcher.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/fault_proxy.hpp"
#include "tests/support/tcp_relay.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using varkeeper::keeper::AnvilNode;

namespace {
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(10'000)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}
}  // namespace

TEST_CASE("defect 11: a reorged header at the same height is delivered") {
  AnvilNode anvil;
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(
      std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(anvil.http_url()))));
  EndpointPool pool(std::move(clients));
  EthClient eth(pool);

  std::mutex mu;
  std::vector<BlockHeader> seen;
  HeadWatcher watcher(*parse_url(anvil.ws_url()), eth, [&](const BlockHeader& h) {
    std::lock_guard lock(mu);
    seen.push_back(h);
  });
  watcher.start(0);
  const auto count = [&] {
    std::lock_guard lock(mu);
    return seen.size();
  };
  REQUIRE(eventually([&] { return watcher.stats().connects == 1; }));
  for (int i = 0; i < 3; ++i) REQUIRE(pool.call("evm_mine"));
  REQUIRE(eventually([&] { return count() == 3; }));
  const Hash32 old_head = [&] {
    std::lock_guard lock(mu);
    return seen.back().hash;
  }();

  // Block 3 replaced by another block 3 (one transaction in it, so the hash differs).
  const Json tx{{"from", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"},
                {"to", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
                {"value", "0x1"}};
  REQUIRE(pool.call("anvil_reorg", Json::array({1, Json::array({Json::array({tx, 0})})})));
  auto latest = eth.get_block(BlockTag::latest());
  REQUIRE(latest);
  REQUIRE(*latest);
  REQUIRE((*latest)->number == 3);
  REQUIRE((*latest)->hash != old_head);
  // Either the node announces the new head, or the next head's parent reveals it: mine one more.
  REQUIRE(pool.call("evm_mine"));
  REQUIRE(eventually([&] {
    std::lock_guard lock(mu);
    return std::any_of(seen.begin(), seen.end(), [&](const BlockHeader& h) {
      return h.number == 3 && h.hash == (*latest)->hash;
    });
  }));
  watcher.stop();
  CHECK(watcher.stats().reorgs >= 1);
  std::lock_guard lock(mu);
  CHECK(seen.back().number == 4);
}

// Issue 15, defect 11: wss:// was impossible (no TLS in the watcher). Here anvil's ws endpoint is
// behind a TLS relay whose certificate a CA generated in the test signs (OpenSSL): with that CA the
// watcher subscribes and receives heads; without it (system store only) the handshake is refused.
TEST_CASE("defect 11: newHeads over wss:// with a verified certificate; an unknown CA is refused") {
  AnvilNode anvil;
  varkeeper::test::TempDir dir("wss-pki");
  const auto pki = varkeeper::test::make_test_pki(dir.file("pki"), "localhost");
  varkeeper::test::TcpRelay relay(anvil.port(), pki.server);
  std::vector<std::unique_ptr<JsonRpcClient>> clients;
  clients.push_back(
      std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(anvil.http_url()))));
  EndpointPool pool(std::move(clients));
  EthClient eth(pool);
  const auto url = *parse_url("wss://127.0.0.1:" + std::to_string(relay.port()));

  std::mutex mu;
  std::vector<std::uint64_t> seen;
  HeadWatcherOptions trusted;
  trusted.ca_file = pki.ca_pem;
  HeadWatcher watcher(
      url, eth,
      [&](const BlockHeader& h) {
        std::lock_guard lock(mu);
        seen.push_back(h.number);
      },
      trusted);
  watcher.start(0);
  REQUIRE(eventually([&] { return watcher.stats().connects == 1; }));
  for (int i = 0; i < 2; ++i) REQUIRE(pool.call("evm_mine"));
  REQUIRE(eventually([&] {
    std::lock_guard lock(mu);
    return seen.size() == 2;
  }));
  CHECK(watcher.stats().notified >= 2);
  watcher.stop();
  CHECK(relay.tls_failures() == 0);

  HeadWatcherOptions untrusted;
  untrusted.backoff_initial = std::chrono::milliseconds(50);
  HeadWatcher refused(
      url, eth, [](const BlockHeader&) {}, untrusted);
  refused.start(0);
  REQUIRE(eventually([&] { return relay.tls_failures() >= 1; }));
  refused.stop();
  CHECK(refused.stats().connects == 0);
}
