#include "keeper/config/config.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "chain/keystore.hpp"
#include "chain/secp256k1.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/io/price_csv.hpp"
#include "keeper/sim/scenario.hpp"
#include "tests/support/test_support.hpp"

using varkeeper::test::TempDir;

namespace fs = std::filesystem;
using namespace varkeeper;
using keeper::ConfigError;

namespace {

const fs::path kSourceDir = VARKEEPER_SOURCE_DIR;
const fs::path kConfigDir = kSourceDir / "config";

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

// The message of the ConfigError that parsing `toml` as "config.toml" throws.
std::string error_of(const std::string& toml) {
  try {
    (void)keeper::parse_config(toml, "config.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

// The message of the ConfigError that loading `file` throws.
std::string load_error(const fs::path& file) {
  try {
    (void)keeper::load_config(file);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

// What keeper/price_csv says about a file, without its final period.
std::string history_csv_message(const fs::path& file) {
  auto r = keeper::read_price_csv(file.string(), keeper::CsvValues::kPrices);
  REQUIRE_FALSE(r.has_value());
  std::string message = r.error().message;
  while (!message.empty() && message.back() == '.') message.pop_back();
  return message;
}

// anvil 1.7.1's start-up listing (mnemonic "test test ... junk", accounts 0..9): the addresses of
// its development keys.
const std::vector<std::string> kAnvilAddresses = {
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9", "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f", "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
};

// geth's very-light scrypt parameters (accounts/keystore testdata): fast keystores for tests.
const chain::KdfParams kTestKdf = chain::ScryptParams{2, 8, 1};

void write_keystore(const fs::path& path, unsigned dev_index, const std::string& password) {
  auto json = chain::encrypt_keystore(keeper::dev_key(dev_index), password, kTestKdf);
  REQUIRE(json);
  write_file(path, *json);
}

// Copies config/mainnet.example.toml into `dir` with the keystores and password file it names
// (anvil keys 3, 4, 5 under made-up passwords), as an operator would lay them out.
void lay_out_mainnet_example(const TempDir& dir) {
  fs::copy_file(kConfigDir / "mainnet.example.toml", dir / "mainnet.toml");
  write_keystore(dir / "keystore/signer-1.json", 3, "first signer password");
  write_file(dir / "keystore/signer-1.password", "first signer password\n");
  write_keystore(dir / "keystore/signer-2.json", 4, "second signer password");
  write_keystore(dir / "keystore/sender.json", 5, "sender password");
}

// A small valid configuration on the embedded chain, assembled from parts a case may replace.
struct Parts {
  std::string keeper{};
  std::string chain = "[chain]\nanvil = true\nchain_id = 31337\n";
  std::string keys =
      "[keys]\nsigners = [{ dev_key = \"anvil1\" }]\nsender = { dev_key = \"anvil0\" }\n";
  std::string contracts{};
  std::string assets = "[[assets]]\nsymbol = \"ETH\"\n\n[[assets]]\nsymbol = \"BTC\"\n";
  std::string portfolios = "[[portfolios]]\nid = 1\npositions = { ETH = 1.5 }\n";
  std::string extra{};
};

std::string text(const Parts& p) {
  return p.keeper + "\n" + p.chain + "\n" + p.keys + "\n" + p.contracts + "\n" + p.assets + "\n" +
         p.portfolios + "\n" + p.extra;
}

// A chain reached over RPC; it then needs contracts and price sources.
const std::string kRemoteChain = "[chain]\nchain_id = 1\nrpc = [\"https://node.example/v1/KEY\"]\n";
const std::string kRemoteContracts =
    "[contracts]\nrisk_oracle = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\n";
const std::string kRemoteAssets =
    "[[assets]]\nsymbol = \"ETH\"\n[[assets.sources]]\nname = \"chainlink\"\n"
    "aggregator = \"0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419\"\n";
const std::string kKeystoreKeys =
    "[keys]\nsigners = [{ keystore = \"/nonexistent/varkeeper/signer.json\", password_env = \"PW\" "
    "}]\nsender = { dev_key = \"anvil0\" }\n";

}  // namespace

TEST_CASE("config/local.toml loads: embedded anvil, dev keys, bundled histories, two portfolios") {
  const auto config = keeper::load_config(kConfigDir / "local.toml");
  CHECK(config.chain.anvil);
  CHECK(config.chain.chain_id == 31337);
  CHECK(config.chain.rpc.empty());
  REQUIRE(config.assets.size() == 2);
  CHECK(config.assets[0].symbol == "ETH");
  CHECK(config.assets[0].history_csv == kConfigDir / "data/eth_usd_daily.csv");
  REQUIRE(config.portfolios.size() == 2);
  CHECK(config.portfolios[0].method == risk::RiskMethod::kFilteredHistorical);
  CHECK(config.portfolios[1].method == risk::RiskMethod::kMcT);
  CHECK(config.keeper.store == kConfigDir / "varkeeper-local.db");
  const auto keys = keeper::load_keys(config);
  REQUIRE(keys.signers.size() == 2);
  CHECK(chain::to_checksum_address(chain::address_of(keys.signers[0])) == kAnvilAddresses[1]);
  CHECK(chain::to_checksum_address(chain::address_of(*keys.sender)) == kAnvilAddresses[0]);
}

TEST_CASE("config/mainnet.example.toml loads once its keystores exist, with the Chainlink feeds") {
  TempDir dir("mainnet");
  lay_out_mainnet_example(dir);
  const auto config = keeper::load_config(dir / "mainnet.toml");
  CHECK(config.chain.chain_id == 1);
  REQUIRE(config.chain.rpc.size() == 2);
  CHECK(config.chain.ws.has_value());
  CHECK(config.chain.agree_reads);
  REQUIRE(config.assets.size() == 2);
  // EIP-55 checksummed text as Chainlink publishes it: parse_address checked the checksum.
  CHECK(chain::to_checksum_address(config.assets[0].sources.at(0).aggregator) ==
        "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419");
  CHECK(chain::to_checksum_address(config.assets[1].sources.at(0).aggregator) ==
        "0xF4030086522a5bEEa4988F8cA5B36dbC97BeE88c");
  CHECK_FALSE(config.assets[0].decimals.has_value());
  CHECK(config.contracts.deployment == dir / "deployment.json");
  CHECK_FALSE(config.contracts.deployment_present);
  CHECK(config.keys.signers.at(0).keystore == dir / "keystore/signer-1.json");
  CHECK(config.keys.signers.at(1).password_env == "VARKEEPER_SIGNER2_PASSWORD");
}

TEST_CASE("config/mainnet.example.toml in place names the keystore file it lacks") {
  const fs::path file = kConfigDir / "mainnet.example.toml";
  CHECK(load_error(file) == file.string() + ":36: keys.signers[0].keystore: keystore file " +
                                (kConfigDir / "keystore/signer-1.json").string() +
                                " does not exist");
}

TEST_CASE("config/oprisk.example.toml loads and reproduces the worked hybrid ARO example") {
  const auto config = keeper::load_config(kConfigDir / "oprisk.example.toml");
  REQUIRE(config.oprisk.has_value());
  const auto& cats = config.oprisk->categories;
  REQUIRE(cats.size() == 7);
  auto hybrid = [&](std::size_t i) {
    std::vector<risk::oprisk::AroSource> sources;
    for (const auto& s : cats[i].sources)
      sources.push_back({s.name, s.aro.value_or(0.0), s.weight});
    return risk::oprisk::hybrid_aro(sources).total;
  };
  // Issue 9: 0.5/1.2/1.5/0.8 with weights 0.50/0.30/0.15/0.05 -> 0.875; 0.0/0.1/0.2/0.05 -> 0.0625.
  CHECK(cats[0].name == "oracle_manipulation");
  CHECK(cats[0].builtin);
  CHECK(hybrid(0) == doctest::Approx(0.875).epsilon(1e-15));
  CHECK(cats[1].name == "denial_of_service");
  CHECK(hybrid(1) == doctest::Approx(0.0625).epsilon(1e-15));
  // mean 250000, cv 2: the lognormal's mean is the configured one.
  REQUIRE(cats[0].severity.has_value());
  CHECK(cats[0].severity->mean() == doctest::Approx(250000.0).epsilon(1e-12));
  CHECK(keeper::single_loss_expectancy(cats[0]) == 250000.0);  // sle given
  // No sle: the lognormal mean exp(mu + sigma^2 / 2) = exp(13 + 1.125).
  CHECK(keeper::single_loss_expectancy(cats[2]) ==
        doctest::Approx(std::exp(14.125)).epsilon(1e-12));
  CHECK(cats[2].severity->mu == 13.0);
  CHECK(cats[2].severity->sigma == 1.5);
  CHECK_FALSE(cats[4].sources[0].aro.has_value());  // stale_feed: internal ARO from the log
  CHECK(cats[6].name == "rpc_provider_outage");
  CHECK_FALSE(cats[6].builtin);
  CHECK(config.oprisk->observed_years == 0.5);
  CHECK(config.oprisk->prior_years == 2.0);
}

TEST_CASE("the base configuration of the misconfiguration table is itself valid") {
  CHECK(error_of(text({})) == "(no error)");
}

TEST_CASE("every misconfiguration is one sentence naming the file, the key and the problem") {
  struct Case {
    std::string what;
    std::string toml;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"unknown top-level key, with a suggestion", text({.extra = "[[portfoilos]]\nid = 2\n"}),
       "config.toml:21: unknown key 'portfoilos' at the top level (did you mean 'portfolios'?)"},
      {"unknown key with a control character, escaped to keep one line",
       text({.keeper = "\"a\\nb\" = 1\n"}),
       "config.toml:1: unknown key 'a\\x0ab' at the top level"},
      {"unknown nested key, with a suggestion", text({.keeper = "[keeper]\ntick_intervl_s = 5\n"}),
       "config.toml:2: unknown key 'tick_intervl_s' in keeper (did you mean 'tick_interval_s'?)"},
      {"unknown key in an array of tables, nothing close",
       text({.portfolios = "[[portfolios]]\nid = 1\npositions = { ETH = 1 }\nleverage = 3\n"}),
       "config.toml:20: unknown key 'leverage' in portfolios[0]"},
      {"string where an integer belongs", text({.keeper = "[keeper]\ntick_interval_s = \"12\"\n"}),
       "config.toml:2: keeper.tick_interval_s: must be an integer, got a string (\"12\")"},
      {"float where an integer belongs", text({.keeper = "[keeper]\ntick_interval_s = 1.5\n"}),
       "config.toml:2: keeper.tick_interval_s: must be an integer, got a float (1.5)"},
      {"integer where a boolean belongs", text({.chain = "[chain]\nanvil = 1\nchain_id = 31337\n"}),
       "config.toml:3: chain.anvil: must be true or false, got an integer (1)"},
      {"string where a number belongs",
       text({.portfolios =
                 "[[portfolios]]\nid = 1\npositions = { ETH = 1 }\nconfidence = \"high\"\n"}),
       "config.toml:20: portfolios[0].confidence: must be a number, got a string (\"high\")"},
      {"a table where an array of tables belongs", text({.assets = "[assets]\nsymbol = \"ETH\"\n"}),
       "config.toml:11: assets: must be an array, got a table"},
      {"confidence out of range",
       text({.portfolios = "[[portfolios]]\nid = 1\npositions = { ETH = 1 }\nconfidence = 1.5\n"}),
       "config.toml:20: portfolios[0].confidence: must be in [0.5, 0.9999], got 1.5"},
      {"tick interval zero", text({.keeper = "[keeper]\ntick_interval_s = 0\n"}),
       "config.toml:2: keeper.tick_interval_s: must be in [1, 86400], got 0"},
      {"negative id", text({.portfolios = "[[portfolios]]\nid = -1\npositions = { ETH = 1 }\n"}),
       "config.toml:18: portfolios[0].id: must be >= 0, got -1"},
      {"fee bump below geth's 10 % replacement rule",
       text({.chain = "[chain]\nanvil = true\nchain_id = 31337\n[chain.fees]\nbump_percent = 5\n"}),
       "config.toml:6: chain.fees.bump_percent: must be in [10, 1000], got 5"},
      {"NaN",
       text({.portfolios = "[[portfolios]]\nid = 1\npositions = { ETH = 1 }\newma_lambda = nan\n"}),
       "config.toml:20: portfolios[0].ewma_lambda: must be a finite number, got nan"},
      {"duplicate portfolio id",
       text({.portfolios = "[[portfolios]]\nid = 7\npositions = { ETH = 1 }\n"
                           "[[portfolios]]\nid = 7\npositions = { BTC = 1 }\n"}),
       "config.toml:21: portfolios[1].id: 7 is already used by portfolios[0]"},
      {"position on an undeclared asset",
       text({.portfolios = "[[portfolios]]\nid = 1\npositions = { ETH = 1, DOGE = 1000 }\n"}),
       "config.toml:19: portfolios[0].positions.DOGE: no asset \"DOGE\" is declared in [[assets]]"},
      {"zero position", text({.portfolios = "[[portfolios]]\nid = 1\npositions = { ETH = 0 }\n"}),
       "config.toml:19: portfolios[0].positions.ETH: must be a finite, non-zero quantity, got 0"},
      {"unknown risk method",
       text(
           {.portfolios = "[[portfolios]]\nid = 1\npositions = { ETH = 1 }\nmethod = \"garch\"\n"}),
       "config.toml:20: portfolios[0].method: unknown risk method \"garch\" (one of "
       "parametric-normal, "
       "parametric-t, cornish-fisher, historical, historical-age, filtered-historical, mc-normal, "
       "mc-t, mc-jump, evt)"},
      {"unknown mean",
       text({.portfolios = "[[portfolios]]\nid = 1\npositions = { ETH = 1 }\nmean = \"drift\"\n"}),
       "config.toml:20: portfolios[0].mean: must be \"zero\" or \"sample\", got \"drift\""},
      {"missing required section", "[chain]\nanvil = true\n", "config.toml: keys: is required"},
      {"missing portfolio id", text({.portfolios = "[[portfolios]]\npositions = { ETH = 1 }\n"}),
       "config.toml:17: portfolios[0].id: is required"},
      {"duplicate asset symbol",
       text({.assets = "[[assets]]\nsymbol = \"ETH\"\n[[assets]]\nsymbol = \"ETH\"\n"}),
       "config.toml:14: assets[1].symbol: \"ETH\" is already declared by assets[0]"},
      {"bad EIP-55 checksum on an aggregator",
       text({.assets = "[[assets]]\nsymbol = \"ETH\"\n[[assets.sources]]\nname = \"chainlink\"\n"
                       "aggregator = \"0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8418\"\n"}),
       "config.toml:15: assets[0].sources[0].aggregator: "
       "'0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8418' "
       "is not a valid address (address has mixed case that is not its EIP-55 checksum)"},
      {"bad EIP-55 checksum on a contract",
       text({.contracts =
                 "[contracts]\nrisk_oracle = \"0x5fbDB2315678afecb367f032d93F642f64180aa3\"\n"}),
       "config.toml:11: contracts.risk_oracle: '0x5fbDB2315678afecb367f032d93F642f64180aa3' is not "
       "a "
       "valid address (address has mixed case that is not its EIP-55 checksum)"},
      {"short address",
       text({.contracts =
                 "[contracts]\nrisk_oracle = \"0x5FbDB2315678afecb367f032d93F642f64180a\"\n"}),
       "config.toml:11: contracts.risk_oracle: '0x5FbDB2315678afecb367f032d93F642f64180a' is not a "
       "valid address (address is not 20 bytes (40 hex digits))"},
      {"bad URL scheme",
       text({.chain = "[chain]\nchain_id = 5\nrpc = [\"https://a.example\", \"ftp://b.example\"]\n",
             .contracts = kRemoteContracts,
             .assets = kRemoteAssets}),
       "config.toml:4: chain.rpc[1]: not a valid URL (URL scheme must be http, https, ws or wss)"},
      {"URL with credentials",
       text({.chain = "[chain]\nchain_id = 5\nrpc = [\"https://user:secret@a.example\"]\n",
             .contracts = kRemoteContracts,
             .assets = kRemoteAssets}),
       "config.toml:4: chain.rpc[0]: not a valid URL (URL must not embed user:password@)"},
      {"websocket URL as an RPC endpoint",
       text({.chain = "[chain]\nchain_id = 5\nrpc = [\"wss://a.example\"]\n",
             .contracts = kRemoteContracts,
             .assets = kRemoteAssets}),
       "config.toml:4: chain.rpc[0]: must be an http:// or https:// URL"},
      {"no RPC endpoint without the embedded chain", "[chain]\nchain_id = 5\n",
       "config.toml:1: chain.rpc: is required"},
      {"agree_reads with a single endpoint",
       text({.chain = kRemoteChain + "agree_reads = true\n", .keys = kKeystoreKeys}),
       "config.toml:5: chain.agree_reads: needs at least two chain.rpc endpoints to compare"},
      {"dev key on chain 1", text({.chain = kRemoteChain}),
       "config.toml:7: keys.signers[0].dev_key: anvil's publicly known development keys are "
       "refused "
       "on chain 1 (Ethereum mainnet)"},
      {"dev key on chain 1 even with allow_dev_keys",
       text({.chain = kRemoteChain,
             .keys = "[keys]\nallow_dev_keys = true\nsigners = [{ dev_key = \"anvil1\" }]\n"
                     "sender = { dev_key = \"anvil0\" }\n"}),
       "config.toml:8: keys.signers[0].dev_key: anvil's publicly known development keys are "
       "refused "
       "on chain 1 (Ethereum mainnet)"},
      {"dev key on another chain without allow_dev_keys",
       text({.chain = "[chain]\nchain_id = 11155111\nrpc = [\"https://a.example\"]\n"}),
       "config.toml:7: keys.signers[0].dev_key: development keys are for the local chain 31337 "
       "only, "
       "not chain 11155111 (set keys.allow_dev_keys = true to use one anyway)"},
      {"unknown dev key",
       text({.keys = "[keys]\nsigners = [{ dev_key = \"anvil10\" }]\nsender = { dev_key = "
                     "\"anvil0\" }\n"}),
       "config.toml:7: keys.signers[0].dev_key: must be one of anvil0 ... anvil9, got \"anvil10\""},
      {"the same signer twice",
       text({.keys = "[keys]\nsigners = [{ dev_key = \"anvil1\" }, { dev_key = \"anvil1\" }]\n"
                     "sender = { dev_key = \"anvil0\" }\n"}),
       "config.toml:7: keys.signers[1]: is the same key as keys.signers[0]"},
      {"missing keystore file", text({.keys = kKeystoreKeys}),
       "config.toml:7: keys.signers[0].keystore: keystore file /nonexistent/varkeeper/signer.json "
       "does "
       "not exist"},
      {"keystore and dev key together",
       text({.keys = "[keys]\nsigners = [{ dev_key = \"anvil1\", keystore = \"k.json\" }]\n"
                     "sender = { dev_key = \"anvil0\" }\n"}),
       "config.toml:7: keys.signers[0]: needs exactly one of keystore (a keystore v3 file) or "
       "dev_key "
       "(anvil0 ... anvil9)"},
      {"no sender", text({.keys = "[keys]\nsigners = [{ dev_key = \"anvil1\" }]\n"}),
       "config.toml:6: keys.sender: is required"},
      {"non-loopback metrics without metrics_public",
       text({.keeper = "[keeper]\nmetrics_address = \"0.0.0.0:9464\"\n"}),
       "config.toml:2: keeper.metrics_address: 0.0.0.0 is not a loopback address; set "
       "keeper.metrics_public = true to serve metrics beyond this machine"},
      {"metrics address without a port",
       text({.keeper = "[keeper]\nmetrics_address = \"127.0.0.1\"\n"}),
       "config.toml:2: keeper.metrics_address: '127.0.0.1' is not host:port"},
      {"bad log format", text({.keeper = "[keeper]\nlog_format = \"xml\"\n"}),
       "config.toml:2: keeper.log_format: must be \"text\" or \"json\", got \"xml\""},
      {"RPC chain without contracts",
       text({.chain = "[chain]\nchain_id = 5\nrpc = [\"https://a.example\"]\n",
             .keys = "[keys]\nallow_dev_keys = true\nsigners = [{ dev_key = \"anvil1\" }]\n"
                     "sender = { dev_key = \"anvil0\" }\n"}),
       "config.toml: contracts: is required unless chain.anvil = true (give risk_oracle or a "
       "deployment file)"},
      {"price source missing on an RPC chain",
       text({.chain = "[chain]\nchain_id = 31337\nrpc = [\"http://127.0.0.1:8545\"]\n",
             .contracts = kRemoteContracts}),
       "config.toml:13: assets[0].sources: must list at least one price source (mock feeds exist "
       "only "
       "with chain.anvil = true)"},
      {"missing history file",
       text({.assets = "[[assets]]\nsymbol = \"ETH\"\nhistory_csv = \"/nonexistent/eth.csv\"\n"}),
       "config.toml:13: assets[0].history_csv: history file /nonexistent/eth.csv does not exist"},
      {"history file that is not a price CSV",
       text({.assets = "[[assets]]\nsymbol = \"ETH\"\nhistory_csv = \"" +
                       (kConfigDir / "local.toml").string() + "\"\n"}),
       "config.toml:13: assets[0].history_csv: " + history_csv_message(kConfigDir / "local.toml")},
      {"breaker parameters refused by risk::validate",
       text({.extra = "[breaker.breaker]\nvar_jump_factor = 0.5\n"}),
       "config.toml:22: breaker.breaker.var_jump_factor: must be > 1, got 0.5"},
      {"hysteresis band upside down",
       text({.extra = "[breaker.actions.rebalance]\nupper = 0.05\nlower = 0.10\n"}),
       "config.toml:23: breaker.actions.rebalance.lower: must be >= 0 and <= "
       "breaker.actions.rebalance.upper, got 0.1"},
      {"unknown trip policy", text({.extra = "[breaker.breaker]\npolicy = \"panic\"\n"}),
       "config.toml:22: breaker.breaker.policy: must be \"freeze\", \"conservative\" or "
       "\"pass-through\", got \"panic\""},
      {"oprisk weights all zero",
       text({.extra = "[oprisk.categories.stale_feed]\nsources = [{ name = \"industry\", aro = 1, "
                      "weight = 0 }]\nsle = 1\n"}),
       "config.toml:22: oprisk.categories.stale_feed.sources: needs at least one source with a "
       "weight "
       "> 0"},
      {"oprisk external source without an ARO",
       text({.extra =
                 "[oprisk.categories.stale_feed]\nsources = [{ name = \"industry\", weight = 1 }]\n"
                 "sle = 1\n"}),
       "config.toml:22: oprisk.categories.stale_feed.sources[0].aro: is required"},
      {"oprisk severity with both parameterisations",
       text({.extra =
                 "[oprisk.categories.stale_feed]\nsources = [{ name = \"expert\", aro = 1, weight "
                 "= 1 }]\nseverity = { mean = 10, mu = 1 }\n"}),
       "config.toml:23: oprisk.categories.stale_feed.severity: needs either mean and cv, or mu and "
       "sigma "
       "(of ln X)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    CHECK(error_of(c.toml) == c.expected);
  }
}

TEST_CASE("TOML syntax errors carry toml++'s line and column") {
  const std::string bad = "[keeper]\ntick_interval_s = = 5\n";
  const std::string message = error_of(bad);
  CHECK(message.rfind("config.toml:2:", 0) == 0);
  CHECK(message.find(": parse error: ") != std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
  // A key defined twice is a TOML error (toml.io v1.0.0: "Defining a key multiple times is
  // invalid").
  const std::string twice = error_of("[keeper]\ntick_interval_s = 5\ntick_interval_s = 6\n");
  CHECK(twice.rfind("config.toml:3:", 0) == 0);
}

TEST_CASE("a missing or unreadable config file is one sentence naming it") {
  CHECK(load_error("/nonexistent/varkeeper/config.toml") ==
        "/nonexistent/varkeeper/config.toml: config file does not exist");
  TempDir dir("dir");
  CHECK(load_error(dir.path()) == dir.path().string() + ": config file is not a regular file");
}

TEST_CASE("relative paths resolve against the config file's directory") {
  TempDir dir("relative");
  write_file(dir / "data/h.csv", "date,close\n2024-01-01,1\n");
  Parts parts;
  parts.keeper = "[keeper]\nstore = \"state/keeper.db\"\n";
  parts.assets = "[[assets]]\nsymbol = \"ETH\"\nhistory_csv = \"data/h.csv\"\n";
  write_file(dir / "config.toml", text(parts));
  const auto config = keeper::load_config(dir / "config.toml");
  CHECK(config.keeper.store == dir / "state/keeper.db");
  CHECK(config.assets.at(0).history_csv == dir / "data/h.csv");
}

TEST_CASE("defaults apply to keys left out") {
  const auto config = keeper::parse_config(text({}), "config.toml");
  CHECK(config.keeper.tick_interval_s == 12);
  CHECK(config.keeper.metrics_host == "127.0.0.1");
  CHECK(config.keeper.metrics_port == 9464);
  CHECK(config.keeper.store == fs::path("varkeeper.db"));
  const auto& p = config.portfolios.at(0);
  CHECK(p.name == "portfolio-1");
  CHECK(p.confidence == 0.99);
  CHECK(p.publish.deviation == 0.05);
  CHECK(p.publish.heartbeat_s == 3600);
  CHECK(p.positions.at("ETH") == 1.5);
  const risk::BreakerConfig defaults;
  CHECK(config.breaker.breaker.var_jump_factor == defaults.breaker.var_jump_factor);
  CHECK_FALSE(config.oprisk.has_value());
}

TEST_CASE("metrics on a public address need metrics_public; IPv6 loopback is loopback") {
  auto public_ok = keeper::parse_config(
      text({.keeper = "[keeper]\nmetrics_address = \"0.0.0.0:9100\"\nmetrics_public = true\n"}),
      "config.toml");
  CHECK(public_ok.keeper.metrics_host == "0.0.0.0");
  CHECK(public_ok.keeper.metrics_port == 9100);
  auto v6 = keeper::parse_config(text({.keeper = "[keeper]\nmetrics_address = \"[::1]:9464\"\n"}),
                                 "config.toml");
  CHECK(v6.keeper.metrics_host == "::1");
}

TEST_CASE("dev keys are accepted off chain 31337 only with allow_dev_keys") {
  const auto config = keeper::parse_config(
      text({.chain = "[chain]\nchain_id = 11155111\nrpc = [\"https://a.example\"]\n",
            .keys = "[keys]\nallow_dev_keys = true\nsigners = [{ dev_key = \"anvil1\" }]\n"
                    "sender = { dev_key = \"anvil0\" }\n",
            .contracts = kRemoteContracts,
            .assets = kRemoteAssets,
            .portfolios = "[[portfolios]]\nid = 1\npositions = { ETH = 1 }\n"}),
      "config.toml");
  CHECK(config.keys.signers.at(0).dev_key == 1u);
}

TEST_CASE("dev keys anvil0..anvil9 are anvil's accounts 0..9") {
  for (unsigned i = 0; i < 10; ++i) {
    CAPTURE(i);
    CHECK(chain::to_checksum_address(chain::address_of(keeper::dev_key(i))) == kAnvilAddresses[i]);
  }
}

TEST_CASE("[chain.fees] maps onto the transaction manager's options in wei") {
  const auto config = keeper::parse_config(
      text({.chain = "[chain]\nanvil = true\nchain_id = 31337\nconfirmations = 4\n[chain.fees]\n"
                     "max_fee_gwei = 150\nmin_priority_fee_gwei = 0.05\nbump_min_gwei = 2\n"
                     "bump_percent = 12.5\nbump_after_blocks = 6\nreward_percentile = 60\n"}),
      "config.toml");
  const chain::TxManagerOptions o = keeper::tx_manager_options(config.chain);
  CHECK(o.fees.max_fee_cap == chain::U256(150'000'000'000ULL));  // 150 x 10^9 wei
  CHECK(o.fees.min_priority_fee == chain::U256(50'000'000ULL));  // 0.05 x 10^9 wei
  CHECK(o.bump_min == chain::U256(2'000'000'000ULL));
  CHECK(o.bump_percent == 12.5);
  CHECK(o.bump_after_blocks == 6);
  CHECK(o.confirmations == 4);
  CHECK(o.fees.reward_percentile == 60.0);
  const chain::TxManagerOptions defaults;
  CHECK(o.gas_limit_multiplier == defaults.gas_limit_multiplier);
  CHECK(o.fees.history_blocks == defaults.fees.history_blocks);
}

TEST_CASE("a deployment file supplies the contract addresses and must match the chain") {
  TempDir dir("deployment");
  Parts parts;
  parts.contracts = "[contracts]\ndeployment = \"deployment.json\"\n";
  write_file(dir / "config.toml", text(parts));
  // Not written yet: accepted (varkeeper deploy writes it).
  CHECK_FALSE(keeper::load_config(dir / "config.toml").contracts.deployment_present);
  write_file(dir / "deployment.json",
             R"({"chain_id": 31337, "contracts": {)"
             R"("RiskOracle": {"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3"},)"
             R"("RiskRebalancer": {"address": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"}}})");
  const auto config = keeper::load_config(dir / "config.toml");
  CHECK(config.contracts.deployment_present);
  CHECK(chain::to_checksum_address(*config.contracts.risk_oracle) ==
        "0x5FbDB2315678afecb367f032d93F642f64180aa3");
  CHECK(chain::to_checksum_address(*config.contracts.rebalancer) ==
        "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
  CHECK_FALSE(config.contracts.protection.has_value());
  write_file(
      dir / "deployment.json",
      R"({"chain_id": 1, "contracts": {"RiskOracle": {"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3"}}})");
  CHECK(load_error(dir / "config.toml") ==
        (dir / "config.toml").string() + ":11: contracts.deployment: deployment file " +
            (dir / "deployment.json").string() + " is for chain 1, not chain 31337");
}

TEST_CASE("load_keys decrypts every keystore and names the keystore on a wrong password") {
  TempDir dir("keys");
  lay_out_mainnet_example(dir);
  ::setenv("VARKEEPER_SIGNER2_PASSWORD", "second signer password", 1);
  ::setenv("VARKEEPER_SENDER_PASSWORD", "sender password", 1);
  const auto config = keeper::load_config(dir / "mainnet.toml");
  const auto keys = keeper::load_keys(config);
  REQUIRE(keys.signers.size() == 2);
  CHECK(chain::to_checksum_address(chain::address_of(keys.signers[0])) == kAnvilAddresses[3]);
  CHECK(chain::to_checksum_address(chain::address_of(keys.signers[1])) == kAnvilAddresses[4]);
  CHECK(chain::to_checksum_address(chain::address_of(*keys.sender)) == kAnvilAddresses[5]);

  const std::string prefix = (dir / "mainnet.toml").string() + ": ";
  auto keys_error = [&] {
    try {
      (void)keeper::load_keys(config);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  ::setenv("VARKEEPER_SIGNER2_PASSWORD", "not the password", 1);
  CHECK(keys_error() == prefix + "keys.signers[1]: wrong password for keystore file " +
                            (dir / "keystore/signer-2.json").string());
  ::unsetenv("VARKEEPER_SIGNER2_PASSWORD");
  CHECK(keys_error() == prefix +
                            "keys.signers[1]: environment variable VARKEEPER_SIGNER2_PASSWORD (the "
                            "password for keystore file " +
                            (dir / "keystore/signer-2.json").string() + ") is not set");
  ::unsetenv("VARKEEPER_SENDER_PASSWORD");
  write_file(dir / "keystore/signer-1.password", "wrong\n");
  CHECK(keys_error() == prefix + "keys.signers[0]: wrong password for keystore file " +
                            (dir / "keystore/signer-1.json").string());
}

TEST_CASE("a keystore that is not a keystore is refused at load, before any password") {
  TempDir dir("badkeystore");
  write_file(dir / "k.json", "{\"version\": 3}");
  write_file(dir / "pw", "x\n");
  Parts parts;
  parts.keys =
      "[keys]\nsigners = [{ keystore = \"k.json\", password_file = \"pw\" }]\n"
      "sender = { dev_key = \"anvil0\" }\n";
  write_file(dir / "config.toml", text(parts));
  try {
    (void)keeper::load_config(dir / "config.toml");
    FAIL("no error");
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    CHECK(message.rfind((dir / "config.toml").string() +
                            ":7: keys.signers[0].keystore: keystore file " +
                            (dir / "k.json").string(),
                        0) == 0);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("a history CSV must parse and hold the asset's column") {
  TempDir dir("history");
  write_file(dir / "wide.csv", "date,BTC,SOL\n2024-01-01,42000,100\n2024-01-02,42100,101\n");
  write_file(dir / "both.csv", "date,BTC,ETH\n2024-01-01,42000,2300\n2024-01-02,42100,2310\n");
  Parts parts;
  parts.assets = "[[assets]]\nsymbol = \"ETH\"\nhistory_csv = \"wide.csv\"\n";
  write_file(dir / "config.toml", text(parts));
  CHECK(load_error(dir / "config.toml") ==
        (dir / "config.toml").string() + ":13: assets[0].history_csv: history file " +
            (dir / "wide.csv").string() +
            " has no column ETH (expected date,close or a column named ETH)");
  parts.assets = "[[assets]]\nsymbol = \"ETH\"\nhistory_csv = \"both.csv\"\n";
  write_file(dir / "config.toml", text(parts));
  CHECK(load_error(dir / "config.toml") == "(no error)");
}

namespace {

// The [breaker] block of a config file, verbatim: from the `[breaker]` line up to the next table
// that is not one of its sub-tables.
std::string breaker_block(const fs::path& file) {
  std::ifstream in(file);
  std::string line, block;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.front() == '[') inside = line.rfind("[breaker", 0) == 0;
    if (inside) block += line + "\n";
  }
  return block;
}

void check_same_breaker(const risk::BreakerConfig& a, const risk::BreakerConfig& b) {
  CHECK(a.enabled == b.enabled);
  CHECK(a.checks.heartbeat_grace_s == b.checks.heartbeat_grace_s);
  CHECK(a.checks.max_future_skew_s == b.checks.max_future_skew_s);
  CHECK(a.checks.max_step_move == b.checks.max_step_move);
  CHECK(a.checks.step_confirm_s == b.checks.step_confirm_s);
  CHECK(a.checks.mad_k == b.checks.mad_k);
  CHECK(a.checks.max_disagreement == b.checks.max_disagreement);
  CHECK(a.breaker.var_jump_factor == b.breaker.var_jump_factor);
  CHECK(a.breaker.var_jump_min_abs == b.breaker.var_jump_min_abs);
  CHECK(a.breaker.clear_s == b.breaker.clear_s);
  CHECK(a.breaker.cooldown_s == b.breaker.cooldown_s);
  CHECK(a.breaker.policy == b.breaker.policy);
  CHECK(a.smoothing.ema_half_life_s == b.smoothing.ema_half_life_s);
  CHECK(a.smoothing.max_rise_per_update == b.smoothing.max_rise_per_update);
  CHECK(a.smoothing.max_fall_per_update == b.smoothing.max_fall_per_update);
  CHECK(a.smoothing.max_rise_per_hour == b.smoothing.max_rise_per_hour);
  CHECK(a.smoothing.max_fall_per_hour == b.smoothing.max_fall_per_hour);
  CHECK(a.smoothing.var_floor == b.smoothing.var_floor);
  CHECK(a.smoothing.enabled == b.smoothing.enabled);
  for (auto [x, y] : {std::pair{a.actions.rebalance, b.actions.rebalance},
                      std::pair{a.actions.payout, b.actions.payout}}) {
    CHECK(x.upper == y.upper);
    CHECK(x.lower == y.lower);
    CHECK(x.min_dwell_s == y.min_dwell_s);
  }
}

// The scenario a [breaker] block pasted under one synthetic asset makes.
keeper::ScenarioSpec scenario_with(const std::string& block) {
  return keeper::parse_scenario("[[assets]]\nsymbol = \"ETH\"\n\n" + block, "pasted.toml");
}

}  // namespace

TEST_CASE("the [breaker] block of config/local.toml works unchanged in a scenario") {
  const auto config = keeper::load_config(kConfigDir / "local.toml");
  // The block sets values the defaults do not have, so equal configs mean both files read it.
  REQUIRE(config.breaker.actions.rebalance.min_dwell_s == 0);
  const std::string block = breaker_block(kConfigDir / "local.toml");
  REQUIRE(block.find("[breaker.actions.rebalance]") != std::string::npos);
  check_same_breaker(scenario_with(block).breaker, config.breaker);
}

TEST_CASE("the [breaker] block of config/mainnet.example.toml works unchanged in a scenario") {
  TempDir dir("mainnet-breaker");
  lay_out_mainnet_example(dir);
  const auto config = keeper::load_config(dir / "mainnet.toml");
  const std::string block = breaker_block(kConfigDir / "mainnet.example.toml");
  REQUIRE(block.find("[breaker.breaker]") != std::string::npos);
  check_same_breaker(scenario_with(block).breaker, config.breaker);
}

TEST_CASE("chain.finality: the finalized tag by default off dev chains, depth on them, or as set") {
  const auto remote = [](const std::string& extra) {
    return keeper::parse_config(
        text({.chain = "[chain]\nchain_id = 11155111\nrpc = [\"https://a.example\"]\n" + extra,
              .keys = "[keys]\nallow_dev_keys = true\nsigners = [{ dev_key = \"anvil1\" }]\n"
                      "sender = { dev_key = \"anvil0\" }\n",
              .contracts = kRemoteContracts,
              .assets = kRemoteAssets,
              .portfolios = "[[portfolios]]\nid = 1\npositions = { ETH = 1 }\n"}),
        "config.toml");
  };
  const auto finality = [](const keeper::Config& c) {
    return keeper::tx_manager_options(c.chain).finality;
  };
  CHECK(finality(remote("")) == chain::Finality::kTag);
  CHECK(finality(remote("finality = \"depth\"\nconfirmations = 12\n")) == chain::Finality::kDepth);
  CHECK(keeper::tx_manager_options(remote("confirmations = 12\n").chain).confirmations == 12);
  const auto local = keeper::parse_config(text({}), "config.toml");
  CHECK(finality(local) == chain::Finality::kDepth);  // anvil: its finalized block lags 64
  CHECK(finality(keeper::parse_config(text({.chain = "[chain]\nanvil = true\nchain_id = "
                                                     "31337\nfinality = \"tag\"\n"}),
                                      "config.toml")) == chain::Finality::kTag);
  CHECK_THROWS_WITH_AS(remote("finality = \"safe\"\n"),
                       doctest::Contains("chain.finality: must be \"auto\", \"tag\" or \"depth\""),
                       keeper::ConfigError);
}

TEST_CASE("method = \"evt\" selects the extreme-value method (issue 17)") {
  const auto config = keeper::parse_config(
      text({.portfolios = "[[portfolios]]\nid = 1\npositions = { ETH = 1 }\nmethod = \"evt\"\n"}),
      "config.toml");
  CHECK(config.portfolios.at(0).method == risk::RiskMethod::kEvt);
}
