// What `varkeeper simulate` writes: the summary table (stdout), timeseries.csv, summary.json and a
// self-contained report.html (inline SVG, no script, no external asset). Every number is printed
// with a fixed format and nothing depends on the wall clock, so equal results give equal bytes.
#pragma once

#include <string>

#include "keeper/sim/simulator.hpp"

namespace varkeeper::keeper {

[[nodiscard]] std::string summary_table(const SimulationResult& result);
[[nodiscard]] std::string timeseries_csv(const SimulationResult& result);
[[nodiscard]] std::string summary_json(const SimulationResult& result);
[[nodiscard]] std::string report_html(const SimulationResult& result);

}  // namespace varkeeper::keeper
