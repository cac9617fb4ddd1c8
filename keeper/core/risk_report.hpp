// The RiskOracle report as it goes on chain, its EIP-712 hash (type string in docs/contracts.md,
// fixed by the golden vector tests/data/risk_report_eip712.json) and its signature.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chain/address.hpp"
#include "chain/bytes.hpp"
#include "chain/secp256k1.hpp"
#include "chain/uint256.hpp"

namespace varkeeper::keeper {

// Field order and widths exactly as RiskOracle.REPORT_TYPE.
struct OnchainReport {
  std::uint64_t portfolio_id = 0;
  std::uint64_t round = 0;
  std::uint64_t observed_at = 0;         // Unix seconds of the price observation
  std::uint32_t horizon = 0;             // seconds
  std::uint64_t confidence = 0;          // WAD
  std::uint8_t method = 0;               // risk::RiskMethod order
  std::uint8_t breaker_status = 0;       // risk::BreakerStatus
  chain::U256 portfolio_value = 0;       // USD, 8 decimals (uint96)
  std::uint64_t value_at_risk = 0;       // WAD
  std::uint64_t expected_shortfall = 0;  // WAD
  chain::Hash32 config_hash{};
  friend bool operator==(const OnchainReport&, const OnchainReport&) = default;
};

inline constexpr const char* kRiskReportType =
    "RiskReport(uint64 portfolioId,uint64 round,uint64 observedAt,uint32 horizon,uint64 "
    "confidence,uint8 method,uint8 breakerStatus,uint96 portfolioValue,uint64 valueAtRisk,uint64 "
    "expectedShortfall,bytes32 configHash)";

struct OracleDomain {
  chain::U256 chain_id = 0;
  chain::Address verifying_contract{};
};

[[nodiscard]] chain::Hash32 report_domain_separator(const OracleDomain& domain);
[[nodiscard]] chain::Hash32 report_struct_hash(const OnchainReport& report);
[[nodiscard]] chain::Hash32 report_digest(const OracleDomain& domain, const OnchainReport& report);
[[nodiscard]] chain::Signature sign_report(const OracleDomain& domain, const OnchainReport& report,
                                           const chain::SecretKey& key);

// ABI tuple of the report, in field order (for calldata of submit/submitBatch).
[[nodiscard]] chain::Bytes encode_report_words(const OnchainReport& report);

// Calldata of RiskOracle.submit(RiskReport, Signature[]) where Signature is (uint8 v, bytes32 r,
// bytes32 s), and of submitBatch(RiskReport[], Signature[][]).
[[nodiscard]] chain::Bytes submit_calldata(const OnchainReport& report,
                                           const std::vector<chain::Signature>& signatures);
[[nodiscard]] chain::Bytes submit_batch_calldata(
    const std::vector<OnchainReport>& reports,
    const std::vector<std::vector<chain::Signature>>& signatures);

}  // namespace varkeeper::keeper
