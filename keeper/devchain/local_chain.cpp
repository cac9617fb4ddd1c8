#include "keeper/devchain/local_chain.hpp"

#include <unistd.h>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <thread>

#include "chain/contract_abi.hpp"
#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "chain/secp256k1.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "keeper/config/config.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/daemon/keeper_loop.hpp"
#include "keeper/devchain/local_market.hpp"
#include "keeper/ops/operations.hpp"
#include "keeper/core/reporter.hpp"
#include "keeper/store/store.hpp"
#include "keeper/daemon/tick_metrics.hpp"
#include "keeper/core/units.hpp"
#include "keeper/core/methodology.hpp"
#include "keeper/core/startup_error.hpp"
#include "keeper/io/price_csv.hpp"
#include "keeper/install/install_paths.hpp"

namespace varkeeper::keeper {

namespace {

using chain::AbiValue;
using chain::Address;
using chain::Json;
using chain::U256;

constexpr std::uint64_t kChainId = 31337;
const U256 kWadU = U256(1'000'000'000'000'000'000ULL);

U256 pow10(int n) {
  U256 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

U256 from_double(double x) {  // non-negative, integer-valued amounts of token units
  if (!(x > 0.0)) return 0;
  const long double v = std::floor(static_cast<long double>(x));
  const long double hi = std::floor(v / 18446744073709551616.0L);
  U256 out = static_cast<std::uint64_t>(hi);
  out <<= 64;
  out += static_cast<std::uint64_t>(v - hi * 18446744073709551616.0L);
  return out;
}

// Anvil's unlocked development accounts act for the other market participants.
class Participants {
 public:
  Participants(chain::EthClient& eth, const ArtifactSet& artifacts)
      : eth_(eth), artifacts_(artifacts) {}

  const chain::ContractAbi& abi(const std::string& name) const { return artifacts_.at(name); }

  // Sends a transaction from an unlocked account; returns its hash (throws StartupError).
  chain::Hash32 send(const Address& from, const std::optional<Address>& to,
                     const chain::Bytes& data) {
    Json tx{{"from", chain::to_hex(from)}, {"data", chain::to_hex(data)}};
    if (to) tx["to"] = chain::to_hex(*to);
    auto r = eth_.pool().call("eth_sendTransaction", Json::array({tx}));
    if (!r) throw StartupError("local chain set-up transaction failed: " + r.error().describe());
    auto h = chain::decode_hash(*r, "eth_sendTransaction");
    if (!h) throw StartupError("local chain set-up: " + h.error().describe());
    return *h;
  }

  chain::Hash32 call(const Address& from, const Address& to, const std::string& artifact,
                     const std::string& fn, const std::vector<AbiValue>& args) {
    auto data = abi(artifact).encode_call(fn, args);
    if (!data) throw StartupError("local chain set-up: cannot encode " + artifact + "." + fn);
    return send(from, to, *data);
  }

  // Waits until every hash has a successful receipt.
  std::vector<chain::TransactionReceipt> wait(const std::vector<chain::Hash32>& hashes) {
    std::vector<chain::TransactionReceipt> out;
    for (const auto& h : hashes) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (true) {
        auto r = eth_.transaction_receipt(h);
        if (r && *r) {
          if (!(*r)->success) {
            throw StartupError("local chain set-up transaction " + chain::to_hex(h) + " reverted");
          }
          out.push_back(**r);
          break;
        }
        if (std::chrono::steady_clock::now() > until) {
          throw StartupError("local chain set-up transaction " + chain::to_hex(h) +
                             " was not mined");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    return out;
  }

  std::vector<AbiValue> view(const Address& to, const std::string& artifact, const std::string& fn,
                             const std::vector<AbiValue>& args = {}) {
    auto data = abi(artifact).encode_call(fn, args);
    auto r = eth_.call({{}, to, *data, {}, {}});
    if (!r) return {};
    auto values = abi(artifact).decode_result(fn, *r);
    return values ? *values : std::vector<AbiValue>{};
  }

 private:
  chain::EthClient& eth_;
  const ArtifactSet& artifacts_;
};

Address dev_address(unsigned i) { return chain::address_of(dev_key(i)); }

// History for the seeded asset: the last `n` closes of the bundled CSV, rescaled so the last one
// is the mock feed's starting price, laid out one period apart ending at `now`.
std::vector<std::pair<std::int64_t, double>> seeded_history(const std::string& csv, std::size_t n,
                                                            double last_price, std::int64_t now,
                                                            std::int64_t period) {
  auto read = closes_from_csv(csv);
  if (!read) throw StartupError(read.error().message);
  auto closes = std::move(*read);
  if (closes.size() > n)
    closes.erase(closes.begin(), closes.end() - static_cast<std::ptrdiff_t>(n));
  const double scale = last_price / closes.back().second;
  std::vector<std::pair<std::int64_t, double>> out;
  for (std::size_t i = 0; i < closes.size(); ++i) {
    const auto back = static_cast<std::int64_t>(closes.size() - 1 - i);
    out.emplace_back(now - (back + 1) * period, closes[i].second * scale);
  }
  return out;
}

}  // namespace

int run_local(const LocalRunOptions& options, const std::atomic<bool>& stop, std::ostream& out) {
  std::optional<AnvilNode> anvil;
  std::string url = options.rpc_url;
  if (url.empty()) {
    AnvilOptions anvil_options;
    anvil_options.block_time_seconds = 1;
    anvil.emplace(anvil_options);
    url = anvil->http_url();
  }
  const auto parsed = chain::parse_url(url);
  if (!parsed) throw StartupError(url + ": " + std::string(chain::to_string(parsed.error())));
  std::vector<std::unique_ptr<chain::JsonRpcClient>> clients;
  clients.push_back(std::make_unique<chain::JsonRpcClient>(chain::make_http_transport(*parsed)));
  chain::EndpointPool pool(std::move(clients));
  if (auto ok = pool.connect(kChainId); !ok) {
    throw StartupError("the local chain at " + url + " is not usable: " + ok.error().describe());
  }
  chain::EthClient eth(pool);
  out << "varkeeper: local chain " << url << " (chain id " << kChainId;
  if (anvil) out << ", anvil pid " << anvil->pid();
  out << ")" << std::endl;

  const auto artifacts_dir = find_artifacts_dir(
      options.artifacts_dir.empty() ? std::nullopt
                                    : std::optional<std::filesystem::path>(options.artifacts_dir));
  const ArtifactSet artifacts = load_artifacts(artifacts_dir);
  Participants who(eth, artifacts);

  // Keys: account 0 owns the contracts and pays the keeper's gas; 1..3 sign reports (quorum 2);
  // 7 underwrites protection, 8 buys it, 9 operates the feeds and arbitrages the AMM.
  const chain::SecretKey owner = dev_key(0);
  const std::vector<chain::SecretKey> signer_keys{dev_key(1), dev_key(2), dev_key(3)};
  const Address underwriter = dev_address(7), buyer = dev_address(8), operator_ = dev_address(9);
  const std::int64_t period =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(options.tick_ms / 1000));

  std::optional<Deployment> previous;
  if (!options.deployment_file.empty()) previous = read_deployment_file(options.deployment_file);
  const bool resume = previous && previous->find("MockAggregatorEthUsd_c") != nullptr &&
                      previous->find("MockAggregatorBtcUsd_c") != nullptr;
  Deployment dep;
  if (resume) {
    dep = *previous;
    out << "varkeeper: resuming on the contracts of " << options.deployment_file << std::endl;
  } else {
    chain::InMemoryTxStore deploy_store;
    chain::TxManager deployer(eth, deploy_store, owner, kChainId);
    if (auto s = deployer.start(); !s) throw StartupError("deployer: " + s.error().describe());
    DeployOptions d;
    d.artifacts_dir = artifacts_dir;
    for (const auto& k : signer_keys) d.signers.push_back(chain::address_of(k));
    d.quorum = 2;
    d.limits = {{1, 600, 0, 0}, {2, 600, 0, 0}};
    d.mocks = true;
    d.portfolio_id = 1;
    d.protection.sale_window = static_cast<std::uint64_t>(2 * period);
    d.protection.max_report_age = 600;
    d.protection.max_price_age = 600;
    d.protection.loading = kWadU * 3 / 2;
    d.timeout = std::chrono::minutes(2);
    d.poll_interval = std::chrono::milliseconds(100);
    d.log = [&out](const std::string& line) { out << "  deploy: " << line << std::endl; };
    dep = deploy_all(eth, deployer, d);
  }
  const Address oracle = dep.address_of("RiskOracle");
  const Address rebalancer = dep.address_of("RiskRebalancer");
  const Address protection = dep.address_of("VaRProtection");
  const Address stable = dep.address_of("MockERC20Stable");  // 6 decimals
  const Address risky = dep.address_of("MockERC20Risky");    // 18 decimals
  const Address amm = dep.address_of("MockConstantProductAMM");
  const double eth0 = 3000.0, btc0 = 60000.0;

  // Three sources per asset, so the pipeline's consensus has three to compare.
  std::map<std::string, std::vector<Address>> feeds{
      {"ETH", {dep.address_of("MockAggregatorEthUsd")}},
      {"BTC", {dep.address_of("MockAggregatorBtcUsd")}}};
  if (resume) {
    for (const char* src : {"_b", "_c"}) {
      feeds["ETH"].push_back(dep.address_of(std::string("MockAggregatorEthUsd") + src));
      feeds["BTC"].push_back(dep.address_of(std::string("MockAggregatorBtcUsd") + src));
    }
  } else {
    std::vector<chain::Hash32> pending;
    std::vector<std::pair<std::string, std::string>> which;
    for (const auto& [sym, start] : {std::pair<std::string, double>{"ETH", eth0}, {"BTC", btc0}}) {
      for (const char* src : {"b", "c"}) {
        auto data = who.abi("MockAggregator")
                        .deploy_data({AbiValue::from_uint(8),
                                      AbiValue::from_string(sym + " / USD (" + src + ")"),
                                      AbiValue::from_int(static_cast<std::int64_t>(start * 1e8))});
        pending.push_back(who.send(operator_, std::nullopt, *data));
        which.emplace_back(sym, src);
      }
    }
    const auto receipts = who.wait(pending);
    for (std::size_t i = 0; i < receipts.size(); ++i) {
      const auto& [sym, src] = which[i];
      feeds[sym].push_back(*receipts[i].contract_address);
      DeployedContract c;
      c.artifact = "MockAggregator";
      c.address = *receipts[i].contract_address;
      c.tx_hash = receipts[i].transaction_hash;
      c.block = receipts[i].block_number;
      if (auto code = eth.code(c.address)) c.code_hash = chain::keccak256(*code);
      dep.contracts[(sym == "ETH" ? "MockAggregatorEthUsd_" : "MockAggregatorBtcUsd_") + src] = c;
    }
  }

  // Market participants' positions: AMM liquidity at the feed price, the vault's assets and
  // policy, the underwriters' collateral (once, on a fresh deployment).
  if (!resume) {
    const U256 max = ~U256(0);
    std::vector<chain::Hash32> tx;
    const U256 amm_risky = U256(10'000) * pow10(18);
    const U256 amm_stable = U256(30'000'000) * pow10(6);
    tx.push_back(
        who.call(operator_, risky, "MockERC20", "mint",
                 {AbiValue::from_address(operator_), AbiValue::from_uint(amm_risky * 100)}));
    tx.push_back(
        who.call(operator_, stable, "MockERC20", "mint",
                 {AbiValue::from_address(operator_), AbiValue::from_uint(amm_stable * 100)}));
    tx.push_back(who.call(operator_, risky, "MockERC20", "approve",
                          {AbiValue::from_address(amm), AbiValue::from_uint(max)}));
    tx.push_back(who.call(operator_, stable, "MockERC20", "approve",
                          {AbiValue::from_address(amm), AbiValue::from_uint(max)}));
    who.wait(tx);
    tx.clear();
    tx.push_back(who.call(operator_, amm, "MockConstantProductAMM", "addLiquidity",
                          {AbiValue::from_uint(amm_risky), AbiValue::from_uint(amm_stable)}));
    // The vault (owner = account 0): 200 mWETH and 400,000 mUSD, policy thresholds on VaR.
    const Address owner_addr = chain::address_of(owner);
    tx.push_back(
        who.call(owner_addr, risky, "MockERC20", "mint",
                 {AbiValue::from_address(owner_addr), AbiValue::from_uint(U256(200) * pow10(18))}));
    tx.push_back(who.call(
        owner_addr, stable, "MockERC20", "mint",
        {AbiValue::from_address(owner_addr), AbiValue::from_uint(U256(400'000) * pow10(6))}));
    tx.push_back(who.call(owner_addr, risky, "MockERC20", "approve",
                          {AbiValue::from_address(rebalancer), AbiValue::from_uint(max)}));
    tx.push_back(who.call(owner_addr, stable, "MockERC20", "approve",
                          {AbiValue::from_address(rebalancer), AbiValue::from_uint(max)}));
    who.wait(tx);
    tx.clear();
    const auto wad = [](double f) { return AbiValue::from_uint(to_wad(f)); };
    tx.push_back(
        who.call(owner_addr, rebalancer, "RiskRebalancer", "deposit",
                 {AbiValue::from_address(risky), AbiValue::from_uint(U256(200) * pow10(18))}));
    tx.push_back(
        who.call(owner_addr, rebalancer, "RiskRebalancer", "deposit",
                 {AbiValue::from_address(stable), AbiValue::from_uint(U256(400'000) * pow10(6))}));
    tx.push_back(who.call(
        owner_addr, rebalancer, "RiskRebalancer", "setPolicy",
        {AbiValue::from_list({wad(0.25), wad(0.05), wad(0.20), wad(0.60), wad(0.05), wad(0.02),
                              AbiValue::from_uint(600), AbiValue::from_uint(600)})}));
    // Underwriter: 1,000,000 mUSD of protection collateral.
    tx.push_back(who.call(
        underwriter, stable, "MockERC20", "mint",
        {AbiValue::from_address(underwriter), AbiValue::from_uint(U256(1'000'000) * pow10(6))}));
    tx.push_back(who.call(underwriter, stable, "MockERC20", "approve",
                          {AbiValue::from_address(protection), AbiValue::from_uint(max)}));
    tx.push_back(who.call(
        buyer, stable, "MockERC20", "mint",
        {AbiValue::from_address(buyer), AbiValue::from_uint(U256(10'000'000) * pow10(6))}));
    tx.push_back(who.call(buyer, stable, "MockERC20", "approve",
                          {AbiValue::from_address(protection), AbiValue::from_uint(max)}));
    who.wait(tx);
    tx.clear();
    tx.push_back(who.call(underwriter, protection, "VaRProtection", "deposit",
                          {AbiValue::from_uint(U256(1'000'000) * pow10(6))}));
    who.wait(tx);
    if (!options.deployment_file.empty()) write_deployment_file(options.deployment_file, dep);
  }

  out << "varkeeper: RiskOracle " << chain::to_checksum_address(oracle) << ", RiskRebalancer "
      << chain::to_checksum_address(rebalancer) << ", VaRProtection "
      << chain::to_checksum_address(protection) << std::endl;
  for (const auto& [sym, addrs] : feeds) {
    out << "varkeeper: " << sym << "/USD feeds";
    for (const auto& a : addrs) out << ' ' << chain::to_checksum_address(a);
    out << std::endl;
  }

  // The keeper itself.
  const std::string store_path = options.store_path.empty()
                                     ? (std::filesystem::temp_directory_path() /
                                        ("varkeeper-local-" + std::to_string(::getpid()) + ".db"))
                                           .string()
                                     : options.store_path;
  auto store = KeeperStore::open(store_path);
  chain::TxManagerOptions tx_options;
  tx_options.confirmations = 1;
  chain::TxManager tx(eth, *store, owner, kChainId, tx_options);
  if (auto s = tx.start(); !s) throw StartupError("transaction manager: " + s.error().describe());

  std::vector<FeedRef> refs;
  PipelineConfig pc;
  for (const auto& [sym, addrs] : feeds) {
    AssetSpec a{sym, {}};
    const char* names[] = {"a", "b", "c"};
    for (std::size_t i = 0; i < addrs.size(); ++i) {
      refs.push_back({sym, names[i], addrs[i]});
      a.sources.push_back({names[i], 3600});
    }
    pc.assets.push_back(a);
  }
  // Compressed time: one tick is one market "day", so the breaker's clocks are in ticks too.
  pc.breaker.breaker.clear_s = 3 * period;
  pc.breaker.breaker.cooldown_s = 5 * period;
  pc.breaker.breaker.var_jump_factor = 3.0;
  pc.breaker.smoothing.ema_half_life_s = period;
  pc.breaker.smoothing.max_rise_per_update = 1.0;
  pc.breaker.smoothing.max_fall_per_update = 0.10;
  pc.breaker.smoothing.max_rise_per_hour = 1e6;
  pc.breaker.smoothing.max_fall_per_hour = 1e6;
  pc.breaker.checks.step_confirm_s = period;
  pc.breaker.checks.max_step_move = 0.30;
  for (auto* h : {&pc.breaker.actions.rebalance, &pc.breaker.actions.payout})
    h->min_dwell_s = period;
  PortfolioSpec vault;
  vault.id = 1;
  vault.name = "vault (ETH)";
  vault.positions = {{"ETH", 200.0}};
  vault.method = risk::RiskMethod::kFilteredHistorical;
  vault.risk.confidence = 0.99;
  vault.risk.horizon = 5;
  vault.risk.seed = options.seed;
  vault.period_s = period;
  vault.window = 500;
  vault.min_obs = 30;
  vault.publish = {0.05, 10 * period};
  PortfolioSpec treasury = vault;
  treasury.id = 2;
  treasury.name = "treasury (ETH+BTC)";
  treasury.positions = {{"BTC", 20.0}, {"ETH", 300.0}};
  treasury.method = risk::RiskMethod::kMcT;
  treasury.risk.paths = 20'000;
  pc.portfolios = {vault, treasury};
  stamp_methodology(pc);  // the portfolios exactly as the pipeline runs them
  Pipeline pipeline(pc);
  ChainlinkSource source(eth, refs);
  source.init();
  // The market continues from where the feeds are (a resumed run does not jump back).
  const auto opening = source.poll();
  const auto feed_price = [&](const std::string& sym, double fallback) {
    for (const auto& r : opening.readings) {
      if (r.asset == sym && r.round.answer > 0.0) return r.round.answer;
    }
    return fallback;
  };
  const double eth_now = feed_price("ETH", eth0), btc_now = feed_price("BTC", btc0);
  auto head = eth.get_block(chain::BlockTag::latest());
  const std::int64_t now = head && *head ? static_cast<std::int64_t>((*head)->timestamp) : 0;
  std::string data_dir = options.data_dir;
  if (data_dir.empty()) {
    const auto shipped = bundled("config/data");
    if (!shipped) {
      throw StartupError("the bundled price histories (config/data) are not installed (looked in " +
                         share_dir_candidates() + "); set VARKEEPER_HOME or pass a data directory");
    }
    data_dir = shipped->string();
  }
  pipeline.seed_history("ETH",
                        seeded_history(data_dir + "/eth_usd_daily.csv", 600, eth_now, now, period));
  pipeline.seed_history("BTC",
                        seeded_history(data_dir + "/btc_usd_daily.csv", 600, btc_now, now, period));

  std::map<std::uint64_t, PortfolioSpec> specs;
  for (const auto& p : pc.portfolios) specs.emplace(p.id, p);
  Reporter reporter(eth, tx, signer_keys, specs, {oracle, kChainId, 0});
  reporter.resume();
  for (const auto& [pid, spec] : specs)
    reporter.skip_rounds_through(pid, store->next_round(pid) - 1);
  KeeperLoop loop(eth, tx, source, pipeline, reporter, {rebalancer, protection}, store.get());
  std::vector<chain::AbiSignature> errors;
  for (const auto& [name, abi] : artifacts) {
    errors.insert(errors.end(), abi.error_signatures().begin(), abi.error_signatures().end());
  }
  loop.set_known_errors(std::move(errors));

  // Feed operator and arbitrageur: the feeds follow the simulated market, the AMM follows the
  // feeds; the protection buyer buys at each new epoch.
  MarketOptions mo;
  mo.seed = options.seed;
  mo.jump_probability = 0.01;
  mo.jump_mean = 0.0;
  mo.jump_sd = 0.04;
  mo.crash = {options.crash_at_tick, 3, options.crash_drop};
  LocalMarket market(
      eth, operator_,
      {{"ETH", eth_now, 0.03, 8, feeds["ETH"]}, {"BTC", btc_now, 0.025, 8, feeds["BTC"]}}, mo);
  std::uint64_t bought_epoch = 0;
  const auto participants = [&](std::uint64_t t) {
    market.step(t);
    // Arbitrage the AMM to the ETH price (constant product: x* = sqrt(k / p), y* = sqrt(k p)).
    const auto r0 = who.view(amm, "MockConstantProductAMM", "reserve0");
    const auto r1 = who.view(amm, "MockConstantProductAMM", "reserve1");
    if (!r0.empty() && !r1.empty()) {
      const double x = static_cast<double>(r0[0].as_uint()->convert_to<long double>() / 1e18L);
      const double y = static_cast<double>(r1[0].as_uint()->convert_to<long double>() / 1e6L);
      const double p = market.price("ETH");
      const double x_star = std::sqrt(x * y / p);
      const double y_star = std::sqrt(x * y * p);
      if (x_star > x * 1.0005) {
        who.call(operator_, amm, "MockConstantProductAMM", "swap",
                 {AbiValue::from_address(risky), AbiValue::from_address(stable),
                  AbiValue::from_uint(from_double((x_star - x) * 1e18)), AbiValue::from_uint(0),
                  AbiValue::from_address(operator_)});
      } else if (y_star > y * 1.0005) {
        who.call(operator_, amm, "MockConstantProductAMM", "swap",
                 {AbiValue::from_address(stable), AbiValue::from_address(risky),
                  AbiValue::from_uint(from_double((y_star - y) * 1e6)), AbiValue::from_uint(0),
                  AbiValue::from_address(operator_)});
      }
    }
    // A buyer takes 100,000 mUSD of protection in every epoch it can.
    const auto active = who.view(protection, "VaRProtection", "epochActive");
    const auto current = who.view(protection, "VaRProtection", "currentEpoch");
    if (!active.empty() && *active[0].as_bool() && !current.empty()) {
      const auto id = static_cast<std::uint64_t>(*current[0].as_uint());
      if (id != bought_epoch) {
        who.call(buyer, protection, "VaRProtection", "buyProtection",
                 {AbiValue::from_uint(U256(100'000) * pow10(6)),
                  AbiValue::from_uint(U256(100'000) * pow10(6))});
        bought_epoch = id;
      }
    }
  };
  // The other participants' failures (a purchase after the sale window closed, ...) are theirs,
  // not the keeper's: they are shown, and the run goes on.
  const auto before_tick = [&](std::uint64_t t) {
    try {
      participants(t);
    } catch (const std::exception& e) {
      out << "market: " << e.what() << std::endl;
    }
  };
  OperationsOptions ops_options;
  ops_options.address = options.metrics_address;
  ops_options.readiness.max_price_age_s = 30 * period;
  ops_options.readiness.max_publish_age_s = 60 * period;
  auto ops = Operations::start(ops_options);
  if (!ops)
    throw StartupError("metrics server on " + options.metrics_address + ": " + ops.error().message);
  TickMetrics tick_metrics(*ops, pc.assets.size());
  out << "varkeeper: metrics " << ops->url() << "/metrics (also /healthz, /readyz)" << std::endl;
  out << "varkeeper: store " << store_path << "; one line per tick; Ctrl-C stops (anvil too)"
      << std::endl;
  run_keeper(loop, std::chrono::milliseconds(options.tick_ms), stop, out, options.max_ticks,
             before_tick, [&](const TickSummary& s) { tick_metrics.record(s, eth, tx); });
  out << "varkeeper: stopped after " << loop.ticks() << " ticks" << std::endl;
  return 0;
}

}  // namespace varkeeper::keeper
