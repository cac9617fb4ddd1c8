#include "keeper/network/network_daemon.hpp"

#include <algorithm>

#include "chain/endpoint_pool.hpp"
#include "chain/hex.hpp"
#include "chain/secp256k1.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/core/startup_error.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/io/price_csv.hpp"
#include "keeper/network/network_keeper.hpp"
#include "keeper/ops/selfcheck.hpp"

namespace varkeeper::keeper::network {

namespace {
constexpr const char* kGetRoundData = "0x9a6fc8f5";     // getRoundData(uint80)
constexpr const char* kLatestRoundData = "0xfeaf968c";  // latestRoundData()
}  // namespace

RoundRule round_rule(const NetworkSettings& s) {
  RoundRule r;
  r.round_blocks = s.round_blocks;
  r.genesis_block = s.genesis_block;
  r.lag_blocks = s.lag_blocks;
  r.quantum_wad = s.quantum_wad;
  r.backup_delay_blocks = s.backup_delay_blocks;
  r.propose_after_blocks = s.propose_after_blocks;
  return r;
}

std::vector<std::pair<std::int64_t, double>> walk_back_at(chain::EthClient& eth,
                                                          const ChainlinkSource& source,
                                                          std::size_t feed_index,
                                                          std::size_t max_rounds,
                                                          std::uint64_t block) {
  std::vector<std::pair<std::int64_t, double>> out;
  const auto& f = source.feeds().at(feed_index);
  const int decimals = source.decimals(feed_index);
  const auto tag = chain::BlockTag::number(block);
  auto latest = eth.call({{}, f.aggregator, *chain::from_hex(kLatestRoundData), {}, {}}, tag);
  if (!latest) {
    return out;
  }
  const auto top = decode_round_data(*latest, decimals);
  if (!top) {
    return out;
  }
  const chain::U256 top_id =
      (chain::U256(top->round_id.phase) << 64) | top->round_id.aggregator_round;
  for (std::size_t k = 0; k < max_rounds; ++k) {
    const chain::U256 id = top_id - k;
    if (id == 0 || (id & chain::U256(0xFFFFFFFFFFFFFFFFULL)) == 0) {
      break;  // phase start
    }
    chain::Bytes data = *chain::from_hex(kGetRoundData);
    const auto w = chain::u256_to_be32(id);
    data.insert(data.end(), w.begin(), w.end());
    auto r = eth.call({{}, f.aggregator, data, {}, {}}, tag);
    const auto round = r ? decode_round_data(*r, decimals) : std::nullopt;
    if (!round || round->updated_at == 0 || !(round->answer > 0.0)) {
      break;
    }
    out.emplace_back(round->updated_at, round->answer);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

int run_network_daemon(const Config& config, const StopSignals& stop, std::ostream& out,
                       std::optional<std::uint64_t> max_ticks) {
  require_self_checks(run_self_checks());
  if (config.chain.rpc.empty()) {
    throw StartupError(config.file.string() + ": chain.rpc: no endpoint to connect to");
  }
  std::vector<std::unique_ptr<chain::JsonRpcClient>> clients;
  chain::HttpOptions http;
  http.timeout = std::chrono::milliseconds(config.chain.request_timeout_ms);
  if (config.chain.ca_file) {
    http.ca_file = config.chain.ca_file->string();
  }
  for (const auto& url : config.chain.rpc) {
    clients.push_back(
        std::make_unique<chain::JsonRpcClient>(chain::make_http_transport(url, http)));
  }
  chain::EndpointPoolOptions pool_options;
  pool_options.max_head_lag_blocks = config.chain.max_head_lag_blocks;
  pool_options.head_stall = std::chrono::seconds(config.chain.head_stall_s);
  pool_options.broadcast_timeout = http.timeout;
  chain::EndpointPool pool(std::move(clients), pool_options);
  if (auto connected = pool.connect(config.chain.chain_id); !connected) {
    throw StartupError("cannot use chain " + std::to_string(config.chain.chain_id) + ": " +
                       connected.error().describe());
  }
  chain::EthClient eth(pool);

  std::optional<chain::Address> oracle = config.contracts.risk_oracle;
  if (!oracle && config.contracts.deployment) {
    const auto deployment = read_deployment_file(*config.contracts.deployment);
    if (!deployment) {
      throw StartupError(config.contracts.deployment->string() + ": deployment file not found");
    }
    oracle = deployment->address_of("RiskOracle");
  }
  if (!oracle) {
    throw StartupError(config.file.string() +
                       ": contracts: no risk_oracle address and no deployment file");
  }
  auto keys = load_keys(config);

  NetworkKeeperSetup setup;
  setup.name = chain::to_checksum_address(chain::address_of(keys.signers.at(0))).substr(0, 8);
  setup.chain_id = config.chain.chain_id;
  setup.store_path = config.keeper.store.string();
  setup.tx_options = tx_manager_options(config.chain);
  setup.signer = keys.signers.at(0);
  setup.oracle = *oracle;
  for (const auto& a : config.assets) {
    for (const auto& s : a.sources) {
      setup.feeds.push_back({a.symbol, s.name, s.aggregator});
    }
  }
  setup.agree_quorum = config.chain.agree_reads ? config.chain.agree_quorum : 0;
  setup.pipeline = pipeline_config(config);
  setup.rule = round_rule(config.network);
  for (const auto& p : config.peers) {
    setup.peers.push_back({p.url_text, p.signer});
  }
  setup.listen = config.network.listen;
  setup.listen_public = config.network.listen_public;
  setup.push_timeout = std::chrono::milliseconds(config.network.push_timeout_ms);
  setup.metrics_address =
      config.keeper.metrics_host + ":" + std::to_string(config.keeper.metrics_port);
  setup.metrics_public = config.keeper.metrics_public;
  setup.tick_interval = std::chrono::seconds(config.keeper.tick_interval_s);
  setup.max_ticks = max_ticks;
  const std::size_t depth = config.network.history_rounds;
  setup.seed_history = [&config, &eth, depth](RoundEngine& engine, ChainlinkSource& source,
                                              std::uint64_t genesis) {
    const auto& feeds = source.feeds();
    for (const auto& a : config.assets) {
      if (a.history_csv) {
        auto closes = closes_from_csv(a.history_csv->string());
        if (!closes) {
          throw StartupError(closes.error().message);
        }
        engine.seed_history(a.symbol, *closes);
        continue;
      }
      for (std::size_t k = 0; k < feeds.size(); ++k) {
        if (feeds[k].asset == a.symbol) {
          engine.seed_history(a.symbol, walk_back_at(eth, source, k, depth, genesis));
          break;
        }
      }
    }
  };
  const auto ticks = run_network_keeper(eth, *keys.sender, setup, stop, out);
  out << "[" << setup.name << "] varkeeper: stopped after " << ticks << " ticks" << std::endl;
  return 0;
}

}  // namespace varkeeper::keeper::network
