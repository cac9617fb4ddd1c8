// The methodology hash that goes on chain with every report: keccak256 of a canonical JSON of
// everything that determines the published figures, taken from the portfolio exactly as the
// pipeline runs it (method, confidence, horizon, return interval, window, minimum history,
// Monte Carlo paths and seed, the lambdas, the model switches, the positions, the publish policy)
// and the whole breaker configuration. Two keepers agree on a hash only if they would compute
// the same figures from the same prices.
#pragma once

#include "chain/bytes.hpp"
#include "keeper/core/pipeline.hpp"
#include "risk/breaker_config.hpp"

namespace varkeeper::keeper {

[[nodiscard]] chain::Hash32 methodology_hash(const PortfolioSpec& portfolio,
                                             const risk::BreakerConfig& breaker);

// Sets config_hash of every portfolio of `config` from the hash above.
void stamp_methodology(PipelineConfig& config);

}  // namespace varkeeper::keeper
