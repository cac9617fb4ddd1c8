// `varkeeper var`: VaR and CVaR of a portfolio from price or return files, by any method of
// risk/risk_method.hpp (issue 3, item 6).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "keeper/cli/command.hpp"
#include "keeper/io/price_csv.hpp"
#include "keeper/io/weights.hpp"
#include "risk/attribution.hpp"
#include "risk/returns.hpp"
#include "risk/risk_method.hpp"

namespace varkeeper::keeper::cli {
namespace {

struct VarArgs {
  std::vector<std::string> prices;
  std::string returns;
  std::string weights;
  std::string method;
  std::string mean = "zero";
  double confidence = 0.99;
  int horizon = 1;
  std::size_t window = 500;
  double ewma = 0.0;  // 0 = not given
  bool ledoit_wolf = false;
  double age_lambda = 0.98;
  std::size_t paths = 100'000;
  std::uint64_t seed = 1;
  unsigned threads = 0;
  bool linear = false;
  bool sensitivities = false;
  bool json = false;
};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    s += (s.empty() ? "" : ", ") + x;
  }
  return s;
}

PriceTable load(const VarArgs& a) {
  std::vector<PriceTable> tables;
  const bool returns = !a.returns.empty();
  const std::vector<std::string> files = returns ? std::vector<std::string>{a.returns} : a.prices;
  for (const auto& f : files) {
    auto t = read_price_csv(f, returns ? CsvValues::kSimpleReturns : CsvValues::kPrices);
    if (!t) {
      throw UserError(t.error().message);
    }
    tables.push_back(std::move(*t));
  }
  auto aligned = align_on_common_dates(tables);
  if (!aligned) {
    throw UserError(aligned.error().message);
  }
  return std::move(*aligned);
}

// Refuses arguments that cannot work, before any file is read.
risk::RiskMethod check_args(const VarArgs& a) {
  if (a.prices.empty() == a.returns.empty()) {
    throw UserError("give either --prices FILE... or --returns FILE.");
  }
  const auto method = risk::parse_risk_method(a.method);
  if (!method) {
    throw UserError("--method '" + a.method + "' is not one of " + risk::risk_method_names() + ".");
  }
  if (!risk::parse_mean_model(a.mean)) {
    throw UserError("--mean '" + a.mean + "' is not zero or sample.");
  }
  if (!(a.confidence > 0.0 && a.confidence < 1.0)) {
    throw UserError("--confidence must be strictly between 0 and 1 (e.g. 0.99).");
  }
  if (a.horizon < 1) {
    throw UserError("--horizon must be at least 1 period.");
  }
  if (a.window < 2) {
    throw UserError("--window must be at least 2 returns.");
  }
  if (a.ewma != 0.0 && !(a.ewma > 0.0 && a.ewma < 1.0)) {
    throw UserError("--ewma must be strictly between 0 and 1 (RiskMetrics uses 0.94).");
  }
  if (a.ewma != 0.0 && a.ledoit_wolf) {
    throw UserError("--ewma and --ledoit-wolf are two covariances: choose one.");
  }
  return *method;
}

risk::RiskOptions risk_options(const VarArgs& a) {
  risk::RiskOptions o;
  o.confidence = a.confidence;
  o.horizon = a.horizon;
  o.mean = *risk::parse_mean_model(a.mean);
  o.paths = a.paths;
  o.seed = a.seed;
  o.threads = a.threads;
  o.age_lambda = a.age_lambda;
  if (a.ewma != 0.0) {
    o.ewma_lambda = a.ewma;
    o.ewma_covariance = true;
  }
  o.ledoit_wolf = a.ledoit_wolf;
  o.revaluation = a.linear ? risk::Revaluation::kLinear : risk::Revaluation::kFull;
  return o;
}

// What `var` prints: the estimate over the window and what it was computed from.
struct VarResult {
  PriceTable table;
  std::vector<double> weights;
  std::string first_date;
  std::string last_date;
  risk::RiskEstimate estimate;
  risk::RiskAttribution attribution;  // with --sensitivities
};

// [{"kind": "cf_outside_domain", "detail": "..."}, ...]: empty when there is nothing to say.
nlohmann::json diagnostics_json(const std::vector<risk::Diagnostic>& list) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : list) {
    out.push_back({{"kind", std::string(risk::to_string(d.kind))}, {"detail", d.detail}});
  }
  return out;
}

void print_json(const VarArgs& a, const VarResult& v) {
  const auto& e = v.estimate;
  const auto& attribution = v.attribution;
  nlohmann::json j;
  j["method"] = a.method;
  j["confidence"] = a.confidence;
  j["horizon"] = a.horizon;
  j["mean"] = a.mean;
  j["n_obs"] = e.n_obs;
  j["first_date"] = v.first_date;
  j["last_date"] = v.last_date;
  j["var"] = e.var;
  j["cvar"] = e.cvar;
  j["stderr_var"] = e.stderr_var;
  j["stderr_cvar"] = e.stderr_cvar;
  if (risk::is_monte_carlo(*risk::parse_risk_method(a.method))) {
    j["paths"] = e.n_scenarios;
    j["seed"] = a.seed;
  }
  if (e.nu > 0.0) {
    j["nu"] = e.nu;
  }
  j["diagnostics"] = diagnostics_json(e.diagnostics);
  j["revaluation"] = a.linear ? "linear" : "full";
  j["covariance"] = a.ewma != 0.0 ? "ewma" : a.ledoit_wolf ? "ledoit-wolf" : "sample";
  nlohmann::json comps = nlohmann::json::array();
  for (std::size_t i = 0; i < v.table.n_assets(); ++i) {
    nlohmann::json c{{"asset", v.table.assets[i]},
                     {"weight", v.weights[i]},
                     {"var", e.component_var.empty() ? 0.0 : e.component_var[i]},
                     {"cvar", e.component_cvar.empty() ? 0.0 : e.component_cvar[i]}};
    if (a.sensitivities) {
      c["marginal_var"] = attribution.marginal_var[i];
      c["marginal_cvar"] = attribution.marginal_cvar[i];
      c["vega_var"] = attribution.vega_var[i];
      c["vega_cvar"] = attribution.vega_cvar[i];
    }
    comps.push_back(c);
  }
  j["components"] = comps;
  std::cout << j.dump(2) << '\n';
}

void print_text(const VarArgs& a, const VarResult& v) {
  const auto& e = v.estimate;
  const auto& attribution = v.attribution;
  const std::size_t n = v.table.n_assets();
  const bool mc = risk::is_monte_carlo(*risk::parse_risk_method(a.method));
  char buf[256];
  std::cout << "method      " << a.method << '\n';
  std::snprintf(buf, sizeof buf, "confidence  %g   horizon %d period(s)   mean %s\n", a.confidence,
                a.horizon, a.mean.c_str());
  std::cout << buf;
  std::cout << "window      " << e.n_obs << " returns, " << v.first_date << " .. " << v.last_date
            << '\n';
  std::snprintf(buf, sizeof buf, "VaR         %.6f  (%.3f %% of portfolio value)", e.var,
                100 * e.var);
  std::cout << buf;
  if (mc) {
    std::snprintf(buf, sizeof buf, "  stderr %.6f", e.stderr_var);
    std::cout << buf;
  }
  std::snprintf(buf, sizeof buf, "\nCVaR        %.6f  (%.3f %% of portfolio value)", e.cvar,
                100 * e.cvar);
  std::cout << buf;
  if (mc) {
    std::snprintf(buf, sizeof buf, "  stderr %.6f", e.stderr_cvar);
    std::cout << buf;
  }
  std::cout << '\n';
  if (mc) {
    std::cout << "paths       " << e.n_scenarios << " (seed " << a.seed << ")\n";
  }
  if (e.nu > 0.0) {
    std::snprintf(buf, sizeof buf, "nu          %.4f (Student-t, maximum likelihood)\n", e.nu);
    std::cout << buf;
  }
  for (const auto& d : e.diagnostics) {
    std::cout << "diagnostic  " << risk::to_string(d.kind) << ": " << d.detail << '\n';
  }
  std::cout << "components  asset, weight, VaR, CVaR (Euler; they sum to the totals)\n";
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "            %-16s %8.4f  %.6f  %.6f\n",
                  v.table.assets[i].c_str(), v.weights[i],
                  e.component_var.empty() ? 0.0 : e.component_var[i],
                  e.component_cvar.empty() ? 0.0 : e.component_cvar[i]);
    std::cout << buf;
  }
  if (a.sensitivities) {
    std::cout << "sensitivity asset, marginal VaR, marginal CVaR, vega VaR, vega CVaR "
                 "(per unit of ln volatility)\n";
    for (std::size_t i = 0; i < n; ++i) {
      std::snprintf(buf, sizeof buf, "            %-16s %9.6f %9.6f %9.6f %9.6f\n",
                    v.table.assets[i].c_str(), attribution.marginal_var[i],
                    attribution.marginal_cvar[i], attribution.vega_var[i],
                    attribution.vega_cvar[i]);
      std::cout << buf;
    }
  }
}

// Reads the inputs, takes the last --window returns and estimates (and attributes) the risk.
VarResult compute(const VarArgs& a, risk::RiskMethod method) {
  VarResult v;
  v.table = load(a);
  const auto parsed_weights = parse_weights(a.weights, v.table.assets);
  if (!parsed_weights) {
    throw UserError(parsed_weights.error().message);
  }
  v.weights = *parsed_weights;
  const std::size_t n = v.table.n_assets();

  // Log-returns: from consecutive common-date prices (each dated by its later price), or
  // ln(1 + r) of a simple-returns file.
  const bool from_prices = a.returns.empty();
  const std::vector<double> r = from_prices ? risk::log_returns(v.table.values, n)
                                            : risk::log_returns_from_simple(v.table.values);
  const std::vector<std::string> dates(
      v.table.dates.begin() + (from_prices && !v.table.dates.empty() ? 1 : 0), v.table.dates.end());
  const std::size_t available = dates.size();
  const std::string sources =
      join(a.returns.empty() ? a.prices : std::vector<std::string>{a.returns});
  if (available < a.window) {
    throw UserError(sources + " give(s) only " + std::to_string(available) +
                    " returns on common dates, fewer than --window " + std::to_string(a.window) +
                    "; use a smaller --window.");
  }
  const std::size_t first = available - a.window;
  const std::span<const double> window(r.data() + first * n, a.window * n);
  v.first_date = dates[first];
  v.last_date = dates.back();

  const risk::RiskOptions o = risk_options(a);
  try {
    if (a.sensitivities) {
      v.attribution = risk::attribute_risk(method, {window, n}, v.weights, o);
      v.estimate = v.attribution.estimate;
    } else {
      v.estimate = risk::estimate_risk(method, {window, n}, v.weights, o);
    }
  } catch (const std::invalid_argument& ex) {
    throw UserError(ex.what());
  }
  return v;
}

void run(const VarArgs& a) {
  const risk::RiskMethod method = check_args(a);
  const VarResult v = compute(a, method);
  if (a.json) {
    print_json(a, v);
  } else {
    print_text(a, v);
  }
}

// NOLINTNEXTLINE(cert-err58-cpp): the lambda runs later, inside main's try
const RegisterCommand kRegister{
    30, [](CLI::App& app) {
      auto args = std::make_shared<VarArgs>();
      auto* cmd = app.add_subcommand(
          "var",
          "VaR and CVaR of a portfolio from price or return files (positive loss fractions)");
      cmd->add_option("--prices", args->prices,
                      "Price files: `date,close` per asset, or one wide `date,A,B,...` file");
      cmd->add_option("--returns", args->returns,
                      "A wide `date,A,B,...` file of per-period simple returns");
      cmd->add_option("--weights", args->weights,
                      "Value weights w1,w2,... in the assets' order (default: equal)");
      cmd->add_option("--method", args->method, risk::risk_method_names(", ", " or "))->required();
      cmd->add_option("--confidence", args->confidence, "Confidence alpha in (0, 1)")
          ->capture_default_str();
      cmd->add_option("--horizon", args->horizon, "Horizon in periods (days for daily data)")
          ->capture_default_str();
      cmd->add_option("--window", args->window, "Number of most recent returns used")
          ->capture_default_str();
      cmd->add_option("--mean", args->mean,
                      "Expected return over the horizon: zero (the bank convention) or sample "
                      "(the window's mean, extrapolated h periods)")
          ->capture_default_str();
      cmd->add_option("--ewma", args->ewma,
                      "EWMA decay lambda: use the EWMA covariance (and this lambda for "
                      "filtered-historical, default 0.94)");
      cmd->add_option("--age-lambda", args->age_lambda, "Age-weighting decay for historical-age")
          ->capture_default_str();
      cmd->add_option("--paths", args->paths, "Monte Carlo paths")->capture_default_str();
      cmd->add_option("--seed", args->seed, "Monte Carlo seed")->capture_default_str();
      cmd->add_option("--threads", args->threads,
                      "Monte Carlo threads (0 = all cores; results do not depend on it)")
          ->capture_default_str();
      cmd->add_flag("--ledoit-wolf", args->ledoit_wolf,
                    "Shrink the sample covariance toward a scaled identity (Ledoit & Wolf 2004; "
                    "parametric-normal and mc-normal)");
      cmd->add_flag("--linear", args->linear,
                    "Linear losses -w'r (the delta approximation) instead of loss fractions of "
                    "value: full revaluation, 1 - exp(w'r) for the parametric methods");
      cmd->add_flag("--sensitivities", args->sensitivities,
                    "Also marginal VaR/CVaR (dRisk/dw_i) and volatility sensitivities (dRisk/dln "
                    "sigma_i, common random numbers for Monte Carlo) per asset");
      cmd->add_flag("--json", args->json, "JSON output");
      cmd->callback([args] { run(*args); });
    }};

}  // namespace
}  // namespace varkeeper::keeper::cli
