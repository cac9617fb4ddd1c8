// `varkeeper run --config`: wires the configured chain, keys, store, price feeds, pipeline,
// reporter and transaction manager into the keeper loop (keeper/daemon/startup.hpp), and runs it
// until SIGINT/SIGTERM.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>

#include "keeper/config/config.hpp"
#include "keeper/core/startup_error.hpp"
#include "keeper/ops/signals.hpp"

namespace varkeeper::keeper {

struct DaemonOptions {
  std::optional<std::uint64_t> max_ticks;  // stop after this many ticks (tests, smoke runs)
};

// Runs the daemon on a configured chain until `stop` (the first SIGINT/SIGTERM: the tick in
// progress finishes). Returns the process exit code (0 after a clean stop). Throws StartupError
// when it cannot start, a failed self-check first (keeper/ops/selfcheck.hpp); nothing is left
// running then.
int run_daemon(const Config& config, const StopSignals& stop, std::ostream& out,
               const DaemonOptions& options = {});

}  // namespace varkeeper::keeper
