#include "keeper/ops/oprisk_report.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace varkeeper::keeper {

namespace oprisk = risk::oprisk;

OpriskReport build_oprisk_report(
    const OpriskSettings& settings,
    const std::optional<std::map<std::string, std::uint64_t>>& incident_counts, bool simulate) {
  OpriskReport out;
  out.observed_years = settings.observed_years;
  out.from_store = incident_counts.has_value();
  std::vector<oprisk::CategoryLoss> mc;
  for (const auto& cat : settings.categories) {
    OpriskCategoryReport r;
    r.category = cat.name;
    // The external prior of the internal rate: the other sources' weighted ARO.
    double ext_weight = 0.0, ext_sum = 0.0;
    for (const auto& s : cat.sources) {
      if (s.name != "internal" && s.aro) {
        ext_weight += s.weight;
        ext_sum += s.weight * *s.aro;
      }
    }
    const double prior = ext_weight > 0.0 ? ext_sum / ext_weight : 0.0;
    std::vector<oprisk::AroSource> sources;
    for (const auto& s : cat.sources) {
      if (s.name == "internal" && incident_counts) {
        const auto it = incident_counts->find(cat.name);
        const std::uint64_t events = it == incident_counts->end() ? 0 : it->second;
        r.internal =
            oprisk::internal_aro(events, settings.observed_years, prior, settings.prior_years);
        sources.push_back({s.name, r.internal->shrunk, s.weight});
      } else if (s.aro) {
        sources.push_back({s.name, *s.aro, s.weight});
      } else {
        // No configured ARO and no incident log: not an ARO of 0, an unknown one.
        r.notes.push_back("source '" + s.name +
                          "' has no configured ARO and no incident log (--store): left out of "
                          "the weights");
      }
    }
    double weight_sum = 0.0;
    for (const auto& s : sources) {
      weight_sum += s.weight;
    }
    if (sources.empty() || !(weight_sum > 0.0)) {
      r.notes.push_back("no source with an ARO: ARO 0");
    } else {
      const auto hybrid = oprisk::hybrid_aro(sources);
      r.sources = hybrid.sources;
      r.hybrid_aro = hybrid.total;
    }
    r.p_at_least_one = oprisk::probability_at_least_one(r.hybrid_aro);
    r.sle = single_loss_expectancy(cat);
    r.ale = oprisk::annualized_loss_expectancy(r.hybrid_aro, r.sle);
    out.total_aro += r.hybrid_aro;
    out.total_ale += r.ale;
    oprisk::CategoryLoss loss{r.hybrid_aro, {}};
    if (cat.severity) {
      loss.severity = *cat.severity;
      r.simulated_as = "lognormal";
    } else {
      // No severity distribution: every event costs the SLE (a point mass), so the Monte Carlo
      // covers every category and its mean is comparable with the total ALE.
      loss.point_mass = r.sle;
      r.simulated_as = "point_mass";
      out.point_mass_categories.push_back(cat.name);
    }
    out.simulated_ale += r.hybrid_aro * loss.mean_severity();
    mc.push_back(loss);
    out.categories.push_back(std::move(r));
  }
  if (simulate && !mc.empty()) {
    oprisk::AnnualLossOptions o;
    o.paths = settings.paths;
    o.seed = settings.seed;
    out.annual_loss = oprisk::simulate_annual_loss(mc, o);
  }
  return out;
}

namespace {
std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
}  // namespace

std::string format_oprisk_report(const OpriskReport& report) {
  std::ostringstream out;
  out << "Operational risk: hybrid ARO per incident category"
      << (report.from_store ? " (internal ARO from the incident log, " +
                                  fmt("%.2f", report.observed_years) + " years, shrunk)"
                            : " (internal ARO as configured)")
      << "\n\n";
  for (const auto& c : report.categories) {
    out << c.category << "\n";
    out << "  source          ARO        weight   weighted ARO\n";
    for (const auto& s : c.sources) {
      char line[128];
      std::snprintf(line, sizeof line, "  %-14s %9.4f %9.4f %12.4f\n", s.name.c_str(), s.aro,
                    s.weight, s.weighted_aro);
      out << line;
    }
    if (c.internal) {
      out << "  internal log: " << c.internal->events << " events, raw ARO "
          << fmt("%.4f", c.internal->raw) << ", credibility "
          << fmt("%.3f", c.internal->credibility) << ", shrunk ARO "
          << fmt("%.4f", c.internal->shrunk) << "\n";
    }
    for (const auto& note : c.notes) {
      out << "  note: " << note << "\n";
    }
    out << "  hybrid ARO " << fmt("%.4f", c.hybrid_aro) << "  P(>=1/yr) "
        << fmt("%.2f%%", 100.0 * c.p_at_least_one) << "  SLE " << fmt("%.0f", c.sle) << "  ALE "
        << fmt("%.0f", c.ale) << "\n\n";
  }
  out << "total ARO " << fmt("%.4f", report.total_aro) << "  total ALE "
      << fmt("%.0f", report.total_ale) << "\n";
  if (report.annual_loss) {
    const auto& a = *report.annual_loss;
    out << "annual loss (compound Poisson, lognormal severity";
    if (!report.point_mass_categories.empty()) {
      out << "; a point mass at the SLE for ";
      for (std::size_t i = 0; i < report.point_mass_categories.size(); ++i) {
        out << (i > 0 ? ", " : "") << report.point_mass_categories[i];
      }
    }
    out << "; expected " << fmt("%.0f", report.simulated_ale) << "): mean " << fmt("%.0f", a.mean)
        << " (se " << fmt("%.0f", a.stderr_mean) << "), VaR99 " << fmt("%.0f", a.var99) << " (se "
        << fmt("%.0f", a.stderr_var99) << "), VaR99.9 " << fmt("%.0f", a.var999) << " (se "
        << fmt("%.0f", a.stderr_var999) << "), CVaR99 " << fmt("%.0f", a.cvar99) << " (se "
        << fmt("%.0f", a.stderr_cvar99) << "), P(no loss) " << fmt("%.2f%%", 100.0 * a.prob_no_loss)
        << "\n";
  }
  return out.str();
}

std::string oprisk_report_json(const OpriskReport& report) {
  nlohmann::json j;
  j["observed_years"] = report.observed_years;
  j["internal_from_store"] = report.from_store;
  j["total_aro"] = report.total_aro;
  j["total_ale"] = report.total_ale;
  j["categories"] = nlohmann::json::array();
  for (const auto& c : report.categories) {
    nlohmann::json cj{{"category", c.category},
                      {"hybrid_aro", c.hybrid_aro},
                      {"p_at_least_one", c.p_at_least_one},
                      {"sle", c.sle},
                      {"ale", c.ale},
                      {"simulated_as", c.simulated_as},
                      {"notes", c.notes}};
    cj["sources"] = nlohmann::json::array();
    for (const auto& s : c.sources) {
      cj["sources"].push_back({{"name", s.name},
                               {"aro", s.aro},
                               {"weight", s.weight},
                               {"weighted_aro", s.weighted_aro}});
    }
    if (c.internal) {
      cj["internal"] = {{"events", c.internal->events},
                        {"raw_aro", c.internal->raw},
                        {"credibility", c.internal->credibility},
                        {"shrunk_aro", c.internal->shrunk}};
    }
    j["categories"].push_back(cj);
  }
  if (report.annual_loss) {
    const auto& a = *report.annual_loss;
    j["annual_loss"] = {{"mean", a.mean},
                        {"var99", a.var99},
                        {"var999", a.var999},
                        {"cvar99", a.cvar99},
                        {"stderr_mean", a.stderr_mean},
                        {"stderr_var99", a.stderr_var99},
                        {"stderr_var999", a.stderr_var999},
                        {"stderr_cvar99", a.stderr_cvar99},
                        {"prob_no_loss", a.prob_no_loss},
                        {"expected", report.simulated_ale},
                        {"point_mass_categories", report.point_mass_categories}};
  }
  return j.dump(2);
}

}  // namespace varkeeper::keeper
