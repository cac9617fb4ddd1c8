// `varkeeper simulate --chain local` (issue 8): the simulator's reports go to the real RiskOracle
// on an anvil node this sink starts, instead of the in-memory OracleSink.
//
// open(): anvil on a free loopback port with its genesis one day before the first tick, the
// bundled RiskOracle deployed by anvil's account 0 (the only signer, quorum 1) with each
// portfolio's limits from the scenario's [oracle] table (setLimits).
// submit_tick(reports, now): a block is mined at timestamp `now`; each report, signed (EIP-712),
// is simulated with eth_call against that block so a refusal is classified by the contract's own
// custom error, exactly as the keeper's Reporter does before it pays; the accepted ones go in one
// transaction (submit, or submitBatch for several) through the keeper's TxManager, mined at
// `now` too; its receipt gives the gas; latest() is read back from RiskOracle.latest.
// Simulated time runs on chain: blocks carry the scenario's timestamps, so `maxAge`,
// `minInterval` and the future drift are checked by the contract against the simulated clock.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "keeper/sim/simulator.hpp"

namespace varkeeper::keeper {

// The chain side failed (anvil would not start, a deployment or an RPC call failed, a
// transaction reverted although its simulation passed): one sentence.
class ChainSinkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ChainSinkOptions {
  std::string anvil_binary;   // empty: find_anvil()
  std::string artifacts_dir;  // empty: find_artifacts_dir() (next to the binary)
  // Progress lines (node, deployment); optional.
  std::function<void(const std::string&)> log;
};

class ChainSink final : public ReportSink {
 public:
  explicit ChainSink(ChainSinkOptions options = {});
  ~ChainSink() override;
  ChainSink(const ChainSink&) = delete;
  ChainSink& operator=(const ChainSink&) = delete;

  void open(const std::vector<PortfolioSpec>& portfolios, const OracleLimits& limits,
            std::int64_t first_time) override;
  std::vector<OracleRefusal> submit_tick(const std::vector<OnchainReport>& reports,
                                         std::int64_t now) override;
  [[nodiscard]] const OnchainReport* latest(std::uint64_t portfolio_id) const override;
  [[nodiscard]] std::optional<std::uint64_t> last_gas() const override;
  [[nodiscard]] std::string describe() const override;

  // After open(): the node's URL and the RiskOracle's checksummed address (tests, logs).
  [[nodiscard]] std::string rpc_url() const;
  [[nodiscard]] std::string oracle_address() const;
  // Report transactions sent and mined so far.
  [[nodiscard]] std::uint64_t transactions() const;

 private:
  struct Impl;
  ChainSinkOptions options_;
  std::unique_ptr<Impl> impl_;
};

// RiskOracle's custom error name (as in the artifact, "TooSoon") as the simulator's refusal;
// nullopt for errors the in-memory sink has no counterpart for (signatures, unknown portfolio).
[[nodiscard]] std::optional<OracleRefusal> refusal_from_error_name(std::string_view name) noexcept;

}  // namespace varkeeper::keeper
