// The keeper's configuration: a TOML file (https://toml.io/en/v1.0.0) read into typed, validated
// structs by the one TOML table reader (keeper/config/toml_table.hpp), with the [[portfolios]] and
// [breaker] schemas scenario files share (portfolio_schema.hpp, breaker_schema.hpp). Every
// problem is a ConfigError whose message is one sentence naming the file, the line, the key path
// and what is wrong, e.g.
//   config.toml:31: portfolios[0].confidence: must be in [0.5, 0.9999], got 1.5
//   config.toml:4: unknown key 'portfoilos' at the top level (did you mean 'portfolios'?)
//   config.toml:12:5: parse error: ...
// Unknown keys are errors everywhere; relative paths resolve against the file's directory.
// docs/config.md documents every key and its default.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "chain/address.hpp"
#include "chain/secret_key.hpp"
#include "chain/url.hpp"
#include "keeper/config/portfolio_schema.hpp"
#include "keeper/core/pipeline.hpp"
#include "risk/breaker_config.hpp"
#include "risk/oprisk.hpp"
#include "risk/risk_method.hpp"

namespace varkeeper::chain {
struct TxManagerOptions;
}

namespace varkeeper::keeper {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class LogFormat { kText, kJson };

// [keeper]
struct KeeperSettings {
  std::uint64_t tick_interval_s = 12;
  // A tick still waiting on the chain this long after it began is abandoned (issue 15, defect 9).
  std::uint64_t tick_deadline_s = 60;
  std::filesystem::path store = "varkeeper.db";  // resolved against the config's directory
  std::string metrics_host = "127.0.0.1";        // from metrics_address "host:port"
  std::uint16_t metrics_port = 9464;
  bool metrics_public = false;  // required for a non-loopback metrics_address
  LogFormat log_format = LogFormat::kText;
  std::string log_level = "info";  // trace, debug, info, warn, error, critical, off
};

// [chain.fees]: the transaction manager's fee policy (chain/tx_manager.hpp), in gwei.
struct FeeSettings {
  double reward_percentile = 50.0;
  std::uint64_t history_blocks = 10;
  double base_fee_multiplier = 2.0;
  double max_fee_gwei = 500.0;
  double min_priority_fee_gwei = 0.001;
  double bump_percent = 20.0;
  double bump_min_gwei = 1.0;
  std::uint64_t bump_after_blocks = 3;
  double gas_limit_multiplier = 1.25;
};

// [chain]
struct ChainSettings {
  std::uint64_t chain_id = 0;
  // true: `varkeeper run` starts its own anvil node (then rpc is empty and chain_id is 31337).
  bool anvil = false;
  std::uint64_t anvil_block_time_s = 1;  // 0 = mine on every transaction
  std::vector<chain::Url> rpc;           // http(s), in failover order
  std::optional<chain::Url> ws;          // ws(s), for new-head notifications
  std::optional<std::filesystem::path> ca_file;
  std::uint64_t request_timeout_ms = 10'000;
  std::uint64_t confirmations = 1;
  // When a transaction is final: "tag" (the node's `finalized` block; `confirmations` deep while
  // the node has none), "depth" (`confirmations` deep), "auto" (tag, but depth on a local dev
  // chain: chain.anvil, chain id 31337 or 1337) (issue 15, defect 7).
  std::string finality = "auto";
  bool agree_reads = false;        // price reads must agree on agree_quorum endpoints
  std::uint64_t agree_quorum = 2;  // how many endpoints (2..rpc count) with agree_reads
  // An endpoint more than this many blocks behind the best head, or whose head has not moved for
  // head_stall_s, is out of sync: tried after every in-sync endpoint (issue 15, defect 4).
  std::uint64_t max_head_lag_blocks = 5;
  std::uint64_t head_stall_s = 60;
  // Transactions with a nonce and no receipt at once (Chainlink's default: 16); more wait their
  // turn unsigned (issue 15, defect 5).
  std::uint64_t max_in_flight = 16;
  FeeSettings fees;
};

// The chain id anvil uses by default; dev keys are for it only.
inline constexpr std::uint64_t kAnvilChainId = 31337;

// One key: a keystore v3 file with its password source, or one of anvil's ten well-known
// development keys (mnemonic "test test ... junk"), for local chains only.
struct KeySpec {
  std::string key_path;  // where it was configured, e.g. "keys.signers[1]", for messages
  std::optional<std::filesystem::path> keystore;
  std::optional<std::filesystem::path> password_file;
  std::optional<std::string> password_env;
  std::optional<unsigned> dev_key;                 // 0..9 for "anvil0".."anvil9"
  std::optional<chain::Address> keystore_address;  // the keystore's "address" field, if any
};

// [keys]
struct KeySettings {
  std::vector<KeySpec> signers;  // sign risk reports (EIP-712)
  KeySpec sender;                // pays gas and sends transactions
  bool allow_dev_keys = false;
};

// [contracts]: explicit addresses, or the deployment file `varkeeper deploy` writes.
struct ContractSettings {
  std::optional<chain::Address> risk_oracle;
  std::optional<chain::Address> rebalancer;
  std::optional<chain::Address> protection;
  std::optional<std::filesystem::path> deployment;  // resolved path
  bool deployment_present = false;                  // the deployment file exists and was read
};

// [[assets.sources]]
struct PriceSourceSettings {
  std::string name;
  chain::Address aggregator{};
  std::uint64_t heartbeat_s = 3600;
};

// [[assets]]
struct AssetSettings {
  std::string symbol;
  std::optional<unsigned> decimals;  // read from the feed when absent
  std::optional<std::filesystem::path> history_csv;
  std::vector<PriceSourceSettings> sources;
};

// [oprisk.categories.NAME.sources]: "internal" may leave aro out (the incident log supplies it).
struct OpriskSourceSettings {
  std::string name;
  std::optional<double> aro;
  double weight = 0.0;
};

// [oprisk.categories.NAME]
struct OpriskCategorySettings {
  std::string name;
  bool builtin = false;
  std::vector<OpriskSourceSettings> sources;
  std::optional<double> sle;                                // single loss expectancy (currency)
  std::optional<risk::oprisk::LognormalSeverity> severity;  // for the Monte Carlo
};

// [oprisk]
struct OpriskSettings {
  double observed_years = 1.0;  // the internal log's observation window
  double prior_years = 1.0;     // the external prior's worth, in years of observation
  std::uint64_t paths = 200'000;
  std::uint64_t seed = 1;
  std::vector<OpriskCategorySettings> categories;  // in file order
};

// [network] (issue 18): this keeper is one of a keeper set that signs each round together
// (keeper/network/round_rule.hpp has the rules; docs/operations.md "Keeper network").
struct NetworkSettings {
  bool enabled = false;
  std::string listen = "127.0.0.1:9470";  // the peer API (host:port; port 0 = a free one)
  bool listen_public = false;             // required for a non-loopback listen address
  std::uint64_t round_blocks = 5;         // a trigger block every round_blocks blocks
  std::uint64_t genesis_block = 0;        // the first trigger is at or after it
  std::uint64_t lag_blocks = 0;           // act on B once the head is at B + lag_blocks
  std::uint64_t quantum_wad = 1'000'000'000'000ULL;  // VaR/CVaR resolution (1e-6)
  std::uint64_t backup_delay_blocks = 2;             // per rank after the transmitter
  std::uint64_t propose_after_blocks = 4;            // no quorum by then: propose()
  std::uint64_t push_timeout_ms = 2'000;             // one push to one peer
  std::uint64_t history_rounds = 2'000;              // walk_back depth at genesis
};

// [[peers]]: another keeper of the set.
struct PeerSettings {
  chain::Url url;           // its peer API, e.g. http://10.0.0.2:9470
  std::string url_text;     // as written (for the peer client)
  chain::Address signer{};  // the signer key it reports with (one of RiskOracle.signers())
};

struct Config {
  std::filesystem::path file;  // as given to load_config
  KeeperSettings keeper;
  ChainSettings chain;
  KeySettings keys;
  ContractSettings contracts;
  std::vector<AssetSettings> assets;
  std::vector<PortfolioSettings> portfolios;
  risk::BreakerConfig breaker;
  std::optional<OpriskSettings> oprisk;
  NetworkSettings network;
  std::vector<PeerSettings> peers;
};

// Reads, parses and validates `file`. Throws ConfigError (one sentence) on any problem. Keystore
// files are parsed but not decrypted; password files must exist and be readable.
[[nodiscard]] Config load_config(const std::filesystem::path& file);

// The same for TOML text; `file` names it in messages and anchors relative paths.
[[nodiscard]] Config parse_config(std::string_view toml_text, const std::filesystem::path& file);

// anvil's development key `index` (0..9).
[[nodiscard]] chain::SecretKey dev_key(unsigned index);

// Decrypts one configured key (passwords from the file or environment variable named in the
// config; never a prompt). ConfigError names the key path and the keystore file, e.g.
// "config.toml: keys.signers[0]: wrong password for keystore file /etc/varkeeper/signer.json".
[[nodiscard]] chain::SecretKey load_key(const Config& config, const KeySpec& spec);

struct LoadedKeys {
  std::vector<chain::SecretKey> signers;
  std::optional<chain::SecretKey> sender;  // always set by load_keys
};
[[nodiscard]] LoadedKeys load_keys(const Config& config);

// [chain] and [chain.fees] as the transaction manager's options (gwei -> wei).
[[nodiscard]] chain::TxManagerOptions tx_manager_options(const ChainSettings& chain);

// A category's SLE for ALE = ARO x SLE: `sle` when given, else the severity's mean.
[[nodiscard]] double single_loss_expectancy(const OpriskCategorySettings& category);

// Short multi-line description for `varkeeper config check`.
[[nodiscard]] std::string summarize(const Config& config);

// The pipeline's configuration built from the keeper's: assets and their sources, portfolios (with
// their methodology hash, keeper/core/methodology.hpp) and the breaker. The one place a
// PortfolioSettings becomes the PortfolioSpec the pipeline runs.
[[nodiscard]] PipelineConfig pipeline_config(const Config& config);

}  // namespace varkeeper::keeper
