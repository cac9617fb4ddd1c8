// The loss distribution a method forecasts, as far as a backtest needs it: the upper tail of the
// loss L (a positive loss fraction, risk/risk_method.hpp) as a quantile function Q(u), u the
// cumulative probability, so that simulating L = Q(U), U ~ U(0, 1), draws from the forecast
// itself. The Acerbi-Szekely Z2 test (risk/backtest.hpp) uses it to simulate its null
// distribution under each period's own forecast instead of one fixed location-scale family.
//
// Kinds (issue 17):
//  - parametric: the modelled log-return X = location + scale Z with Z standard normal
//    (parametric-normal), standard Student-t(nu) (parametric-t) or the Cornish-Fisher expansion
//    z_cf(Phi^-1(.)) of a normal with skewness S and excess kurtosis K (cornish-fisher, S and K as
//    the expansion used them); the loss is decreasing in X: -X (linear revaluation),
//    1 - exp(X) (full revaluation), or |w| (exp(-X / |w|) - 1) for a lone short of weight w
//    (risk/parametric.hpp). Q(u) = loss(location + scale z(1 - u)).
//  - sample: the Monte Carlo methods' simulated losses, of which the `tail` worst (worst first)
//    out of `sample_size` paths are kept; Q(u) is the empirical quantile: the loss of rank
//    floor((1 - u) sample_size) from the worst, so a draw resamples the paths' empirical law.
//    (mc-normal, mc-t and mc-jump alike.)
//  - none: no predictive law is kept (historical, historical-age, filtered-historical, evt): the
//    Z2 test then simulates under its fixed location-scale model only.
#pragma once

#include <cstddef>
#include <vector>

namespace varkeeper::risk {

struct PredictiveLaw {
  enum class Kind { kNone, kNormal, kStudentT, kCornishFisher, kSample };
  enum class LossMap { kLinear, kFull, kLoneShort };
  Kind kind = Kind::kNone;
  // Parametric kinds.
  LossMap loss_map = LossMap::kFull;
  double location = 0.0;
  double scale = 0.0;
  double nu = 0.0;               // kStudentT
  double skewness = 0.0;         // kCornishFisher
  double excess_kurtosis = 0.0;  // kCornishFisher
  double short_weight = 0.0;     // kLoneShort: |w|
  // kSample.
  std::vector<double> tail;  // the worst losses, worst first
  std::size_t sample_size = 0;

  [[nodiscard]] bool has_law() const noexcept { return kind != Kind::kNone; }
  // The smallest u at which Q is represented: 0 for the parametric kinds (every u), and
  // 1 - tail.size() / sample_size for a sample (below it the loss is one the sample did not keep,
  // which lies below every kept loss). A simulation only evaluates Q above the VaR's own level.
  [[nodiscard]] double lowest_u() const noexcept;
  // Q(u) for u in (lowest_u(), 1). Throws std::logic_error for kNone.
  [[nodiscard]] double loss_quantile(double u) const;
  // The parametric kinds' loss at a draw z of their standard variate: X = location + scale z
  // (kStudentT: z a standard t(nu) draw; kNormal: a standard normal one; kCornishFisher: a
  // standard normal draw, expanded by z_cf). Throws std::logic_error for kNone and kSample.
  [[nodiscard]] double loss_at_standard(double z) const;
};

// The Cornish-Fisher quantile z_cf(z) = z + (z^2 - 1) S / 6 + (z^3 - 3z) K / 24 - (2 z^3 - 5 z)
// S^2 / 36 (risk/parametric.hpp).
[[nodiscard]] double cornish_fisher_z(double z, double skewness, double excess_kurtosis) noexcept;

}  // namespace varkeeper::risk
