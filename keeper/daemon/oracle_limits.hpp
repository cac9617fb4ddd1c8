// The daemon's side of RiskOracle v2's change limit (issue 14): before the first tick, each
// portfolio's limit (RiskOracle.limits and changePolicy) and the report the oracle holds
// (latest) are read from the chain and handed to the pipeline, which then steps its published
// figures within the limit (keeper/core/change_limit.hpp), exactly as the simulator does with the
// scenario's limit.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "chain/address.hpp"
#include "chain/eth_client.hpp"
#include "keeper/core/change_limit.hpp"
#include "keeper/core/pipeline.hpp"

namespace varkeeper::keeper {

// RiskOracle.limits(pid).maxVaRChange and changePolicy(pid); nullopt when a call fails or its
// answer does not decode (the reason in `why`).
[[nodiscard]] std::optional<ChangeLimit> read_change_limit(chain::EthClient& eth,
                                                           const chain::Address& oracle,
                                                           std::uint64_t portfolio_id,
                                                           std::string& why);

// For every portfolio of `pipeline`: its change limit and the oracle's latest report. Returns one
// sentence per portfolio whose limit could not be read (the keeper still runs; its reports are then
// checked by the eth_call simulation before they are sent).
std::vector<std::string> load_change_limits(chain::EthClient& eth, const chain::Address& oracle,
                                            Pipeline& pipeline);

}  // namespace varkeeper::keeper
