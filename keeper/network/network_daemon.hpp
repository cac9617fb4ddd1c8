// `varkeeper run --config` with [network] enabled = true (issue 18): this process is one keeper
// of a keeper set (keeper/network/network_keeper.hpp), configured entirely by the file.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "chain/eth_client.hpp"
#include "keeper/config/config.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "keeper/network/round_engine.hpp"
#include "keeper/ops/signals.hpp"

namespace varkeeper::keeper::network {

// Rounds of `source`'s feed `feed_index` walked back from its latest round as of `block`
// (getRoundData pinned to that block): up to `max_rounds` (time, price) pairs, oldest first, so
// every keeper seeds the same history whenever it starts.
[[nodiscard]] std::vector<std::pair<std::int64_t, double>> walk_back_at(
    chain::EthClient& eth, const ChainlinkSource& source, std::size_t feed_index,
    std::size_t max_rounds, std::uint64_t block);

// The [network] keys as the round rule.
[[nodiscard]] RoundRule round_rule(const NetworkSettings& settings);

// Runs until `stop` (or `max_ticks`); returns the exit code. Throws ConfigError / StartupError.
int run_network_daemon(const Config& config, const StopSignals& stop, std::ostream& out,
                       std::optional<std::uint64_t> max_ticks);

}  // namespace varkeeper::keeper::network
