// The operational-risk report of `varkeeper oprisk`: per incident category, the risk committee's
// hybrid ARO table (each source's ARO, weight and weighted ARO; the internal source from the
// keeper's own incident log with credibility shrinkage), the probability of at least one event a
// year, SLE and ALE; and the compound-Poisson Monte Carlo of the annual operational loss.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "keeper/config/config.hpp"
#include "risk/oprisk.hpp"

namespace varkeeper::keeper {

struct OpriskCategoryReport {
  std::string category;
  std::vector<risk::oprisk::WeightedAro> sources;
  double hybrid_aro = 0.0;
  // The internal log's figures, when the store supplied them.
  std::optional<risk::oprisk::InternalAro> internal;
  double p_at_least_one = 0.0;  // P(N >= 1) in a year
  double sle = 0.0;
  double ale = 0.0;
  // How the Monte Carlo models the category's losses: "lognormal" (its severity), or
  // "point_mass" (no severity configured: every event costs the SLE).
  std::string simulated_as;
  // Sentences on what the figures leave out or assume (an `internal` source with no configured
  // ARO and no incident log is left out of the weights; no source left: ARO 0).
  std::vector<std::string> notes;
};

struct OpriskReport {
  std::vector<OpriskCategoryReport> categories;
  double total_aro = 0.0;
  double total_ale = 0.0;
  double observed_years = 0.0;
  bool from_store = false;
  // Every category: its severity, or a point mass at its SLE when it has none, so the mean is
  // comparable with total_ale (the Monte Carlo's expectation is simulated_ale).
  std::optional<risk::oprisk::AnnualLossDistribution> annual_loss;
  double simulated_ale = 0.0;  // sum of hybrid ARO x the simulated severity's mean
  std::vector<std::string> point_mass_categories;  // simulated at their SLE (no severity)
};

// `incident_counts`: events per category in the observation window (from the store), or nullopt
// to use the configured internal AROs as they are (an `internal` source without a configured ARO
// is then left out of the category's weights, with a note).
// `simulate` false skips the Monte Carlo (the daemon refreshes the ARO/ALE gauges every tick).
[[nodiscard]] OpriskReport build_oprisk_report(
    const OpriskSettings& settings,
    const std::optional<std::map<std::string, std::uint64_t>>& incident_counts,
    bool simulate = true);

[[nodiscard]] std::string format_oprisk_report(const OpriskReport& report);
[[nodiscard]] std::string oprisk_report_json(const OpriskReport& report);

}  // namespace varkeeper::keeper
