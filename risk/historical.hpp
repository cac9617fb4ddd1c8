// Historical simulation: plain, age-weighted (Boudoukh, Richardson & Whitelaw 1998) and filtered
// (volatility-rescaled, Hull & White 1998; Barone-Adesi, Giannopoulos & Vosper 1999).
//
// Scenarios are the window's rows; for a horizon of h periods a scenario is the sum of h
// consecutive log-returns (overlapping, T - h + 1 scenarios). VaR and CVaR follow the empirical
// convention of risk/empirical_tail.hpp. Components: the VaR component of asset i is its loss in
// the VaR scenario, the CVaR component its Acerbi-Tasche tail average; both sum to the totals.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "risk/portfolio_loss.hpp"
#include "risk/return_window.hpp"

namespace varkeeper::risk {

struct HistoricalResult {
  double var = 0.0;
  double cvar = 0.0;
  std::vector<double> component_var;
  std::vector<double> component_cvar;
  std::size_t n_scenarios = 0;
  std::string warning;  // filtered_historical_risk: the assets whose GARCH fit fell back to EWMA
};

struct HistoricalOptions {
  double confidence = 0.99;  // alpha in (0, 1)
  int horizon = 1;           // periods: a scenario sums h consecutive returns
  Revaluation revaluation = Revaluation::kFull;
  double age_lambda = 0.98;   // age_weighted_historical_risk: BRW decay in (0, 1]
  double ewma_lambda = 0.94;  // filtered_historical_risk: the EWMA fallback's decay in (0, 1)
};

[[nodiscard]] HistoricalResult historical_risk(const ReturnWindow& window,
                                               std::span<const double> weights,
                                               const HistoricalOptions& options);

// BRW weights: the scenario ending j periods before the last (j = 0 for the newest) has
// probability lambda^j (1 - lambda) / (1 - lambda^S), S scenarios.
[[nodiscard]] std::vector<double> age_weights(std::size_t n_scenarios, double lambda);

// Scenarios weighted by age_weights(S, options.age_lambda).
[[nodiscard]] HistoricalResult age_weighted_historical_risk(const ReturnWindow& window,
                                                            std::span<const double> weights,
                                                            const HistoricalOptions& options);

// Filtered historical simulation (Barone-Adesi, Giannopoulos & Vosper 1999): each asset's returns
// are standardised by a GARCH(1,1) fitted by maximum likelihood (risk/garch.hpp; EWMA with
// options.ewma_lambda when the fit fails), with the volatility floored at
// kVolatilityFloorFraction of the asset's root mean square return, rescaled to the volatility
// forecast over the horizon, then plain HS. An asset that never moved keeps its observed returns.
[[nodiscard]] HistoricalResult filtered_historical_risk(const ReturnWindow& window,
                                                        std::span<const double> weights,
                                                        const HistoricalOptions& options);

}  // namespace varkeeper::risk
