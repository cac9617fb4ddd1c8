// The embedded default of `varkeeper run` (no config): an anvil node it starts on a free loopback
// port, the bundled contracts and mocks deployed on it, market participants (feed operator,
// arbitrageur keeping the AMM at the feed price, an underwriter and a protection buyer), history
// seeded from the bundled BTC/ETH data, and the keeper pipeline publishing real reports.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "keeper/ops/signals.hpp"

namespace varkeeper::keeper {

struct LocalRunOptions {
  std::uint64_t seed = 1;
  std::uint64_t tick_ms = 2'000;  // one tick = one simulated market "day"
  // "A crash a minute in" at 2 s ticks: the crash starts at the first tick from this one on at
  // which its three steps fall inside a protection epoch's coverage (after the start price,
  // before the end), so that epoch settles with a payout.
  std::uint64_t crash_at_tick = 30;
  double crash_drop = 0.5;                 // ETH fell about as much in two days in March 2020
  std::optional<std::uint64_t> max_ticks;  // stop after N ticks (tests and smoke runs)
  std::string data_dir;       // bundled CSVs; default: the installed config/data (keeper/install)
  std::string store_path;     // default: a fresh file in the temp directory
  std::string artifacts_dir;  // default: next to the binary
  // An anvil node already running (its accounts unlocked) instead of starting one; it is left
  // running at exit. With `deployment_file`, a run resumes on the contracts a previous run
  // deployed (and wrote there) instead of deploying new ones.
  std::string rpc_url;
  // /metrics, /healthz, /readyz; port 0 picks a free port (printed at start).
  std::string metrics_address = "127.0.0.1:0";
  std::string deployment_file;
  // `--keepers N` (N >= 2; issue 18): N keepers of one keeper set on this chain instead of one
  // keeper holding every key: dev signer keys anvil1..anvilN (the oracle is deployed with these N
  // signers and quorum 2), senders anvil4.., a store and a peer listener each, run as threads;
  // one status line per tick per keeper, prefixed "[k1]" etc.
  std::size_t keepers = 1;
  std::uint64_t round_blocks = 4;  // [network] round_blocks of the embedded keeper set
};

// Runs until `stop` (the first SIGINT/SIGTERM: the tick in progress finishes, then the anvil it
// started is stopped) or `max_ticks`. Returns the exit code; throws StartupError
// (keeper/core/startup_error.hpp) if the chain cannot be set up or a self-check fails
// (keeper/ops/selfcheck.hpp; checked before anvil starts).
int run_local(const LocalRunOptions& options, const StopSignals& stop, std::ostream& out);

}  // namespace varkeeper::keeper
