// `varkeeper deploy`: deploys the bundled contracts (and, with --mocks, the local mocks) to a chain
// through the transaction manager and writes the deployment file; idempotent (keeper/deploy.hpp).
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "chain/address.hpp"
#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/json_rpc.hpp"
#include "chain/secp256k1.hpp"
#include "chain/tx_manager.hpp"
#include "chain/tx_store.hpp"
#include "chain/url.hpp"
#include "keeper/cli/command.hpp"
#include "keeper/config/config.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "keeper/keys/keystore_file.hpp"
#include "keeper/keys/password.hpp"

namespace varkeeper::keeper::cli {
namespace {

// anvil's chain id: the only chain where a well-known development key is accepted.
constexpr std::uint64_t kDevChainId = 31337;

struct DeployCliOptions {
  std::string config;
  std::vector<std::string> rpc;
  std::uint64_t chain_id = 0;
  std::string dev_key;
  std::string keystore;
  std::string password_file;
  std::vector<std::string> signers;
  int quorum = 0;
  std::vector<std::string> limits;
  std::uint64_t portfolio = 1;
  bool mocks = false;
  std::string out;
  std::string artifacts;
  std::string price_feed;
  std::string stable_token;
  std::string risky_token;
  std::string amm;
  std::uint64_t confirmations = 1;
  bool confirmations_given = false;
  std::uint64_t timeout_s = 300;
  std::uint64_t request_timeout_ms = 10'000;
};

chain::Address parse_address_option(const std::string& option, const std::string& text) {
  auto a = chain::parse_address(text);
  if (!a) {
    throw UserError(option + " '" + text + "' is not an address (" +
                    std::string(chain::to_string(a.error())) + ")");
  }
  return *a;
}

std::optional<chain::Address> optional_address(const std::string& option, const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  return parse_address_option(option, text);
}

std::uint64_t parse_u64(const std::string& what, const std::string& text, std::uint64_t max) {
  // One message format, built only when it is thrown (not in the loop body).
  const auto bad = [&](const char* why) { return UserError(what + " '" + text + "' " + why); };
  std::uint64_t v = 0;
  if (text.empty() || text.size() > 20) {
    throw bad("is not a number");
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      throw bad("is not a number");
    }
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) {
      throw bad("is too large");
    }
    v = v * 10 + d;
  }
  return v;
}

// ID:MAXAGE[:MININTERVAL[:MAXVARCHANGE]]
PortfolioLimits parse_limits(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream s(text);
  for (std::string p; std::getline(s, p, ':');) {
    parts.push_back(p);
  }
  if (parts.size() < 2 || parts.size() > 4) {
    throw UserError("--limits '" + text +
                    "' must be PORTFOLIO:MAXAGE[:MININTERVAL[:MAXVARCHANGE]]");
  }
  PortfolioLimits l;
  l.portfolio_id = parse_u64("--limits portfolio", parts[0], UINT64_MAX);
  l.max_age = static_cast<std::uint32_t>(parse_u64("--limits max age", parts[1], UINT32_MAX));
  if (l.max_age == 0) {
    throw UserError("--limits '" + text + "': the max age must be above 0");
  }
  if (parts.size() > 2) {
    l.min_interval =
        static_cast<std::uint32_t>(parse_u64("--limits min interval", parts[2], UINT32_MAX));
  }
  if (parts.size() > 3) {
    l.max_var_change = parse_u64("--limits max VaR change", parts[3], UINT64_MAX);
  }
  return l;
}

chain::SecretKey sender_key(const DeployCliOptions& o) {
  if (!o.dev_key.empty() && !o.keystore.empty()) {
    throw UserError("give either --private-key-dev or --keystore, not both");
  }
  if (!o.dev_key.empty()) {
    if (o.chain_id != kDevChainId) {
      throw UserError(
          "--private-key-dev names a publicly known key and is only accepted on "
          "chain 31337 (anvil), not chain " +
          std::to_string(o.chain_id));
    }
    if (o.dev_key.size() != 6 || o.dev_key.rfind("anvil", 0) != 0 || o.dev_key[5] < '0' ||
        o.dev_key[5] > '9') {
      throw UserError("--private-key-dev '" + o.dev_key + "' is not one of anvil0 ... anvil9");
    }
    return dev_key(static_cast<unsigned>(o.dev_key[5] - '0'));
  }
  if (o.keystore.empty()) {
    throw UserError("no sender key: give --keystore FILE (or --private-key-dev anvil0 on anvil)");
  }
  try {
    std::optional<std::filesystem::path> pw;
    if (!o.password_file.empty()) {
      pw = o.password_file;
    }
    return unlock_keystore_file(o.keystore, pw);
  } catch (const PasswordError& e) {
    throw UserError(e.what());
  } catch (const KeystoreFileError& e) {
    throw UserError(e.what(), e.wrong_password() ? 3 : 2);
  }
}

// Where to deploy and with which keys: from the flags, or from a config file.
struct Target {
  std::vector<chain::Url> rpc;
  std::uint64_t chain_id = 0;
  std::optional<std::filesystem::path> ca_file;
  std::uint64_t request_timeout_ms = 10'000;
  chain::TxManagerOptions tx_options;
  std::vector<chain::Address> signers;
  std::string out;
  std::function<chain::SecretKey()> sender;  // decrypted last, after every other check
};

Target target_from_flags(const DeployCliOptions& o) {
  if (o.rpc.empty()) {
    throw UserError("--rpc URL is required (or --config FILE)");
  }
  if (o.chain_id == 0) {
    throw UserError("--chain-id must be the chain's id (above 0)");
  }
  if (o.out.empty()) {
    throw UserError("--out FILE is required (or --config FILE)");
  }
  Target t;
  for (const auto& text : o.rpc) {
    auto url = chain::parse_url(text);
    if (!url || url->scheme == chain::UrlScheme::kWs || url->scheme == chain::UrlScheme::kWss) {
      throw UserError(
          "--rpc '" + text + "' is not an http(s) URL" +
          (url ? std::string() : " (" + std::string(chain::to_string(url.error())) + ")"));
    }
    t.rpc.push_back(*url);
  }
  t.chain_id = o.chain_id;
  t.request_timeout_ms = o.request_timeout_ms;
  for (const auto& s : o.signers) {
    t.signers.push_back(parse_address_option("--signers", s));
  }
  t.out = o.out;
  t.sender = [&o] { return sender_key(o); };
  return t;
}

// The address of a configured signer key without asking for its password when the keystore
// names it.
chain::Address signer_address(const Config& config, const KeySpec& spec) {
  if (spec.dev_key) {
    return chain::address_of(dev_key(*spec.dev_key));
  }
  if (spec.keystore_address) {
    return *spec.keystore_address;
  }
  return chain::address_of(load_key(config, spec));
}

Target target_from_config(const DeployCliOptions& o, std::shared_ptr<Config>& keep) {
  if (!o.rpc.empty() || o.chain_id != 0 || !o.dev_key.empty() || !o.keystore.empty() ||
      !o.password_file.empty() || !o.signers.empty()) {
    throw UserError(
        "--config takes the chain, the keys and the signers from the file; drop "
        "--rpc, --chain-id, --private-key-dev, --keystore, --password-file and "
        "--signers");
  }
  try {
    keep = std::make_shared<Config>(load_config(o.config));
    const Config& config = *keep;
    if (config.chain.rpc.empty()) {
      throw UserError(o.config +
                      ": chain.rpc: is empty; varkeeper deploy needs a node to deploy "
                      "to (chain.anvil = true is deployed by varkeeper run itself)");
    }
    Target t;
    t.rpc = config.chain.rpc;
    t.chain_id = config.chain.chain_id;
    t.ca_file = config.chain.ca_file;
    t.request_timeout_ms = config.chain.request_timeout_ms;
    t.tx_options = tx_manager_options(config.chain);
    for (const auto& spec : config.keys.signers) {
      t.signers.push_back(signer_address(config, spec));
    }
    if (!o.out.empty()) {
      t.out = o.out;
    } else if (config.contracts.deployment) {
      t.out = config.contracts.deployment->string();
    } else {
      throw UserError(o.config + ": contracts.deployment: is not set; give --out FILE or set it");
    }
    t.sender = [keep] {
      try {
        return load_key(*keep, keep->keys.sender);
      } catch (const ConfigError& e) {
        throw UserError(e.what());
      }
    };
    return t;
  } catch (const ConfigError& e) {
    throw UserError(e.what());
  }
}

// The deployment's options from the flags; every mistake in them is found here, before the
// first network request.
DeployOptions deploy_options(const DeployCliOptions& o, const Target& target) {
  if (o.quorum < 0 || o.quorum > 255) {
    throw UserError("--quorum must be between 1 and 255");
  }
  DeployOptions options;
  options.mocks = o.mocks;
  options.portfolio_id = o.portfolio;
  options.feed_description = "varkeeper portfolio " + std::to_string(o.portfolio) + " VaR (WAD)";
  options.signers = target.signers;
  if (o.quorum > 0) {
    options.quorum = static_cast<std::uint8_t>(o.quorum);
  }
  if (options.quorum && *options.quorum > std::max<std::size_t>(options.signers.size(), 1)) {
    throw UserError("--quorum " + std::to_string(o.quorum) + " is more than the " +
                    std::to_string(std::max<std::size_t>(options.signers.size(), 1)) +
                    " signer(s) given");
  }
  for (const auto& l : o.limits) {
    options.limits.push_back(parse_limits(l));
  }
  options.price_feed = optional_address("--price-feed", o.price_feed);
  options.stable_token = optional_address("--stable-token", o.stable_token);
  options.risky_token = optional_address("--risky-token", o.risky_token);
  options.amm = optional_address("--amm", o.amm);
  if (o.mocks &&
      (options.price_feed || options.stable_token || options.risky_token || options.amm)) {
    throw UserError(
        "--mocks deploys its own feed, tokens and AMM; drop --price-feed, "
        "--stable-token, --risky-token and --amm, or drop --mocks");
  }
  options.timeout = std::chrono::seconds(o.timeout_s);
  options.log = [](const std::string& line) { std::cout << line << '\n' << std::flush; };
  return options;
}

// Connects to the target chain as the sender (the key is decrypted here, after every other
// check), deploys and writes the deployment file after each group of contracts.
void deploy_to_chain(const DeployCliOptions& o, const Target& target, const DeployOptions& options,
                     const std::optional<Deployment>& previous) {
  const chain::SecretKey key = target.sender();

  std::vector<std::unique_ptr<chain::JsonRpcClient>> clients;
  for (const auto& url : target.rpc) {
    chain::HttpOptions http;
    http.timeout = std::chrono::milliseconds(target.request_timeout_ms);
    if (target.ca_file) {
      http.ca_file = target.ca_file->string();
    }
    clients.push_back(
        std::make_unique<chain::JsonRpcClient>(chain::make_http_transport(url, http)));
  }
  chain::EndpointPool pool(std::move(clients));
  if (auto connected = pool.connect(target.chain_id); !connected) {
    throw UserError("cannot use the RPC endpoint for chain " + std::to_string(target.chain_id) +
                    ": " + connected.error().describe());
  }
  chain::EthClient eth(pool);
  chain::InMemoryTxStore store;
  chain::TxManagerOptions tx_options = target.tx_options;
  if (o.confirmations_given || o.config.empty()) {
    tx_options.confirmations = o.confirmations;
  }
  // A deploy waits for its steps by depth, never for the `finalized` tag of chain.finality (on
  // Ethereum that is ~13 minutes behind, past --timeout) (issue 15, defect 7).
  tx_options.finality = chain::Finality::kDepth;
  chain::TxManager manager(eth, store, key, target.chain_id, tx_options);
  if (auto started = manager.start(); !started) {
    throw UserError("cannot read the sender's account from the node: " +
                    started.error().describe());
  }
  std::cout << "deploying from " << chain::to_checksum_address(manager.sender()) << " on chain "
            << target.chain_id << (previous ? " (reusing " + target.out + ")" : std::string())
            << '\n';
  // Saved after each group of contracts, so an interrupted run is resumed by the next one.
  const Deployment deployment =
      deploy_all(eth, manager, options, previous,
                 [&](const Deployment& so_far) { write_deployment_file(target.out, so_far); });
  write_deployment_file(target.out, deployment);
  std::size_t reused = 0;
  for (const auto& [name, c] : deployment.contracts) {
    reused += c.reused ? 1 : 0;
  }
  std::cout << deployment.contracts.size() << " contracts (" << reused << " reused), "
            << deployment.transactions_sent << " transactions; deployment written to " << target.out
            << '\n';
}

void run_deploy(const DeployCliOptions& o) {
  // Everything the user can get wrong is checked before the first network request.
  std::shared_ptr<Config> config;
  Target target = o.config.empty() ? target_from_flags(o) : target_from_config(o, config);
  DeployOptions options = deploy_options(o, target);
  // Bad artifacts or a malformed deployment file are the user's input (exit 2), found before any
  // transaction; a failure while deploying is exit 4.
  std::optional<Deployment> previous;
  try {
    options.artifacts_dir = find_artifacts_dir(
        o.artifacts.empty() ? std::nullopt : std::optional<std::filesystem::path>(o.artifacts));
    (void)load_artifacts(options.artifacts_dir);
    previous = read_deployment_file(target.out);
  } catch (const DeployError& e) {
    throw UserError(e.what());
  }
  try {
    deploy_to_chain(o, target, options, previous);
  } catch (const DeployError& e) {
    throw UserError(e.what(), 4);
  }
}

// NOLINTNEXTLINE(cert-err58-cpp): the lambda runs later, inside main's try
const RegisterCommand kRegister{
    60, [](CLI::App& app) {
      auto o = std::make_shared<DeployCliOptions>();
      auto* cmd = app.add_subcommand(
          "deploy",
          "Deploy the bundled contracts (RiskOracle, RiskOracleFeed, VaRProtection, "
          "RiskRebalancer; with --mocks also feeds, tokens and an AMM) and write a deployment "
          "file; rerunning reuses what is already deployed");
      cmd->add_option("--config", o->config,
                      "Keeper config (TOML): chain, sender and signer keys, and the deployment "
                      "file (contracts.deployment) instead of the flags below");
      cmd->add_option("--rpc", o->rpc, "JSON-RPC endpoint (http or https); repeat for failover");
      cmd->add_option("--chain-id", o->chain_id, "The chain's id (checked against the node)");
      cmd->add_option("--private-key-dev", o->dev_key,
                      "anvil0 ... anvil9: a well-known anvil key (chain 31337 only)");
      cmd->add_option("--keystore", o->keystore,
                      "Keystore v3 file of the sender (pays gas, owns "
                      "the RiskOracle and RiskRebalancer)");
      cmd->add_option("--password-file", o->password_file,
                      "File whose first line is the keystore password (default: "
                      "VARKEEPER_KEYSTORE_PASSWORD, else a prompt on a terminal)");
      cmd->add_option("--signers", o->signers,
                      "Report signer addresses, comma-separated (default: the sender)")
          ->delimiter(',');
      cmd->add_option("--quorum", o->quorum, "Signatures required (default: every signer)");
      cmd->add_option("--limits", o->limits,
                      "Enable a portfolio: ID:MAXAGE[:MININTERVAL[:MAXVARCHANGE]] (seconds, "
                      "seconds, WAD); repeatable");
      cmd->add_option("--portfolio", o->portfolio,
                      "Portfolio followed by RiskOracleFeed, VaRProtection and RiskRebalancer")
          ->capture_default_str();
      cmd->add_flag("--mocks", o->mocks,
                    "Also deploy mock ETH/USD and BTC/USD feeds, mUSD and mWETH tokens and an "
                    "AMM, and wire the protection pool and the rebalancer to them");
      cmd->add_option("--price-feed", o->price_feed,
                      "Existing AggregatorV3 feed (without --mocks)");
      cmd->add_option("--stable-token", o->stable_token,
                      "Existing stable ERC-20, the protection collateral (without --mocks)");
      cmd->add_option("--risky-token", o->risky_token, "Existing risky ERC-20 (without --mocks)");
      cmd->add_option("--amm", o->amm, "Existing IAmmAdapter (without --mocks)");
      cmd->add_option("--out", o->out,
                      "Deployment file to write (and to reuse if it exists); default with "
                      "--config: contracts.deployment");
      cmd->add_option("--artifacts", o->artifacts,
                      "Directory of the contract artifacts (default: contracts/ next to the "
                      "binary, else ../share/varkeeper/contracts)");
      auto* confirmations = cmd->add_option("--confirmations", o->confirmations,
                                            "Blocks deep before a step is final (default: 1, or "
                                            "chain.confirmations with --config)");
      cmd->add_option("--timeout", o->timeout_s, "Seconds to wait for each group of transactions")
          ->capture_default_str();
      cmd->callback([o, confirmations] {
        o->confirmations_given = confirmations->count() > 0;
        run_deploy(*o);
      });
    }};

}  // namespace
}  // namespace varkeeper::keeper::cli
