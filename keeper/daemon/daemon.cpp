#include "keeper/daemon/daemon.hpp"

#include <nlohmann/json.hpp>

#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "keeper/daemon/startup.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/io/price_csv.hpp"
#include "keeper/ops/logging.hpp"
#include "keeper/ops/operations.hpp"
#include "keeper/ops/oprisk_report.hpp"
#include "keeper/ops/selfcheck.hpp"
#include "keeper/store/store.hpp"

namespace varkeeper::keeper {

namespace {

std::unique_ptr<chain::EndpointPool> make_pool(const ChainSettings& chain) {
  std::vector<std::unique_ptr<chain::JsonRpcClient>> clients;
  chain::HttpOptions http;
  http.timeout = std::chrono::milliseconds(chain.request_timeout_ms);
  if (chain.ca_file) {
    http.ca_file = chain.ca_file->string();
  }
  for (const auto& url : chain.rpc) {
    clients.push_back(
        std::make_unique<chain::JsonRpcClient>(chain::make_http_transport(url, http)));
  }
  chain::EndpointPoolOptions pool_options;
  pool_options.max_head_lag_blocks = chain.max_head_lag_blocks;
  pool_options.head_stall = std::chrono::seconds(chain.head_stall_s);
  // A broadcast goes to every endpoint at once and waits one request timeout at most (defect 9).
  pool_options.broadcast_timeout = http.timeout;
  return std::make_unique<chain::EndpointPool>(std::move(clients), pool_options);
}

// The client: the configured endpoints, checked to serve the configured chain.
std::unique_ptr<chain::EndpointPool> connect(const Config& config) {
  if (config.chain.rpc.empty()) {
    throw StartupError(config.file.string() + ": chain.rpc: no endpoint to connect to");
  }
  auto pool = make_pool(config.chain);
  auto connected = pool->connect(config.chain.chain_id);
  if (!connected) {
    throw StartupError("cannot use chain " + std::to_string(config.chain.chain_id) + ": " +
                       connected.error().describe());
  }
  return pool;
}

struct Contracts {
  chain::Address oracle{};
  ActionTargets actions;
};

// Contract addresses: explicit, or from the deployment file; the RiskOracle must have code.
Contracts find_contracts(const Config& config, chain::EthClient& eth) {
  std::optional<chain::Address> oracle = config.contracts.risk_oracle;
  ActionTargets actions{config.contracts.rebalancer, config.contracts.protection};
  if (config.contracts.deployment) {
    const auto deployment = read_deployment_file(*config.contracts.deployment);
    if (!deployment) {
      throw StartupError(config.contracts.deployment->string() + ": deployment file not found");
    }
    if (deployment->chain_id != config.chain.chain_id) {
      throw StartupError(config.contracts.deployment->string() + " is for chain " +
                         std::to_string(deployment->chain_id) + ", not " +
                         std::to_string(config.chain.chain_id));
    }
    if (!oracle) {
      oracle = deployment->address_of("RiskOracle");
    }
    if (!actions.rebalancer && deployment->find("RiskRebalancer")) {
      actions.rebalancer = deployment->address_of("RiskRebalancer");
    }
    if (!actions.protection && deployment->find("VaRProtection")) {
      actions.protection = deployment->address_of("VaRProtection");
    }
  }
  if (!oracle) {
    throw StartupError(config.file.string() +
                       ": contracts: no risk_oracle address and no deployment file");
  }
  auto code = eth.code(*oracle);
  if (!code || code->empty()) {
    throw StartupError("RiskOracle " + chain::to_checksum_address(*oracle) +
                       " has no contract code on chain " + std::to_string(config.chain.chain_id));
  }
  return {*oracle, actions};
}

std::vector<FeedRef> feeds_of(const Config& config) {
  std::vector<FeedRef> feeds;
  for (const auto& a : config.assets) {
    for (const auto& s : a.sources) {
      feeds.push_back({a.symbol, s.name, s.aggregator});
    }
  }
  return feeds;
}

// The bundled contracts' custom errors, to name them in refusals, when the artifacts are
// installed (a keeper on someone else's deployment runs without them).
std::vector<chain::AbiSignature> installed_contract_errors() {
  std::vector<chain::AbiSignature> errors;
  try {
    for (const auto& [name, abi] : load_artifacts(find_artifacts_dir(std::nullopt))) {
      errors.insert(errors.end(), abi.error_signatures().begin(), abi.error_signatures().end());
    }
  } catch (const DeployError&) {
    errors.clear();
  }
  return errors;
}

OperationsOptions operations_options(const Config& config) {
  OperationsOptions o;
  o.address = config.keeper.metrics_host + ":" + std::to_string(config.keeper.metrics_port);
  o.allow_non_loopback = config.keeper.metrics_public;
  o.readiness.max_price_age_s = static_cast<std::int64_t>(4 * config.keeper.tick_interval_s + 60);
  std::uint64_t heartbeat = 0;
  for (const auto& p : config.portfolios) {
    heartbeat = std::max(heartbeat, p.publish.heartbeat_s);
  }
  o.readiness.max_publish_age_s = static_cast<std::int64_t>(2 * heartbeat + 60);
  return o;
}

// History: each asset's CSV when configured, else its first source's rounds walked backwards.
void seed_history(const Config& config, Pipeline& pipeline, ChainlinkSource& source) {
  const auto& feeds = source.feeds();
  for (const auto& a : config.assets) {
    if (a.history_csv) {
      auto closes = closes_from_csv(a.history_csv->string());
      if (!closes) {
        throw StartupError(closes.error().message);
      }
      pipeline.seed_history(a.symbol, *closes);
      continue;
    }
    std::size_t feed = 0;
    for (std::size_t k = 0; k < feeds.size(); ++k) {
      if (feeds[k].asset == a.symbol) {
        feed = k;
        break;
      }
    }
    pipeline.seed_history(a.symbol, source.walk_back(feed, 2'000));
  }
}

// Structured logs: text (the status line itself) or JSON lines ([keeper] log_format).
void setup_logs(const Config& config) {
  LogOptions lo;
  lo.style = config.keeper.log_format == LogFormat::kJson ? LogStyle::kJsonLines : LogStyle::kText;
  lo.level = parse_log_level(config.keeper.log_level).value_or(LogLevel::kInfo);
  setup_logging(lo);
}

// One JSON line per tick (and per error) on stderr; the status line stays on stdout.
void log_tick_json(const TickSummary& s) {
  log_info(KeeperLoop::status_line(s, /*verbose=*/true),  // the JSON log has every detail
           {{"tick", s.tick},
            {"block", s.block},
            {"seconds", s.seconds},
            {"reports", static_cast<std::uint64_t>(s.submitted.reports.size())},
            {"errors", static_cast<std::uint64_t>(s.errors.size())}});
  for (const auto& e : s.errors) {
    log_warn(e, {{"tick", s.tick}});
  }
}

// varkeeper_oprisk_aro / _ale from the live incident log.
void record_oprisk(const OpriskSettings& settings, const TickSummary& s,
                   const StartedKeeper& keeper) {
  const auto window = static_cast<std::int64_t>(settings.observed_years * 365.25 * 86400.0);
  const auto report =
      build_oprisk_report(settings, keeper.store.incident_counts(s.now - window, s.now + 1), false);
  for (const auto& c : report.categories) {
    keeper.operations.metrics().oprisk_aro.set({c.category}, c.hybrid_aro);
    keeper.operations.metrics().oprisk_ale.set({c.category}, c.ale);
  }
}

}  // namespace

int run_daemon(const Config& config, const StopSignals& stop, std::ostream& out,
               const DaemonOptions& options) {
  require_self_checks(run_self_checks());
  // A stop request cuts the start-up's RPCs short too (a node that stalls while we connect).
  const chain::IoBudget budget(nullptr, &stop.flag(), "start-up");
  const chain::IoBudgetScope budget_scope(budget);
  auto pool = connect(config);
  chain::EthClient eth(*pool);
  const Contracts contracts = find_contracts(config, eth);
  auto keys = load_keys(config);  // ConfigError names the key and file

  KeeperSetup setup;
  setup.chain_id = config.chain.chain_id;
  setup.store_path = config.keeper.store.string();
  setup.tx_options = tx_manager_options(config.chain);
  setup.signers = keys.signers;
  setup.oracle = contracts.oracle;
  setup.actions = contracts.actions;
  setup.feeds = feeds_of(config);
  // chain.agree_reads (issue 15, defect 3): price reads, pinned block included, agree on
  // agree_quorum endpoints or nothing is published from them.
  setup.agree_quorum = config.chain.agree_reads ? config.chain.agree_quorum : 0;
  setup.pipeline = pipeline_config(config);
  setup.known_errors = installed_contract_errors();
  setup.operations = operations_options(config);
  setup.tick_interval = std::chrono::seconds(config.keeper.tick_interval_s);
  setup.tick_deadline = std::chrono::seconds(config.keeper.tick_deadline_s);
  setup.max_ticks = options.max_ticks;

  // chain.ws (issue 15, defect 11): new heads start ticks; the watcher backfills through a pool
  // of its own (it runs on its own thread).
  std::unique_ptr<chain::EndpointPool> ws_pool;
  std::optional<chain::EthClient> ws_eth;
  if (config.chain.ws) {
    ws_pool = make_pool(config.chain);
    (void)ws_pool->connect(config.chain.chain_id);  // an endpoint down now is asked again later
    ws_eth.emplace(*ws_pool);
    setup.ws = config.chain.ws;
    setup.ws_backfill = &*ws_eth;
    if (config.chain.ca_file) {
      setup.ws_ca_file = config.chain.ca_file->string();
    }
  }

  const bool json_logs = config.keeper.log_format == LogFormat::kJson;
  KeeperHooks hooks;
  hooks.seed_history = [&](Pipeline& p, ChainlinkSource& s) { seed_history(config, p, s); };
  hooks.before_operations = [&] { setup_logs(config); };
  hooks.started = [&](const StartedKeeper& k) {
    out << "varkeeper: chain " << config.chain.chain_id << " via " << pool->health()[0].endpoint
        << ", RiskOracle " << chain::to_checksum_address(contracts.oracle) << ", sender "
        << chain::to_checksum_address(k.tx.sender()) << ", store " << config.keeper.store.string()
        << std::endl;
  };
  hooks.after_tick = [&](const TickSummary& s, const StartedKeeper& k) {
    if (json_logs) {
      log_tick_json(s);
    }
    if (config.oprisk) {
      record_oprisk(*config.oprisk, s, k);
    }
  };
  const auto ticks = run_keeper_on_chain(eth, *keys.sender, std::move(setup), hooks, stop, out);
  out << "varkeeper: stopped after " << ticks << " ticks; open transactions stay tracked in "
      << config.keeper.store.string() << std::endl;
  return 0;
}

}  // namespace varkeeper::keeper
