#include "keeper/daemon/daemon.hpp"

#include <cmath>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/keccak.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/daemon/keeper_loop.hpp"
#include "keeper/ops/logging.hpp"
#include "keeper/ops/operations.hpp"
#include "keeper/ops/oprisk_report.hpp"
#include "keeper/io/price_csv.hpp"
#include "keeper/core/reporter.hpp"
#include "keeper/store/store.hpp"
#include "keeper/daemon/tick_metrics.hpp"

namespace varkeeper::keeper {

namespace {

std::unique_ptr<chain::EndpointPool> make_pool(const ChainSettings& chain) {
  std::vector<std::unique_ptr<chain::JsonRpcClient>> clients;
  chain::HttpOptions http;
  http.timeout = std::chrono::milliseconds(chain.request_timeout_ms);
  if (chain.ca_file) http.ca_file = chain.ca_file->string();
  for (const auto& url : chain.rpc) {
    clients.push_back(
        std::make_unique<chain::JsonRpcClient>(chain::make_http_transport(url, http)));
  }
  return std::make_unique<chain::EndpointPool>(std::move(clients));
}

}  // namespace

int run_daemon(const Config& config, const std::atomic<bool>& stop, std::ostream& out,
               const DaemonOptions& options) {
  if (config.chain.rpc.empty()) {
    throw StartupError(config.file.string() + ": chain.rpc: no endpoint to connect to");
  }
  auto pool = make_pool(config.chain);
  auto connected = pool->connect(config.chain.chain_id);
  if (!connected) {
    throw StartupError("cannot use chain " + std::to_string(config.chain.chain_id) + ": " +
                       connected.error().describe());
  }
  chain::EthClient eth(*pool);

  // Contract addresses: explicit, or from the deployment file.
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
    if (!oracle) oracle = deployment->address_of("RiskOracle");
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

  auto keys = load_keys(config);  // ConfigError names the key and file
  auto store = KeeperStore::open(config.keeper.store.string());
  chain::TxManager tx(eth, *store, *keys.sender, config.chain.chain_id,
                      tx_manager_options(config.chain));
  if (auto started = tx.start(); !started) {
    throw StartupError("transaction manager: " + started.error().describe());
  }

  std::vector<FeedRef> feeds;
  for (const auto& a : config.assets) {
    for (const auto& s : a.sources) feeds.push_back({a.symbol, s.name, s.aggregator});
  }
  ChainlinkSource source(eth, feeds);
  try {
    source.init();
  } catch (const std::runtime_error& e) {
    throw StartupError(e.what());
  }

  Pipeline pipeline(pipeline_config(config));
  for (std::size_t i = 0; i < config.assets.size(); ++i) {
    const auto& a = config.assets[i];
    if (a.history_csv) {
      auto closes = closes_from_csv(a.history_csv->string());
      if (!closes) throw StartupError(closes.error().message);
      pipeline.seed_history(a.symbol, *closes);
    } else {
      // Walk the first source's rounds backwards.
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

  std::map<std::uint64_t, PortfolioSpec> specs;
  for (const auto& p : pipeline.config().portfolios) specs.emplace(p.id, p);
  Reporter reporter(eth, tx, keys.signers, specs, {*oracle, config.chain.chain_id, 0});
  reporter.resume();
  for (const auto& [pid, spec] : specs)
    reporter.skip_rounds_through(pid, store->next_round(pid) - 1);
  KeeperLoop loop(eth, tx, source, pipeline, reporter, actions, store.get());
  try {  // name the bundled contracts' custom errors in refusals, when the artifacts are installed
    std::vector<chain::AbiSignature> errors;
    for (const auto& [name, abi] : load_artifacts(find_artifacts_dir(std::nullopt))) {
      errors.insert(errors.end(), abi.error_signatures().begin(), abi.error_signatures().end());
    }
    loop.set_known_errors(std::move(errors));
  } catch (const DeployError&) {
  }
  // Structured logs: text (the status line itself) or JSON lines ([keeper] log_format).
  const bool json_logs = config.keeper.log_format == LogFormat::kJson;
  {
    LogOptions lo;
    lo.style = json_logs ? LogStyle::kJsonLines : LogStyle::kText;
    lo.level = parse_log_level(config.keeper.log_level).value_or(LogLevel::kInfo);
    setup_logging(lo);
  }
  OperationsOptions ops_options;
  ops_options.address =
      config.keeper.metrics_host + ":" + std::to_string(config.keeper.metrics_port);
  ops_options.allow_non_loopback = config.keeper.metrics_public;
  ops_options.readiness.max_price_age_s =
      static_cast<std::int64_t>(4 * config.keeper.tick_interval_s + 60);
  std::uint64_t heartbeat = 0;
  for (const auto& p : config.portfolios) heartbeat = std::max(heartbeat, p.publish.heartbeat_s);
  ops_options.readiness.max_publish_age_s = static_cast<std::int64_t>(2 * heartbeat + 60);
  auto ops = Operations::start(ops_options);
  if (!ops) {
    throw StartupError("metrics server on " + ops_options.address + ": " + ops.error().message);
  }
  TickMetrics tick_metrics(*ops, config.assets.size());
  out << "varkeeper: metrics " << ops->url() << "/metrics (also /healthz, /readyz)" << std::endl;
  out << "varkeeper: chain " << config.chain.chain_id << " via " << pool->health()[0].endpoint
      << ", RiskOracle " << chain::to_checksum_address(*oracle) << ", sender "
      << chain::to_checksum_address(tx.sender()) << ", store " << config.keeper.store.string()
      << std::endl;
  run_keeper(
      loop, std::chrono::seconds(config.keeper.tick_interval_s), stop, out, options.max_ticks, {},
      [&](const TickSummary& s) {
        tick_metrics.record(s, eth, tx);
        if (json_logs) {  // one JSON line per tick on stderr (the status line stays on stdout)
          log_info(KeeperLoop::status_line(s),
                   {{"tick", s.tick},
                    {"block", s.block},
                    {"seconds", s.seconds},
                    {"reports", static_cast<std::uint64_t>(s.submitted.reports.size())},
                    {"errors", static_cast<std::uint64_t>(s.errors.size())}});
          for (const auto& e : s.errors) log_warn(e, {{"tick", s.tick}});
        }
        if (config.oprisk) {  // varkeeper_oprisk_aro / _ale from the live incident log
          const auto window =
              static_cast<std::int64_t>(config.oprisk->observed_years * 365.25 * 86400.0);
          const auto report = build_oprisk_report(
              *config.oprisk, store->incident_counts(s.now - window, s.now + 1), false);
          for (const auto& c : report.categories) {
            ops->metrics().oprisk_aro.set({c.category}, c.hybrid_aro);
            ops->metrics().oprisk_ale.set({c.category}, c.ale);
          }
        }
      });
  out << "varkeeper: stopped after " << loop.ticks() << " ticks; open transactions stay tracked in "
      << config.keeper.store.string() << std::endl;
  return 0;
}

}  // namespace varkeeper::keeper
