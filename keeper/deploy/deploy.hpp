// Deploying the bundled contracts (docs/contracts.md) to a chain through the TxManager, and the
// deployment file that records them. Used by `varkeeper deploy` and by the embedded local chain
// of `varkeeper run`.
//
// What is deployed, in dependency order:
//   RiskOracle(owner = sender), then addSigner / setQuorum / setLimits as configured;
//   with mocks: MockAggregatorEthUsd, MockAggregatorBtcUsd (8 decimals), MockERC20Stable (6
//   decimals), MockERC20Risky (18 decimals), MockConstantProductAMM(risky, stable, 30 bps);
//   RiskOracleFeed(oracle, portfolio, description);
//   VaRProtection(oracle, portfolio, price feed, collateral = stable, ...) when a price feed and a
//   collateral token are known (mocks or options);
//   RiskRebalancer(owner = sender, oracle, portfolio, risky, stable, price feed, amm) when all four
//   are known.
//
// Idempotence: an entry of a previous deployment (same chain) is reused when the address holds
// code whose keccak256 equals the code hash recorded at deploy time, that code equals the
// artifact's deployed bytecode outside the immutable ranges, and the constructor arguments that
// would be used now equal the recorded ones (so a redeployed dependency redeploys its
// dependents). Everything else is deployed; owner settings are only sent when they differ.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "chain/address.hpp"
#include "chain/bytes.hpp"
#include "chain/contract_abi.hpp"
#include "chain/eth_client.hpp"
#include "chain/tx_manager.hpp"
#include "chain/uint256.hpp"

namespace varkeeper::keeper {

// A failure of the deployment: one sentence naming the contract, file or transaction.
class DeployError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The artifact names the keeper deploys (contracts/CMakeLists.txt copies exactly these).
inline constexpr const char* kBundledContracts[] = {
    "RiskOracle",     "RiskOracleFeed", "VaRProtection", "ProtectionToken",
    "RiskRebalancer", "MockAggregator", "MockERC20",     "MockConstantProductAMM"};

// The loaded artifacts by name.
using ArtifactSet = std::map<std::string, chain::ContractAbi, std::less<>>;

// Loads <dir>/<Name>.json for every bundled contract; DeployError names the first bad file.
[[nodiscard]] ArtifactSet load_artifacts(const std::filesystem::path& dir);

// Where the artifacts are: `explicit_dir` if given; else <dir of the running executable>/contracts
// (the build tree); else <prefix>/share/varkeeper/contracts next to an installed bin/. DeployError
// lists the places looked at when none holds RiskOracle.json.
[[nodiscard]] std::filesystem::path find_artifacts_dir(
    const std::optional<std::filesystem::path>& explicit_dir);

// RiskOracle.setLimits(portfolioId, maxAge, minInterval, maxVaRChange).
struct PortfolioLimits {
  std::uint64_t portfolio_id = 0;
  std::uint32_t max_age = 0;  // seconds, > 0
  std::uint32_t min_interval = 0;
  std::uint64_t max_var_change = 0;  // WAD, 0 = unlimited
};

// VaRProtection constructor parameters other than the addresses (docs/contracts.md).
struct ProtectionParams {
  chain::U256 loading = chain::U256(1'000'000'000'000'000'000ULL);    // 1.0 WAD
  chain::U256 premium_floor = chain::U256(1'000'000'000'000'000ULL);  // 0.001 WAD = 0.1 %
  chain::U256 payout_cap = chain::U256(500'000'000'000'000'000ULL);   // 0.5 WAD = 50 %
  chain::U256 sale_window = 3'600;                                    // seconds
  chain::U256 max_report_age = 3'600;
  chain::U256 max_price_age = 3'600;
};

// Starting values of the mocks (prices in the feed's 8 decimals).
struct MockParams {
  std::int64_t eth_usd_answer = 3'000'00000000;   // 3000 USD
  std::int64_t btc_usd_answer = 60'000'00000000;  // 60000 USD
  std::uint64_t amm_fee_bps = 30;
};

struct DeployOptions {
  std::filesystem::path artifacts_dir;
  // Authorized report signers; empty = the sender alone. Quorum: nullopt = every signer.
  std::vector<chain::Address> signers;
  std::optional<std::uint8_t> quorum;
  std::vector<PortfolioLimits> limits;
  bool mocks = false;
  MockParams mock_params;
  // The portfolio the feed adapter, the protection pool and the rebalancer follow.
  std::uint64_t portfolio_id = 1;
  std::string feed_description = "varkeeper portfolio 1 VaR (WAD)";
  // Existing contracts to wire to when not deploying mocks.
  std::optional<chain::Address> price_feed;    // AggregatorV3Interface, risky priced in stable
  std::optional<chain::Address> stable_token;  // also the protection collateral
  std::optional<chain::Address> risky_token;
  std::optional<chain::Address> amm;  // an IAmmAdapter
  ProtectionParams protection;
  // How long to wait for each group of transactions to be final, and how often to poll.
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds poll_interval{200};
  // Progress lines ("RiskOracle deployed at 0x... in 0x... (block 3)"); optional.
  std::function<void(const std::string&)> log;
};

struct Deployment;
// Called with the deployment so far after each group of contracts is final (the CLI saves the
// file then, so an interrupted run loses at most the group in flight); optional.
using DeployProgress = std::function<void(const Deployment&)>;

struct DeployedContract {
  std::string artifact;  // the artifact it was built from ("MockERC20")
  chain::Address address{};
  chain::Hash32 tx_hash{};
  chain::Hash32 code_hash{};  // keccak256 of the runtime code, read back after deployment
  std::uint64_t block = 0;
  chain::Bytes constructor_args;  // ABI-encoded
  bool reused = false;            // this run found it deployed (not written to the file)
};

struct Deployment {
  std::uint64_t chain_id = 0;
  std::uint64_t block = 0;  // the highest block any of the contracts was deployed in
  chain::Address deployer{};
  std::map<std::string, DeployedContract> contracts;  // by instance name ("RiskOracle", ...)
  // This run only: transactions sent (deployments and owner settings).
  std::size_t transactions_sent = 0;

  [[nodiscard]] const DeployedContract* find(std::string_view name) const;
  // Address of `name`; DeployError if it is not part of the deployment.
  [[nodiscard]] const chain::Address& address_of(std::string_view name) const;
};

// {"chain_id", "block", "deployer", "contracts": {Name: {"artifact", "address", "tx_hash",
// "code_hash", "block", "constructor_args"}}}.
[[nodiscard]] std::string deployment_to_json(const Deployment& deployment);
// DeployError naming the file and the field when malformed.
[[nodiscard]] Deployment deployment_from_json(std::string_view text, const std::string& origin);
// nullopt when the file does not exist.
[[nodiscard]] std::optional<Deployment> read_deployment_file(const std::filesystem::path& file);
// Written to a temporary file and renamed, so the file is complete or absent.
void write_deployment_file(const std::filesystem::path& file, const Deployment& deployment);

// Deploys (or reuses from `previous`) everything `options` asks for and returns the complete
// deployment. `manager` must have been started; its sender owns the RiskOracle and the
// RiskRebalancer. Throws DeployError on any failure (a reverted or fatal transaction, an RPC
// failure, a timeout, a previous deployment for another chain, a reused oracle owned by someone
// else).
[[nodiscard]] Deployment deploy_all(chain::EthClient& eth, chain::TxManager& manager,
                                    const DeployOptions& options,
                                    const std::optional<Deployment>& previous = std::nullopt,
                                    const DeployProgress& progress = {});

}  // namespace varkeeper::keeper
