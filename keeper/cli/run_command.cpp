// `varkeeper run`: the keeper daemon. Without --config it runs the embedded default: a local
// anvil chain it starts, the bundled contracts and mocks, a simulated market with a crash.
#include <iostream>

#include "keeper/cli/command.hpp"
#include "keeper/config/config.hpp"
#include "keeper/daemon/daemon.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/devchain/local_chain.hpp"
#include "keeper/network/network_daemon.hpp"
#include "keeper/ops/logging.hpp"
#include "keeper/ops/signals.hpp"
#include "keeper/store/store_error.hpp"

namespace varkeeper::keeper::cli {
namespace {

struct RunOptions {
  std::string config;
  std::uint64_t ticks = 0;
  bool verbose = false;
  LocalRunOptions local;
};

// NOLINTNEXTLINE(cert-err58-cpp): the lambda runs later, inside main's try
const RegisterCommand kRegister{
    10, [](CLI::App& app) {
      auto opts = std::make_shared<RunOptions>();
      auto* cmd = app.add_subcommand(
          "run",
          "Run the keeper. Without --config: the embedded local chain (anvil, bundled contracts, "
          "simulated market with a crash a minute in)");
      cmd->add_option("--config", opts->config, "Keeper configuration (TOML); see docs/config.md");
      cmd->add_option("--ticks", opts->ticks, "Stop after this many ticks (0 = until Ctrl-C)");
      cmd->add_option("--seed", opts->local.seed, "Local mode: market simulator seed")
          ->capture_default_str();
      cmd->add_option("--tick-ms", opts->local.tick_ms, "Local mode: milliseconds per tick")
          ->capture_default_str();
      cmd->add_option(
             "--crash-at", opts->local.crash_at_tick,
             "Local mode: earliest tick of the scripted crash (it starts at the first tick from "
             "there inside a protection epoch's coverage)")
          ->capture_default_str();
      cmd->add_option("--crash-drop", opts->local.crash_drop,
                      "Local mode: size of the crash (fraction)")
          ->capture_default_str();
      cmd->add_option("--store", opts->local.store_path,
                      "Local mode: store file (default: a temp file)");
      cmd->add_option("--rpc", opts->local.rpc_url,
                      "Local mode: use this running anvil node instead of starting one");
      cmd->add_option(
          "--deployment", opts->local.deployment_file,
          "Local mode: deployment file to resume on (written after a fresh deployment)");
      cmd->add_option("--metrics-address", opts->local.metrics_address,
                      "Local mode: operations address for /metrics, the web view (/) and its API "
                      "(host:port; port 0 = a free port, printed at start)")
          ->capture_default_str();
      cmd->add_option("--keepers", opts->local.keepers,
                      "Local mode: run a keeper set of this many keepers (2 or 3), each with its "
                      "own signer key, store and peer listener, quorum 2 (docs/operations.md, "
                      "\"Keeper network\")")
          ->capture_default_str()
          ->check(CLI::Range(1, 3));
      cmd->add_option("--artifacts", opts->local.artifacts_dir,
                      "Contract artifacts directory (default: next to the binary)");
      cmd->add_flag("--verbose", opts->verbose,
                    "Full tick lines: prices, transaction hashes, gas, every refusal and error "
                    "(default: one short line per tick)");
      cmd->callback([opts] {
        set_verbose_ticks(opts->verbose);
        // First SIGINT/SIGTERM: the tick in progress finishes, in-flight transactions stay in the
        // store, the HTTP server and the embedded anvil are stopped. Second: exit 130 at once
        // (keeper/ops/signals.hpp).
        const StopSignals stop;
        try {
          if (opts->config.empty()) {
            if (opts->ticks > 0) {
              opts->local.max_ticks = opts->ticks;
            }
            const int rc = run_local(opts->local, stop, std::cout);
            if (rc != 0) {
              throw UserError("the local run failed", rc);
            }
            return;
          }
          const Config config = load_config(opts->config);
          if (config.chain.anvil) {
            // chain.anvil = true: the embedded local chain, paced and stored as the file says.
            opts->local.tick_ms = config.keeper.tick_interval_s * 1000;
            if (opts->local.store_path.empty()) {
              opts->local.store_path = config.keeper.store.string();
            }
            if (opts->ticks > 0) {
              opts->local.max_ticks = opts->ticks;
            }
            const int rc = run_local(opts->local, stop, std::cout);
            if (rc != 0) {
              throw UserError("the local run failed", rc);
            }
            return;
          }
          if (config.network.enabled) {
            // One keeper of a keeper set (issue 18; docs/operations.md "Keeper network").
            std::optional<std::uint64_t> max_ticks;
            if (opts->ticks > 0) {
              max_ticks = opts->ticks;
            }
            const int rc = network::run_network_daemon(config, stop, std::cout, max_ticks);
            if (rc != 0) {
              throw UserError("the keeper stopped with an error", rc);
            }
            return;
          }
          DaemonOptions d;
          if (opts->ticks > 0) {
            d.max_ticks = opts->ticks;
          }
          const int rc = run_daemon(config, stop, std::cout, d);
          if (rc != 0) {
            throw UserError("the keeper stopped with an error", rc);
          }
        } catch (const ConfigError& e) {
          throw UserError(e.what(), 2);
        } catch (const StartupError& e) {
          throw UserError(e.what(), 3);
        } catch (const DeployError& e) {
          throw UserError(e.what(), 3);
        } catch (const StoreError& e) {
          throw UserError(e.what(), 4);
        }
      });
    }};

}  // namespace
}  // namespace varkeeper::keeper::cli
