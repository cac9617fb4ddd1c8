#include "keeper/daemon/startup.hpp"

#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "keeper/core/reporter.hpp"
#include "keeper/core/startup_error.hpp"
#include "keeper/daemon/oracle_limits.hpp"
#include "keeper/daemon/tick_metrics.hpp"
#include "keeper/store/store.hpp"
#include "keeper/store/store_lock.hpp"
#include "risk/oprisk.hpp"

namespace varkeeper::keeper {

namespace {

// DESIGN §5, "after kill -9 and restart, no report is published twice": rounds continue after
// what the oracle holds (resume) and after every round this keeper ever used, sent or not (the
// store's next round), whichever is later.
void resume_rounds(Reporter& reporter, const KeeperStore& store,
                   const std::map<std::uint64_t, PortfolioSpec>& specs) {
  reporter.resume();
  for (const auto& [pid, spec] : specs) {
    reporter.skip_rounds_through(pid, store.next_round(pid) - 1);
  }
}

Operations start_operations(const OperationsOptions& options) {
  auto ops = Operations::start(options);
  if (!ops) {
    throw StartupError("metrics server on " + options.address + ": " + ops.error().message);
  }
  return std::move(*ops);
}

}  // namespace

std::uint64_t run_keeper_on_chain(chain::EthClient& eth, const chain::SecretKey& sender,
                                  KeeperSetup setup, const KeeperHooks& hooks,
                                  const StopSignals& stop, std::ostream& out) {
  // Transaction manager: its state machine lives in the keeper store, so a restart picks up the
  // transactions a previous run left in flight. One keeper per store (issue 15, defect 12): a
  // second is refused here, before it writes anything or sends a transaction.
  const StoreLock store_lock = StoreLock::acquire(setup.store_path);
  auto store = KeeperStore::open(setup.store_path);
  chain::TxManager tx(eth, *store, sender, setup.chain_id, setup.tx_options);
  // What the manager says once per occurrence (insufficient funds, fee cap reached, missing or
  // wrong receipt; docs/operations.md): a line on the output and an incident (issue 15).
  tx.on_alert = [&out, st = store.get()](const chain::TxAlert& a) {
    out << "varkeeper: transaction " << a.tx_id << ": " << a.message << std::endl;
    Incident inc;
    inc.time = static_cast<std::int64_t>(std::time(nullptr));
    inc.category = std::string(risk::oprisk::kFailedSubmission);
    inc.subject = "tx " + std::to_string(a.tx_id);
    const nlohmann::json evidence{{"alert", std::string(chain::to_string(a.kind))},
                                  {"message", a.message}};
    inc.evidence = evidence.dump();
    st->add_incident(inc);
  };
  if (auto started = tx.start(); !started) {
    throw StartupError("transaction manager: " + started.error().describe());
  }

  // Sources, then the history they continue.
  ChainlinkSource source(eth, setup.feeds);
  source.require_agreement(setup.agree_quorum);
  try {
    source.init();
  } catch (const std::runtime_error& e) {
    throw StartupError(e.what());
  }
  Pipeline pipeline(setup.pipeline);
  hooks.seed_history(pipeline, source);

  // Reporter, resumed past every round already used.
  std::map<std::uint64_t, PortfolioSpec> specs;
  for (const auto& p : pipeline.config().portfolios) {
    specs.emplace(p.id, p);
  }
  Reporter reporter(eth, tx, setup.signers, specs, {setup.oracle, setup.chain_id, 0});
  resume_rounds(reporter, *store, specs);
  // The oracle's change limit per portfolio and its stored reports: published figures step
  // within the limit (issue 14).
  for (const auto& problem : load_change_limits(eth, setup.oracle, pipeline)) {
    out << "varkeeper: " << problem << std::endl;
  }

  KeeperLoop loop(eth, tx, source, pipeline, reporter, setup.actions, store.get());
  loop.set_known_errors(std::move(setup.known_errors));
  // Reports still pending and actions still open from the previous run (issue 15, defect 10).
  if (const auto resumed = loop.resume_from_store(); resumed > 0) {
    out << "varkeeper: following " << resumed
        << " report transactions and actions left open by the previous run" << std::endl;
  }
  if (hooks.before_operations) {
    hooks.before_operations();
  }

  // Operations and metrics.
  Operations ops = start_operations(setup.operations);
  TickMetrics tick_metrics(ops, setup.pipeline.assets.size());
  const StartedKeeper keeper{eth, tx, *store, ops};
  out << "varkeeper: metrics " << ops.url() << "/metrics (also /healthz, /readyz)" << std::endl;
  if (hooks.started) {
    hooks.started(keeper);
  }

  run_keeper(loop, setup.tick_interval, stop, out, setup.max_ticks, hooks.before_tick,
             [&](const TickSummary& s) {
               tick_metrics.record(s, eth, tx);
               if (hooks.after_tick) {
                 hooks.after_tick(s, keeper);
               }
             });
  return loop.ticks();
}

}  // namespace varkeeper::keeper
