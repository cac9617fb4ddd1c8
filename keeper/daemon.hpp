// `varkeeper run`: wires the configured chain, keys, store, price feeds, pipeline, reporter and
// transaction manager into the keeper loop, and runs it until SIGINT/SIGTERM.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>

#include "chain/bytes.hpp"
#include "keeper/config.hpp"
#include "keeper/pipeline.hpp"

namespace varkeeper::keeper {

// A failure to start (unreachable node, wrong chain id, feed without code, ...): one sentence.
class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The methodology hash that goes on chain with every report: keccak256 of a canonical JSON of
// everything that determines the figures (method, confidence, horizon, window, lambdas, paths,
// seed, the return interval, the positions and the breaker configuration).
[[nodiscard]] chain::Hash32 methodology_hash(const PortfolioSettings& portfolio,
                                             const risk::BreakerConfig& breaker);

[[nodiscard]] PipelineConfig pipeline_config(const Config& config);

// Closes from a `date,close` CSV as (Unix time of the date at 00:00 UTC, close).
[[nodiscard]] std::vector<std::pair<std::int64_t, double>> closes_from_csv(const std::string& path);

struct DaemonOptions {
  std::optional<std::uint64_t> max_ticks;  // stop after this many ticks (tests, smoke runs)
};

// Runs the daemon on a configured chain. Returns the process exit code (0 after a clean stop).
// Throws StartupError when it cannot start; nothing is left running then.
int run_daemon(const Config& config, const std::atomic<bool>& stop, std::ostream& out,
               const DaemonOptions& options = {});

}  // namespace varkeeper::keeper
