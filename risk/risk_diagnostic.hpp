// Diagnostics of a risk estimate: conditions under which a figure is still returned but rests on
// a fallback, a bound or too little data. Every estimate carries its list (RiskEstimate::
// diagnostics); `varkeeper var` and `backtest` print it, the keeper's tick line shows it and the
// metric varkeeper_risk_diagnostics_total{kind} counts it, so none of them stays buried in a
// string nobody reads (issue 16, "diagnostics surfaced").
//
// A module that detects a condition appends a Diagnostic with the kind below and one sentence
// saying what was found and what was done instead (add_diagnostic), e.g. the FHS filter:
//   add_diagnostic(result.diagnostics, DiagnosticKind::kFilterFallback,
//                  "GARCH(1,1) did not converge for asset 0; EWMA with floor used");
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace varkeeper::risk {

enum class DiagnosticKind {
  // Cornish-Fisher: (S, K) outside the domain where the expansion is a quantile function
  // (Maillard 2012); the figure uses the fallback of risk/parametric.hpp.
  kCornishFisherOutsideDomain,
  // Student-t: the fitted nu sits at its lower bound (kMinNu), so the tail is at least as heavy
  // as the model allows and ES/VaR is near its maximum.
  kNuAtBound,
  // n (1 - alpha) < 1: fewer scenarios than one per tail probability; VaR is the worst scenario
  // and CVaR equals it (historical and Monte Carlo).
  kTailBeyondSample,
  // Age-weighted historical: the effective sample size (sum w)^2 / sum w^2 of the weights times
  // (1 - alpha) is below 1: the tail rests on less than one effective observation.
  kLowEffectiveSampleSize,
  // Filtered historical: the volatility filter fell back (e.g. GARCH fit to EWMA with a floor).
  kFilterFallback,
  // VaR <= 0: the model's expected gain over the horizon exceeds the loss quantile (a drift
  // extrapolated with mean = sample); the keeper publishes 0.
  kNonPositiveVar,
  // A loss beyond the portfolio value (CVaR > 1, possible with short positions); the keeper
  // publishes at most 1.
  kLossBeyondValue,
  // mc-jump: the Merton calibration (risk/jump_calibration.hpp) hit a floor or bound (diffusion
  // variance floor on a peg or constant price, jump intensity bound) or did not converge.
  kJumpCalibration,
  // evt: the peaks-over-threshold fit fell back or rests on little (too few positive exceedances:
  // the empirical tail; xi >= 1: no finite mean, CVaR empirical; xi at its lower bound).
  kEvtFallback,
  // Parametric methods on a portfolio with a short leg and more than one asset: the loss is
  // 1 - exp(w'r), not a revaluation (a short's loss e^r - 1 exceeds it); use historical or Monte
  // Carlo, which revalue each leg. One short asset alone is revalued exactly (VaR).
  kShortPositionApproximation,
  // A short leg under a tail with no finite E[e^r] (Student-t, Cornish-Fisher's cubic): the
  // expected shortfall is infinite. parametric-t and cornish-fisher report the Jensen lower bound
  // e^(E[r | tail]) - 1; mc-t reports the sample tail mean, which does not converge across seeds.
  kShortTailUnbounded,
};

struct Diagnostic {
  DiagnosticKind kind = DiagnosticKind::kCornishFisherOutsideDomain;
  std::string detail;  // one sentence: what was found and what the figure used instead
};

// Every kind, in enum order (metrics list them all).
[[nodiscard]] std::span<const DiagnosticKind> all_diagnostic_kinds() noexcept;

// Stable snake_case names for JSON, logs and metric labels: "cf_outside_domain", "nu_at_bound",
// "tail_beyond_sample", "low_effective_sample_size", "filter_fallback", "non_positive_var",
// "loss_beyond_value", "jump_calibration", "evt_fallback", "short_position_approximation",
// "short_tail_unbounded".
[[nodiscard]] std::string_view to_string(DiagnosticKind kind) noexcept;

// Appends {kind, detail} unless the same kind is already listed (one entry per kind).
void add_diagnostic(std::vector<Diagnostic>& list, DiagnosticKind kind, std::string detail);

// Whether `list` holds a diagnostic of `kind`.
[[nodiscard]] bool has_diagnostic(std::span<const Diagnostic> list, DiagnosticKind kind) noexcept;

}  // namespace varkeeper::risk
