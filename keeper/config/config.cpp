#include "keeper/config/config.hpp"

#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "chain/keystore.hpp"
#include "chain/secp256k1.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/config/breaker_schema.hpp"
#include "keeper/config/toml_table.hpp"
#include "keeper/core/methodology.hpp"
#include "keeper/io/price_csv.hpp"
#include "keeper/keys/keystore_file.hpp"
#include "keeper/keys/password.hpp"

namespace varkeeper::keeper {
namespace {

namespace fs = std::filesystem;

// Config files are a few KiB; anything this large is a mistake (a database or a log named by
// error).
constexpr std::uintmax_t kMaxConfigSize = std::uintmax_t{4} * 1024 * 1024;

using Table = TomlTable;
using Bound = TomlTable::Bound;

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1") {
    return true;
  }
  // An IPv4 literal in 127.0.0.0/8.
  int a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  if (std::sscanf(host.c_str(), "%d.%d.%d.%d%c", &a, &b, &c, &d, &tail) == 4) {
    return a == 127 && b >= 0 && b <= 255 && c >= 0 && c <= 255 && d >= 0 && d <= 255;
  }
  return false;
}

void read_keeper(const Table& top, Config& config) {
  const auto* t = top.opt_table("keeper");
  if (t == nullptr) {
    return;
  }
  const Table k(top.file(), *t, "keeper",
                {"tick_interval_s", "tick_deadline_s", "store", "metrics_address", "metrics_public",
                 "log_format", "log_level"});
  auto& s = config.keeper;
  s.tick_interval_s = k.uint("tick_interval_s", s.tick_interval_s, 1, 86'400);
  s.tick_deadline_s = k.uint("tick_deadline_s", s.tick_deadline_s, 1, 86'400);
  if (auto store = k.opt_string("store")) {
    if (store->empty()) {
      k.fail("store", "must not be empty");
    }
    s.store = k.file().resolve(*store);
  } else {
    s.store = k.file().resolve(s.store.string());
  }
  s.metrics_public = k.boolean("metrics_public", false);
  if (auto address = k.opt_string("metrics_address")) {
    // host:port, or [v6]:port.
    std::string host;
    std::string port_text;
    if (!address->empty() && address->front() == '[') {
      const auto close = address->find(']');
      if (close == std::string::npos || close + 1 >= address->size() ||
          (*address)[close + 1] != ':') {
        k.fail("metrics_address", "'" + *address + "' is not host:port");
      }
      host = address->substr(1, close - 1);
      port_text = address->substr(close + 2);
    } else {
      const auto colon = address->rfind(':');
      if (colon == std::string::npos || colon == 0 || address->find(':') != colon) {
        k.fail("metrics_address", "'" + *address + "' is not host:port");
      }
      host = address->substr(0, colon);
      port_text = address->substr(colon + 1);
    }
    const bool digits = !port_text.empty() && port_text.size() <= 5 &&
                        std::all_of(port_text.begin(), port_text.end(),
                                    [](unsigned char ch) { return std::isdigit(ch) != 0; });
    const long port = digits ? std::stol(port_text) : 0;
    if (!digits || port < 1 || port > 65535) {
      k.fail("metrics_address", "'" + *address + "' has no valid port (1-65535)");
    }
    s.metrics_host = host;
    s.metrics_port = static_cast<std::uint16_t>(port);
  }
  if (!is_loopback_host(s.metrics_host) && !s.metrics_public) {
    k.fail("metrics_address", s.metrics_host +
                                  " is not a loopback address; set keeper.metrics_public = true "
                                  "to serve metrics beyond this machine");
  }
  if (auto format = k.opt_string("log_format")) {
    if (*format == "text") {
      s.log_format = LogFormat::kText;
    } else if (*format == "json") {
      s.log_format = LogFormat::kJson;
    } else {
      k.fail("log_format", "must be \"text\" or \"json\", got \"" + *format + "\"");
    }
  }
  if (auto level = k.opt_string("log_level")) {
    static const std::set<std::string> kLevels{"trace", "debug",    "info", "warn",
                                               "error", "critical", "off"};
    if (kLevels.count(*level) == 0) {
      k.fail("log_level", "must be one of trace, debug, info, warn, error, critical, off, got \"" +
                              *level + "\"");
    }
    s.log_level = *level;
  }
}

// The URL text is never echoed: its path or query may carry an API key.
chain::Url read_url(const Table& t, const std::string& key, const toml::node* where,
                    const std::string& text, bool websocket) {
  auto url = chain::parse_url(text);
  if (!url) {
    t.file().fail(key, where,
                  "not a valid URL (" + std::string(chain::to_string(url.error())) + ")");
  }
  const bool ws = url->scheme == chain::UrlScheme::kWs || url->scheme == chain::UrlScheme::kWss;
  if (ws != websocket) {
    t.file().fail(key, where,
                  std::string("must be a") +
                      (websocket ? " ws:// or wss://" : "n http:// or https://") + " URL");
  }
  return *url;
}

// [chain.fees]: the transaction manager's fee policy.
void read_fees(const Table& c, FeeSettings& fees) {
  const auto* ft = c.opt_table("fees");
  if (ft == nullptr) {
    return;
  }
  const Table f(c.file(), *ft, "chain.fees",
                {"reward_percentile", "history_blocks", "base_fee_multiplier", "max_fee_gwei",
                 "min_priority_fee_gwei", "bump_percent", "bump_min_gwei", "bump_after_blocks",
                 "gas_limit_multiplier"});
  fees.reward_percentile = f.number_in("reward_percentile", fees.reward_percentile, 0,
                                       Bound::kClosed, 100, Bound::kClosed);
  // eth_feeHistory serves at most 1024 blocks per call (geth's maxBlockCount).
  fees.history_blocks = f.uint("history_blocks", fees.history_blocks, 1, 1024);
  fees.base_fee_multiplier = f.number_in("base_fee_multiplier", fees.base_fee_multiplier, 1,
                                         Bound::kClosed, 100, Bound::kClosed);
  // 1e9 gwei = 1e18 wei per gas: far beyond any real fee, and exact in the conversion to wei.
  fees.max_fee_gwei =
      f.number_in("max_fee_gwei", fees.max_fee_gwei, 0, Bound::kOpen, 1e9, Bound::kClosed);
  fees.min_priority_fee_gwei = f.number_in("min_priority_fee_gwei", fees.min_priority_fee_gwei, 0,
                                           Bound::kClosed, 1e9, Bound::kClosed);
  if (fees.min_priority_fee_gwei > fees.max_fee_gwei) {
    f.fail("min_priority_fee_gwei", "must be <= chain.fees.max_fee_gwei (" +
                                        format_number(fees.max_fee_gwei) + "), got " +
                                        format_number(fees.min_priority_fee_gwei));
  }
  // geth replaces a pending transaction only if both fee fields rise by at least 10 %.
  fees.bump_percent =
      f.number_in("bump_percent", fees.bump_percent, 10, Bound::kClosed, 1000, Bound::kClosed);
  fees.bump_min_gwei =
      f.number_in("bump_min_gwei", fees.bump_min_gwei, 0, Bound::kClosed, 1e9, Bound::kClosed);
  fees.bump_after_blocks = f.uint("bump_after_blocks", fees.bump_after_blocks, 1, 10'000);
  fees.gas_limit_multiplier = f.number_in("gas_limit_multiplier", fees.gas_limit_multiplier, 1,
                                          Bound::kClosed, 10, Bound::kClosed);
}

void read_chain(const Table& top, Config& config) {
  top.require("chain");
  const auto* t = top.opt_table("chain");
  const Table c(top.file(), *t, "chain",
                {"chain_id", "anvil", "anvil_block_time_s", "rpc", "ws", "ca_file",
                 "request_timeout_ms", "confirmations", "finality", "agree_reads", "agree_quorum",
                 "max_head_lag_blocks", "head_stall_s", "max_in_flight", "fees"});
  auto& s = config.chain;
  s.anvil = c.boolean("anvil", false);
  if (!s.anvil) {
    c.require("chain_id");
  }
  s.chain_id = c.uint("chain_id", kAnvilChainId, 1);
  s.anvil_block_time_s = c.uint("anvil_block_time_s", s.anvil_block_time_s, 0, 3600);
  if (s.anvil) {
    if (s.chain_id != kAnvilChainId) {
      c.fail("chain_id",
             "must be 31337 with chain.anvil = true, got " + std::to_string(s.chain_id));
    }
    if (c.has("rpc")) {
      c.fail("rpc", "must be left out with chain.anvil = true (varkeeper starts the node)");
    }
    if (c.has("ws")) {
      c.fail("ws", "must be left out with chain.anvil = true (varkeeper starts the node)");
    }
  } else {
    if (c.has("anvil_block_time_s")) {
      c.fail("anvil_block_time_s", "needs chain.anvil = true");
    }
    c.require("rpc");
    const auto* rpc = c.opt_array("rpc");
    if (rpc->empty()) {
      c.fail("rpc", "must list at least one endpoint");
    }
    for (std::size_t i = 0; i < rpc->size(); ++i) {
      const std::string key = c.key("rpc") + "[" + std::to_string(i) + "]";
      const auto* text = (*rpc)[i].as_string();
      if (text == nullptr) {
        c.file().fail(key, &(*rpc)[i], "must be a string, got " + describe((*rpc)[i]));
      }
      chain::Url url = read_url(c, key, &(*rpc)[i], text->get(), false);
      for (std::size_t j = 0; j < s.rpc.size(); ++j) {
        if (s.rpc[j].to_string() == url.to_string()) {
          c.file().fail(key, &(*rpc)[i], "repeats chain.rpc[" + std::to_string(j) + "]");
        }
      }
      s.rpc.push_back(std::move(url));
    }
    if (auto ws = c.opt_string("ws")) {
      s.ws = read_url(c, c.key("ws"), c.get("ws"), *ws, true);
    }
  }
  s.ca_file = c.opt_readable_path("ca_file", "CA file");
  s.request_timeout_ms = c.uint("request_timeout_ms", s.request_timeout_ms, 1, 600'000);
  s.confirmations = c.uint("confirmations", s.confirmations, 1, 10'000);
  if (auto finality = c.opt_string("finality")) {
    if (*finality != "auto" && *finality != "tag" && *finality != "depth") {
      c.fail("finality", "must be \"auto\", \"tag\" or \"depth\", got \"" + *finality + "\"");
    }
    s.finality = *finality;
  }
  s.agree_reads = c.boolean("agree_reads", false);
  if (s.agree_reads && !s.anvil && s.rpc.size() < 2) {
    c.fail("agree_reads", "needs at least two chain.rpc endpoints to compare");
  }
  if (c.has("agree_quorum") && !s.agree_reads) {
    c.fail("agree_quorum", "needs chain.agree_reads = true");
  }
  s.agree_quorum = c.uint("agree_quorum", s.agree_quorum, 2, 64);
  if (s.agree_reads && !s.anvil && s.agree_quorum > s.rpc.size()) {
    c.fail("agree_quorum", "is " + std::to_string(s.agree_quorum) + " but chain.rpc lists only " +
                               std::to_string(s.rpc.size()) + " endpoints");
  }
  s.max_head_lag_blocks = c.uint("max_head_lag_blocks", s.max_head_lag_blocks, 1, 1'000'000);
  s.head_stall_s = c.uint("head_stall_s", s.head_stall_s, 1, 86'400);
  s.max_in_flight = c.uint("max_in_flight", s.max_in_flight, 1, 1'024);
  read_fees(c, s.fees);
}

constexpr std::string_view kDevKeys[10] = {
    // anvil 1.x, mnemonic "test test test test test test test test test test test junk",
    // accounts m/44'/60'/0'/0/0..9 as printed by `anvil` at start.
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
};

bool is_env_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) != 0) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char ch) { return std::isalnum(ch) != 0 || ch == '_'; });
}

KeySpec read_key_spec(const TomlFile& file, const toml::table& table, const std::string& path,
                      const Config& config, bool allow_dev_keys) {
  const Table k(file, table, path, {"keystore", "password_file", "password_env", "dev_key"});
  KeySpec spec;
  spec.key_path = path;
  const bool has_keystore = k.has("keystore");
  const bool has_dev = k.has("dev_key");
  if (has_keystore == has_dev) {
    k.fail_here(
        "needs exactly one of keystore (a keystore v3 file) or dev_key (anvil0 ... anvil9)");
  }
  if (has_dev) {
    const std::string name = k.string("dev_key");
    if (name.size() != 6 || name.compare(0, 5, "anvil") != 0 ||
        std::isdigit(static_cast<unsigned char>(name[5])) == 0) {
      k.fail("dev_key", "must be one of anvil0 ... anvil9, got \"" + name + "\"");
    }
    if (k.has("password_file") || k.has("password_env")) {
      k.fail_here("a dev_key takes no password_file or password_env");
    }
    const std::uint64_t chain_id = config.chain.chain_id;
    if (chain_id == 1) {
      k.fail("dev_key",
             "anvil's publicly known development keys are refused on chain 1 (Ethereum mainnet)");
    }
    if (chain_id != kAnvilChainId && !allow_dev_keys) {
      k.fail("dev_key", "development keys are for the local chain 31337 only, not chain " +
                            std::to_string(chain_id) +
                            " (set keys.allow_dev_keys = true to use one anyway)");
    }
    spec.dev_key = static_cast<unsigned>(name[5] - '0');
    return spec;
  }
  spec.keystore = k.opt_readable_path("keystore", "keystore file");
  try {
    spec.keystore_address = read_keystore_file(*spec.keystore).address;
  } catch (const KeystoreFileError& e) {
    k.fail("keystore", e.what());
  }
  const bool has_file = k.has("password_file");
  const bool has_env = k.has("password_env");
  if (has_file == has_env) {
    k.fail_here("needs exactly one of password_file or password_env for keystore " +
                spec.keystore->string());
  }
  if (has_file) {
    spec.password_file = k.opt_readable_path("password_file", "password file");
  } else {
    const std::string env = k.string("password_env");
    if (!is_env_name(env)) {
      k.fail("password_env", "\"" + env + "\" is not an environment variable name");
    }
    spec.password_env = env;
  }
  return spec;
}

bool same_key(const KeySpec& a, const KeySpec& b) {
  if (a.dev_key && b.dev_key) {
    return *a.dev_key == *b.dev_key;
  }
  if (a.keystore && b.keystore) {
    if (*a.keystore == *b.keystore) {
      return true;
    }
    return a.keystore_address && b.keystore_address && *a.keystore_address == *b.keystore_address;
  }
  return false;
}

void read_keys(const Table& top, Config& config) {
  top.require("keys");
  const auto* t = top.opt_table("keys");
  const Table k(top.file(), *t, "keys", {"signers", "sender", "allow_dev_keys"});
  auto& s = config.keys;
  s.allow_dev_keys = k.boolean("allow_dev_keys", false);
  k.require("signers");
  const auto signers = k.tables("signers");
  if (signers.empty()) {
    k.fail("signers", "must list at least one signer key");
  }
  for (const auto& [path, table] : signers) {
    KeySpec spec = read_key_spec(top.file(), *table, path, config, s.allow_dev_keys);
    for (const auto& earlier : s.signers) {
      if (same_key(spec, earlier)) {
        top.file().fail(path, table, "is the same key as " + earlier.key_path);
      }
    }
    s.signers.push_back(std::move(spec));
  }
  k.require("sender");
  const auto* sender = k.opt_table("sender");
  s.sender = read_key_spec(top.file(), *sender, "keys.sender", config, s.allow_dev_keys);
}

void read_deployment(const Table& c, Config& config) {
  auto& s = config.contracts;
  const fs::path& path = *s.deployment;
  const std::string key = c.key("deployment");
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return;  // not deployed yet: `varkeeper deploy` writes it
  }
  c.file().require_readable_file(key, c.get("deployment"), path, "deployment file");
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const auto json = nlohmann::json::parse(buffer.str(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    c.fail("deployment", "deployment file " + path.string() + " is not a JSON object");
  }
  const auto chain_id = json.find("chain_id");
  if (chain_id == json.end() || !chain_id->is_number_unsigned()) {
    c.fail("deployment", "deployment file " + path.string() + " has no numeric chain_id");
  }
  if (chain_id->get<std::uint64_t>() != config.chain.chain_id) {
    c.fail("deployment", "deployment file " + path.string() + " is for chain " +
                             std::to_string(chain_id->get<std::uint64_t>()) + ", not chain " +
                             std::to_string(config.chain.chain_id));
  }
  const auto contracts = json.find("contracts");
  if (contracts == json.end() || !contracts->is_object()) {
    c.fail("deployment", "deployment file " + path.string() + " has no \"contracts\" object");
  }
  auto address_of = [&](const char* name) -> std::optional<chain::Address> {
    const auto entry = contracts->find(name);
    if (entry == contracts->end()) {
      return std::nullopt;
    }
    const auto address = entry->is_object() ? entry->find("address") : entry->end();
    if (!entry->is_object() || address == entry->end() || !address->is_string()) {
      c.fail("deployment",
             "deployment file " + path.string() + " has no address string for " + name);
    }
    auto parsed = chain::parse_address(address->get<std::string>());
    if (!parsed) {
      c.fail("deployment", "deployment file " + path.string() + " has an invalid " + name +
                               " address (" + std::string(chain::to_string(parsed.error())) + ")");
    }
    return *parsed;
  };
  s.risk_oracle = address_of("RiskOracle");
  s.rebalancer = address_of("RiskRebalancer");
  s.protection = address_of("VaRProtection");
  if (!s.risk_oracle) {
    c.fail("deployment", "deployment file " + path.string() + " has no RiskOracle");
  }
  s.deployment_present = true;
}

void read_contracts(const Table& top, Config& config) {
  const auto* t = top.opt_table("contracts");
  auto& s = config.contracts;
  if (t == nullptr) {
    if (!config.chain.anvil) {
      top.fail("contracts",
               "is required unless chain.anvil = true (give risk_oracle or a deployment file)");
    }
    return;
  }
  const Table c(top.file(), *t, "contracts",
                {"risk_oracle", "rebalancer", "protection", "deployment"});
  s.risk_oracle = c.opt_address("risk_oracle");
  s.rebalancer = c.opt_address("rebalancer");
  s.protection = c.opt_address("protection");
  if (auto deployment = c.opt_string("deployment")) {
    if (s.risk_oracle || s.rebalancer || s.protection) {
      c.fail("deployment", "give either a deployment file or contract addresses, not both");
    }
    if (deployment->empty()) {
      c.fail("deployment", "must not be empty");
    }
    s.deployment = c.file().resolve(*deployment);
    read_deployment(c, config);
  } else if (!s.risk_oracle && !config.chain.anvil) {
    c.fail("risk_oracle", "is required unless a deployment file is given or chain.anvil = true");
  }
}

bool is_symbol(const std::string& s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](unsigned char ch) {
    return std::isalnum(ch) != 0 || ch == '.' || ch == '_' || ch == '-';
  });
}

// The bootstrap history must parse (keeper/price_csv.hpp) and hold a column for the asset:
// `date,close`, or a wide file with a column named after the symbol.
void check_history_csv(const Table& a, const AssetSettings& asset) {
  const auto table = read_price_csv(asset.history_csv->string(), CsvValues::kPrices);
  if (!table) {
    std::string message = table.error().message;
    while (!message.empty() && message.back() == '.') {
      message.pop_back();
    }
    a.fail("history_csv", message);
  }
  const auto& names = table->assets;
  if (names.size() != 1 && std::find(names.begin(), names.end(), asset.symbol) == names.end()) {
    a.fail("history_csv", "history file " + asset.history_csv->string() + " has no column " +
                              asset.symbol + " (expected date,close or a column named " +
                              asset.symbol + ")");
  }
}

void read_assets(const Table& top, Config& config) {
  top.require("assets");
  const auto assets = top.tables("assets");
  if (assets.empty()) {
    top.fail("assets", "must declare at least one asset");
  }
  for (const auto& [path, table] : assets) {
    const Table a(top.file(), *table, path, {"symbol", "decimals", "history_csv", "sources"});
    AssetSettings asset;
    asset.symbol = a.string("symbol");
    if (!is_symbol(asset.symbol)) {
      a.fail("symbol",
             "\"" + asset.symbol + "\" is not a symbol (1-32 letters, digits, '.', '_' or '-')");
    }
    for (std::size_t i = 0; i < config.assets.size(); ++i) {
      if (config.assets[i].symbol == asset.symbol) {
        a.fail("symbol",
               "\"" + asset.symbol + "\" is already declared by assets[" + std::to_string(i) + "]");
      }
    }
    // Chainlink feeds use 8 or 18 decimals; 36 keeps 10^decimals well inside a uint256.
    if (auto d = a.opt_int_in("decimals", 0, 36)) {
      asset.decimals = static_cast<unsigned>(*d);
    }
    asset.history_csv = a.opt_readable_path("history_csv", "history file");
    if (asset.history_csv) {
      check_history_csv(a, asset);
    }
    for (const auto& [spath, stable] : a.tables("sources")) {
      const Table src(top.file(), *stable, spath, {"name", "aggregator", "heartbeat_s"});
      PriceSourceSettings source;
      source.name = src.string("name");
      if (source.name.empty()) {
        src.fail("name", "must not be empty");
      }
      src.require("aggregator");
      source.aggregator = *src.opt_address("aggregator");
      source.heartbeat_s =
          src.uint("heartbeat_s", source.heartbeat_s, 1, std::int64_t{30} * 86'400);
      for (std::size_t i = 0; i < asset.sources.size(); ++i) {
        if (asset.sources[i].name == source.name) {
          src.fail("name", "\"" + source.name + "\" is already used by " + path + ".sources[" +
                               std::to_string(i) + "]");
        }
        if (asset.sources[i].aggregator == source.aggregator) {
          src.fail("aggregator",
                   "repeats " + path + ".sources[" + std::to_string(i) + "].aggregator");
        }
      }
      asset.sources.push_back(std::move(source));
    }
    if (asset.sources.empty() && !config.chain.anvil) {
      a.fail("sources",
             "must list at least one price source (mock feeds exist only with chain.anvil = true)");
    }
    config.assets.push_back(std::move(asset));
  }
}

bool is_category_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char ch) {
    return std::isalnum(ch) != 0 || ch == '_' || ch == '-';
  });
}

// [oprisk.categories.NAME.severity]: a lognormal loss size, by its moments or its parameters.
risk::oprisk::LognormalSeverity read_severity(const Table& v) {
  const bool moments = v.has("mean") || v.has("cv");
  const bool params = v.has("mu") || v.has("sigma");
  if (moments == params) {
    v.fail_here("needs either mean and cv, or mu and sigma (of ln X)");
  }
  if (moments) {
    v.require("mean");
    v.require("cv");
    const double mean = *v.opt_number_in("mean", 0, Bound::kOpen, 0, Bound::kNone);
    const double cv = *v.opt_number_in("cv", 0, Bound::kOpen, 100, Bound::kClosed);
    return risk::oprisk::LognormalSeverity::from_mean_cv(mean, cv);
  }
  v.require("mu");
  v.require("sigma");
  risk::oprisk::LognormalSeverity lognormal;
  lognormal.mu = *v.opt_number_in("mu", -700, Bound::kClosed, 700, Bound::kClosed);
  lognormal.sigma = *v.opt_number_in("sigma", 0, Bound::kOpen, 10, Bound::kClosed);
  return lognormal;
}

// [oprisk.categories.NAME]: its sources (weights > 0 in sum), and sle or a severity.
OpriskCategorySettings read_oprisk_category(const Table& c, const std::string& name) {
  OpriskCategorySettings cat;
  cat.name = name;
  const auto& builtin = risk::oprisk::builtin_categories();
  cat.builtin = std::find(builtin.begin(), builtin.end(), name) != builtin.end();
  c.require("sources");
  double weight_sum = 0.0;
  for (const auto& [spath, st] : c.tables("sources")) {
    const Table src(c.file(), *st, spath, {"name", "aro", "weight"});
    OpriskSourceSettings source;
    source.name = src.string("name");
    if (source.name.empty()) {
      src.fail("name", "must not be empty");
    }
    for (const auto& earlier : cat.sources) {
      if (earlier.name == source.name) {
        src.fail("name", "\"" + source.name + "\" is listed twice in " + c.path());
      }
    }
    // The internal log's ARO comes from the store's incident counts unless given here.
    if (source.name != "internal") {
      src.require("aro");
    }
    source.aro = src.opt_number_in("aro", 0, Bound::kClosed, 0, Bound::kNone);
    src.require("weight");
    source.weight = *src.opt_number_in("weight", 0, Bound::kClosed, 0, Bound::kNone);
    weight_sum += source.weight;
    cat.sources.push_back(std::move(source));
  }
  if (cat.sources.empty()) {
    c.fail("sources", "must list at least one source");
  }
  if (!(weight_sum > 0.0)) {
    c.fail("sources", "needs at least one source with a weight > 0");
  }
  cat.sle = c.opt_number_in("sle", 0, Bound::kClosed, 0, Bound::kNone);
  if (const auto sev = c.sub("severity", {"mean", "cv", "mu", "sigma"})) {
    cat.severity = read_severity(*sev);
  }
  if (!cat.sle && !cat.severity) {
    c.fail_here("needs sle (single loss expectancy) or a severity table");
  }
  return cat;
}

void read_oprisk(const Table& top, Config& config) {
  const auto o =
      top.sub("oprisk", {"observed_years", "prior_years", "paths", "seed", "categories"});
  if (!o) {
    return;
  }
  OpriskSettings s;
  s.observed_years =
      o->number_in("observed_years", s.observed_years, 0, Bound::kOpen, 1000, Bound::kClosed);
  s.prior_years =
      o->number_in("prior_years", s.prior_years, 0, Bound::kClosed, 1000, Bound::kClosed);
  // simulate_annual_loss needs at least 100 paths per batch (20 batches).
  s.paths = o->uint("paths", s.paths, 2'000, 100'000'000);
  s.seed = o->uint("seed", s.seed, 0);
  o->require("categories");
  const auto* cats = o->opt_table("categories");
  if (cats->empty()) {
    o->fail("categories", "must hold at least one category");
  }
  // toml::table iterates in key order; the report lists categories in file order.
  std::vector<std::pair<std::string, const toml::node*>> ordered;
  for (auto&& [key, node] : *cats) {
    ordered.emplace_back(std::string(key.str()), &node);
  }
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    const auto& sa = a.second->source().begin;
    const auto& sb = b.second->source().begin;
    return sa.line != sb.line ? sa.line < sb.line : sa.column < sb.column;
  });
  for (const auto& [name, node] : ordered) {
    const std::string path = "oprisk.categories." + name;
    if (!is_category_name(name)) {
      top.file().fail(path, node,
                      "\"" + name + "\" is not a category name (letters, digits, '_', '-')");
    }
    const auto* ct = node->as_table();
    if (ct == nullptr) {
      top.file().fail(path, node, "must be a table, got " + describe(*node));
    }
    s.categories.push_back(
        read_oprisk_category(Table(top.file(), *ct, path, {"sources", "sle", "severity"}), name));
  }
  config.oprisk = std::move(s);
}

chain::U256 gwei_to_wei(double gwei) {
  // Values are validated <= 1e9 gwei, so the wei amount (<= 1e18) fits a uint64 exactly after
  // rounding to the nearest wei.
  return chain::U256(static_cast<std::uint64_t>(std::llround(gwei * 1e9)));
}

}  // namespace

namespace {

void read_portfolios(const Table& top, Config& config) {
  top.require("portfolios");
  std::vector<std::string> symbols;
  for (const auto& a : config.assets) {
    symbols.push_back(a.symbol);
  }
  config.portfolios = read_portfolios(top, symbols);
  if (config.portfolios.empty()) {
    top.fail("portfolios", "must declare at least one portfolio");
  }
}

// host:port of a listen address; fails naming `key` otherwise.
std::pair<std::string, std::uint16_t> host_port(const Table& t, std::string_view key,
                                                const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    t.fail(key, "'" + address + "' is not host:port");
  }
  const std::string port_text = address.substr(colon + 1);
  const bool digits = !port_text.empty() && port_text.size() <= 5 &&
                      std::all_of(port_text.begin(), port_text.end(),
                                  [](unsigned char ch) { return std::isdigit(ch) != 0; });
  const long port = digits ? std::stol(port_text) : -1;
  if (!digits || port < 0 || port > 65535) {
    t.fail(key, "'" + address + "' has no valid port (0-65535)");
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return {host, static_cast<std::uint16_t>(port)};
}

// [network] and [[peers]] (issue 18).
void read_network(const Table& top, Config& config) {
  const auto* nt = top.opt_table("network");
  const bool has_peers = top.has("peers");
  if (nt == nullptr) {
    if (has_peers) {
      top.fail("peers", "needs [network] enabled = true");
    }
    return;
  }
  const Table n(top.file(), *nt, "network",
                {"enabled", "listen", "listen_public", "round_blocks", "genesis_block",
                 "lag_blocks", "quantum_wad", "backup_delay_blocks", "propose_after_blocks",
                 "push_timeout_ms", "history_rounds"});
  auto& s = config.network;
  s.enabled = n.boolean("enabled", false);
  if (auto listen = n.opt_string("listen")) {
    s.listen = *listen;
  }
  s.listen_public = n.boolean("listen_public", false);
  const auto [host, port] = host_port(n, "listen", s.listen);
  (void)port;
  if (!is_loopback_host(host) && !s.listen_public) {
    n.fail("listen", host +
                         " is not a loopback address; set network.listen_public = true to serve "
                         "the peer API beyond this machine (put TLS in front of it)");
  }
  s.round_blocks = n.uint("round_blocks", s.round_blocks, 1, 1'000'000);
  s.genesis_block = n.uint("genesis_block", s.genesis_block);
  s.lag_blocks = n.uint("lag_blocks", s.lag_blocks, 0, 10'000);
  s.quantum_wad = n.uint("quantum_wad", s.quantum_wad, 1, 1'000'000'000'000'000LL);
  s.backup_delay_blocks = n.uint("backup_delay_blocks", s.backup_delay_blocks, 1, 1'000'000);
  s.propose_after_blocks = n.uint("propose_after_blocks", s.propose_after_blocks, 1, 1'000'000);
  s.push_timeout_ms = n.uint("push_timeout_ms", s.push_timeout_ms, 50, 60'000);
  s.history_rounds = n.uint("history_rounds", s.history_rounds, 1, 100'000);
  if (!s.enabled) {
    if (has_peers) {
      top.fail("peers", "needs network.enabled = true");
    }
    return;
  }
  if (config.keys.signers.size() != 1) {
    top.file().fail("keys.signers", nullptr,
                    "a keeper of a keeper set (network.enabled = true) holds exactly one signer "
                    "key, got " +
                        std::to_string(config.keys.signers.size()));
  }
  for (const auto& [path, table] : top.tables("peers")) {
    const Table p(top.file(), *table, path, {"url", "signer"});
    p.require("url");
    p.require("signer");
    PeerSettings peer;
    peer.url_text = p.string("url");
    peer.url = read_url(p, p.key("url"), p.get("url"), peer.url_text, false);
    peer.signer = *p.opt_address("signer");
    for (const auto& earlier : config.peers) {
      if (earlier.signer == peer.signer) {
        p.fail("signer", "is the signer of another peer too");
      }
    }
    config.peers.push_back(std::move(peer));
  }
  if (config.peers.empty()) {
    top.fail("peers", "network.enabled = true needs at least one [[peers]] entry");
  }
  const auto& own = config.keys.signers.front();
  std::optional<chain::Address> mine = own.keystore_address;
  if (own.dev_key) {
    mine = chain::address_of(dev_key(*own.dev_key));
  }
  for (std::size_t i = 0; mine && i < config.peers.size(); ++i) {
    if (config.peers[i].signer == *mine) {
      top.file().fail("peers[" + std::to_string(i) + "].signer", nullptr,
                      "is this keeper's own signer (keys.signers[0])");
    }
  }
  if (s.backup_delay_blocks * config.peers.size() > s.propose_after_blocks) {
    n.fail("backup_delay_blocks", "x the number of peers (" + std::to_string(config.peers.size()) +
                                      ") must not exceed network.propose_after_blocks (" +
                                      std::to_string(s.propose_after_blocks) +
                                      "): every backup gets its turn first");
  }
}

Config read_config(const TomlFile& file, const toml::table& root) {
  Config config;
  const Table top(file, root, "",
                  {"keeper", "chain", "keys", "contracts", "assets", "portfolios", "breaker",
                   "oprisk", "network", "peers"});
  read_keeper(top, config);
  if (!top.has("keeper")) {
    config.keeper.store = file.resolve(config.keeper.store.string());
  }
  read_chain(top, config);
  read_keys(top, config);
  read_contracts(top, config);
  read_assets(top, config);
  read_portfolios(top, config);
  read_breaker(top, config.breaker);
  read_oprisk(top, config);
  read_network(top, config);
  return config;
}

}  // namespace

Config parse_config(std::string_view toml_text, const std::filesystem::path& file) {
  const std::string display = file.string();
  fs::path base = file.parent_path();
  if (base.empty()) {
    base = ".";
  }
  try {
    const TomlFile toml_file(display, base);
    const toml::table root = parse_toml(toml_text, display);
    Config config = read_config(toml_file, root);
    config.file = file;
    return config;
  } catch (const TomlError& e) {
    throw ConfigError(e.what());
  }
}

Config load_config(const std::filesystem::path& file) {
  const std::string display = file.string();
  std::error_code ec;
  const auto status = fs::status(file, ec);
  if (ec || !fs::exists(status)) {
    throw ConfigError(display + ": config file does not exist");
  }
  if (!fs::is_regular_file(status)) {
    throw ConfigError(display + ": config file is not a regular file");
  }
  if (fs::file_size(file, ec) > kMaxConfigSize || ec) {
    throw ConfigError(display + ": config file is larger than 4 MiB");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw ConfigError(display + ": config file cannot be read");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_config(buffer.str(), file);
}

chain::SecretKey dev_key(unsigned index) {
  if (index >= 10) {
    throw std::out_of_range("anvil development keys are anvil0 ... anvil9");
  }
  auto key = chain::SecretKey::from_hex(kDevKeys[index]);
  return *key;
}

chain::SecretKey load_key(const Config& config, const KeySpec& spec) {
  const std::string prefix = config.file.string() + ": " + spec.key_path + ": ";
  if (spec.dev_key) {
    return dev_key(*spec.dev_key);
  }
  const fs::path& keystore_path = *spec.keystore;
  try {
    const chain::Keystore keystore = read_keystore_file(keystore_path);
    Password password;
    if (spec.password_file) {
      password = read_password_file(*spec.password_file);
    } else {
      const char* value = std::getenv(spec.password_env->c_str());
      if (value == nullptr) {
        throw ConfigError(prefix + "environment variable " + *spec.password_env +
                          " (the password for keystore file " + keystore_path.string() +
                          ") is not set");
      }
      password = Password(value);
    }
    auto key = chain::decrypt_keystore(keystore, password.view());
    if (!key) {
      if (key.error().error == chain::KeystoreError::kWrongPassword) {
        throw ConfigError(prefix + "wrong password for keystore file " + keystore_path.string());
      }
      throw ConfigError(prefix + "keystore file " + keystore_path.string() +
                        " is unusable: " + chain::to_string(key.error()));
    }
    return *key;
  } catch (const KeystoreFileError& e) {
    throw ConfigError(prefix + e.what());
  } catch (const PasswordError& e) {
    throw ConfigError(prefix + e.what());
  }
}

LoadedKeys load_keys(const Config& config) {
  LoadedKeys keys;
  for (const auto& spec : config.keys.signers) {
    keys.signers.push_back(load_key(config, spec));
  }
  keys.sender = load_key(config, config.keys.sender);
  return keys;
}

chain::TxManagerOptions tx_manager_options(const ChainSettings& chain) {
  chain::TxManagerOptions options;
  options.fees.reward_percentile = chain.fees.reward_percentile;
  options.fees.history_blocks = chain.fees.history_blocks;
  options.fees.base_fee_multiplier = chain.fees.base_fee_multiplier;
  options.fees.min_priority_fee = gwei_to_wei(chain.fees.min_priority_fee_gwei);
  options.fees.max_fee_cap = gwei_to_wei(chain.fees.max_fee_gwei);
  options.confirmations = chain.confirmations;
  // "auto": the node's `finalized` block, except on local dev chains (anvil's is 64 blocks behind
  // a head that only moves when something is mined) (issue 15, defect 7).
  const bool dev_chain = chain.anvil || chain.chain_id == kAnvilChainId || chain.chain_id == 1337;
  options.finality = chain.finality == "tag" || (chain.finality == "auto" && !dev_chain)
                         ? chain::Finality::kTag
                         : chain::Finality::kDepth;
  options.bump_after_blocks = chain.fees.bump_after_blocks;
  options.bump_percent = chain.fees.bump_percent;
  options.bump_min = gwei_to_wei(chain.fees.bump_min_gwei);
  options.gas_limit_multiplier = chain.fees.gas_limit_multiplier;
  options.max_in_flight = static_cast<std::size_t>(chain.max_in_flight);
  return options;
}

double single_loss_expectancy(const OpriskCategorySettings& category) {
  if (category.sle) {
    return *category.sle;
  }
  return category.severity ? category.severity->mean() : 0.0;
}

namespace {

std::string describe_key(const KeySpec& spec) {
  if (spec.dev_key) {
    return "dev key anvil" + std::to_string(*spec.dev_key);
  }
  std::string out = "keystore " + spec.keystore->string();
  if (spec.keystore_address) {
    out += " (" + chain::to_checksum_address(*spec.keystore_address) + ")";
  }
  return out;
}

std::string describe_address(const std::optional<chain::Address>& a) {
  return a ? chain::to_checksum_address(*a) : std::string("none");
}

}  // namespace

std::string summarize(const Config& config) {
  std::ostringstream out;
  const auto& c = config.chain;
  out << "chain: " << c.chain_id;
  if (c.anvil) {
    out << " (embedded anvil started by varkeeper run, "
        << (c.anvil_block_time_s == 0 ? std::string("automine")
                                      : std::to_string(c.anvil_block_time_s) + " s blocks")
        << ")\n";
  } else {
    out << ", " << c.rpc.size() << " RPC endpoint" << (c.rpc.size() == 1 ? "" : "s") << ":";
    for (const auto& url : c.rpc) {
      out << ' ' << chain::redacted(url);
    }
    if (c.ws) {
      out << "; ws " << chain::redacted(*c.ws);
    }
    out << '\n';
  }
  out << "keys: " << config.keys.signers.size() << " signer"
      << (config.keys.signers.size() == 1 ? "" : "s") << ":";
  for (std::size_t i = 0; i < config.keys.signers.size(); ++i) {
    out << (i == 0 ? " " : ", ") << describe_key(config.keys.signers[i]);
  }
  out << "; sender " << describe_key(config.keys.sender) << '\n';
  const auto& k = config.contracts;
  out << "contracts: ";
  if (k.deployment && !k.deployment_present) {
    out << "deployment file " << k.deployment->string() << " (not written yet: varkeeper deploy)\n";
  } else if (!k.risk_oracle && c.anvil) {
    out << "deployed by varkeeper run on the embedded chain\n";
  } else {
    out << "risk_oracle " << describe_address(k.risk_oracle) << ", rebalancer "
        << describe_address(k.rebalancer) << ", protection " << describe_address(k.protection);
    if (k.deployment) {
      out << " (from " << k.deployment->string() << ")";
    }
    out << '\n';
  }
  out << "assets:";
  for (std::size_t i = 0; i < config.assets.size(); ++i) {
    const auto& a = config.assets[i];
    out << (i == 0 ? " " : ", ") << a.symbol << " (";
    if (a.sources.empty()) {
      out << "mock feed";
    } else {
      out << a.sources.size() << " source" << (a.sources.size() == 1 ? "" : "s");
    }
    out << (a.history_csv ? ", history CSV" : "") << ")";
  }
  out << '\n';
  out << "portfolios:";
  for (std::size_t i = 0; i < config.portfolios.size(); ++i) {
    const auto& p = config.portfolios[i];
    out << (i == 0 ? " " : ", ") << p.id << " " << p.name << " (" << risk::to_string(p.method)
        << ", " << format_number(p.confidence * 100) << " %, " << p.positions.size() << " position"
        << (p.positions.size() == 1 ? "" : "s") << ")";
  }
  out << '\n';
  out << "store: " << config.keeper.store.string() << "; metrics: http://"
      << (config.keeper.metrics_host.find(':') != std::string::npos
              ? "[" + config.keeper.metrics_host + "]"
              : config.keeper.metrics_host)
      << ":" << config.keeper.metrics_port << "/metrics\n";
  if (config.oprisk) {
    out << "oprisk: " << config.oprisk->categories.size() << " categories\n";
  }
  return out.str();
}

PipelineConfig pipeline_config(const Config& config) {
  PipelineConfig out;
  out.breaker = config.breaker;
  for (const auto& a : config.assets) {
    AssetSpec spec{a.symbol, {}};
    for (const auto& s : a.sources) {
      spec.sources.push_back({s.name, static_cast<std::int64_t>(s.heartbeat_s)});
    }
    out.assets.push_back(std::move(spec));
  }
  for (const auto& p : config.portfolios) {
    out.portfolios.push_back(portfolio_spec(p));
  }
  stamp_methodology(out);
  return out;
}

}  // namespace varkeeper::keeper
