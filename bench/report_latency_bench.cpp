// Issue 7: on anvil with 1 s blocks, the time from a feed price change to the accepted report.
// Runs `varkeeper run` on an anvil started here, then reads the keeper's store: for every accepted
// report, blocks between the one that set the observed price (observedAt = the feeds' updatedAt,
// the timestamp of that block) and the one that accepted the report.
// Usage: report_latency_bench [path/to/varkeeper] [ticks]
#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "keeper/store/store.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;

int main(int argc, char** argv) {
  const std::string binary = argc > 1 ? argv[1] : "build/varkeeper";
  const std::string ticks = argc > 2 ? argv[2] : "30";
  keeper::AnvilOptions o;
  o.block_time_seconds = 1;
  keeper::AnvilNode anvil(o);
  const auto dir =
      std::filesystem::temp_directory_path() / ("varkeeper-latency-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string store_path = (dir / "store.db").string();
  const auto run = test::run_process({binary, "run", "--rpc", anvil.http_url(), "--store",
                                      store_path, "--ticks", ticks, "--tick-ms", "1000"});
  if (run.exit_code != 0) {
    std::cerr << "varkeeper run failed: " << run.err;
    return 1;
  }
  std::vector<std::unique_ptr<chain::JsonRpcClient>> clients;
  clients.push_back(std::make_unique<chain::JsonRpcClient>(
      chain::make_http_transport(*chain::parse_url(anvil.http_url()))));
  chain::EndpointPool pool(std::move(clients));
  chain::EthClient eth(pool);
  auto store = keeper::KeeperStore::open(store_path);
  std::vector<double> latencies;
  for (const auto& r : store->reports_in_state(keeper::ReportState::kAccepted)) {
    if (!r.tx_id) continue;
    const auto tx = store->get(*r.tx_id);
    if (!tx || tx->mined_block == 0) continue;
    const auto block = eth.get_block(chain::BlockTag::number(tx->mined_block));
    if (!block || !*block) continue;
    latencies.push_back(
        static_cast<double>(static_cast<std::int64_t>((*block)->timestamp) - r.observed_at));
  }
  std::filesystem::remove_all(dir);
  if (latencies.empty()) {
    std::cerr << "no accepted report\n";
    return 1;
  }
  std::sort(latencies.begin(), latencies.end());
  const auto q = [&](double p) {
    return latencies[static_cast<std::size_t>(p * (latencies.size() - 1))];
  };
  std::cout << "accepted reports: " << latencies.size() << "\n"
            << "blocks from the price change to the accepted report (1 s blocks): p50 " << q(0.5)
            << ", p90 " << q(0.9) << ", max " << latencies.back() << "\n";
  return 0;
}
