// Latency of one batched poll of 100 eth_calls against a local anvil (started here), and of the
// same 100 calls sent one by one on a kept-alive connection. Peers (100 sequential `cast call`s,
// one batched request with curl) are timed by bench/rpc_peers.sh.
#include <benchmark/benchmark.h>

#include "chain/endpoint_pool.hpp"
#include "chain/hex.hpp"
#include "keeper/devchain/anvil_node.hpp"

using namespace varkeeper::chain;

namespace {
struct Node {
  varkeeper::keeper::AnvilNode anvil;
  JsonRpcClient client{make_http_transport(*parse_url(anvil.http_url()))};
  std::vector<RpcRequest> calls;
  Node() {
    for (int i = 0; i < 100; ++i) {
      Bytes data(32, 0);
      data[31] = static_cast<std::uint8_t>(i);
      calls.push_back(
          {"eth_call", Json::array({{{"to", "0x0000000000000000000000000000000000000004"},
                                     {"data", to_hex(data)}},
                                    "latest"})});
    }
  }
};
Node& node() {
  static Node n;
  return n;
}
}  // namespace

static void BM_Batch100EthCalls(benchmark::State& state) {
  auto& n = node();
  for (auto _ : state) {
    auto results = n.client.batch(n.calls);
    if (!results[99]) state.SkipWithError("batch failed");
    benchmark::DoNotOptimize(results);
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_Batch100EthCalls)->Unit(benchmark::kMillisecond)->MinTime(2.0);

static void BM_Sequential100EthCalls(benchmark::State& state) {
  auto& n = node();
  for (auto _ : state) {
    for (const auto& c : n.calls) {
      auto r = n.client.call(c.method, c.params);
      if (!r) state.SkipWithError("call failed");
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_Sequential100EthCalls)->Unit(benchmark::kMillisecond)->MinTime(2.0);

BENCHMARK_MAIN();
