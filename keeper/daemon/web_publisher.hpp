// What one keeper tick leaves on the web view (issue 19; keeper/ops/web_state.hpp): the
// pipeline's figures and Euler components per portfolio, the oracle's stored report read back
// from the chain (RiskOracle.latest), the transaction manager's and the endpoints' health, and
// the tick's incidents. Called after TickMetrics::record, on the keeper thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "chain/address.hpp"
#include "chain/eth_client.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/core/pipeline.hpp"
#include "keeper/daemon/keeper_loop.hpp"
#include "keeper/ops/web_state.hpp"

namespace varkeeper::keeper {

class WebPublisher {
 public:
  WebPublisher(WebState& web, PipelineConfig config, const chain::Address& oracle)
      : web_(web), config_(std::move(config)), oracle_(oracle) {}
  void record(const TickSummary& s, chain::EthClient& eth, const chain::TxManager& tx);

 private:
  WebState& web_;
  PipelineConfig config_;
  chain::Address oracle_;
  std::map<std::uint64_t, WebOnchainReport> onchain_;  // the last latest() read per portfolio
};

}  // namespace varkeeper::keeper
