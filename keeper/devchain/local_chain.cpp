#include "keeper/devchain/local_chain.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <sstream>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>

#include "chain/contract_abi.hpp"
#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "chain/secp256k1.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/config/config.hpp"
#include "keeper/core/methodology.hpp"
#include "keeper/core/startup_error.hpp"
#include "keeper/core/units.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "keeper/daemon/startup.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "keeper/devchain/local_market.hpp"
#include "keeper/install/install_paths.hpp"
#include "keeper/io/price_csv.hpp"
#include "keeper/network/network_keeper.hpp"
#include "keeper/ops/selfcheck.hpp"

namespace varkeeper::keeper {

namespace {

using chain::AbiValue;
using chain::Address;
using chain::Json;
using chain::U256;

constexpr std::uint64_t kChainId = 31337;
const U256 kWadU = U256(1'000'000'000'000'000'000ULL);
// The mock feeds' opening prices on a fresh deployment (USD).
constexpr double kEthOpen = 3000.0;
constexpr double kBtcOpen = 60000.0;

U256 pow10(int n) {
  U256 v = 1;
  for (int i = 0; i < n; ++i) {
    v *= 10;
  }
  return v;
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
    if (to) {
      tx["to"] = chain::to_hex(*to);
    }
    auto r = eth_.pool().call("eth_sendTransaction", Json::array({tx}));
    if (!r) {
      throw StartupError("local chain set-up transaction failed: " + r.error().describe());
    }
    auto h = chain::decode_hash(*r, "eth_sendTransaction");
    if (!h) {
      throw StartupError("local chain set-up: " + h.error().describe());
    }
    return *h;
  }

  chain::Hash32 call(const Address& from, const Address& to, const std::string& artifact,
                     const std::string& fn, const std::vector<AbiValue>& args) {
    auto data = abi(artifact).encode_call(fn, args);
    if (!data) {
      throw StartupError("local chain set-up: cannot encode " + artifact + "." + fn);
    }
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
    if (!r) {
      return {};
    }
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
  if (!read) {
    throw StartupError(read.error().message);
  }
  auto closes = std::move(*read);
  if (closes.size() > n) {
    closes.erase(closes.begin(), closes.end() - static_cast<std::ptrdiff_t>(n));
  }
  const double scale = last_price / closes.back().second;
  std::vector<std::pair<std::int64_t, double>> out;
  for (std::size_t i = 0; i < closes.size(); ++i) {
    const auto back = static_cast<std::int64_t>(closes.size() - 1 - i);
    out.emplace_back(now - (back + 1) * period, closes[i].second * scale);
  }
  return out;
}

// The node and a client connected to it: an anvil this run starts (stopped when this object
// dies), or the one at `rpc_url`.
struct LocalNode {
  std::optional<AnvilNode> anvil;
  std::string url;
  std::unique_ptr<chain::EndpointPool> pool;
  std::unique_ptr<chain::EthClient> eth;
};

void connect(LocalNode& node, const std::string& rpc_url, std::ostream& out) {
  node.url = rpc_url;
  if (node.url.empty()) {
    AnvilOptions anvil_options;
    anvil_options.block_time_seconds = 1;
    node.anvil.emplace(anvil_options);
    node.url = node.anvil->http_url();
  }
  const auto parsed = chain::parse_url(node.url);
  if (!parsed) {
    throw StartupError(node.url + ": " + std::string(chain::to_string(parsed.error())));
  }
  std::vector<std::unique_ptr<chain::JsonRpcClient>> clients;
  clients.push_back(std::make_unique<chain::JsonRpcClient>(chain::make_http_transport(*parsed)));
  node.pool = std::make_unique<chain::EndpointPool>(std::move(clients));
  if (auto ok = node.pool->connect(kChainId); !ok) {
    throw StartupError("the local chain at " + node.url +
                       " is not usable: " + ok.error().describe());
  }
  node.eth = std::make_unique<chain::EthClient>(*node.pool);
  out << "varkeeper: local chain " << node.url << " (chain id " << kChainId;
  if (node.anvil) {
    out << ", anvil pid " << node.anvil->pid();
  }
  out << ")" << std::endl;
}

// Keys: account 0 owns the contracts and pays the keeper's gas; 1..3 sign reports (quorum 2);
// 7 underwrites protection, 8 buys it, 9 operates the feeds and arbitrages the AMM.
struct LocalAccounts {
  chain::SecretKey owner = dev_key(0);
  std::vector<chain::SecretKey> signers{dev_key(1), dev_key(2), dev_key(3)};
  // --keepers N: their gas-paying senders, one per keeper (anvil4, anvil5, anvil6).
  std::vector<chain::SecretKey> network_senders{dev_key(4), dev_key(5), dev_key(6)};
  Address owner_address = dev_address(0);
  Address underwriter = dev_address(7);
  Address buyer = dev_address(8);
  Address feed_operator = dev_address(9);
};

// The bundled contracts and mocks, deployed by the owner (limits for portfolios 1 and 2, a
// protection sale window of two ticks).
Deployment deploy_contracts(chain::EthClient& eth, const LocalAccounts& accounts,
                            const std::filesystem::path& artifacts_dir, std::int64_t period,
                            std::ostream& out) {
  chain::InMemoryTxStore deploy_store;
  chain::TxManager deployer(eth, deploy_store, accounts.owner, kChainId);
  if (auto s = deployer.start(); !s) {
    throw StartupError("deployer: " + s.error().describe());
  }
  DeployOptions d;
  d.artifacts_dir = artifacts_dir;
  for (const auto& k : accounts.signers) {
    d.signers.push_back(chain::address_of(k));
  }
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
  return deploy_all(eth, deployer, d);
}

using FeedMap = std::map<std::string, std::vector<Address>>;  // asset -> its aggregators

// Three sources per asset, so the pipeline's consensus has three to compare: the deployment's
// mock feed ("a") and two more ("b", "c"), deployed here at the same opening price on a fresh
// chain and recorded in `dep`.
FeedMap three_feeds(chain::EthClient& eth, Participants& who, const LocalAccounts& accounts,
                    Deployment& dep, bool resume) {
  FeedMap feeds{{"ETH", {dep.address_of("MockAggregatorEthUsd")}},
                {"BTC", {dep.address_of("MockAggregatorBtcUsd")}}};
  if (resume) {
    for (const char* src : {"_b", "_c"}) {
      feeds["ETH"].push_back(dep.address_of(std::string("MockAggregatorEthUsd") + src));
      feeds["BTC"].push_back(dep.address_of(std::string("MockAggregatorBtcUsd") + src));
    }
    return feeds;
  }
  std::vector<chain::Hash32> pending;
  std::vector<std::pair<std::string, std::string>> which;
  for (const auto& [sym, price] :
       {std::pair<std::string, double>{"ETH", kEthOpen}, {"BTC", kBtcOpen}}) {
    for (const char* src : {"b", "c"}) {
      const chain::AbiInt answer{false, to_feed_answer(price, 8)};
      auto data = who.abi("MockAggregator")
                      .deploy_data({AbiValue::from_uint(8),
                                    AbiValue::from_string(sym + " / USD (" + src + ")"),
                                    AbiValue::from_int(answer)});
      pending.push_back(who.send(accounts.feed_operator, std::nullopt, *data));
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
    if (auto code = eth.code(c.address)) {
      c.code_hash = chain::keccak256(*code);
    }
    dep.contracts[(sym == "ETH" ? "MockAggregatorEthUsd_" : "MockAggregatorBtcUsd_") + src] = c;
  }
  return feeds;
}

// Market participants' positions, once on a fresh deployment: AMM liquidity at the feed price,
// the vault's assets and policy, the underwriter's collateral and the buyer's cash.
void fund_participants(Participants& who, const LocalAccounts& a, const Deployment& dep) {
  const Address rebalancer = dep.address_of("RiskRebalancer");
  const Address protection = dep.address_of("VaRProtection");
  const Address stable = dep.address_of("MockERC20Stable");  // 6 decimals
  const Address risky = dep.address_of("MockERC20Risky");    // 18 decimals
  const Address amm = dep.address_of("MockConstantProductAMM");
  const U256 max = ~U256(0);
  const auto uint = [](const U256& v) { return AbiValue::from_uint(v); };
  const auto addr = [](const Address& v) { return AbiValue::from_address(v); };
  const auto mint = [&](const Address& token, const Address& to, const U256& amount) {
    return who.call(to, token, "MockERC20", "mint", {addr(to), uint(amount)});
  };
  const auto approve = [&](const Address& owner, const Address& token, const Address& spender) {
    return who.call(owner, token, "MockERC20", "approve", {addr(spender), uint(max)});
  };
  const U256 amm_risky = U256(10'000) * pow10(18);
  const U256 amm_stable = U256(30'000'000) * pow10(6);
  who.wait({mint(risky, a.feed_operator, amm_risky * 100),
            mint(stable, a.feed_operator, amm_stable * 100), approve(a.feed_operator, risky, amm),
            approve(a.feed_operator, stable, amm)});
  // The vault (owner = account 0): 200 mWETH and 400,000 mUSD, policy thresholds on VaR.
  const Address owner = a.owner_address;
  who.wait({who.call(a.feed_operator, amm, "MockConstantProductAMM", "addLiquidity",
                     {uint(amm_risky), uint(amm_stable)}),
            mint(risky, owner, U256(200) * pow10(18)),
            mint(stable, owner, U256(400'000) * pow10(6)), approve(owner, risky, rebalancer),
            approve(owner, stable, rebalancer)});
  const auto wad = [](double f) { return AbiValue::from_uint(to_wad(f)); };
  // Underwriter: 1,000,000 mUSD of protection collateral; the buyer: 10,000,000 mUSD of cash.
  who.wait({who.call(owner, rebalancer, "RiskRebalancer", "deposit",
                     {addr(risky), uint(U256(200) * pow10(18))}),
            who.call(owner, rebalancer, "RiskRebalancer", "deposit",
                     {addr(stable), uint(U256(400'000) * pow10(6))}),
            who.call(owner, rebalancer, "RiskRebalancer", "setPolicy",
                     {AbiValue::from_list({wad(0.25), wad(0.05), wad(0.20), wad(0.60), wad(0.05),
                                           wad(0.02), uint(600), uint(600)})}),
            // Finding 11 (issue 14): trades of at most 80,000 mUSD, below the pool's fee x
            // stable reserve (0.3 % x 30,000,000 = 90,000), so a sandwich of a chunk does not
            // pay; one chunk per second; the keeper (it sends from the owner's account here) is
            // the one account allowed to call rebalance().
            who.call(owner, rebalancer, "RiskRebalancer", "setExecution",
                     {AbiValue::from_list({uint(U256(80'000) * pow10(6)), uint(1)})}),
            who.call(owner, rebalancer, "RiskRebalancer", "setKeeper",
                     {addr(owner), AbiValue::from_bool(true)}),
            mint(stable, a.underwriter, U256(1'000'000) * pow10(6)),
            approve(a.underwriter, stable, protection),
            mint(stable, a.buyer, U256(10'000'000) * pow10(6)),
            approve(a.buyer, stable, protection)});
  who.wait({who.call(a.underwriter, protection, "VaRProtection", "deposit",
                     {uint(U256(1'000'000) * pow10(6))})});
}

void print_contracts(const Deployment& dep, const FeedMap& feeds, std::ostream& out) {
  out << "varkeeper: RiskOracle " << chain::to_checksum_address(dep.address_of("RiskOracle"))
      << ", RiskRebalancer " << chain::to_checksum_address(dep.address_of("RiskRebalancer"))
      << ", VaRProtection " << chain::to_checksum_address(dep.address_of("VaRProtection"))
      << std::endl;
  for (const auto& [sym, addrs] : feeds) {
    out << "varkeeper: " << sym << "/USD feeds";
    for (const auto& a : addrs) {
      out << ' ' << chain::to_checksum_address(a);
    }
    out << std::endl;
  }
}

// The keeper's sources ("a", "b", "c" per asset) and the two portfolios it publishes, in
// compressed time: one tick is one market "day", so the breaker's clocks are in ticks too.
PipelineConfig local_pipeline(const FeedMap& feeds, std::int64_t period, std::uint64_t seed,
                              std::vector<FeedRef>& refs) {
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
  for (auto* h : {&pc.breaker.actions.rebalance, &pc.breaker.actions.payout}) {
    h->min_dwell_s = period;
  }
  PortfolioSpec vault;
  vault.id = 1;
  vault.name = "vault (ETH)";
  vault.positions = {{"ETH", 200.0}};
  vault.method = risk::RiskMethod::kFilteredHistorical;
  vault.risk.confidence = 0.99;
  vault.risk.horizon = 5;
  vault.risk.seed = seed;
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
  return pc;
}

std::string bundled_data_dir(const std::string& given) {
  if (!given.empty()) {
    return given;
  }
  const auto shipped = bundled("config/data");
  if (!shipped) {
    throw StartupError("the bundled price histories (config/data) are not installed (looked in " +
                       share_dir_candidates() + "); set VARKEEPER_HOME or pass a data directory");
  }
  return shipped->string();
}

// Where the market opens: the feeds' current prices, so a resumed run does not jump back.
struct Opening {
  double eth = kEthOpen;
  double btc = kBtcOpen;
};

// The history seed: the bundled ETH and BTC histories rescaled to where the feeds are, one
// period apart up to the chain's head.
Opening seed_local_history(chain::EthClient& eth, Pipeline& pipeline, ChainlinkSource& source,
                           const std::string& data_dir, std::int64_t period) {
  const auto opening = source.poll();
  const auto feed_price = [&](const std::string& sym, double fallback) {
    for (const auto& r : opening.readings) {
      if (r.asset == sym && r.round.answer > 0.0) {
        return r.round.answer;
      }
    }
    return fallback;
  };
  const Opening at{feed_price("ETH", kEthOpen), feed_price("BTC", kBtcOpen)};
  auto head = eth.get_block(chain::BlockTag::latest());
  const std::int64_t now = head && *head ? static_cast<std::int64_t>((*head)->timestamp) : 0;
  pipeline.seed_history("ETH",
                        seeded_history(data_dir + "/eth_usd_daily.csv", 600, at.eth, now, period));
  pipeline.seed_history("BTC",
                        seeded_history(data_dir + "/btc_usd_daily.csv", 600, at.btc, now, period));
  return at;
}

// The other participants, once per tick: the feed operator moves the feeds along the simulated
// market, an arbitrageur keeps the AMM at the ETH price, a buyer takes protection in each epoch.
// The scripted crash comes at the first tick from `crash_at_tick` on at which it lands inside a
// protection epoch's coverage (see `crash_fits_coverage`): VaRProtection v2 does not pay for a
// fall during the sale window, and where the epoch cycle stands at a given tick depends on how
// long the ticks and the set-up took, so a crash at a fixed tick is paid on some runs and not
// on others.
class MarketParticipants {
 public:
  MarketParticipants(chain::EthClient& eth, Participants& who, const LocalAccounts& accounts,
                     const Deployment& dep, const FeedMap& feeds, Opening opening,
                     const LocalRunOptions& options, std::int64_t period, std::ostream& out)
      : eth_(eth),
        who_(who),
        out_(out),
        period_(period),
        crash_from_(options.crash_at_tick),
        accounts_(accounts),
        amm_(dep.address_of("MockConstantProductAMM")),
        stable_(dep.address_of("MockERC20Stable")),
        risky_(dep.address_of("MockERC20Risky")),
        protection_(dep.address_of("VaRProtection")),
        market_(eth, accounts.feed_operator,
                {{"ETH", opening.eth, 0.03, 8, feeds.at("ETH")},
                 {"BTC", opening.btc, 0.025, 8, feeds.at("BTC")}},
                market_options(options)) {}

  void step(std::uint64_t tick) {
    if (!market_.crash_scheduled() && tick >= crash_from_ && crash_fits_coverage()) {
      market_.schedule_crash(tick);
      out_ << "market: the crash starts at tick " << tick << ", inside protection epoch "
           << covered_epoch_ << "'s coverage" << std::endl;
    }
    market_.step(tick);
    arbitrage();
    buy_protection();
    report_covered_settlement();
  }

 private:
  static MarketOptions market_options(const LocalRunOptions& options) {
    MarketOptions mo;
    mo.seed = options.seed;
    mo.jump_probability = 0.01;
    mo.jump_mean = 0.0;
    mo.jump_sd = 0.04;
    mo.crash = {CrashScript::kNotScheduled, 3, options.crash_drop};
    return mo;
  }

  // One line once the epoch whose coverage held the crash has settled: what it paid.
  void report_covered_settlement() {
    if (covered_epoch_ == 0 || covered_reported_) {
      return;
    }
    const auto epoch =
        who_.view(protection_, "VaRProtection", "epoch", {AbiValue::from_uint(covered_epoch_)});
    if (epoch.empty() || epoch[0].as_list() == nullptr || !*epoch[0].as_list()->at(9).as_bool()) {
      return;
    }
    const auto& e = *epoch[0].as_list();  // VaRProtection.Epoch, in declaration order
    const double per_unit = from_fixed(*e.at(6).as_uint(), 18);
    const double notional = from_fixed(*e.at(11).as_uint(), 6);
    out_ << "market: protection epoch " << covered_epoch_ << " settled: payout " << per_unit * 100.0
         << " % of " << notional << " mUSD notional = " << per_unit * notional << " mUSD"
         << std::endl;
    covered_reported_ = true;
  }

  // True when a crash starting now falls inside the current epoch's coverage: its start price
  // is already determined (the contract takes the first feed round stamped at or after the
  // sale close, and the feed has one, so every crash update comes after it) and the coverage
  // has at least the crash's length left (each step one tick of at least `period_` seconds, so
  // the settlement round, the first stamped at or after the end, comes after the whole fall).
  bool crash_fits_coverage() {
    const auto active = who_.view(protection_, "VaRProtection", "epochActive");
    const auto current = who_.view(protection_, "VaRProtection", "currentEpoch");
    if (active.empty() || !*active[0].as_bool() || current.empty()) {
      return false;
    }
    const auto epoch = who_.view(protection_, "VaRProtection", "epoch", {current[0]});
    const auto feed = who_.view(protection_, "VaRProtection", "priceFeed");
    auto head = eth_.get_block(chain::BlockTag::latest());
    if (epoch.empty() || epoch[0].as_list() == nullptr || feed.empty() || !head || !*head) {
      return false;
    }
    const auto& e = *epoch[0].as_list();  // VaRProtection.Epoch, in declaration order
    const auto sale_end = static_cast<std::uint64_t>(*e.at(1).as_uint());
    const auto end = static_cast<std::uint64_t>(*e.at(2).as_uint());
    const bool started = *e.at(8).as_bool();
    const bool settled = *e.at(9).as_bool();
    const auto round = who_.view(*feed[0].as_address(), "MockAggregator", "latestRoundData");
    const bool start_price_known =
        started || (round.size() == 5 && *round[3].as_uint() >= U256(sale_end));
    const std::uint64_t now = (*head)->timestamp;
    const auto crash_s = market_.crash().over_ticks * static_cast<std::uint64_t>(period_);
    if (settled || !start_price_known || now >= end || end - now < crash_s) {
      return false;
    }
    covered_epoch_ = static_cast<std::uint64_t>(*current[0].as_uint());
    return true;
  }

  // Constant product: x* = sqrt(k / p), y* = sqrt(k p); trade only beyond 5 bp of the price.
  void arbitrage() {
    const auto r0 = who_.view(amm_, "MockConstantProductAMM", "reserve0");
    const auto r1 = who_.view(amm_, "MockConstantProductAMM", "reserve1");
    if (r0.empty() || r1.empty()) {
      return;
    }
    const double x = from_fixed(*r0[0].as_uint(), 18);  // mWETH
    const double y = from_fixed(*r1[0].as_uint(), 6);   // mUSD
    const double p = market_.price("ETH");
    const double x_star = std::sqrt(x * y / p);
    const double y_star = std::sqrt(x * y * p);
    const Address op = accounts_.feed_operator;
    if (x_star > x * 1.0005) {
      who_.call(op, amm_, "MockConstantProductAMM", "swap",
                {AbiValue::from_address(risky_), AbiValue::from_address(stable_),
                 AbiValue::from_uint(to_token_units(x_star - x, 18)), AbiValue::from_uint(0),
                 AbiValue::from_address(op)});
    } else if (y_star > y * 1.0005) {
      who_.call(op, amm_, "MockConstantProductAMM", "swap",
                {AbiValue::from_address(stable_), AbiValue::from_address(risky_),
                 AbiValue::from_uint(to_token_units(y_star - y, 6)), AbiValue::from_uint(0),
                 AbiValue::from_address(op)});
    }
  }

  // 100,000 mUSD of protection in every epoch it can.
  void buy_protection() {
    const auto active = who_.view(protection_, "VaRProtection", "epochActive");
    const auto current = who_.view(protection_, "VaRProtection", "currentEpoch");
    if (active.empty() || !*active[0].as_bool() || current.empty()) {
      return;
    }
    const auto id = static_cast<std::uint64_t>(*current[0].as_uint());
    if (id == bought_epoch_) {
      return;
    }
    who_.call(accounts_.buyer, protection_, "VaRProtection", "buyProtection",
              {AbiValue::from_uint(U256(100'000) * pow10(6)),
               AbiValue::from_uint(U256(100'000) * pow10(6))});
    bought_epoch_ = id;
  }

  chain::EthClient& eth_;
  Participants& who_;
  std::ostream& out_;
  std::int64_t period_;
  std::uint64_t crash_from_;  // the crash comes at this tick or later
  std::uint64_t covered_epoch_ = 0;
  bool covered_reported_ = false;
  const LocalAccounts& accounts_;
  Address amm_, stable_, risky_, protection_;
  LocalMarket market_;
  std::uint64_t bought_epoch_ = 0;
};

// A free loopback TCP port now (the kernel's pick; closed again at once).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    throw StartupError("cannot open a socket to pick a peer port");
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  auto* sa = reinterpret_cast<sockaddr*>(&a);
  if (::bind(fd, sa, sizeof a) != 0 || ::getsockname(fd, sa, &len) != 0) {
    ::close(fd);
    throw StartupError("cannot pick a free loopback port for a peer listener");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// Lines written by one keeper's thread reach the shared output whole (a line at a time).
class LineBuffer : public std::stringbuf {
 public:
  LineBuffer(std::ostream& out, std::mutex& mu) : out_(out), mu_(mu) {}

 protected:
  int sync() override {
    const std::lock_guard lock(mu_);
    out_ << str();
    out_.flush();
    str("");
    return 0;
  }

 private:
  std::ostream& out_;
  std::mutex& mu_;
};

std::string default_store_path(const std::string& given) {
  if (!given.empty()) {
    return given;
  }
  return (std::filesystem::temp_directory_path() /
          ("varkeeper-local-" + std::to_string(::getpid()) + ".db"))
      .string();
}

std::vector<chain::AbiSignature> contract_errors(const ArtifactSet& artifacts) {
  std::vector<chain::AbiSignature> errors;
  for (const auto& [name, abi] : artifacts) {
    errors.insert(errors.end(), abi.error_signatures().begin(), abi.error_signatures().end());
  }
  return errors;
}

// Where the market opens: the "a" feeds' prices now.
Opening opening_of(chain::EthClient& eth, const std::vector<FeedRef>& refs) {
  ChainlinkSource source(eth, refs);
  Opening at;
  try {
    source.init();
  } catch (const std::runtime_error&) {
    return at;
  }
  for (const auto& r : source.poll().readings) {
    if (r.source == "a" && r.asset == "ETH" && r.round.answer > 0.0) {
      at.eth = r.round.answer;
    } else if (r.source == "a" && r.asset == "BTC" && r.round.answer > 0.0) {
      at.btc = r.round.answer;
    }
  }
  return at;
}

// `varkeeper run --keepers N`: N network keepers (threads, each with its own client, signer,
// sender, store and peer listener) and the market participants on this thread.
int run_local_network(chain::EthClient& eth, const std::string& url, Participants& who,
                      const LocalAccounts& accounts, const Deployment& dep, const FeedMap& feeds,
                      const LocalRunOptions& options, std::int64_t period, std::ostream& out,
                      const StopSignals& stop) {
  const std::size_t n = options.keepers;
  if (n > accounts.signers.size()) {
    throw StartupError("--keepers: the embedded chain has " +
                       std::to_string(accounts.signers.size()) + " signer keys (2 or 3 keepers)");
  }
  const std::string data_dir = bundled_data_dir(options.data_dir);
  const auto head = eth.block_number();
  if (!head) {
    throw StartupError("local chain: " + head.error().describe());
  }
  network::RoundRule rule;
  rule.round_blocks = std::max<std::uint64_t>(options.round_blocks, 2);
  rule.genesis_block = *head / rule.round_blocks * rule.round_blocks;  // already mined
  rule.lag_blocks = 0;
  rule.backup_delay_blocks = 2;  // the transmitter's transaction is mined in the next block
  rule.propose_after_blocks = rule.backup_delay_blocks * n + 1;
  std::vector<std::uint16_t> ports;
  for (std::size_t i = 0; i < n; ++i) {
    ports.push_back(free_port());
  }
  std::vector<FeedRef> refs;
  const PipelineConfig pipeline = local_pipeline(feeds, period, options.seed, refs);
  const std::string base = default_store_path(options.store_path);
  std::vector<network::NetworkKeeperSetup> setups(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto& s = setups[i];
    s.name = "k" + std::to_string(i + 1);
    s.chain_id = kChainId;
    s.store_path = base + "." + s.name;
    s.tx_options.confirmations = 1;
    s.signer = accounts.signers[i];
    s.oracle = dep.address_of("RiskOracle");
    s.feeds = refs;
    s.pipeline = pipeline;
    s.rule = rule;
    for (std::size_t j = 0; j < n; ++j) {
      if (j != i) {
        s.peers.push_back({"http://127.0.0.1:" + std::to_string(ports[j]),
                           chain::address_of(accounts.signers[j])});
      }
    }
    s.listen = "127.0.0.1:" + std::to_string(ports[i]);
    s.push_timeout = std::chrono::milliseconds(1'000);
    s.metrics_address = "127.0.0.1:0";
    s.tick_interval = std::chrono::milliseconds(1'000);  // anvil mines a block a second
    if (options.max_ticks) {
      s.max_ticks = *options.max_ticks * std::max<std::uint64_t>(options.tick_ms, 1'000) / 1'000;
    }
    s.seed_history = [data_dir, period](network::RoundEngine& engine, ChainlinkSource& source,
                                        std::uint64_t genesis) {
      auto poll = source.poll(genesis);
      double eth_price = kEthOpen;
      double btc_price = kBtcOpen;
      for (const auto& r : poll.readings) {
        if (r.source == "a" && r.asset == "ETH") {
          eth_price = r.round.answer;
        } else if (r.source == "a" && r.asset == "BTC") {
          btc_price = r.round.answer;
        }
      }
      const std::int64_t at = poll.readings.empty() ? 0 : poll.readings.front().round.updated_at;
      engine.seed_history(
          "ETH", seeded_history(data_dir + "/eth_usd_daily.csv", 600, eth_price, at, period));
      engine.seed_history(
          "BTC", seeded_history(data_dir + "/btc_usd_daily.csv", 600, btc_price, at, period));
    };
  }
  out << "varkeeper: keeper set of " << n << " (quorum 2), a round every " << rule.round_blocks
      << " blocks from block " << rule.genesis_block << "; stores " << base << ".k1..k" << n
      << std::endl;

  std::mutex out_mu;
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<LineBuffer>> buffers;
  std::vector<std::unique_ptr<std::ostream>> streams;
  std::atomic<int> failed{0};
  for (std::size_t i = 0; i < n; ++i) {
    buffers.push_back(std::make_unique<LineBuffer>(out, out_mu));
    streams.push_back(std::make_unique<std::ostream>(buffers.back().get()));
  }
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      std::ostream& kout = *streams[i];
      try {
        std::vector<std::unique_ptr<chain::JsonRpcClient>> clients;
        clients.push_back(std::make_unique<chain::JsonRpcClient>(
            chain::make_http_transport(*chain::parse_url(url))));
        chain::EndpointPool pool(std::move(clients));
        if (auto ok = pool.connect(kChainId); !ok) {
          throw StartupError("the local chain is not usable: " + ok.error().describe());
        }
        chain::EthClient keeper_eth(pool);
        (void)network::run_network_keeper(keeper_eth, accounts.network_senders[i], setups[i], stop,
                                          kout);
      } catch (const std::exception& e) {
        kout << "[" << setups[i].name << "] varkeeper: stopped: " << e.what() << std::endl;
        ++failed;
      }
    });
  }
  // The market on this thread, one step per tick, while the keepers run.
  std::optional<MarketParticipants> market;
  market.emplace(eth, who, accounts, dep, feeds, opening_of(eth, refs), options, period, out);
  for (std::uint64_t t = 1;
       !stop.stop_requested() && (!options.max_ticks || t <= *options.max_ticks); ++t) {
    try {
      market->step(t);
    } catch (const std::exception& e) {
      const std::lock_guard lock(out_mu);
      out << "market: " << e.what() << std::endl;
    }
    if (stop.wait_for_stop(std::chrono::milliseconds(options.tick_ms))) {
      break;
    }
    if (failed.load() == static_cast<int>(n)) {
      break;
    }
  }
  for (auto& th : threads) {
    th.join();
  }
  out << "varkeeper: keeper set stopped" << std::endl;
  return failed.load() == 0 ? 0 : 1;
}

}  // namespace

int run_local(const LocalRunOptions& options, const StopSignals& stop, std::ostream& out) {
  require_self_checks(run_self_checks());  // before a node is started or a key used
  LocalNode node;
  connect(node, options.rpc_url, out);
  chain::EthClient& eth = *node.eth;
  const auto artifacts_dir = find_artifacts_dir(
      options.artifacts_dir.empty() ? std::nullopt
                                    : std::optional<std::filesystem::path>(options.artifacts_dir));
  const ArtifactSet artifacts = load_artifacts(artifacts_dir);
  Participants who(eth, artifacts);
  const LocalAccounts accounts;
  const std::int64_t period =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(options.tick_ms / 1000));

  // The contracts: those of a previous run's deployment file, or deployed and funded now.
  std::optional<Deployment> previous;
  if (!options.deployment_file.empty()) {
    previous = read_deployment_file(options.deployment_file);
  }
  const bool resume = previous && previous->find("MockAggregatorEthUsd_c") != nullptr &&
                      previous->find("MockAggregatorBtcUsd_c") != nullptr;
  Deployment dep;
  if (resume) {
    dep = *previous;
    out << "varkeeper: resuming on the contracts of " << options.deployment_file << std::endl;
  } else {
    dep = deploy_contracts(eth, accounts, artifacts_dir, period, out);
  }
  const FeedMap feeds = three_feeds(eth, who, accounts, dep, resume);
  if (!resume) {
    fund_participants(who, accounts, dep);
    if (!options.deployment_file.empty()) {
      write_deployment_file(options.deployment_file, dep);
    }
  }
  print_contracts(dep, feeds, out);

  if (options.keepers >= 2) {
    return run_local_network(eth, node.url, who, accounts, dep, feeds, options, period, out, stop);
  }

  // The keeper itself, started as every keeper is (keeper/daemon/startup.hpp).
  KeeperSetup setup;
  setup.chain_id = kChainId;
  setup.store_path = default_store_path(options.store_path);
  setup.tx_options.confirmations = 1;
  setup.signers = accounts.signers;
  setup.oracle = dep.address_of("RiskOracle");
  setup.actions = {dep.address_of("RiskRebalancer"), dep.address_of("VaRProtection")};
  setup.pipeline = local_pipeline(feeds, period, options.seed, setup.feeds);
  setup.known_errors = contract_errors(artifacts);
  setup.operations.address = options.metrics_address;
  setup.operations.readiness.max_price_age_s = 30 * period;
  setup.operations.readiness.max_publish_age_s = 60 * period;
  setup.tick_interval = std::chrono::milliseconds(options.tick_ms);
  setup.max_ticks = options.max_ticks;

  const std::string store_path = setup.store_path;
  const std::string data_dir = bundled_data_dir(options.data_dir);
  Opening opening;
  std::optional<MarketParticipants> market;
  KeeperHooks hooks;
  hooks.seed_history = [&](Pipeline& pipeline, ChainlinkSource& source) {
    opening = seed_local_history(eth, pipeline, source, data_dir, period);
  };
  hooks.before_operations = [&] {
    market.emplace(eth, who, accounts, dep, feeds, opening, options, period, out);
  };
  hooks.started = [&](const StartedKeeper&) {
    out << "varkeeper: store " << store_path << "; one line per tick; Ctrl-C stops (anvil too)"
        << std::endl;
  };
  // The other participants' failures (a purchase after the sale window closed, ...) are theirs,
  // not the keeper's: they are shown, and the run goes on.
  hooks.before_tick = [&](std::uint64_t t) {
    try {
      market->step(t);
    } catch (const std::exception& e) {
      out << "market: " << e.what() << std::endl;
    }
  };
  const auto ticks = run_keeper_on_chain(eth, accounts.owner, std::move(setup), hooks, stop, out);
  out << "varkeeper: stopped after " << ticks << " ticks" << std::endl;
  return 0;
}

}  // namespace varkeeper::keeper
