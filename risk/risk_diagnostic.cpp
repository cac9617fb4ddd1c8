#include "risk/risk_diagnostic.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace varkeeper::risk {
namespace {

constexpr std::array<std::pair<DiagnosticKind, std::string_view>, 11> kNames{{
    {DiagnosticKind::kCornishFisherOutsideDomain, "cf_outside_domain"},
    {DiagnosticKind::kNuAtBound, "nu_at_bound"},
    {DiagnosticKind::kTailBeyondSample, "tail_beyond_sample"},
    {DiagnosticKind::kLowEffectiveSampleSize, "low_effective_sample_size"},
    {DiagnosticKind::kFilterFallback, "filter_fallback"},
    {DiagnosticKind::kNonPositiveVar, "non_positive_var"},
    {DiagnosticKind::kLossBeyondValue, "loss_beyond_value"},
    {DiagnosticKind::kJumpCalibration, "jump_calibration"},
    {DiagnosticKind::kEvtFallback, "evt_fallback"},
    {DiagnosticKind::kShortPositionApproximation, "short_position_approximation"},
    {DiagnosticKind::kShortTailUnbounded, "short_tail_unbounded"},
}};

constexpr std::array<DiagnosticKind, kNames.size()> kAll{
    DiagnosticKind::kCornishFisherOutsideDomain,
    DiagnosticKind::kNuAtBound,
    DiagnosticKind::kTailBeyondSample,
    DiagnosticKind::kLowEffectiveSampleSize,
    DiagnosticKind::kFilterFallback,
    DiagnosticKind::kNonPositiveVar,
    DiagnosticKind::kLossBeyondValue,
    DiagnosticKind::kJumpCalibration,
    DiagnosticKind::kEvtFallback,
    DiagnosticKind::kShortPositionApproximation,
    DiagnosticKind::kShortTailUnbounded,
};
static_assert(
    [] {
      for (std::size_t i = 0; i < kAll.size(); ++i) {
        if (kNames[i].first != kAll[i] || static_cast<std::size_t>(kAll[i]) != i) {
          return false;
        }
      }
      return true;
    }(),
    "kAll and kNames list every kind once, in enum order");

}  // namespace

std::span<const DiagnosticKind> all_diagnostic_kinds() noexcept { return kAll; }

std::string_view to_string(DiagnosticKind kind) noexcept {
  for (const auto& [k, name] : kNames) {
    if (k == kind) {
      return name;
    }
  }
  return "unknown";
}

void add_diagnostic(std::vector<Diagnostic>& list, DiagnosticKind kind, std::string detail) {
  if (!has_diagnostic(list, kind)) {
    list.push_back(Diagnostic{kind, std::move(detail)});
  }
}

bool has_diagnostic(std::span<const Diagnostic> list, DiagnosticKind kind) noexcept {
  return std::any_of(list.begin(), list.end(),
                     [kind](const Diagnostic& d) { return d.kind == kind; });
}

}  // namespace varkeeper::risk
