#include "keeper/deploy/deploy.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>
#include <thread>
#include <variant>

#include "chain/abi.hpp"
#include "chain/contract.hpp"
#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "keeper/install/install_paths.hpp"

namespace varkeeper::keeper {

using chain::AbiValue;
using chain::Address;
using chain::Bytes;
using chain::Hash32;
using chain::to_checksum_address;
using chain::to_hex;
using chain::TxRecord;
using chain::TxRequest;
using chain::TxState;
using chain::U256;
using Json = nlohmann::json;

// ---------------------------------------------------------------------------------- artifacts

ArtifactSet load_artifacts(const std::filesystem::path& dir) {
  ArtifactSet set;
  for (const char* name : kBundledContracts) {
    const auto file = dir / (std::string(name) + ".json");
    auto abi = chain::ContractAbi::load(file);
    if (!abi) {
      throw DeployError("cannot load contract artifact " + abi.error().describe());
    }
    set.emplace(name, std::move(*abi));
  }
  return set;
}

std::filesystem::path find_artifacts_dir(const std::optional<std::filesystem::path>& explicit_dir) {
  if (explicit_dir) {
    if (!std::filesystem::exists(*explicit_dir / "RiskOracle.json")) {
      throw DeployError("the artifacts directory " + explicit_dir->string() +
                        " holds no RiskOracle.json (build the varkeeper_contracts target)");
    }
    return *explicit_dir;
  }
  std::vector<std::filesystem::path> candidates;
  if (const auto dir = share_dir()) {
    candidates.push_back(*dir / "contracts");
  }
  if (const auto dir = executable_dir()) {
    candidates.push_back(*dir / "contracts");  // build tree
  }
  std::string looked;
  for (const auto& c : candidates) {
    if (std::filesystem::exists(c / "RiskOracle.json")) {
      return c;
    }
    looked += (looked.empty() ? "" : ", ") + c.string();
  }
  throw DeployError("no contract artifacts found (looked in " +
                    (looked.empty() ? std::string("no place") : looked) +
                    "); build the varkeeper_contracts target or pass --artifacts DIR");
}

// ---------------------------------------------------------------------------------- the file

const DeployedContract* Deployment::find(std::string_view name) const {
  const auto it = contracts.find(std::string(name));
  return it == contracts.end() ? nullptr : &it->second;
}

const Address& Deployment::address_of(std::string_view name) const {
  const auto* c = find(name);
  if (c == nullptr) {
    throw DeployError("the deployment has no " + std::string(name));
  }
  return c->address;
}

std::string deployment_to_json(const Deployment& d) {
  Json contracts = Json::object();
  for (const auto& [name, c] : d.contracts) {
    contracts[name] = {{"artifact", c.artifact},
                       {"address", to_checksum_address(c.address)},
                       {"tx_hash", to_hex(c.tx_hash)},
                       {"code_hash", to_hex(c.code_hash)},
                       {"block", c.block},
                       {"constructor_args", to_hex(c.constructor_args)}};
  }
  const Json root = {{"chain_id", d.chain_id},
                     {"block", d.block},
                     {"deployer", to_checksum_address(d.deployer)},
                     {"contracts", std::move(contracts)}};
  return root.dump(2) + "\n";
}

namespace {

[[noreturn]] void bad_field(const std::string& origin, const std::string& field,
                            const std::string& what) {
  throw DeployError("deployment file " + origin + ": " + field + " " + what);
}

std::uint64_t u64_field(const Json& obj, const std::string& key, const std::string& origin,
                        const std::string& at) {
  if (!obj.contains(key)) {
    bad_field(origin, at + key, "is missing");
  }
  if (!obj[key].is_number_unsigned()) {
    bad_field(origin, at + key, "is not a non-negative integer");
  }
  return obj[key].get<std::uint64_t>();
}

std::string string_field(const Json& obj, const std::string& key, const std::string& origin,
                         const std::string& at) {
  if (!obj.contains(key)) {
    bad_field(origin, at + key, "is missing");
  }
  if (!obj[key].is_string()) {
    bad_field(origin, at + key, "is not a string");
  }
  return obj[key].get<std::string>();
}

Address address_field(const Json& obj, const std::string& key, const std::string& origin,
                      const std::string& at) {
  auto a = chain::parse_address(string_field(obj, key, origin, at));
  if (!a) {
    bad_field(origin, at + key, "is not an address (" + std::string(to_string(a.error())) + ")");
  }
  return *a;
}

Hash32 hash_field(const Json& obj, const std::string& key, const std::string& origin,
                  const std::string& at) {
  auto h =
      chain::from_hex_fixed<32>(string_field(obj, key, origin, at), chain::HexPrefix::kRequired);
  if (!h) {
    bad_field(origin, at + key, "is not a 32-byte 0x-hex value");
  }
  return *h;
}

}  // namespace

Deployment deployment_from_json(std::string_view text, const std::string& origin) {
  const Json root = Json::parse(text.begin(), text.end(), nullptr, false);
  if (root.is_discarded()) {
    throw DeployError("deployment file " + origin + " is not valid JSON");
  }
  if (!root.is_object()) {
    throw DeployError("deployment file " + origin + " is not a JSON object");
  }
  Deployment d;
  d.chain_id = u64_field(root, "chain_id", origin, "");
  d.block = u64_field(root, "block", origin, "");
  d.deployer = address_field(root, "deployer", origin, "");
  if (!root.contains("contracts") || !root["contracts"].is_object()) {
    bad_field(origin, "contracts", "is missing or not an object");
  }
  for (const auto& [name, c] : root["contracts"].items()) {
    const std::string at = "contracts." + name + ".";
    if (!c.is_object()) {
      bad_field(origin, "contracts." + name, "is not an object");
    }
    DeployedContract dc;
    dc.artifact = string_field(c, "artifact", origin, at);
    dc.address = address_field(c, "address", origin, at);
    dc.tx_hash = hash_field(c, "tx_hash", origin, at);
    dc.code_hash = hash_field(c, "code_hash", origin, at);
    dc.block = u64_field(c, "block", origin, at);
    auto args = chain::from_hex(string_field(c, "constructor_args", origin, at),
                                chain::HexPrefix::kRequired);
    if (!args) {
      bad_field(origin, at + "constructor_args", "is not 0x-hex");
    }
    dc.constructor_args = std::move(*args);
    d.contracts.emplace(name, std::move(dc));
  }
  return d;
}

std::optional<Deployment> read_deployment_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    return std::nullopt;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw DeployError("cannot read the deployment file " + file.string());
  }
  std::ostringstream s;
  s << in.rdbuf();
  return deployment_from_json(s.str(), file.string());
}

void write_deployment_file(const std::filesystem::path& file, const Deployment& deployment) {
  const auto tmp = file.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw DeployError("cannot write the deployment file " + file.string());
    }
    out << deployment_to_json(deployment);
    out.flush();
    if (!out) {
      throw DeployError("cannot write the deployment file " + file.string());
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw DeployError("cannot write the deployment file " + file.string());
  }
}

// ---------------------------------------------------------------------------------- deploying

namespace {

// One contract instance to deploy: its constructor arguments are computed from the contracts
// already deployed (its dependencies).
struct Spec {
  std::string name;
  std::string artifact;
  std::vector<std::string> deps;
  std::function<std::vector<AbiValue>(const Deployment&)> args;
};

AbiValue addr(const Address& a) { return AbiValue::from_address(a); }
AbiValue uint(U256 v) { return AbiValue::from_uint(std::move(v)); }
AbiValue text(std::string s) { return AbiValue::from_string(std::move(s)); }

class Deployer {
 public:
  Deployer(chain::EthClient& eth, chain::TxManager& manager, const DeployOptions& options,
           const std::optional<Deployment>& previous, const DeployProgress& progress)
      : eth_(eth), mgr_(manager), opt_(options), prev_(previous), progress_(progress) {}

  Deployment run() {
    artifacts_ = load_artifacts(opt_.artifacts_dir);
    auto id = eth_.chain_id();
    if (!id) {
      throw DeployError("cannot read the chain id: " + id.error().describe());
    }
    out_.chain_id = *id;
    out_.deployer = mgr_.sender();
    if (prev_ && prev_->chain_id != out_.chain_id) {
      throw DeployError("the deployment file is for chain " + std::to_string(prev_->chain_id) +
                        ", not chain " + std::to_string(out_.chain_id) +
                        "; write this deployment to another file");
    }
    run_tag_ = std::to_string(mgr_.next_nonce());
    deploy_specs(specs());
    configure_oracle();
    for (const auto& [name, c] : out_.contracts) {
      out_.block = std::max(out_.block, c.block);
    }
    if (prev_ && out_.block == 0) {
      out_.block = prev_->block;
    }
    return out_;
  }

 private:
  void log(const std::string& line) const {
    if (opt_.log) {
      opt_.log(line);
    }
  }

  // Longer than 80 lines on purpose: the deployment table, one entry per bundled contract with
  // its dependencies and constructor arguments, read top to bottom in deployment order.
  std::vector<Spec> specs() const {
    std::vector<Spec> s;
    const Address sender = mgr_.sender();
    s.push_back({"RiskOracle", "RiskOracle", {}, [sender](const Deployment&) {
                   return std::vector<AbiValue>{addr(sender)};
                 }});
    // Each external dependency is a fixed address or the name of a contract deployed here.
    using Source = std::variant<Address, std::string>;
    std::optional<Source> feed, stable, risky, amm;
    if (opt_.mocks) {
      const auto& m = opt_.mock_params;
      s.push_back({"MockAggregatorEthUsd", "MockAggregator", {}, [m](const Deployment&) {
                     return std::vector<AbiValue>{uint(8), text("ETH / USD"),
                                                  AbiValue::from_int(m.eth_usd_answer)};
                   }});
      s.push_back({"MockAggregatorBtcUsd", "MockAggregator", {}, [m](const Deployment&) {
                     return std::vector<AbiValue>{uint(8), text("BTC / USD"),
                                                  AbiValue::from_int(m.btc_usd_answer)};
                   }});
      s.push_back(
          {"MockERC20Stable", "MockERC20", {}, [](const Deployment&) {
             return std::vector<AbiValue>{text("varkeeper mock USD"), text("mUSD"), uint(6)};
           }});
      s.push_back({"MockERC20Risky", "MockERC20", {}, [](const Deployment&) {
                     return std::vector<AbiValue>{text("varkeeper mock wrapped ether"),
                                                  text("mWETH"), uint(18)};
                   }});
      s.push_back({"MockConstantProductAMM",
                   "MockConstantProductAMM",
                   {"MockERC20Risky", "MockERC20Stable"},
                   [m](const Deployment& d) {
                     return std::vector<AbiValue>{addr(d.address_of("MockERC20Risky")),
                                                  addr(d.address_of("MockERC20Stable")),
                                                  uint(m.amm_fee_bps)};
                   }});
      feed = std::string("MockAggregatorEthUsd");
      stable = std::string("MockERC20Stable");
      risky = std::string("MockERC20Risky");
      amm = std::string("MockConstantProductAMM");
    } else {
      if (opt_.price_feed) {
        feed = *opt_.price_feed;
      }
      if (opt_.stable_token) {
        stable = *opt_.stable_token;
      }
      if (opt_.risky_token) {
        risky = *opt_.risky_token;
      }
      if (opt_.amm) {
        amm = *opt_.amm;
      }
    }
    const auto resolve = [](const Source& src, const Deployment& d) -> Address {
      if (const auto* a = std::get_if<Address>(&src)) {
        return *a;
      }
      return d.address_of(std::get<std::string>(src));
    };
    const auto deps_of = [](std::initializer_list<const std::optional<Source>*> list) {
      std::vector<std::string> deps{"RiskOracle"};
      for (const auto* src : list) {
        if (const auto* n = std::get_if<std::string>(&**src)) {
          deps.push_back(*n);
        }
      }
      return deps;
    };
    const std::uint64_t pid = opt_.portfolio_id;
    const std::string description = opt_.feed_description;
    s.push_back({"RiskOracleFeed",
                 "RiskOracleFeed",
                 {"RiskOracle"},
                 [pid, description](const Deployment& d) {
                   return std::vector<AbiValue>{addr(d.address_of("RiskOracle")), uint(pid),
                                                text(description)};
                 }});
    if (feed && stable) {
      const ProtectionParams p = opt_.protection;
      s.push_back(
          {"VaRProtection", "VaRProtection", deps_of({&feed, &stable}), [=](const Deployment& d) {
             return std::vector<AbiValue>{addr(d.address_of("RiskOracle")),
                                          uint(pid),
                                          addr(resolve(*feed, d)),
                                          addr(resolve(*stable, d)),
                                          uint(p.loading),
                                          uint(p.premium_floor),
                                          uint(p.payout_cap),
                                          uint(p.sale_window),
                                          uint(p.max_report_age),
                                          uint(p.max_price_age)};
           }});
    } else {
      log("VaRProtection skipped: it needs a price feed and a collateral token (--mocks, or "
          "--price-feed and --stable-token)");
    }
    if (feed && stable && risky && amm) {
      s.push_back({"RiskRebalancer", "RiskRebalancer", deps_of({&feed, &stable, &risky, &amm}),
                   [=](const Deployment& d) {
                     return std::vector<AbiValue>{addr(sender),
                                                  addr(d.address_of("RiskOracle")),
                                                  uint(pid),
                                                  addr(resolve(*risky, d)),
                                                  addr(resolve(*stable, d)),
                                                  addr(resolve(*feed, d)),
                                                  addr(resolve(*amm, d))};
                   }});
    } else {
      log("RiskRebalancer skipped: it needs a price feed, stable and risky tokens and an AMM "
          "adapter (--mocks, or --price-feed, --stable-token, --risky-token and --amm)");
    }
    return s;
  }

  const chain::ContractAbi& abi(const std::string& artifact) const {
    const auto it = artifacts_.find(artifact);
    if (it == artifacts_.end()) {
      throw DeployError("no artifact for " + artifact);
    }
    return it->second;
  }

  Bytes code_at(const Address& a) {
    auto code = eth_.code(a);
    if (!code) {
      throw DeployError("cannot read the code at " + to_checksum_address(a) + ": " +
                        code.error().describe());
    }
    return std::move(*code);
  }

  // The previous deployment's entry for `spec` if it can be reused as it is (see deploy.hpp).
  std::optional<DeployedContract> reusable(const Spec& spec, const Bytes& args) {
    if (!prev_) {
      return std::nullopt;
    }
    const auto* p = prev_->find(spec.name);
    if (p == nullptr) {
      return std::nullopt;
    }
    const std::string at = spec.name + " at " + to_checksum_address(p->address);
    if (p->artifact != spec.artifact) {
      log(at + " was built from " + p->artifact + ", not " + spec.artifact + ": redeploying");
      return std::nullopt;
    }
    if (p->constructor_args != args) {
      log(at + " was constructed with other arguments: redeploying");
      return std::nullopt;
    }
    const Bytes code = code_at(p->address);
    if (code.empty()) {
      log(at + " has no code on this chain: redeploying");
      return std::nullopt;
    }
    if (chain::keccak256(code) != p->code_hash) {
      log(at + " holds code whose hash differs from the deployment file: redeploying");
      return std::nullopt;
    }
    if (!abi(spec.artifact).deployed_code_matches(code)) {
      log(at + " holds code that differs from the " + spec.artifact + " artifact: redeploying");
      return std::nullopt;
    }
    DeployedContract c = *p;
    c.reused = true;
    return c;
  }

  std::string key(const std::string& what, chain::ByteView data) const {
    return "deploy/" + run_tag_ + "/" + what + "/" + to_hex(chain::keccak256(data)).substr(2, 16);
  }

  // Ticks the manager until every record is final; DeployError on failure or timeout.
  std::vector<TxRecord> wait_final(const std::vector<std::pair<std::string, std::uint64_t>>& ids) {
    const auto deadline = std::chrono::steady_clock::now() + opt_.timeout;
    for (;;) {
      mgr_.tick();
      std::vector<TxRecord> done;
      for (const auto& [what, id] : ids) {
        const auto rec = mgr_.get(id);
        if (!rec) {
          throw DeployError(what + ": the transaction record vanished from the store");
        }
        if (rec->state == TxState::kFatal) {
          throw DeployError(what + " failed: " + rec->error);
        }
        if ((rec->state == TxState::kFinalized || rec->state == TxState::kConfirmed) &&
            !rec->mined_success) {
          throw DeployError(what + " reverted in transaction " +
                            (rec->mined_hash ? to_hex(*rec->mined_hash) : std::string("?")));
        }
        if (rec->state == TxState::kFinalized) {
          done.push_back(*rec);
        }
      }
      if (done.size() == ids.size()) {
        return done;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        throw DeployError(
            ids.front().first + (ids.size() > 1 ? " and others" : "") + " not final after " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(opt_.timeout).count()) +
            " s; the transactions stay pending on the node");
      }
      std::this_thread::sleep_for(opt_.poll_interval);
    }
  }

  std::uint64_t enqueue(const TxRequest& req) {
    ++out_.transactions_sent;
    return mgr_.enqueue(req);
  }

  void deploy_specs(std::vector<Spec> pending) {
    while (!pending.empty()) {
      // A wave: every spec whose dependencies are all known.
      std::vector<Spec> wave;
      std::vector<Spec> later;
      for (auto& s : pending) {
        const bool ready = std::all_of(s.deps.begin(), s.deps.end(), [&](const std::string& d) {
          return out_.contracts.count(d) != 0;
        });
        (ready ? wave : later).push_back(std::move(s));
      }
      if (wave.empty()) {
        throw DeployError("contract dependencies cannot be resolved");
      }
      pending = std::move(later);
      struct Sent {
        const Spec* spec;
        Bytes args;
      };
      std::vector<std::pair<std::string, std::uint64_t>> ids;
      std::vector<Sent> sent;
      for (const auto& s : wave) {
        const auto& a = abi(s.artifact);
        auto data = a.deploy_data(s.args(out_));
        if (!data) {
          throw DeployError(s.name + ": " + data.error().describe());
        }
        Bytes args(data->begin() + static_cast<std::ptrdiff_t>(a.bytecode().size()), data->end());
        if (auto reuse = reusable(s, args)) {
          log(s.name + " reused at " + to_checksum_address(reuse->address));
          out_.contracts[s.name] = *reuse;
          continue;
        }
        TxRequest req;
        req.key = key(s.name, *data);
        req.data = std::move(*data);
        req.label = "deploy";
        ids.emplace_back(s.name, enqueue(req));
        sent.push_back({&s, std::move(args)});
      }
      if (ids.empty()) {
        continue;
      }
      const auto records = wait_final(ids);
      for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& rec = records[i];
        const Spec& s = *sent[i].spec;
        auto receipt = eth_.transaction_receipt(*rec.mined_hash);
        if (!receipt || !*receipt || !(*receipt)->contract_address) {
          throw DeployError(s.name + ": no contract address in the receipt of " +
                            to_hex(*rec.mined_hash));
        }
        DeployedContract c;
        c.artifact = s.artifact;
        c.address = *(*receipt)->contract_address;
        c.tx_hash = *rec.mined_hash;
        c.block = rec.mined_block;
        c.constructor_args = sent[i].args;
        const Bytes code = code_at(c.address);
        if (!abi(s.artifact).deployed_code_matches(code)) {
          throw DeployError(s.name + " at " + to_checksum_address(c.address) +
                            " runs code that differs from the " + s.artifact + " artifact");
        }
        c.code_hash = chain::keccak256(code);
        log(s.name + " deployed at " + to_checksum_address(c.address) + " in " + to_hex(c.tx_hash) +
            " (block " + std::to_string(c.block) + ")");
        out_.contracts[s.name] = std::move(c);
      }
      report_progress();
    }
  }

  void report_progress() {
    if (!progress_) {
      return;
    }
    Deployment snapshot = out_;
    // Entries of the previous file not examined yet stay, so a crash now forgets nothing.
    if (prev_) {
      for (const auto& [name, c] : prev_->contracts) {
        snapshot.contracts.emplace(name, c);
      }
    }
    for (const auto& [name, c] : snapshot.contracts) {
      snapshot.block = std::max(snapshot.block, c.block);
    }
    progress_(snapshot);
  }

  std::vector<AbiValue> view(const chain::Contract& c, std::string_view fn,
                             const std::vector<AbiValue>& args = {}) {
    auto r = c.call(fn, args);
    if (!r) {
      throw DeployError(r.error().describe());
    }
    return std::move(*r);
  }

  void send_all(const chain::Contract& oracle,
                const std::vector<std::pair<std::string, std::vector<AbiValue>>>& calls) {
    std::vector<std::pair<std::string, std::uint64_t>> ids;
    for (const auto& [fn, args] : calls) {
      auto req = oracle.transaction(fn, args, "", "configure");
      if (!req) {
        throw DeployError("RiskOracle." + fn + ": " + req.error().describe());
      }
      req->key = key("RiskOracle." + fn, req->data);
      ids.emplace_back("RiskOracle." + fn, enqueue(*req));
    }
    if (!ids.empty()) {
      wait_final(ids);
    }
  }

  // Owner settings: signers, quorum, per-portfolio limits — each sent only when it differs.
  void configure_oracle() {
    const auto& oracle_abi = abi("RiskOracle");
    const chain::Contract oracle(eth_, oracle_abi, out_.address_of("RiskOracle"), "RiskOracle");
    std::vector<Address> signers = opt_.signers;
    if (signers.empty()) {
      signers.push_back(mgr_.sender());
    }
    const std::size_t quorum = opt_.quorum ? *opt_.quorum : signers.size();
    if (quorum == 0 || quorum > 255) {
      throw DeployError("the quorum must be between 1 and 255, not " + std::to_string(quorum));
    }
    for (const auto& l : opt_.limits) {
      if (l.max_age == 0) {
        throw DeployError("the limits of portfolio " + std::to_string(l.portfolio_id) +
                          " need a max age above 0 seconds");
      }
    }
    std::vector<std::pair<std::string, std::vector<AbiValue>>> add;
    for (const auto& s : signers) {
      const auto is = view(oracle, "isSigner", {addr(s)});
      if (is.size() != 1 || is[0].as_bool() == nullptr) {
        throw DeployError("RiskOracle.isSigner returned an unexpected shape");
      }
      if (!*is[0].as_bool()) {
        add.push_back({"addSigner", {addr(s)}});
      }
    }
    std::vector<std::pair<std::string, std::vector<AbiValue>>> settings;
    const auto q = view(oracle, "quorum");
    if (q.size() != 1 || q[0].as_uint() == nullptr) {
      throw DeployError("RiskOracle.quorum returned an unexpected shape");
    }
    if (*q[0].as_uint() != quorum) {
      settings.push_back({"setQuorum", {uint(quorum)}});
    }
    for (const auto& l : opt_.limits) {
      const auto cur = view(oracle, "limits", {uint(l.portfolio_id)});
      const bool same = cur.size() == 3 && cur[0].as_uint() && cur[1].as_uint() &&
                        cur[2].as_uint() && *cur[0].as_uint() == l.max_age &&
                        *cur[1].as_uint() == l.min_interval &&
                        *cur[2].as_uint() == l.max_var_change;
      if (!same) {
        settings.push_back({"setLimits",
                            {uint(l.portfolio_id), uint(l.max_age), uint(l.min_interval),
                             uint(l.max_var_change)}});
      }
    }
    if (add.empty() && settings.empty()) {
      return;
    }
    const auto owner = view(oracle, "owner");
    if (owner.size() != 1 || owner[0].as_address() == nullptr) {
      throw DeployError("RiskOracle.owner returned an unexpected shape");
    }
    if (*owner[0].as_address() != mgr_.sender()) {
      throw DeployError("RiskOracle at " + to_checksum_address(oracle.address()) + " is owned by " +
                        to_checksum_address(*owner[0].as_address()) + ", not by the sender " +
                        to_checksum_address(mgr_.sender()) +
                        ", so its signers, quorum and limits cannot be set");
    }
    // Signers first: setQuorum is checked against the signer count when it is estimated. Then the
    // quorum, mined before any limits: RiskOracle refuses to enable a portfolio while its quorum is
    // 0 (QuorumNotSet), and setLimits is estimated against the state the quorum leaves.
    send_all(oracle, add);
    std::vector<std::pair<std::string, std::vector<AbiValue>>> quorum_first;
    std::vector<std::pair<std::string, std::vector<AbiValue>>> limits_after;
    for (const auto& call : settings) {
      (call.first == "setQuorum" ? quorum_first : limits_after).push_back(call);
    }
    send_all(oracle, quorum_first);
    send_all(oracle, limits_after);
    for (const auto& [fn, args] : add) {
      log("RiskOracle: signer " + to_checksum_address(*args[0].as_address()) + " added");
    }
    for (const auto& [fn, args] : settings) {
      if (fn == "setQuorum") {
        log("RiskOracle: quorum set to " + std::to_string(quorum));
      }
      if (fn == "setLimits") {
        log("RiskOracle: limits of portfolio " + args[0].as_uint()->str() + " set");
      }
    }
  }

  chain::EthClient& eth_;
  chain::TxManager& mgr_;
  const DeployOptions& opt_;
  const std::optional<Deployment>& prev_;
  const DeployProgress& progress_;
  ArtifactSet artifacts_;
  Deployment out_;
  std::string run_tag_;
};

}  // namespace

Deployment deploy_all(chain::EthClient& eth, chain::TxManager& manager,
                      const DeployOptions& options, const std::optional<Deployment>& previous,
                      const DeployProgress& progress) {
  return Deployer(eth, manager, options, previous, progress).run();
}

}  // namespace varkeeper::keeper
