// What only the chain can tell about a configuration (`varkeeper config check --online`): every
// RPC endpoint answers and serves chain.chain_id, every configured aggregator and contract address
// holds code, and a configured asset `decimals` equals what its feeds answer.
#pragma once

#include <string>
#include <vector>

#include "keeper/config/config.hpp"

namespace varkeeper::keeper {

// One line per fact checked ("chain.rpc[0] http://127.0.0.1:8545: chain 31337, block 12").
// Throws ConfigError, one sentence naming the file, the key and what the chain said, at the
// first problem. With chain.anvil = true there is no node yet: returns a line saying so.
[[nodiscard]] std::vector<std::string> check_online(const Config& config);

}  // namespace varkeeper::keeper
