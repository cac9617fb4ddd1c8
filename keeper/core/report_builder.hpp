// The one builder of the on-chain report: a pipeline PortfolioUpdate of a portfolio becomes the
// RiskOracle report the keeper signs (Reporter) and the simulator submits to its sink. Every
// double becomes an integer through keeper/units; a figure the report cannot carry is an error
// value naming the field, never a clamped or wrapped number.
#pragma once

#include <cstdint>
#include <string>

#include "chain/expected.hpp"
#include "keeper/core/pipeline.hpp"
#include "keeper/core/risk_report.hpp"

namespace varkeeper::keeper {

// The report field that cannot be represented.
enum class ReportField {
  kObservedAt,         // negative time (before 1970): uint64 observedAt
  kHorizon,            // period_s * horizon above 4294967295 s: uint32 horizon
  kConfidence,         // not a WAD fraction in [0, 1]
  kPortfolioValue,     // negative, not finite, or above uint96 with 8 decimals
  kValueAtRisk,        // negative, not finite, or above 1 (more than the whole value)
  kExpectedShortfall,  // the same
};
[[nodiscard]] const char* to_string(ReportField f) noexcept;

struct ReportError {
  ReportField field = ReportField::kValueAtRisk;
  std::string message;  // one sentence: portfolio, field and why
};

// The report for update `u` of portfolio `spec` as round `round`. The horizon is the portfolio's
// in seconds (period_s * horizon). Expected shortfall is at least the VaR: the contract refuses
// VaR > CVaR (InvalidFigures) and ES >= VaR holds for any loss distribution, so a smoothed or
// rounded CVaR below the VaR is lifted to it, after both are in WAD.
[[nodiscard]] chain::Expected<OnchainReport, ReportError> build_report(const PortfolioSpec& spec,
                                                                       const PortfolioUpdate& u,
                                                                       std::uint64_t round);

}  // namespace varkeeper::keeper
