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
#include <vector>

#include "risk/portfolio_loss.hpp"

namespace varkeeper::risk {

struct HistoricalResult {
  double var = 0.0;
  double cvar = 0.0;
  std::vector<double> component_var;
  std::vector<double> component_cvar;
  std::size_t n_scenarios = 0;
};

[[nodiscard]] HistoricalResult historical_risk(std::span<const double> returns,
                                               std::size_t n_assets,
                                               std::span<const double> weights, double alpha,
                                               int horizon, Revaluation revaluation);

// BRW weights: the scenario ending j periods before the last (j = 0 for the newest) has
// probability lambda^j (1 - lambda) / (1 - lambda^S), S scenarios.
[[nodiscard]] std::vector<double> age_weights(std::size_t n_scenarios, double lambda);

[[nodiscard]] HistoricalResult age_weighted_historical_risk(std::span<const double> returns,
                                                            std::size_t n_assets,
                                                            std::span<const double> weights,
                                                            double alpha, int horizon,
                                                            double lambda, Revaluation revaluation);

// Returns rescaled to the current EWMA volatility (risk/ewma.hpp) before plain HS.
[[nodiscard]] HistoricalResult filtered_historical_risk(
    std::span<const double> returns, std::size_t n_assets, std::span<const double> weights,
    double alpha, int horizon, double ewma_lambda, Revaluation revaluation);

}  // namespace varkeeper::risk
