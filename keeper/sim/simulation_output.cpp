#include "keeper/sim/simulation_output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "risk/backtest_duration.hpp"

namespace varkeeper::keeper {

namespace {

std::string fmt(const char* f, double v) {
  if (!std::isfinite(v)) {
    return "";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string pct(double v, int digits = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f %%", digits, 100.0 * v);
  return buf;
}
std::string num(double v) { return fmt("%.10g", v); }
std::string p_value(double v) { return fmt("%.4f", v); }
std::string thousands(double v) {
  const auto n = static_cast<long long>(std::llround(v));
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) {
    s.insert(static_cast<std::size_t>(i), ",");
  }
  return n < 0 ? "-" + s : s;
}

const char* edge(risk::ActionEdge e) {
  switch (e) {
    case risk::ActionEdge::kFired: return "fired";
    case risk::ActionEdge::kReset: return "reset";
    default: return "";
  }
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string window_text(const SimulationResult& r) {
  if (r.times.empty()) {
    return "";
  }
  return iso_time(r.times.front()) + " .. " + iso_time(r.times.back());
}

// Rows of the summary: label and per-portfolio cell.
std::vector<std::pair<std::string, std::vector<std::string>>> summary_rows(
    const SimulationResult& r) {
  std::vector<std::pair<std::string, std::vector<std::string>>> rows;
  auto add = [&](const std::string& label, auto cell) {
    std::vector<std::string> cells;
    for (const auto& s : r.summaries) {
      cells.push_back(cell(s));
    }
    rows.emplace_back(label, std::move(cells));
  };
  add("portfolio", [](const PortfolioSummary& s) { return std::to_string(s.id) + " " + s.name; });
  add("method", [](const PortfolioSummary& s) { return s.method + " @ " + pct(s.confidence, 1); });
  add("estimates", [](const PortfolioSummary& s) { return std::to_string(s.estimates); });
  add("reports published", [](const PortfolioSummary& s) {
    std::string c = std::to_string(s.reports_published);
    if (s.reports_refused > 0) {
      c += " (" + std::to_string(s.reports_refused) + " refused:";
      for (const auto& [why, n] : s.refusals) {
        c += " " + why + " " + std::to_string(n);
      }
      c += ")";
    }
    return c;
  });
  add("VaR exceptions / expected", [](const PortfolioSummary& s) {
    return std::to_string(s.exceptions) + " / " + fmt("%.2f", s.expected_exceptions) + " (n " +
           std::to_string(s.backtest_obs) + ")";
  });
  add("Kupiec POF p", [](const PortfolioSummary& s) { return p_value(s.kupiec_p); });
  add("Christoffersen ind p",
      [](const PortfolioSummary& s) { return p_value(s.christoffersen_ind_p); });
  add("Christoffersen cc p",
      [](const PortfolioSummary& s) { return p_value(s.christoffersen_cc_p); });
  add("duration (C-P) p", [](const PortfolioSummary& s) {
    return s.duration_defined ? p_value(s.duration_p) + " (LR " + fmt("%.3f", s.duration_lr) +
                                    ", Weibull b " + fmt("%.3f", s.duration_weibull_b) + ")"
                              : std::string("n/a");
  });
  add("DQ (E-M) p", [](const PortfolioSummary& s) {
    return s.dq_defined ? p_value(s.dq_p) + " (DQ " + fmt("%.3f", s.dq) + ", dof " +
                              std::to_string(s.dq_dof) + ")"
                        : std::string("n/a");
  });
  add("traffic light", [](const PortfolioSummary& s) { return s.zone; });
  add("ES Z2 (Acerbi-Szekely)", [](const PortfolioSummary& s) { return fmt("%.4f", s.es_z2); });
  add("breaker trips", [](const PortfolioSummary& s) {
    return std::to_string(s.breaker_trips) + " (" + std::to_string(s.ticks_tripped) +
           " ticks tripped)";
  });
  add("peak VaR / CVaR on chain",
      [](const PortfolioSummary& s) { return pct(s.peak_var) + " / " + pct(s.peak_cvar); });
  add("peak computed VaR", [](const PortfolioSummary& s) { return pct(s.peak_computed_var); });
  add("rebalances", [](const PortfolioSummary& s) { return std::to_string(s.rebalances); });
  add("vault / hold return",
      [](const PortfolioSummary& s) { return pct(s.vault_return) + " / " + pct(s.hold_return); });
  add("payout threshold fired",
      [](const PortfolioSummary& s) { return std::to_string(s.payout_triggers); });
  add("protection payouts / epochs", [](const PortfolioSummary& s) {
    return std::to_string(s.payouts) + " / " + std::to_string(s.epochs);
  });
  add("premiums / payouts per unit", [](const PortfolioSummary& s) {
    return fmt("%.6f", s.premium_per_unit) + " / " + fmt("%.6f", s.payout_per_unit);
  });
  // Reports' gas comes from receipts with --chain local; actions' gas is always the model's.
  add(r.report_gas_measured ? "gas (reports: receipts)" : "estimated gas",
      [](const PortfolioSummary& s) {
        return thousands(s.gas) + " (reports " + thousands(s.gas_reports) + ", rebalances " +
               thousands(s.gas_rebalances) + ", protection " + thousands(s.gas_protection) + ")";
      });
  add("estimated cost", [&](const PortfolioSummary& s) {
    return fmt("%.6f", s.cost_eth) + " ETH = " + fmt("%.2f", s.cost_usd) + " USD";
  });
  return rows;
}

}  // namespace

std::string summary_table(const SimulationResult& r) {
  std::ostringstream os;
  os << "scenario " << r.scenario << " (seed " << r.seed << "): " << r.description << '\n';
  os << r.times.size() << " ticks, " << window_text(r) << "; " << r.incidents.size()
     << " incidents; gas at " << fmt("%.4g", r.gas.price_gwei) << " gwei, ETH "
     << fmt("%.2f", r.gas.eth_usd) << " USD\n";
  if (!r.sink.empty()) {
    os << "reports checked by the " << r.sink << '\n';
  }
  if (r.feedback.enabled) {
    os << "feedback loop on " << r.feedback.asset << ": AMM min price "
       << fmt("%.2f", r.feedback.min_price) << ", max drawdown " << pct(r.feedback.max_drawdown)
       << ", max discount to market " << pct(r.feedback.max_discount) << ", vault sold "
       << fmt("%.2f", r.feedback.risky_sold) << " in " << r.feedback.trades << " trades\n";
  }
  const auto rows = summary_rows(r);
  std::size_t label_w = 0;
  std::vector<std::size_t> col_w(r.summaries.size(), 0);
  for (const auto& [label, cells] : rows) {
    label_w = std::max(label_w, label.size());
    for (std::size_t i = 0; i < cells.size(); ++i) {
      col_w[i] = std::max(col_w[i], cells[i].size());
    }
  }
  for (const auto& [label, cells] : rows) {
    os << label << std::string(label_w - label.size() + 2, ' ');
    for (std::size_t i = 0; i < cells.size(); ++i) {
      os << cells[i];
      if (i + 1 < cells.size()) {
        os << std::string(col_w[i] - cells[i].size() + 2, ' ');
      }
    }
    os << '\n';
  }
  return os.str();
}

std::string timeseries_csv(const SimulationResult& r) {
  std::string out = "time,t,portfolio";
  for (const auto& a : r.assets) {
    out += ",price_" + a;
  }
  out +=
      ",value,computed_var,computed_cvar,published_var,published_cvar,onchain_var,onchain_cvar,"
      "status,reasons,publish,accepted,refusal,rebalance,payout,vault_weight,sample,realised_loss,"
      "exception\n";
  for (std::size_t j = 0; j < r.points.size(); ++j) {
    for (std::size_t k = 0; k < r.times.size(); ++k) {
      const SimPoint& p = r.points[j][k];
      out += iso_time(r.times[k]) + "," + std::to_string(r.times[k]) + "," +
             std::to_string(r.summaries[j].id);
      for (double price : r.prices[k]) {
        out += "," + num(price);
      }
      out += "," + num(p.value);
      if (p.has_estimate) {
        for (double v : {p.computed_var, p.computed_cvar, p.published_var, p.published_cvar}) {
          out += "," + num(v);
        }
      } else {
        out += ",,,,";
      }
      out += "," + num(p.onchain_var) + "," + num(p.onchain_cvar) + "," +
             risk::to_string(p.status) + "," + p.reasons + "," + to_string(p.publish) + "," +
             (p.accepted ? "1" : "0") + "," +
             (p.publish == PublishReason::kNone ? "" : to_string(p.refusal)) + "," +
             edge(p.rebalance) + "," + edge(p.payout) + "," + num(p.vault_weight) + "," +
             (p.sample ? "1" : "0") + "," + (p.sample ? num(p.realised_loss) : "") + "," +
             (p.exception ? "1" : "0") + "\n";
    }
  }
  return out;
}

std::string summary_json(const SimulationResult& r) {
  nlohmann::ordered_json j;
  j["scenario"] = r.scenario;
  j["description"] = r.description;
  j["seed"] = r.seed;
  j["ticks"] = r.times.size();
  j["from"] = r.times.empty() ? "" : iso_time(r.times.front());
  j["to"] = r.times.empty() ? "" : iso_time(r.times.back());
  j["assets"] = r.assets;
  j["gas_price_gwei"] = r.gas.price_gwei;
  j["eth_usd"] = r.gas.eth_usd;
  j["report_sink"] = r.sink;
  j["report_gas"] = r.report_gas_measured ? "receipts" : "estimated";
  auto ps = nlohmann::ordered_json::array();
  for (const auto& s : r.summaries) {
    nlohmann::ordered_json p;
    p["id"] = s.id;
    p["name"] = s.name;
    p["method"] = s.method;
    p["confidence"] = s.confidence;
    p["estimates"] = s.estimates;
    p["reports_published"] = s.reports_published;
    p["reports_refused"] = s.reports_refused;
    p["refusals"] = s.refusals;
    p["backtest_obs"] = s.backtest_obs;
    p["exceptions"] = s.exceptions;
    p["expected_exceptions"] = s.expected_exceptions;
    p["kupiec_p"] = s.kupiec_p;
    p["christoffersen_independence_p"] = s.christoffersen_ind_p;
    p["christoffersen_conditional_coverage_p"] = s.christoffersen_cc_p;
    p["duration"] = s.duration_defined
                        ? nlohmann::ordered_json{{"test", "christoffersen-pelletier-2004"},
                                                 {"lr", s.duration_lr},
                                                 {"p_value", s.duration_p},
                                                 {"weibull_b", s.duration_weibull_b}}
                        : nlohmann::ordered_json(nullptr);
    p["dq"] = s.dq_defined ? nlohmann::ordered_json{{"test", "engle-manganelli-2004"},
                                                    {"dq", s.dq},
                                                    {"p_value", s.dq_p},
                                                    {"dof", s.dq_dof},
                                                    {"lags", risk::kDefaultDqLags}}
                           : nlohmann::ordered_json(nullptr);
    p["traffic_light"] = s.zone;
    p["es_z2"] = s.es_z2;
    p["breaker_trips"] = s.breaker_trips;
    p["ticks_tripped"] = s.ticks_tripped;
    p["peak_var"] = s.peak_var;
    p["peak_cvar"] = s.peak_cvar;
    p["peak_computed_var"] = s.peak_computed_var;
    p["rebalances"] = s.rebalances;
    p["vault_return"] = s.vault_return;
    p["hold_return"] = s.hold_return;
    p["payout_threshold_fired"] = s.payout_triggers;
    p["protection_epochs"] = s.epochs;
    p["payouts"] = s.payouts;
    p["premium_per_unit"] = s.premium_per_unit;
    p["payout_per_unit"] = s.payout_per_unit;
    p["gas"] = std::llround(s.gas);
    p["gas_reports"] = std::llround(s.gas_reports);
    p["gas_rebalances"] = std::llround(s.gas_rebalances);
    p["gas_protection"] = std::llround(s.gas_protection);
    p["cost_eth"] = s.cost_eth;
    p["cost_usd"] = s.cost_usd;
    ps.push_back(std::move(p));
  }
  j["portfolios"] = std::move(ps);
  if (r.feedback.enabled) {
    j["feedback"] = {{"asset", r.feedback.asset},
                     {"min_price", r.feedback.min_price},
                     {"max_drawdown", r.feedback.max_drawdown},
                     {"max_discount", r.feedback.max_discount},
                     {"risky_sold", r.feedback.risky_sold},
                     {"trades", r.feedback.trades}};
  }
  auto inc = nlohmann::ordered_json::array();
  for (const auto& i : r.incidents) {
    inc.push_back({{"time", iso_time(i.time)},
                   {"category", i.category},
                   {"subject", i.subject},
                   {"evidence", i.evidence}});
  }
  j["incidents"] = std::move(inc);
  return j.dump(2) + "\n";
}

namespace {

// One chart: time on x, a value on y; shaded breaker states behind the lines.
struct Chart {
  double width = 960, height = 240, left = 64, right = 16, top = 12, bottom = 28;
  std::int64_t t0 = 0, t1 = 1;
  double y0 = 0, y1 = 1;
  [[nodiscard]] double x(std::int64_t t) const {
    return left + (width - left - right) * static_cast<double>(t - t0) /
                      static_cast<double>(std::max<std::int64_t>(1, t1 - t0));
  }
  [[nodiscard]] double y(double v) const {
    return top + (height - top - bottom) * (1.0 - (v - y0) / (y1 - y0 > 0 ? y1 - y0 : 1.0));
  }
};

std::string coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// An SVG path through the finite values (a break at each missing one); at most ~2000 vertices.
std::string line_path(const Chart& c, const std::vector<std::int64_t>& t,
                      const std::vector<double>& v, bool step) {
  const std::size_t stride = std::max<std::size_t>(1, t.size() / 2000);
  std::string d;
  bool pen = false;
  for (std::size_t k = 0; k < t.size();
       k = k + stride < t.size() || k + 1 == t.size() ? k + stride : t.size() - 1) {
    if (!std::isfinite(v[k])) {
      pen = false;
      continue;
    }
    const double px = c.x(t[k]), py = c.y(v[k]);
    if (!pen) {
      d += "M" + coord(px) + " " + coord(py);
    } else if (step) {
      d += "H" + coord(px) + "V" + coord(py);
    } else {
      d += "L" + coord(px) + " " + coord(py);
    }
    pen = true;
  }
  return d;
}

// The closed area between two step lines (lower forward, upper backward) over the ticks where
// both are finite; one sub-path per unbroken run.
std::string band_path(const Chart& c, const std::vector<std::int64_t>& t,
                      const std::vector<double>& lower, const std::vector<double>& upper) {
  const std::size_t stride = std::max<std::size_t>(1, t.size() / 2000);
  std::vector<std::size_t> idx;
  for (std::size_t k = 0; k < t.size(); k += stride) {
    idx.push_back(k);
  }
  if (!t.empty() && idx.back() != t.size() - 1) {
    idx.push_back(t.size() - 1);
  }
  std::string d;
  std::size_t i = 0;
  while (i < idx.size()) {
    if (!std::isfinite(lower[idx[i]]) || !std::isfinite(upper[idx[i]])) {
      ++i;
      continue;
    }
    std::size_t e = i;
    while (e + 1 < idx.size() && std::isfinite(lower[idx[e + 1]]) &&
           std::isfinite(upper[idx[e + 1]])) {
      ++e;
    }
    d += "M" + coord(c.x(t[idx[i]])) + " " + coord(c.y(lower[idx[i]]));
    for (std::size_t m = i + 1; m <= e; ++m) {
      d += "H" + coord(c.x(t[idx[m]])) + "V" + coord(c.y(lower[idx[m]]));
    }
    d += "V" + coord(c.y(upper[idx[e]]));
    for (std::size_t m = e; m > i; --m) {
      d += "H" + coord(c.x(t[idx[m]])) + "V" + coord(c.y(upper[idx[m - 1]]));
    }
    d += "H" + coord(c.x(t[idx[i]])) + "Z";
    i = e + 1;
  }
  return d;
}

std::string shading(const Chart& c, const SimulationResult& r, std::size_t j) {
  std::string out;
  const auto& pts = r.points[j];
  std::size_t k = 0;
  while (k < pts.size()) {
    const auto st = pts[k].status;
    std::size_t e = k;
    while (e + 1 < pts.size() && pts[e + 1].status == st) {
      ++e;
    }
    if (st != risk::BreakerStatus::kNormal) {
      const double x0 = c.x(r.times[k]);
      const double x1 = e + 1 < pts.size() ? c.x(r.times[e + 1]) : c.x(r.times[e]) + 2.0;
      out += "<rect class=\"" +
             std::string(st == risk::BreakerStatus::kTripped ? "tripped" : "cooldown") + "\" x=\"" +
             coord(x0) + "\" y=\"" + coord(c.top) + "\" width=\"" + coord(std::max(1.0, x1 - x0)) +
             "\" height=\"" + coord(c.height - c.top - c.bottom) + "\"><title>" +
             risk::to_string(st) + " from " + iso_time(r.times[k]) + "</title></rect>";
    }
    k = e + 1;
  }
  return out;
}

std::string axes(const Chart& c, const std::vector<std::int64_t>& t, bool percent) {
  std::string out = "<line class=\"axis\" x1=\"" + coord(c.left) + "\" y1=\"" +
                    coord(c.height - c.bottom) + "\" x2=\"" + coord(c.width - c.right) +
                    "\" y2=\"" + coord(c.height - c.bottom) + "\"/>";
  for (int i = 0; i <= 4; ++i) {
    const double v = c.y0 + (c.y1 - c.y0) * i / 4.0;
    const std::string label = percent ? fmt("%.1f%%", 100.0 * v) : fmt("%.4g", v);
    out += "<text class=\"tick\" x=\"" + coord(c.left - 6) + "\" y=\"" + coord(c.y(v) + 4) +
           "\" text-anchor=\"end\">" + label + "</text>";
    out += "<line class=\"grid\" x1=\"" + coord(c.left) + "\" y1=\"" + coord(c.y(v)) + "\" x2=\"" +
           coord(c.width - c.right) + "\" y2=\"" + coord(c.y(v)) + "\"/>";
  }
  if (!t.empty()) {
    for (int i = 0; i <= 4; ++i) {
      const std::int64_t ti = c.t0 + (c.t1 - c.t0) * i / 4;
      out += "<text class=\"tick\" x=\"" + coord(c.x(ti)) + "\" y=\"" + coord(c.height - 8) +
             "\" text-anchor=\"" +
             (i == 0   ? "start"
              : i == 4 ? "end"
                       : "middle") +
             "\">" + iso_date(ti) + "</text>";
    }
  }
  return out;
}

const char* kColours[] = {"#1f77b4", "#2ca02c", "#9467bd", "#8c564b",
                          "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

std::string price_chart(const SimulationResult& r, std::size_t j) {
  // The assets the portfolio holds and its value, each indexed to 100 at its first price.
  Chart c;
  c.t0 = r.times.front();
  c.t1 = r.times.back();
  std::vector<std::pair<std::string, std::vector<double>>> series;
  const auto& spec = r.portfolios[j];
  for (const auto& [sym, q] : spec.positions) {
    const auto a = static_cast<std::size_t>(std::find(r.assets.begin(), r.assets.end(), sym) -
                                            r.assets.begin());
    std::vector<double> v(r.times.size());
    double base = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t k = 0; k < r.times.size(); ++k) {
      const double p = r.prices[k][a];
      if (!std::isfinite(base) && std::isfinite(p)) {
        base = p;
      }
      v[k] = std::isfinite(p) && std::isfinite(base) ? 100.0 * p / base : p;
    }
    series.emplace_back(sym, std::move(v));
  }
  {
    std::vector<double> v(r.times.size());
    double base = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t k = 0; k < r.times.size(); ++k) {
      const double p = r.points[j][k].value > 0 ? r.points[j][k].value
                                                : std::numeric_limits<double>::quiet_NaN();
      if (!std::isfinite(base) && std::isfinite(p)) {
        base = p;
      }
      v[k] = std::isfinite(p) ? 100.0 * p / base : p;
    }
    series.emplace_back("portfolio value", std::move(v));
  }
  double lo = 1e300, hi = -1e300;
  for (const auto& [n, v] : series) {
    for (double x : v) {
      if (std::isfinite(x)) {
        lo = std::min(lo, x);
        hi = std::max(hi, x);
      }
    }
  }
  if (lo > hi) {
    lo = 0;
    hi = 1;
  }
  const double pad = (hi - lo) * 0.05 + 1e-9;
  c.y0 = lo - pad;
  c.y1 = hi + pad;
  std::string svg =
      "<svg class=\"chart price\" viewBox=\"0 0 960 240\" width=\"960\" height=\"240\" "
      "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"prices\">";
  svg += shading(c, r, j) + axes(c, r.times, false);
  std::string legend;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const bool value = i + 1 == series.size();
    const char* colour = value ? "#000000" : kColours[i % 8];
    svg += "<path class=\"series\" fill=\"none\" stroke=\"" + std::string(colour) +
           "\" stroke-width=\"" + (value ? "2" : "1.2") + "\" d=\"" +
           line_path(c, r.times, series[i].second, false) + "\"/>";
    legend += "<span style=\"color:" + std::string(colour) + "\">&#9632; " +
              html_escape(series[i].first) + "</span> ";
  }
  svg += "</svg>";
  return "<p class=\"legend\">Price, indexed to 100 at the first tick: " + legend +
         "<span class=\"sw tripped\"></span> tripped <span class=\"sw cooldown\"></span> "
         "cooldown</p>" +
         svg;
}

std::string risk_chart(const SimulationResult& r, std::size_t j) {
  Chart c;
  c.t0 = r.times.front();
  c.t1 = r.times.back();
  const auto& pts = r.points[j];
  std::vector<double> var(pts.size()), cvar(pts.size()), computed(pts.size());
  double hi = 0.0;
  for (std::size_t k = 0; k < pts.size(); ++k) {
    const bool on = pts[k].onchain_var > 0.0;
    var[k] = on ? pts[k].onchain_var : std::numeric_limits<double>::quiet_NaN();
    cvar[k] = on ? pts[k].onchain_cvar : std::numeric_limits<double>::quiet_NaN();
    computed[k] =
        pts[k].has_estimate ? pts[k].computed_var : std::numeric_limits<double>::quiet_NaN();
    for (double v : {var[k], cvar[k], computed[k]}) {
      if (std::isfinite(v)) {
        hi = std::max(hi, v);
      }
    }
    if (pts[k].sample) {
      hi = std::max(hi, pts[k].realised_loss);
    }
  }
  c.y0 = 0.0;
  c.y1 = hi > 0.0 ? hi * 1.08 : 0.01;
  std::string svg =
      "<svg class=\"chart risk\" viewBox=\"0 0 960 240\" width=\"960\" height=\"240\" "
      "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"VaR and CVaR\">";
  svg += shading(c, r, j) + axes(c, r.times, true);
  // The VaR-CVaR band (the tail beyond VaR), then the lines.
  svg += "<path class=\"band\" fill=\"#d62728\" fill-opacity=\"0.12\" stroke=\"none\" d=\"" +
         band_path(c, r.times, var, cvar) + "\"/>";
  svg += "<path class=\"cvar\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.2\" d=\"" +
         line_path(c, r.times, cvar, true) + "\"/>";
  svg += "<path class=\"var\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.6\" d=\"" +
         line_path(c, r.times, var, true) + "\"/>";
  svg +=
      "<path class=\"computed\" fill=\"none\" stroke=\"#7f7f7f\" stroke-width=\"1\" "
      "stroke-dasharray=\"3 2\" d=\"" +
      line_path(c, r.times, computed, false) + "\"/>";
  // Realised losses (positive only): grey dots; exceptions: red circles with a tooltip.
  for (std::size_t k = 0; k < pts.size(); ++k) {
    if (!pts[k].sample || pts[k].realised_loss <= 0.0) {
      continue;
    }
    const double x = c.x(r.times[k]), y = c.y(std::min(pts[k].realised_loss, c.y1));
    if (pts[k].exception) {
      svg += "<circle class=\"exception\" cx=\"" + coord(x) + "\" cy=\"" + coord(y) +
             "\" r=\"4\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\"><title>exception " +
             iso_date(r.times[k]) + ": loss " + pct(pts[k].realised_loss) + " > VaR " +
             pct(pts[k].onchain_var) + "</title></circle>";
    } else {
      svg += "<circle class=\"loss\" cx=\"" + coord(x) + "\" cy=\"" + coord(y) +
             "\" r=\"1.5\" fill=\"#999999\"/>";
    }
  }
  svg += "</svg>";
  return "<p class=\"legend\">Risk, fraction of value: <span style=\"color:#1f77b4\">&#9632; VaR "
         "on chain</span> <span style=\"color:#d62728\">&#9632; CVaR on chain</span> <span "
         "style=\"color:#7f7f7f\">- - computed VaR</span> <span style=\"color:#999999\">&#9679; "
         "realised loss</span> <span style=\"color:#d62728\">&#9675; exception</span></p>" +
         svg;
}

}  // namespace

std::string report_html(const SimulationResult& r) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>varkeeper "
      "simulate: " +
      html_escape(r.scenario) +
      "</title><style>"
      "body{font-family:sans-serif;margin:24px;color:#222}"
      "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;"
      "text-align:left;font-size:13px}"
      ".tick{font-size:11px;fill:#555}.axis{stroke:#333}.grid{stroke:#eee}"
      "rect.tripped{fill:#d62728;fill-opacity:0.15}rect.cooldown{fill:#ff7f0e;fill-opacity:0.12}"
      ".sw{display:inline-block;width:12px;height:12px}.sw.tripped{background:rgba(214,39,40,.15)}"
      ".sw.cooldown{background:rgba(255,127,14,.12)}.legend{font-size:13px;margin:12px 0 2px}"
      "</style></head><body>\n";
  h += "<h1>Scenario " + html_escape(r.scenario) + "</h1>\n<p>" + html_escape(r.description) +
       "</p>\n<p>" + std::to_string(r.times.size()) + " ticks, " + window_text(r) + ", seed " +
       std::to_string(r.seed) + ", " + std::to_string(r.incidents.size()) + " incidents.</p>\n";
  if (!r.sink.empty()) {
    h += "<p>Reports checked by the " + html_escape(r.sink) + ".</p>\n";
  }
  if (!r.times.empty()) {
    const auto rows = summary_rows(r);
    h += "<table class=\"summary\">";
    for (const auto& [label, cells] : rows) {
      h += "<tr><th>" + html_escape(label) + "</th>";
      for (const auto& cell : cells) {
        h += "<td>" + html_escape(cell) + "</td>";
      }
      h += "</tr>";
    }
    h += "</table>\n";
    for (std::size_t j = 0; j < r.points.size(); ++j) {
      h += "<h2>Portfolio " + std::to_string(r.summaries[j].id) + " " +
           html_escape(r.summaries[j].name) + "</h2>\n";
      h += price_chart(r, j) + "\n" + risk_chart(r, j) + "\n";
    }
  }
  h += "<h2>Incidents</h2>\n";
  if (r.incidents.empty()) {
    h += "<p>None.</p>\n";
  } else {
    h += "<table class=\"incidents\"><tr><th>time</th><th>category</th><th>subject</th><th>"
         "evidence</th></tr>";
    const std::size_t shown = std::min<std::size_t>(r.incidents.size(), 500);
    for (std::size_t i = 0; i < shown; ++i) {
      const auto& inc = r.incidents[i];
      h += "<tr><td>" + iso_time(inc.time) + "</td><td>" + html_escape(inc.category) + "</td><td>" +
           html_escape(inc.subject) + "</td><td>" + html_escape(inc.evidence) + "</td></tr>";
    }
    h += "</table>\n";
    if (shown < r.incidents.size()) {
      h += "<p>" + std::to_string(r.incidents.size() - shown) + " more in summary.json.</p>\n";
    }
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace varkeeper::keeper
