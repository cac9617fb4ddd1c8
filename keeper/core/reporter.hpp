// Turns the pipeline's publish decisions into signed RiskOracle reports and queues them with the
// transaction manager: one submit() for a single portfolio, one submitBatch() for several, each
// simulated with eth_call first so a report the contract would refuse is never paid for.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "chain/eth_client.hpp"
#include "chain/secret_key.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/core/pipeline.hpp"
#include "keeper/core/report_builder.hpp"
#include "keeper/core/risk_report.hpp"

namespace varkeeper::keeper {

struct ReporterOptions {
  chain::Address risk_oracle{};
  std::uint64_t chain_id = 0;
  std::uint64_t gas_per_report = 0;  // 0: estimate
};

// A signed report that is not sent, and why (issue 15, defect 5).
struct UnsentReport {
  OnchainReport report;
  std::string why;
};

struct SubmittedReports {
  std::vector<OnchainReport> reports;
  std::uint64_t tx_id = 0;  // TxManager record id, 0 if not sent
  std::string refused;      // the decoded revert when the simulation refused it
  // Updates that asked to publish but whose report cannot be built (build_report's message):
  // their portfolios are skipped this tick, the others still go out.
  std::vector<std::string> unbuilt;
  // Other updates that asked to publish and are not sent this tick, each with why (issue 16,
  // defect 10: a publish decision that is not sent says so).
  std::vector<std::string> not_sent;
  // Issue 15, defect 5: at most one report transaction per portfolio is in flight. A report
  // decided while its portfolio has one is signed (its round reserved) and waits; it goes out
  // once that transaction resolves, after a fresh simulation. A newer report supersedes the
  // waiting one; a waiting one whose simulation now reverts is dropped. None is ever sent.
  std::vector<OnchainReport> waiting;    // signed this tick, held
  std::vector<UnsentReport> superseded;  // held reports a newer one replaced
  std::vector<UnsentReport> dropped;     // held reports that would now revert
  // The reports in `reports` that waited first (the store has their rows already).
  std::vector<OnchainReport> were_waiting;
};

class Reporter {
 public:
  // `signers` sign each report (quorum of the oracle); `tx` pays gas with its own sender key.
  Reporter(chain::EthClient& eth, chain::TxManager& tx, std::vector<chain::SecretKey> signers,
           std::map<std::uint64_t, PortfolioSpec> portfolios, ReporterOptions options);

  // Reads RiskOracle.latest(pid).round for every portfolio so rounds continue after a restart
  // (and from what is on chain, not from what we believe we sent).
  void resume();

  // The report the keeper would publish for `u` (round = next round of that portfolio), or why
  // it cannot be built (keeper/core/report_builder.hpp).
  [[nodiscard]] chain::Expected<OnchainReport, ReportError> build(const PortfolioUpdate& u) const;

  // Builds, signs, simulates and queues reports for every update that asks to publish; a
  // portfolio with a report transaction in flight gets none queued (its report waits), and a
  // waiting report whose portfolio is free again is simulated again and queued or dropped.
  [[nodiscard]] SubmittedReports publish(const std::vector<PortfolioUpdate>& updates);

  // The report transaction `tx_id` carries the portfolio's report: no other is sent for it until
  // that one is mined or fatal (after a restart, KeeperLoop::resume_from_store says so).
  void track_in_flight(std::uint64_t portfolio_id, std::uint64_t tx_id);
  // The portfolio's report transaction in flight (not yet mined, not fatal), if any.
  [[nodiscard]] std::optional<std::uint64_t> in_flight(std::uint64_t portfolio_id) const;
  // The portfolio's report signed and waiting for that transaction, if any.
  [[nodiscard]] std::optional<OnchainReport> waiting(std::uint64_t portfolio_id) const;

  [[nodiscard]] std::uint64_t next_round(std::uint64_t portfolio_id) const;

  // Never reuse a round the keeper already used (signed and maybe sent before a crash, even if
  // not on chain yet): rounds continue after max(on-chain latest, `used`).
  void skip_rounds_through(std::uint64_t portfolio_id, std::uint64_t used);

 private:
  chain::EthClient& eth_;
  chain::TxManager& tx_;
  std::vector<chain::SecretKey> signers_;
  std::map<std::uint64_t, PortfolioSpec> portfolios_;
  ReporterOptions options_;
  OracleDomain domain_;
  std::map<std::uint64_t, std::uint64_t> last_round_;
  // observedAt of the last report per portfolio: the oracle refuses one that is not newer.
  std::map<std::uint64_t, std::uint64_t> last_observed_;
  struct Held {
    OnchainReport report;
    std::vector<chain::Signature> signatures;
  };
  std::map<std::uint64_t, std::uint64_t> carrying_;  // portfolio -> its report tx in flight
  std::map<std::uint64_t, Held> waiting_;            // portfolio -> its report held meanwhile
};

// RiskOracle.latest(uint64) calldata, and the decoding of its AcceptedReport answer.
struct AcceptedReport {
  std::uint64_t round = 0;
  std::uint64_t observed_at = 0;
  std::uint64_t value_at_risk = 0;
  std::uint64_t expected_shortfall = 0;
  chain::U256 portfolio_value = 0;
  std::uint64_t confidence = 0;
  std::uint32_t horizon = 0;
  std::uint8_t method = 0;
  std::uint8_t breaker_status = 0;
  std::uint64_t accepted_at = 0;
  chain::Hash32 config_hash{};
};
// An eth_call or gas estimate the node refused because the call reverts (not a transport or
// other node failure): what "would revert" means for reports and actions.
[[nodiscard]] bool is_revert(const chain::RpcError& e);

[[nodiscard]] chain::Bytes latest_calldata(std::uint64_t portfolio_id);
[[nodiscard]] std::optional<AcceptedReport> decode_accepted_report(chain::ByteView data);
// The report the oracle holds, as an OnchainReport (its round, figures and observation time).
[[nodiscard]] OnchainReport onchain_report(std::uint64_t portfolio_id, const AcceptedReport& r);

}  // namespace varkeeper::keeper
