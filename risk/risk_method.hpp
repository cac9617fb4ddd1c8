// The one entry point the keeper, the simulator and the CLI use to turn a window of returns into
// VaR and CVaR. Conventions (README "Risk conventions"): loss = -P&L, VaR and CVaR are positive
// fractions of portfolio value (0.052 = a 5.2 % loss), CVaR >= VaR.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "risk/portfolio_loss.hpp"
#include "risk/predictive_law.hpp"
#include "risk/return_window.hpp"
#include "risk/risk_diagnostic.hpp"

namespace varkeeper::risk {

enum class RiskMethod {
  kParametricNormal,
  kParametricT,
  kCornishFisher,
  kHistorical,
  kHistoricalAge,
  kFilteredHistorical,
  kMcNormal,
  kMcT,
  kMcJump,
  kEvt,  // extreme-value theory: peaks over threshold, GPD by ML (risk/evt.hpp)
};

// Every method, in enum order (the order of the on-chain `method` byte). Lists shown to a user
// (help texts, error messages) are built from this, so a new method appears in all of them.
[[nodiscard]] std::span<const RiskMethod> all_risk_methods() noexcept;

// CLI / config names: "parametric-normal", "parametric-t", "cornish-fisher", "historical",
// "historical-age", "filtered-historical", "mc-normal", "mc-t", "mc-jump", "evt".
[[nodiscard]] std::string_view to_string(RiskMethod m) noexcept;
[[nodiscard]] std::optional<RiskMethod> parse_risk_method(std::string_view name) noexcept;
// The names of all_risk_methods() joined by `separator`, with `last_separator` before the last
// one: risk_method_names(", ", " or ") == "parametric-normal, ..., mc-t or mc-jump".
[[nodiscard]] std::string risk_method_names(std::string_view separator = ", ",
                                            std::string_view last_separator = ", ");
[[nodiscard]] bool is_monte_carlo(RiskMethod m) noexcept;

// The expected return the methods use over the horizon (docs/risk-engine.md, "Mean"):
// kZero: none, the bank convention (RiskMetrics; Basel): a sample mean over a few hundred periods
//   is mostly noise (its standard error is sigma / sqrt(T)), and extrapolated over h periods it
//   moves the figure by h mu, which cancels the risk at long horizons. The model's drift is 0
//   (parametric, Monte Carlo; mc-jump's diffusion drift offsets the mean jump), and historical
//   scenarios are built from the returns less their sample mean.
// kSample: the window's mean (or the fitted t's location) as it is.
enum class MeanModel { kZero, kSample };
[[nodiscard]] std::string_view to_string(MeanModel m) noexcept;  // "zero", "sample"
[[nodiscard]] std::optional<MeanModel> parse_mean_model(std::string_view name) noexcept;

struct RiskOptions {
  MeanModel mean = MeanModel::kZero;
  double confidence = 0.99;     // alpha in (0, 1)
  int horizon = 1;              // periods
  double ewma_lambda = 0.94;    // RiskMetrics decay for EWMA / filtered historical
  double age_lambda = 0.98;     // Boudoukh-Richardson-Whitelaw age weighting
  std::size_t paths = 100'000;  // Monte Carlo paths
  std::uint64_t seed = 1;       // Monte Carlo seed
  unsigned threads = 0;         // 0 = hardware concurrency; results do not depend on it
  bool antithetic = true;
  bool components = true;  // compute per-asset Euler components
  // Covariance for parametric-normal and mc-normal: the sample covariance (n - 1), or the EWMA
  // covariance with ewma_lambda (RiskMetrics) when true. parametric-t and mc-t use the ML
  // location and dispersion of the fitted multivariate t instead (risk/student_t_fit.hpp).
  bool ewma_covariance = false;
  // Ledoit-Wolf shrinkage of the sample covariance toward a scaled identity (risk/ledoit_wolf.hpp)
  // for parametric-normal and mc-normal; not together with ewma_covariance.
  bool ledoit_wolf = false;
  // Losses: full revaluation, a fraction of portfolio value -w'(exp(r) - 1) (historical, Monte
  // Carlo; the parametric methods 1 - exp(w'r) of their modelled return, risk/parametric.hpp), or
  // the delta approximation -w'r (risk/portfolio_loss.hpp).
  Revaluation revaluation = Revaluation::kFull;
};

struct RiskEstimate {
  double var = 0.0;         // positive loss fraction
  double cvar = 0.0;        // positive loss fraction, >= var
  double stderr_var = 0.0;  // Monte Carlo standard errors (0 for closed forms)
  double stderr_cvar = 0.0;
  std::vector<double> component_var;   // per asset, sums to var (Euler allocation)
  std::vector<double> component_cvar;  // per asset, sums to cvar
  std::size_t n_obs = 0;
  std::size_t n_scenarios = 0;  // historical scenarios or Monte Carlo paths (0 for closed forms)
  double nu = 0.0;              // fitted Student-t degrees of freedom (parametric-t, mc-t)
  // Conditions the figure rests on (a fallback, a bound, too little data):
  // risk/risk_diagnostic.hpp.
  std::vector<Diagnostic> diagnostics;
  // The forecast loss distribution (risk/predictive_law.hpp): parametric-normal, parametric-t and
  // cornish-fisher give their closed form, the Monte Carlo methods their simulated tail; kind
  // none for historical, historical-age, filtered-historical and evt. Backtests simulate the Z2
  // test's null distribution under it.
  PredictiveLaw law;
};

// Throws std::invalid_argument with a clear sentence for inputs the caller should have
// validated (confidence outside (0,1), weights of the wrong size, too few observations).
[[nodiscard]] RiskEstimate estimate_risk(RiskMethod method, const ReturnWindow& window,
                                         std::span<const double> weights,
                                         const RiskOptions& options);

}  // namespace varkeeper::risk
