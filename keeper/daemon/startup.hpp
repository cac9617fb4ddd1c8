// The one start-up sequence of a keeper on a chain, for both `run --config` (keeper/daemon/
// daemon.cpp) and the embedded local run (keeper/devchain/local_chain.cpp):
//
//   client → transaction manager start → sources init → history seed → reporter resume / skip
//   used rounds → loop → operations → metrics → ticks until a stop is requested.
//
// The caller brings the connected client and what differs between the modes (keys, store file,
// feeds, pipeline configuration, how history is seeded, what runs around each tick); the order,
// and the rule that no round is published twice after a kill -9, live here only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "chain/abi_type.hpp"
#include "chain/eth_client.hpp"
#include "chain/secret_key.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/core/pipeline.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "keeper/daemon/keeper_loop.hpp"
#include "keeper/ops/operations.hpp"
#include "keeper/ops/signals.hpp"

namespace varkeeper::keeper {

class KeeperStore;

struct KeeperSetup {
  std::uint64_t chain_id = 0;
  std::string store_path;  // the keeper store (SQLite); opened after the keys are unlocked
  chain::TxManagerOptions tx_options;
  std::vector<chain::SecretKey> signers;  // sign reports (the sender pays gas)
  chain::Address oracle{};                // RiskOracle
  ActionTargets actions;
  std::vector<FeedRef> feeds;
  // chain.agree_reads: price reads agree on this many endpoints (0: one endpoint is read).
  std::size_t agree_quorum = 0;
  PipelineConfig pipeline;                        // methodology already stamped
  std::vector<chain::AbiSignature> known_errors;  // contracts' custom errors, shown by name
  OperationsOptions operations;                   // /metrics, /healthz, /readyz
  std::chrono::milliseconds tick_interval{1'000};
  // keeper.tick_deadline_s (issue 15, defect 9): a tick still waiting on the chain this long after
  // it began is abandoned: its RPCs in progress are cut short and the rest fail at once, it says
  // so (a line, varkeeper_ticks_abandoned_total) and the next tick starts from the chain and the
  // store. A stop (SIGTERM) cuts RPCs short the same way, so the run ends within seconds.
  std::chrono::milliseconds tick_deadline{60'000};
  std::optional<std::uint64_t> max_ticks;
  // chain.ws (issue 15, defect 11): new heads over this ws:// or wss:// subscription start a tick
  // at once; without one for tick_interval (the subscription down, a quiet chain) the loop ticks
  // anyway (HTTP polling as the fallback). `ws_backfill` reads missed blocks for the watcher on
  // its own thread: a client of its own, not `eth`.
  std::optional<chain::Url> ws;
  std::string ws_ca_file;
  chain::EthClient* ws_backfill = nullptr;
};

// What a keeper that has started may be asked about in the hooks.
struct StartedKeeper {
  chain::EthClient& eth;
  chain::TxManager& tx;
  KeeperStore& store;
  Operations& operations;
};

struct KeeperHooks {
  // The history seed: called once the sources answer (required).
  std::function<void(Pipeline&, ChainlinkSource&)> seed_history;
  // After the loop is built, before the operations server starts (log set-up, market
  // participants).
  std::function<void()> before_operations;
  // Once everything runs, before the first tick (the mode's start-up lines).
  std::function<void(const StartedKeeper&)> started;
  // Before each tick, with the tick's number (the local market moves its feeds).
  std::function<void(std::uint64_t)> before_tick;
  // After each tick, once the tick metrics are recorded.
  std::function<void(const TickSummary&, const StartedKeeper&)> after_tick;
};

// Runs the sequence above and then the loop until `stop` (or setup.max_ticks); returns the number
// of ticks run. Throws StartupError with one sentence when a step cannot start.
std::uint64_t run_keeper_on_chain(chain::EthClient& eth, const chain::SecretKey& sender,
                                  KeeperSetup setup, const KeeperHooks& hooks,
                                  const StopSignals& stop, std::ostream& out);

}  // namespace varkeeper::keeper
