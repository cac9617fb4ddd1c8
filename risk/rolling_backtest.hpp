// Rolling out-of-sample backtest of any RiskMethod: walk through a return history, fit the method
// on the trailing window of W periods, forecast the next period's one-step VaR and CVaR, compare
// with what was realised, and run the backtest battery (risk/backtest.hpp) on the forecasts.
//
// Schedule: the first forecast is for row W (the (W+1)-th return); the forecast for row t uses
// rows [t - W, t) only. The method is refitted every `refit_every` = k periods (rows W, W + k,
// W + 2k, ...); between refits the last forecast is held. Monte Carlo methods use seed
// `risk.seed + j` at the j-th refit (0-based), so the series is reproducible and refits do not
// share random numbers. Fits run in parallel (`threads`); the series is identical for any count.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "risk/backtest.hpp"
#include "risk/risk_method.hpp"

namespace varkeeper::risk {

struct RollingBacktestOptions {
  RiskMethod method = RiskMethod::kHistorical;
  std::size_t window = 500;     // W
  std::size_t refit_every = 1;  // k
  RiskOptions risk;             // confidence and horizon are overridden (backtest.confidence, 1)
  BacktestOptions backtest;
  unsigned threads = 0;  // parallel fits; 0 = hardware concurrency; results do not depend on it
};

struct ForecastSeries {
  std::vector<std::size_t> row;  // the history row t each forecast is for
  std::vector<double> var;       // one-period VaR forecast for row t (positive loss fraction)
  std::vector<double> cvar;      // one-period CVaR forecast for row t
  std::vector<double> realized;  // realised portfolio simple return in row t
  std::vector<std::size_t> fit;  // the refit whose forecast row t holds (index into `laws`)
  // Per refit, the forecast's loss law (RiskEstimate::law; kind none for methods without one).
  std::vector<PredictiveLaw> laws;
  // One pointer per forecast into `laws` (for run_backtest); empty if some fit has no law.
  [[nodiscard]] std::vector<const PredictiveLaw*> law_per_period() const;
};

struct RollingBacktestResult {
  ForecastSeries forecasts;
  BacktestReport report;
  std::size_t refits = 0;
  // Per diagnostic kind (indexed by DiagnosticKind, all_diagnostic_kinds() order): how many of
  // the `refits` fits carried it (risk/risk_diagnostic.hpp), e.g. Cornish-Fisher windows outside
  // Maillard's domain, t fits at the nu bound, windows whose VaR <= 0.
  std::vector<std::size_t> diagnostic_fits;
};

// Portfolio simple return per row from per-asset log returns and fixed weights (rebalanced to
// the weights every period): r_p,t = sum_i w_i (exp(r_i,t) - 1). The realised loss is -r_p,t.
[[nodiscard]] std::vector<double> portfolio_simple_returns(const ReturnWindow& history,
                                                           std::span<const double> weights);

// `history`: T x N log returns (oldest first); `weights`: N portfolio weights; `realized`: T
// realised portfolio simple returns, or empty to use portfolio_simple_returns(history, weights).
// Throws std::invalid_argument with one sentence when W < 2, k < 1, T <= W, or sizes mismatch;
// whatever estimate_risk throws propagates.
[[nodiscard]] RollingBacktestResult rolling_backtest(const ReturnWindow& history,
                                                     std::span<const double> weights,
                                                     std::span<const double> realized,
                                                     const RollingBacktestOptions& options);

}  // namespace varkeeper::risk
