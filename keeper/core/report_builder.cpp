#include "keeper/core/report_builder.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "keeper/core/units.hpp"

namespace varkeeper::keeper {

const char* to_string(ReportField f) noexcept {
  switch (f) {
    case ReportField::kObservedAt: return "observedAt";
    case ReportField::kHorizon: return "horizon";
    case ReportField::kConfidence: return "confidence";
    case ReportField::kPortfolioValue: return "portfolioValue";
    case ReportField::kValueAtRisk: return "valueAtRisk";
    case ReportField::kExpectedShortfall: return "expectedShortfall";
  }
  return "unknown";
}

namespace {

// The value of `convert` (a keeper/units conversion), or the error naming `field`.
template <class T, class F>
chain::Expected<T, ReportError> field_value(const PortfolioSpec& spec, ReportField field,
                                            F&& convert) {
  try {
    return convert();
  } catch (const UnitError& e) {
    return chain::unexpected(ReportError{
        field, "portfolio " + std::to_string(spec.id) + ": " + to_string(field) + ": " + e.what()});
  }
}

}  // namespace

chain::Expected<OnchainReport, ReportError> build_report(const PortfolioSpec& spec,
                                                         const PortfolioUpdate& u,
                                                         std::uint64_t round) {
  const auto fail = [&](ReportField field, const std::string& why) {
    return chain::unexpected(ReportError{
        field, "portfolio " + std::to_string(spec.id) + ": " + to_string(field) + ": " + why});
  };
  if (u.observed_at < 0) {
    return fail(ReportField::kObservedAt,
                "time " + std::to_string(u.observed_at) + " is before 1970 (uint64 seconds)");
  }
  // RiskOracle stores the horizon as uint32 seconds.
  std::int64_t horizon = 0;
  if (__builtin_mul_overflow(spec.period_s, std::int64_t{spec.risk.horizon}, &horizon) ||
      horizon < 0 || horizon > std::int64_t{std::numeric_limits<std::uint32_t>::max()}) {
    return fail(ReportField::kHorizon, std::to_string(horizon) +
                                           " s does not fit uint32 (period_s " +
                                           std::to_string(spec.period_s) + " x horizon " +
                                           std::to_string(spec.risk.horizon) + ")");
  }
  const auto confidence = field_value<std::uint64_t>(spec, ReportField::kConfidence,
                                                     [&] { return to_wad(spec.risk.confidence); });
  if (!confidence) {
    return chain::unexpected(confidence.error());
  }
  const auto value = field_value<chain::U256>(spec, ReportField::kPortfolioValue,
                                              [&] { return to_fixed(u.value, 8); });
  if (!value) {
    return chain::unexpected(value.error());
  }
  const auto var = field_value<std::uint64_t>(spec, ReportField::kValueAtRisk,
                                              [&] { return to_wad(u.published_var); });
  if (!var) {
    return chain::unexpected(var.error());
  }
  const auto cvar = field_value<std::uint64_t>(spec, ReportField::kExpectedShortfall,
                                               [&] { return to_wad(u.published_cvar); });
  if (!cvar) {
    return chain::unexpected(cvar.error());
  }

  OnchainReport r;
  r.portfolio_id = spec.id;
  r.round = round;
  r.observed_at = static_cast<std::uint64_t>(u.observed_at);
  r.horizon = static_cast<std::uint32_t>(horizon);
  r.confidence = *confidence;
  r.method = static_cast<std::uint8_t>(spec.method);
  r.breaker_status = static_cast<std::uint8_t>(u.status);
  r.portfolio_value = *value;
  r.value_at_risk = *var;
  r.expected_shortfall = std::max(*cvar, *var);
  r.config_hash = spec.config_hash;
  return r;
}

}  // namespace varkeeper::keeper
