// The one portfolio schema ([[portfolios]]) of keeper configs and scenario files: the same keys,
// defaults and ranges in both (docs/config.md documents them). Where the two readers once
// differed, the stricter range won (issue 13).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "keeper/core/pipeline.hpp"
#include "risk/risk_method.hpp"

namespace varkeeper::keeper {

class TomlTable;  // keeper/config/toml_table.hpp

// [portfolios.publish]: like a Chainlink feed, report on a relative deviation or a heartbeat.
struct PublishSettings {
  double deviation = 0.05;
  std::uint64_t heartbeat_s = 3600;
};

// [[portfolios]]
struct PortfolioSettings {
  std::uint64_t id = 0;
  std::string name;
  std::map<std::string, double> positions;  // asset symbol -> quantity (units of the asset)
  risk::RiskMethod method = risk::RiskMethod::kFilteredHistorical;
  risk::MeanModel mean = risk::MeanModel::kZero;  // mean = "zero" | "sample"
  double confidence = 0.99;
  int horizon = 1;                  // periods
  std::uint64_t period_s = 86'400;  // return interval
  std::uint64_t window = 500;       // returns in the estimation window
  std::uint64_t min_obs = 30;       // fewer returns: no estimate yet (default min(window, 30))
  std::uint64_t paths = 100'000;    // Monte Carlo paths
  std::uint64_t seed = 1;
  double ewma_lambda = 0.94;
  double age_lambda = 0.98;
  // covariance = "sample" | "ewma" | "ledoit-wolf" (parametric-normal and mc-normal)
  bool ewma_covariance = false;
  bool ledoit_wolf = false;
  PublishSettings publish;
};

// Reads every [[portfolios]] table of `top` (none: an empty list; whether that is allowed is the
// file's rule). `assets` are the symbols the file declares: a position in another is refused.
[[nodiscard]] std::vector<PortfolioSettings> read_portfolios(
    const TomlTable& top, const std::vector<std::string>& assets);

// The risk engine's options for a portfolio.
[[nodiscard]] risk::RiskOptions risk_options(const PortfolioSettings& portfolio);

// The PortfolioSpec the pipeline runs (config_hash left empty: keeper/core/methodology.hpp
// stamps it).
[[nodiscard]] PortfolioSpec portfolio_spec(const PortfolioSettings& portfolio);

}  // namespace varkeeper::keeper
