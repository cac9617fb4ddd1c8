#include "keeper/daemon/startup.hpp"

#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "chain/head_watcher.hpp"
#include "keeper/core/reporter.hpp"
#include "keeper/core/startup_error.hpp"
#include "keeper/daemon/oracle_limits.hpp"
#include "keeper/daemon/tick_metrics.hpp"
#include "keeper/daemon/web_publisher.hpp"
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

// New heads from the WebSocket watcher's thread to the loop's: how many arrived, and a wake-up.
struct NewHeads {
  std::mutex mu;
  std::condition_variable cv;
  std::uint64_t count = 0;
  std::uint64_t last = 0;
  void arrived(std::uint64_t number) {
    const std::lock_guard lock(mu);
    ++count;
    last = number;
    cv.notify_all();
  }
  // Waits until a head after `seen` arrives, `until` passes or a stop is requested; the count.
  std::uint64_t wait(std::uint64_t seen, std::chrono::steady_clock::time_point until,
                     const StopSignals& stop) {
    std::unique_lock lock(mu);
    while (count == seen && !stop.stop_requested() && std::chrono::steady_clock::now() < until) {
      cv.wait_for(lock, std::chrono::milliseconds(50));
    }
    return count;
  }
};

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
  // Every RPC of this keeper obeys one budget (issue 15, defect 9): a stop request cuts the one in
  // progress short and fails the rest at once, and each tick gets a deadline (set below).
  chain::IoBudget budget(chain::current_io_budget(), &stop.flag(), "tick deadline");
  const chain::IoBudgetScope budget_scope(budget);
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
  // within the limit, read again every kOracleSyncTicks ticks and when a report is refused or
  // its transaction ends (issue 14; keeper/daemon/oracle_limits.hpp).
  OracleSync oracle_sync(eth, setup.oracle, pipeline, [&tx](std::uint64_t id) {
    const auto rec = tx.get(id);
    return rec && rec->state != chain::TxState::kConfirmed &&
           rec->state != chain::TxState::kFinalized && rec->state != chain::TxState::kFatal;
  });
  for (const auto& problem : oracle_sync.start()) {
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
  WebPublisher web_publisher(ops.web(), pipeline.config(), setup.oracle);  // the web view
  const StartedKeeper keeper{eth, tx, *store, ops};
  out << "varkeeper: metrics " << ops.url() << "/metrics (also /healthz, /readyz)" << std::endl;
  if (hooks.started) {
    hooks.started(keeper);
  }

  auto& abandoned = ops.registry().counter(
      "varkeeper_ticks_abandoned_total",
      "Ticks abandoned at keeper.tick_deadline_s or by a stop request, their RPCs cut short",
      {"reason"});
  // chain.ws: a tick on each new head, at the latest tick_interval after the previous one.
  NewHeads heads;
  std::optional<chain::HeadWatcher> watcher;
  std::uint64_t heads_seen = 0;
  std::optional<std::chrono::steady_clock::time_point> last_tick;
  if (setup.ws && setup.ws_backfill != nullptr) {
    auto& new_heads = ops.registry().counter("varkeeper_new_heads_total",
                                             "Block heads delivered by the chain.ws subscription");
    chain::HeadWatcherOptions watch;
    watch.ca_file = setup.ws_ca_file;
    watcher.emplace(
        *setup.ws, *setup.ws_backfill,
        [&heads, &new_heads](const chain::BlockHeader& h) {
          new_heads.inc();
          heads.arrived(h.number);
        },
        watch);
    const auto head = eth.block_number();
    watcher->start(head ? *head : 0);
    out << "varkeeper: new heads from " << chain::redacted(*setup.ws)
        << ": a tick on each, at the latest every " << setup.tick_interval.count() << " ms"
        << std::endl;
  }
  std::uint64_t stops_before = 0;
  const auto before_tick = [&](std::uint64_t t) {
    if (watcher) {
      if (last_tick) {
        heads_seen = heads.wait(heads_seen, *last_tick + setup.tick_interval, stop);
      }
      last_tick = std::chrono::steady_clock::now();
    }
    budget.set_deadline(std::chrono::steady_clock::now() + setup.tick_deadline);
    stops_before = budget.stops();
    if (hooks.before_tick) {
      hooks.before_tick(t);
    }
  };
  // With chain.ws the wait between ticks is before_tick's (a new head or tick_interval).
  const auto interval = watcher ? std::chrono::milliseconds(0) : setup.tick_interval;
  run_keeper(loop, interval, stop, out, setup.max_ticks, before_tick, [&](const TickSummary& s) {
    if (budget.stops() > stops_before) {
      // RPCs were cut short: what the tick had not done yet waits for the next one
      // (each step failed as on any RPC error, nothing is half-written).
      const bool stopping = stop.stop_requested();
      abandoned.inc({stopping ? "stop" : "deadline"});
      out << "varkeeper: tick " << s.tick << " abandoned: "
          << (stopping ? std::string("stop requested")
                       : "tick deadline of " + std::to_string(setup.tick_deadline.count()) +
                             " ms passed")
          << "; its remaining RPCs were not sent" << std::endl;
    }
    budget.clear_deadline();
    tick_metrics.record(s, eth, tx);
    web_publisher.record(s, eth, tx);
    for (const auto& problem : oracle_sync.after_tick(s)) {
      out << "varkeeper: oracle re-read: " << problem << std::endl;
    }
    if (hooks.after_tick) {
      hooks.after_tick(s, keeper);
    }
  });
  return loop.ticks();
}

}  // namespace varkeeper::keeper
