// Risk attribution of any method of risk/risk_method.hpp: Euler components (w_i dRisk/dw_i,
// summing to the total), marginal risk (dRisk/dw_i) and volatility sensitivities ("vega" of VaR
// and CVaR: dRisk/dln(sigma_i), the change in the figure per unit relative change of asset i's
// volatility; 0.01 x vega is the effect of a 1 % higher volatility).
//
// Vega is a central difference: asset i's returns are rescaled around their window mean by
// exp(+-bump), which multiplies its volatility by exp(+-bump) and leaves the mean and the
// correlations unchanged; the method is re-run on both windows. Monte Carlo methods re-use the
// seed, so both runs see the same random numbers (common random numbers) and the difference
// is not swamped by sampling noise. Marginals are component / w_i, or a central difference in w_i
// when w_i = 0.
#pragma once

#include <span>
#include <vector>

#include "risk/risk_method.hpp"

namespace varkeeper::risk {

struct RiskAttribution {
  RiskEstimate estimate;  // the figures with their components
  std::vector<double> marginal_var;
  std::vector<double> marginal_cvar;
  std::vector<double> vega_var;
  std::vector<double> vega_cvar;
};

[[nodiscard]] RiskAttribution attribute_risk(RiskMethod method, const ReturnWindow& window,
                                             std::span<const double> weights,
                                             const RiskOptions& options, double bump = 0.01);

}  // namespace varkeeper::risk
