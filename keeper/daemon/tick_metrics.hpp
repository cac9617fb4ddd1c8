// What one keeper tick leaves on /metrics and /readyz (docs/operations.md names the families).
#pragma once

#include "chain/eth_client.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/daemon/keeper_loop.hpp"
#include "keeper/ops/operations.hpp"

namespace varkeeper::keeper {

class TickMetrics {
 public:
  TickMetrics(Operations& ops, std::size_t asset_count)
      : ops_(ops),
        assets_(asset_count),
        head_lag_(ops.registry().gauge("varkeeper_endpoint_head_lag_blocks",
                                       "blocks each endpoint's head is behind the best head",
                                       {"endpoint"})),
        tx_(ops.registry()) {}
  void record(const TickSummary& s, chain::EthClient& eth, const chain::TxManager& tx);

 private:
  Operations& ops_;
  std::size_t assets_;
  Gauge& head_lag_;  // varkeeper_endpoint_head_lag_blocks{endpoint} (issue 15, defect 4)
  // The transaction manager's state now (issue 15, defect 13; docs/operations.md).
  struct TxFamilies {
    explicit TxFamilies(MetricsRegistry& r);
    Counter& finished;                          // varkeeper_tx_finished_total{state}
    Gauge& oldest_unconfirmed;                  // varkeeper_tx_oldest_unconfirmed_seconds
    Gauge& attempts_max;                        // varkeeper_tx_attempts_max
    Gauge& attempts_open;                       // varkeeper_tx_attempts_open
    Gauge& sender_balance;                      // varkeeper_sender_balance_wei
    Counter& alerts;                            // varkeeper_tx_alerts_total{kind}
    std::map<std::string, std::uint64_t> seen;  // cumulative stats already exported
  };
  void record_tx(const chain::TxManager& tx);
  TxFamilies tx_;
  chain::U256 gas_seen_ = 0;
  std::map<std::pair<std::string, int>, std::uint64_t> rpc_errors_seen_;
};

}  // namespace varkeeper::keeper
