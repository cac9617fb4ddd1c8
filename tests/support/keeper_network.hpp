// A keeper network on one anvil, for the end-to-end test and the benchmark of issue 18: the
// contracts deployed with N signer addresses and a quorum, N `varkeeper run --config` processes
// with separate signer and sender keys, stores and peer listeners, and the peer links between
// them through relays the test can cut (tests/support/tcp_relay.hpp). The chain is read from
// outside the keepers: cast for RiskOracle.latest() and the ReportAccepted / ReportProposed logs,
// and a scan of every block for the transactions sent to the RiskOracle (who sent them, which
// function, which signers signed them, recovered from the calldata).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chain/address.hpp"
#include "chain/contract_abi.hpp"
#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "keeper/core/incident.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/tcp_relay.hpp"
#include "tests/support/test_support.hpp"

namespace varkeeper::test {

// A `varkeeper` child process, its stdout and stderr in files; SIGKILLed when the object dies.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::string out_file, std::string err_file);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // False once it exited (reaped here).
  [[nodiscard]] bool running();
  void kill9();
  // SIGTERM, then the exit status (waitpid's), or -1 if it still runs after `timeout` (then it
  // is killed).
  int terminate(std::chrono::seconds timeout);
  [[nodiscard]] std::string out() const;
  [[nodiscard]] std::string err() const;

 private:
  pid_t pid_ = -1;
  std::string out_file_, err_file_;
};

struct KeeperNetworkOptions {
  std::size_t keepers = 3;
  unsigned quorum = 2;
  // Milliseconds per block: 1000 = anvil's interval mining; anything else = automine off and a
  // thread here mining a block every block_ms (evm_mine).
  int block_ms = 1000;
  // [network] keys (docs/operations.md, "Keeper network").
  std::uint64_t round_blocks = 4;
  std::uint64_t lag_blocks = 0;
  std::uint64_t backup_delay_blocks = 2;
  std::uint64_t propose_after_blocks = 6;
  // genesis_block = the first multiple of round_blocks at least this many blocks after the
  // deployment.
  std::uint64_t genesis_after_blocks = 2;
  // Extra TOML lines appended to every keeper's [network] table.
  std::string network_extra;
  // Extra TOML lines appended to every keeper's [keeper] table.
  std::string keeper_extra;
  std::string binary;  // default: this build's varkeeper
};

// A transaction sent to the RiskOracle, as the chain has it.
struct OracleTx {
  std::string hash;
  std::uint64_t block = 0;
  chain::Address from{};
  std::string function;  // "submit", "propose", ... ("?" for an unknown selector)
  bool success = false;  // receipt status
  std::uint64_t gas_used = 0;
  std::uint64_t portfolio_id = 0;
  std::uint64_t round = 0;
  std::uint64_t var_wad = 0;
  std::uint64_t observed_at = 0;        // the report's observedAt (its trigger block's time)
  chain::Hash32 digest{};               // hashReport(report) on chain
  std::vector<chain::Address> signers;  // recovered from the signatures in the calldata
};

struct AcceptedLog {
  std::uint64_t portfolio_id = 0, round = 0, var_wad = 0, block = 0;
  std::string tx_hash;
};

struct ProposedLog {
  std::uint64_t portfolio_id = 0, round = 0, count = 0, block = 0;
  chain::Address signer{};
  std::string tx_hash;
};

// RiskOracle.latest(pid) as cast reads it.
struct LatestReport {
  std::uint64_t round = 0, observed_at = 0, var_wad = 0, cvar_wad = 0;
};

class KeeperNetwork {
 public:
  // Starts anvil, deploys (varkeeper deploy --mocks --signers ... --quorum ...), writes the
  // configs. No keeper runs yet.
  explicit KeeperNetwork(KeeperNetworkOptions options = {});
  ~KeeperNetwork();
  KeeperNetwork(const KeeperNetwork&) = delete;
  KeeperNetwork& operator=(const KeeperNetwork&) = delete;

  [[nodiscard]] const KeeperNetworkOptions& options() const noexcept { return options_; }
  [[nodiscard]] std::size_t size() const noexcept { return options_.keepers; }
  [[nodiscard]] std::string rpc_url() const { return anvil_->http_url(); }
  [[nodiscard]] chain::EthClient& eth() { return *eth_; }
  [[nodiscard]] chain::EndpointPool& pool() { return *pool_; }
  [[nodiscard]] const chain::Address& oracle() const noexcept { return oracle_; }
  [[nodiscard]] const chain::Address& eth_feed() const noexcept { return eth_feed_; }
  [[nodiscard]] std::uint64_t deployed_block() const noexcept { return deployed_block_; }
  [[nodiscard]] std::uint64_t genesis_block() const noexcept { return genesis_block_; }
  [[nodiscard]] const chain::Address& signer(std::size_t i) const { return signers_.at(i); }
  [[nodiscard]] const chain::Address& sender(std::size_t i) const { return senders_.at(i); }
  // The keeper whose signer is `a`, or nullopt.
  [[nodiscard]] std::optional<std::size_t> keeper_of_signer(const chain::Address& a) const;
  [[nodiscard]] std::optional<std::size_t> keeper_of_sender(const chain::Address& a) const;
  [[nodiscard]] std::string config_path(std::size_t i) const;
  [[nodiscard]] std::string store_path(std::size_t i) const;
  [[nodiscard]] std::uint16_t metrics_port(std::size_t i) const { return metrics_ports_.at(i); }
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_.path(); }

  // Keeper i reads the chain through `url` from its next start (rewrites its config).
  void route_rpc(std::size_t i, const std::string& url);
  void start(std::size_t i);
  void start_all();
  void kill9(std::size_t i);
  // SIGTERM; the exit status.
  int stop(std::size_t i);
  [[nodiscard]] bool running(std::size_t i);
  [[nodiscard]] std::string out(std::size_t i) const;
  [[nodiscard]] std::string err(std::size_t i) const;
  // Every keeper's stdout and stderr (for INFO on failure), the last `tail` bytes of each.
  [[nodiscard]] std::string logs(std::size_t tail = 3000) const;

  // The peer links: every connection to keeper i's peer listener goes through relay i. Cut:
  // refused and closed (a partition); healed: relayed again.
  void cut_peer_links();
  void heal_peer_links();
  void cut_peer_link_to(std::size_t i);
  void heal_peer_link_to(std::size_t i);

  // The mock ETH/USD feed's next answer (MockAggregator.setAnswer, sent with anvil's account 9).
  void set_eth_price(double usd);

  [[nodiscard]] std::uint64_t head();
  // Waits until the chain is at `block`; false after `timeout`.
  bool wait_for_block(std::uint64_t block, std::chrono::seconds timeout);
  // Polls `done` every 200 ms; false after `timeout`.
  static bool wait_until(const std::function<bool()>& done, std::chrono::seconds timeout);

  // The chain, read from outside the keepers.
  [[nodiscard]] LatestReport latest(std::uint64_t portfolio_id) const;                  // cast call
  [[nodiscard]] std::vector<AcceptedLog> accepted(std::uint64_t from_block = 0) const;  // cast logs
  [[nodiscard]] std::vector<ProposedLog> proposed(std::uint64_t from_block = 0) const;  // cast logs
  [[nodiscard]] std::vector<OracleTx> oracle_txs(std::uint64_t from_block, std::uint64_t to_block);
  // The block with timestamp `t` (the trigger block of a report observed at t), searched from
  // the deployment on; nullopt if none.
  [[nodiscard]] std::optional<std::uint64_t> block_at_time(std::uint64_t t);
  // A keeper's incidents (its store, read while it runs).
  [[nodiscard]] std::vector<keeper::Incident> incidents(std::size_t i) const;
  // One metric's value from keeper i's /metrics ("name{labels}" as printed), or nullopt.
  [[nodiscard]] std::optional<double> metric(std::size_t i, const std::string& series) const;

 private:
  void write_config(std::size_t i);
  void mine_loop();
  [[nodiscard]] std::string cast(std::vector<std::string> args) const;

  KeeperNetworkOptions options_;
  TempDir dir_{"keeper-network"};
  std::unique_ptr<keeper::AnvilNode> anvil_;
  std::unique_ptr<chain::EndpointPool> pool_;
  std::unique_ptr<chain::EthClient> eth_;
  std::atomic<bool> stop_mining_{false};
  std::thread miner_;
  chain::ContractAbi oracle_abi_;
  chain::Address oracle_{}, eth_feed_{};
  std::uint64_t deployed_block_ = 0, genesis_block_ = 0;
  std::vector<chain::Address> signers_, senders_;
  std::vector<unsigned> signer_keys_, sender_keys_;  // anvil dev key indexes
  std::vector<std::uint16_t> listen_ports_, metrics_ports_;
  std::vector<std::unique_ptr<TcpRelay>> relays_;  // in front of each peer listener
  std::vector<std::string> rpc_urls_;
  std::vector<std::unique_ptr<ChildProcess>> processes_;
  std::vector<int> starts_;
  std::map<std::uint64_t, std::uint64_t> block_by_time_;  // scanned so far
  std::uint64_t scanned_to_ = 0;
};

// Quantiles of a sorted sample (nearest rank below), for the benchmark's p50 / p95.
[[nodiscard]] double quantile(const std::vector<double>& sorted, double p);

}  // namespace varkeeper::test
