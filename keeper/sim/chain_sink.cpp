#include "keeper/sim/chain_sink.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <thread>

#include "chain/abi.hpp"
#include "chain/contract.hpp"
#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/json_rpc.hpp"
#include "chain/secp256k1.hpp"
#include "chain/transport.hpp"
#include "chain/tx_manager.hpp"
#include "chain/url.hpp"
#include "keeper/config/config.hpp"
#include "keeper/core/contract_errors.hpp"
#include "keeper/core/reporter.hpp"
#include "keeper/core/units.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/devchain/anvil_node.hpp"

namespace varkeeper::keeper {

namespace {

constexpr std::uint64_t kChainId = 31337;
constexpr std::int64_t kMaxFutureDrift = 15;  // RiskOracle.MAX_FUTURE_DRIFT
constexpr std::int64_t kDay = 86'400;

// The error name of a canonical signature: "TooSoon(uint64,uint256)" -> "TooSoon".
std::string_view error_name(std::string_view signature) {
  return signature.substr(0, signature.find('('));
}

}  // namespace

std::optional<OracleRefusal> refusal_from_error_name(std::string_view name) noexcept {
  for (const auto r : kOracleRefusals) {
    if (name == to_string(r)) {
      return r;
    }
  }
  return std::nullopt;
}

struct ChainSink::Impl {
  std::optional<AnvilNode> anvil;
  std::unique_ptr<chain::EndpointPool> pool;
  std::unique_ptr<chain::EthClient> eth;
  chain::InMemoryTxStore store;
  std::unique_ptr<chain::TxManager> tx;
  chain::SecretKey signer = dev_key(0);
  chain::Address oracle{};
  OracleDomain domain;
  std::vector<chain::AbiSignature> errors;
  std::map<std::uint64_t, OnchainReport> latest;
  std::optional<std::uint64_t> last_gas;
  std::uint64_t transactions = 0;

  // A JSON-RPC call whose failure ends the run.
  chain::Json rpc(const std::string& method, const chain::Json& params) {
    auto r = pool->call(method, params);
    if (!r) {
      throw ChainSinkError("--chain local: " + method + " failed: " + r.error().describe());
    }
    return *r;
  }

  // The next block (mined now, or by the next transaction) carries timestamp `t`.
  void next_block_at(std::int64_t t) { rpc("evm_setNextBlockTimestamp", chain::Json::array({t})); }

  OracleRefusal simulate(const OnchainReport& report, const chain::Bytes& data) {
    auto r = eth->call({tx->sender(), oracle, data, {}, {}});
    if (r) {
      return OracleRefusal::kNone;
    }
    const auto revert = chain::revert_data_of(r.error());
    if (!revert) {
      throw ChainSinkError("--chain local: simulating the report of portfolio " +
                           std::to_string(report.portfolio_id) + " round " +
                           std::to_string(report.round) + " failed: " + r.error().describe());
    }
    const auto reason = chain::decode_revert(*revert, errors);
    if (reason && reason->kind == chain::RevertKind::kCustom) {
      if (const auto refusal = refusal_from_error_name(error_name(reason->error_signature))) {
        return *refusal;
      }
    }
    throw ChainSinkError("--chain local: RiskOracle refused the report of portfolio " +
                         std::to_string(report.portfolio_id) + " round " +
                         std::to_string(report.round) + " with " +
                         describe_revert(*revert, errors) +
                         ", which the simulated keeper cannot cause (a bug: please report it).");
  }

  // Sends `data` to the oracle and waits until it is mined; returns the gas it used.
  std::uint64_t send(const chain::Bytes& data, std::size_t reports, std::int64_t now) {
    chain::TxRequest req;
    req.key = "simulate:" + std::to_string(now);
    req.to = oracle;
    req.data = data;
    // Generous: submit costs 56k-109k, each further report of a batch ~30k-85k.
    req.gas_limit = 150'000 + 150'000 * reports;
    req.label = "report";
    const std::uint64_t id = tx->enqueue(req);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (true) {
      tx->tick();
      const auto rec = tx->get(id);
      if (rec && rec->state == chain::TxState::kFatal) {
        throw ChainSinkError("--chain local: the report transaction failed: " + rec->error);
      }
      if (rec &&
          (rec->state == chain::TxState::kFinalized || rec->state == chain::TxState::kConfirmed)) {
        if (!rec->mined_success) {
          throw ChainSinkError(
              "--chain local: the report transaction " + chain::to_hex(*rec->mined_hash) +
              " reverted although each report passed its simulation (a bug: please report it).");
        }
        ++transactions;
        return rec->gas_used;
      }
      if (std::chrono::steady_clock::now() > until) {
        throw ChainSinkError("--chain local: the report transaction was not mined within 60 s.");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  // open(): anvil with its genesis a day before `first_time`, the client and the transaction
  // manager; then the contracts, with RiskOracle's limits for every portfolio.
  void start_node(const std::string& anvil_binary, std::int64_t first_time,
                  const std::function<void(const std::string&)>& log);
  void deploy_oracle(const std::string& artifacts_dir, const std::vector<PortfolioSpec>& portfolios,
                     const OracleLimits& limits, std::uint64_t max_change, std::int64_t first_time,
                     const std::function<void(const std::string&)>& log);

  OnchainReport read_latest(std::uint64_t pid) {
    auto data = eth->call({{}, oracle, latest_calldata(pid), {}, {}});
    if (!data) {
      throw ChainSinkError("--chain local: RiskOracle.latest(" + std::to_string(pid) +
                           ") failed: " + data.error().describe());
    }
    const auto a = decode_accepted_report(*data);
    if (!a) {
      throw ChainSinkError("--chain local: RiskOracle.latest(" + std::to_string(pid) +
                           ") answered data that is not an AcceptedReport.");
    }
    OnchainReport r;
    r.portfolio_id = pid;
    r.round = a->round;
    r.observed_at = a->observed_at;
    r.horizon = a->horizon;
    r.confidence = a->confidence;
    r.method = a->method;
    r.breaker_status = a->breaker_status;
    r.portfolio_value = a->portfolio_value;
    r.value_at_risk = a->value_at_risk;
    r.expected_shortfall = a->expected_shortfall;
    r.config_hash = a->config_hash;
    return r;
  }
};

ChainSink::ChainSink(ChainSinkOptions options) : options_(std::move(options)) {}

ChainSink::~ChainSink() = default;

namespace {

// The scenario's oracle limits as RiskOracle.setLimits takes them: its future drift is a
// constant, maxAge and minInterval are uint32, maxVaRChange is a WAD. Returns maxVaRChange;
// throws ScenarioError for limits (or a clock) the contract cannot have.
std::uint64_t contract_max_change(const OracleLimits& limits, std::int64_t first_time) {
  if (limits.max_future_s != kMaxFutureDrift) {
    throw ScenarioError(
        "--chain local: RiskOracle allows reports at most 15 s ahead of the block "
        "(MAX_FUTURE_DRIFT), but the scenario's [oracle] max_future_s is " +
        std::to_string(limits.max_future_s) + ".");
  }
  if (limits.max_age_s <= 0 || limits.max_age_s > 0xffffffffLL || limits.min_interval_s < 0 ||
      limits.min_interval_s > 0xffffffffLL) {
    throw ScenarioError(
        "--chain local: [oracle] max_age_s must be 1..4294967295 and min_interval_s "
        "0..4294967295 (RiskOracle stores them as uint32).");
  }
  std::uint64_t max_change = 0;
  try {
    max_change = to_wad(limits.max_var_change, 1e6);
  } catch (const UnitError& e) {
    throw ScenarioError(std::string("--chain local: [oracle] max_var_change: ") + e.what() + ".");
  }
  if (first_time <= kDay) {
    throw ScenarioError("--chain local: the scenario's clock starts before 1970-01-02.");
  }
  return max_change;
}

}  // namespace

void ChainSink::Impl::start_node(const std::string& anvil_binary, std::int64_t first_time,
                                 const std::function<void(const std::string&)>& log) {
  // The genesis a day before the first tick: the deployment's blocks come before every tick.
  AnvilOptions ao;
  ao.binary = anvil_binary;
  ao.chain_id = kChainId;
  ao.extra_args = {"--timestamp", std::to_string(first_time - kDay)};
  try {
    anvil.emplace(ao);
  } catch (const std::exception& e) {
    throw ChainSinkError(std::string("--chain local: ") + e.what());
  }
  const std::string url = anvil->http_url();
  const auto parsed = chain::parse_url(url);
  if (!parsed) {
    throw ChainSinkError("--chain local: bad node URL " + url);
  }
  std::vector<std::unique_ptr<chain::JsonRpcClient>> clients;
  clients.push_back(std::make_unique<chain::JsonRpcClient>(chain::make_http_transport(*parsed)));
  pool = std::make_unique<chain::EndpointPool>(std::move(clients));
  if (auto ok = pool->connect(kChainId); !ok) {
    throw ChainSinkError("--chain local: the anvil node at " + url +
                         " is not usable: " + ok.error().describe());
  }
  eth = std::make_unique<chain::EthClient>(*pool);
  chain::TxManagerOptions to;
  to.confirmations = 1;
  tx = std::make_unique<chain::TxManager>(*eth, store, signer, kChainId, to);
  if (auto s = tx->start(); !s) {
    throw ChainSinkError("--chain local: transaction manager: " + s.error().describe());
  }
  log("anvil " + url + " (pid " + std::to_string(anvil->pid()) + ", genesis " +
      iso_date(first_time - kDay) + ")");
}

void ChainSink::Impl::deploy_oracle(const std::string& artifacts_dir,
                                    const std::vector<PortfolioSpec>& portfolios,
                                    const OracleLimits& limits, std::uint64_t max_change,
                                    std::int64_t first_time,
                                    const std::function<void(const std::string&)>& log) {
  DeployOptions d;
  try {
    d.artifacts_dir = find_artifacts_dir(
        artifacts_dir.empty() ? std::nullopt : std::optional<std::filesystem::path>(artifacts_dir));
    for (const auto& p : portfolios) {
      d.limits.push_back({p.id, static_cast<std::uint32_t>(limits.max_age_s),
                          static_cast<std::uint32_t>(limits.min_interval_s), max_change});
    }
    d.portfolio_id = portfolios.empty() ? 1 : portfolios.front().id;
    d.timeout = std::chrono::minutes(2);
    d.poll_interval = std::chrono::milliseconds(20);
    d.log = [&](const std::string& line) { log("deploy: " + line); };
    const Deployment dep = deploy_all(*eth, *tx, d);
    oracle = dep.address_of("RiskOracle");
    const auto artifacts = load_artifacts(d.artifacts_dir);
    errors = artifacts.at("RiskOracle").error_signatures();
  } catch (const DeployError& e) {
    throw ChainSinkError(std::string("--chain local: ") + e.what());
  }
  domain = {chain::U256(kChainId), oracle};
  // The deployment must be behind the first tick (anvil's clock advances with wall time).
  const auto head = eth->get_block(chain::BlockTag::latest());
  if (!head || !*head || static_cast<std::int64_t>((*head)->timestamp) >= first_time) {
    throw ChainSinkError("--chain local: the deployment's blocks are not before the first tick.");
  }
}

void ChainSink::open(const std::vector<PortfolioSpec>& portfolios, const OracleLimits& limits,
                     std::int64_t first_time) {
  const std::uint64_t max_change = contract_max_change(limits, first_time);
  auto impl = std::make_unique<Impl>();
  const std::function<void(const std::string&)> log = [&](const std::string& line) {
    if (options_.log) {
      options_.log(line);
    }
  };
  impl->start_node(options_.anvil_binary, first_time, log);
  impl->deploy_oracle(options_.artifacts_dir, portfolios, limits, max_change, first_time, log);
  impl_ = std::move(impl);
}

std::vector<OracleRefusal> ChainSink::submit_tick(const std::vector<OnchainReport>& reports,
                                                  std::int64_t now) {
  if (!impl_) {
    throw ChainSinkError("--chain local: the sink was not opened.");
  }
  Impl& s = *impl_;
  s.last_gas.reset();
  std::vector<OracleRefusal> out;
  if (reports.empty()) {
    return out;
  }
  // A block at `now`: eth_call on it sees block.timestamp == now, as the transaction will.
  s.next_block_at(now);
  s.rpc("evm_mine", chain::Json::array());
  std::vector<OnchainReport> accepted;
  std::vector<std::vector<chain::Signature>> signatures;
  for (const auto& r : reports) {
    std::vector<chain::Signature> sig{sign_report(s.domain, r, s.signer)};
    const OracleRefusal refusal = s.simulate(r, submit_calldata(r, sig));
    out.push_back(refusal);
    if (refusal == OracleRefusal::kNone) {
      accepted.push_back(r);
      signatures.push_back(std::move(sig));
    }
  }
  if (accepted.empty()) {
    return out;
  }
  const chain::Bytes data = accepted.size() == 1
                                ? submit_calldata(accepted.front(), signatures.front())
                                : submit_batch_calldata(accepted, signatures);
  s.next_block_at(now);
  s.last_gas = s.send(data, accepted.size(), now);
  for (const auto& r : accepted) {
    s.latest[r.portfolio_id] = s.read_latest(r.portfolio_id);
  }
  return out;
}

const OnchainReport* ChainSink::latest(std::uint64_t portfolio_id) const {
  if (!impl_) {
    return nullptr;
  }
  const auto it = impl_->latest.find(portfolio_id);
  return it == impl_->latest.end() ? nullptr : &it->second;
}

std::optional<std::uint64_t> ChainSink::last_gas() const {
  return impl_ ? impl_->last_gas : std::nullopt;
}

std::string ChainSink::describe() const {
  if (!impl_) {
    return "RiskOracle on a local anvil (not started)";
  }
  // No port: the summary stays the same from run to run.
  return "RiskOracle " + oracle_address() + " on a local anvil (chain id " +
         std::to_string(kChainId) + ")";
}

std::string ChainSink::rpc_url() const { return impl_ ? impl_->anvil->http_url() : ""; }

std::string ChainSink::oracle_address() const {
  return impl_ ? chain::to_checksum_address(impl_->oracle) : "";
}

std::uint64_t ChainSink::transactions() const { return impl_ ? impl_->transactions : 0; }

}  // namespace varkeeper::keeper
