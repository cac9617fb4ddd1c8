// `varkeeper run`: wires the configured chain, keys, store, price feeds, pipeline, reporter and
// transaction manager into the keeper loop, and runs it until SIGINT/SIGTERM.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>

#include "keeper/config/config.hpp"
#include "keeper/core/startup_error.hpp"

namespace varkeeper::keeper {

struct DaemonOptions {
  std::optional<std::uint64_t> max_ticks;  // stop after this many ticks (tests, smoke runs)
};

// Runs the daemon on a configured chain. Returns the process exit code (0 after a clean stop).
// Throws StartupError when it cannot start; nothing is left running then.
int run_daemon(const Config& config, const std::atomic<bool>& stop, std::ostream& out,
               const DaemonOptions& options = {});

}  // namespace varkeeper::keeper
