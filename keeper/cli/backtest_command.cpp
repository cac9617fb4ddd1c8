// `varkeeper backtest`: backtest VaR/CVaR forecasts against realised returns — either forecasts
// the user already has (--forecasts date,var[,cvar] --realized date,return) or a rolling
// out-of-sample run of one of varkeeper's methods over price histories (--prices ... --method M
// --window W [--refit K]). Reports exceptions against expectation, Kupiec POF, Christoffersen
// independence and conditional coverage, the Basel traffic-light zone, the Acerbi-Szekely Z2
// expected-shortfall test and a recalibration multiplier (risk/backtest.hpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "keeper/cli/command.hpp"
#include "keeper/io/backtest_csv.hpp"
#include "keeper/io/price_csv.hpp"
#include "keeper/io/weights.hpp"
#include "risk/backtest.hpp"
#include "risk/backtest_duration.hpp"
#include "risk/returns.hpp"
#include "risk/risk_diagnostic.hpp"
#include "risk/risk_method.hpp"
#include "risk/rolling_backtest.hpp"

namespace varkeeper::keeper::cli {
namespace {

struct BacktestCliOptions {
  std::vector<std::string> prices;
  std::string weights;
  std::string method;
  std::string mean = "zero";
  std::size_t window = 500;
  std::size_t refit = 1;
  std::string forecasts;
  std::string realized;
  double confidence = 0.99;
  std::size_t paths = 20'000;
  std::uint64_t seed = 1;
  double ewma = 0.94;
  unsigned threads = 0;
  std::size_t es_simulations = 5000;
  double es_tail_dof = 0.0;
  std::string recalibrate = "zone";
  std::string forecasts_out;
  bool json = false;
};

// The series a backtest runs on, whichever way it was obtained.
struct BacktestInput {
  std::vector<std::string> dates;
  std::vector<double> var;
  std::vector<double> cvar;  // may be empty (forecast files without a cvar column)
  std::vector<double> realized;
  std::string source;  // "forecasts" or "rolling"
  std::size_t refits = 0;
  std::size_t dropped = 0;  // forecasts without a realised return on their date
  // Rolling: per diagnostic kind, the fits that carried it (risk/rolling_backtest.hpp).
  std::vector<std::size_t> diagnostic_fits;
  // Rolling: the fits' predictive laws and which fit each period used (risk/predictive_law.hpp).
  risk::ForecastSeries laws;
};

// {"kind": fits} for every kind seen in the rolling fits (empty for --forecasts).
nlohmann::json diagnostics_json(const BacktestInput& in) {
  nlohmann::json j = nlohmann::json::object();
  const auto kinds = risk::all_diagnostic_kinds();
  for (std::size_t k = 0; k < in.diagnostic_fits.size() && k < kinds.size(); ++k) {
    if (in.diagnostic_fits[k] > 0) {
      j[std::string(risk::to_string(kinds[k]))] = in.diagnostic_fits[k];
    }
  }
  return j;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string general(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

BacktestInput load_forecasts(const BacktestCliOptions& o) {
  auto forecasts = read_forecasts_csv(o.forecasts);
  if (!forecasts) {
    throw UserError(describe(forecasts.error(), o.forecasts));
  }
  auto realized = read_realized_csv(o.realized);
  if (!realized) {
    throw UserError(describe(realized.error(), o.realized));
  }
  auto aligned = align_backtest_input(*forecasts, *realized);
  if (aligned.dates.empty()) {
    throw UserError("no date in " + o.forecasts + " has a realised return in " + o.realized +
                    "; nothing to backtest.");
  }
  BacktestInput in;
  in.dates = std::move(aligned.dates);
  in.var = std::move(aligned.var);
  in.cvar = std::move(aligned.cvar);
  in.realized = std::move(aligned.realized);
  in.dropped = aligned.forecasts_without_return;
  in.source = "forecasts";
  return in;
}

// Rolling out-of-sample forecasts of `method` over the aligned price histories: log returns per
// asset (row t = ln(p_t / p_{t-1}) between consecutive common dates), realised portfolio simple
// returns with the weights rebalanced every period (risk/rolling_backtest.hpp).
risk::MeanModel mean_model(const BacktestCliOptions& o) {
  const auto mean = risk::parse_mean_model(o.mean);
  if (!mean) {
    throw UserError("--mean '" + o.mean + "' is not zero or sample.");
  }
  return *mean;
}

BacktestInput load_rolling(const BacktestCliOptions& o, risk::RiskMethod method) {
  std::vector<PriceTable> tables;
  for (const auto& path : o.prices) {
    auto table = read_price_csv(path, CsvValues::kPrices);
    if (!table) {
      throw UserError(table.error().message);
    }
    tables.push_back(std::move(*table));
  }
  auto aligned = align_on_common_dates(tables);
  if (!aligned) {
    throw UserError(aligned.error().message);
  }
  const PriceTable& prices = *aligned;
  const std::size_t n_assets = prices.n_assets();
  const std::size_t n_rows = prices.dates.size();
  const auto weights = parse_weights(o.weights, prices.assets);
  if (!weights) {
    throw UserError(weights.error().message);
  }
  if (n_rows < 2 || n_rows - 1 <= o.window) {
    throw UserError("too few observations for the window: the prices give " +
                    std::to_string(n_rows == 0 ? 0 : n_rows - 1) + " returns on common dates, " +
                    "--window " + std::to_string(o.window) + " needs at least " +
                    std::to_string(o.window + 1) + ".");
  }
  const std::vector<double> returns = risk::log_returns(prices.values, n_assets);
  risk::RollingBacktestOptions ro;
  ro.method = method;
  ro.window = o.window;
  ro.refit_every = o.refit;
  ro.risk.mean = mean_model(o);
  ro.risk.paths = o.paths;
  ro.risk.seed = o.seed;
  ro.risk.ewma_lambda = o.ewma;
  ro.risk.threads = o.threads;
  ro.threads = o.threads;
  ro.backtest.confidence = o.confidence;
  ro.backtest.shortfall.simulations =
      1;  // the report is recomputed by run() with the user's options
  risk::RollingBacktestResult result;
  try {
    result = risk::rolling_backtest(risk::ReturnWindow{returns, n_assets}, *weights, {}, ro);
  } catch (const std::invalid_argument& e) {
    throw UserError(std::string("the rolling backtest cannot run: ") + e.what());
  }
  BacktestInput in;
  for (std::size_t row : result.forecasts.row) {
    in.dates.push_back(prices.dates[row + 1]);
  }
  in.laws.fit = std::move(result.forecasts.fit);
  in.laws.laws = std::move(result.forecasts.laws);
  in.var = std::move(result.forecasts.var);
  in.cvar = std::move(result.forecasts.cvar);
  in.realized = std::move(result.forecasts.realized);
  in.refits = result.refits;
  in.diagnostic_fits = std::move(result.diagnostic_fits);
  in.source = "rolling";
  return in;
}

// date,var,cvar,return,calibrated_var: the forecasts, what happened, and the out-of-sample
// recalibrated VaR beside the raw one (cvar is empty when the input forecasts had none).
void write_forecasts(const BacktestInput& in, const risk::BacktestReport& r,
                     const std::string& path) {
  std::ofstream out(path);
  if (!out) {
    throw UserError("cannot write the forecast series to " + path + ".");
  }
  out << "date,var,cvar,return,calibrated_var\n";
  char buf[200];
  for (std::size_t t = 0; t < in.dates.size(); ++t) {
    char cvar[40] = "";
    if (!in.cvar.empty()) {
      std::snprintf(cvar, sizeof cvar, "%.17g", in.cvar[t]);
    }
    std::snprintf(buf, sizeof buf, "%s,%.17g,%s,%.17g,%.17g\n", in.dates[t].c_str(), in.var[t],
                  cvar, in.realized[t], r.calibrated.var[t]);
    out << buf;
  }
  if (!out) {
    throw UserError("cannot write the forecast series to " + path + ".");
  }
}

nlohmann::json lr_json(const risk::LikelihoodRatioTest& t, bool reject) {
  return {{"lr", t.lr}, {"p_value", t.p_value}, {"dof", t.dof}, {"reject", reject}};
}

// Christoffersen-Pelletier duration and Engle-Manganelli DQ (risk/backtest_duration.hpp) on the
// same series; DQ is empty when the series is too short for its 4 lags.
struct IndependenceExtras {
  risk::DurationTestResult duration;
  std::optional<risk::DynamicQuantileResult> dq;
  double level = 0.05;  // reject when p < level, as the other LR tests
};
IndependenceExtras independence_extras(const BacktestCliOptions& o, const BacktestInput& in) {
  IndependenceExtras x;
  x.level = 1.0 - risk::BacktestOptions{}.test_level;
  x.duration = risk::christoffersen_pelletier_duration(risk::hit_sequence(in.realized, in.var));
  if (in.realized.size() > 2 * risk::kDefaultDqLags + 2) {
    x.dq = risk::engle_manganelli_dq(in.realized, in.var, o.confidence);
  }
  return x;
}

void print_json(const BacktestCliOptions& o, const BacktestInput& in,
                const risk::BacktestReport& r) {
  nlohmann::json j;
  j["source"] = in.source;
  if (in.source == "rolling") {
    j["method"] = o.method;
    j["window"] = o.window;
    j["refit"] = o.refit;
    j["refits"] = in.refits;
    // How many of the fits carried each diagnostic (risk/risk_diagnostic.hpp).
    j["diagnostics"] = diagnostics_json(in);
  }
  j["non_positive_var_periods"] = r.non_positive_var;
  j["confidence"] = o.confidence;
  j["n_obs"] = r.n_obs;
  j["first_date"] = in.dates.front();
  j["last_date"] = in.dates.back();
  j["forecasts_without_return"] = in.dropped;
  j["exceptions"] = r.exceptions;
  j["expected_exceptions"] = r.expected_exceptions;
  j["exception_ratio"] = r.exception_ratio;
  j["first_exception_date"] = r.first_exception == 0
                                  ? nlohmann::json(nullptr)
                                  : nlohmann::json(in.dates[r.first_exception - 1]);
  j["transitions"] = {{"n00", r.transitions.n00},
                      {"n01", r.transitions.n01},
                      {"n10", r.transitions.n10},
                      {"n11", r.transitions.n11}};
  j["kupiec"] = lr_json(r.pof, r.pof_reject);
  j["christoffersen"] = {
      {"independence", lr_json(r.independence, r.independence_reject)},
      {"conditional_coverage", lr_json(r.conditional_coverage, r.conditional_coverage_reject)}};
  const IndependenceExtras x = independence_extras(o, in);
  j["duration"] = {{"test", "christoffersen-pelletier-2004"},
                   {"defined", x.duration.defined},
                   {"lr", x.duration.lr.lr},
                   {"p_value", x.duration.lr.p_value},
                   {"dof", x.duration.lr.dof},
                   {"reject", x.duration.defined && x.duration.lr.p_value < x.level},
                   {"weibull_b", x.duration.shape_b},
                   {"durations", x.duration.durations},
                   {"uncensored", x.duration.uncensored}};
  j["dq"] = x.dq ? nlohmann::json{{"test", "engle-manganelli-2004"},
                                  {"dq", x.dq->dq},
                                  {"p_value", x.dq->p_value},
                                  {"dof", x.dq->dof},
                                  {"lags", x.dq->lags},
                                  {"reject", x.dq->p_value < x.level}}
                 : nlohmann::json(nullptr);
  j["traffic_light"] = {{"zone", risk::to_string(r.traffic_light.zone)},
                        {"cumulative_probability", r.traffic_light.cumulative_probability},
                        {"type1_error", r.traffic_light.type1_error},
                        {"green_max", r.traffic_light.green_max},
                        {"yellow_max", r.traffic_light.yellow_max},
                        {"plus_factor", r.traffic_light.plus_factor}};
  j["es_test"] = {{"statistic", "acerbi-szekely-z2"},
                  {"z2", r.shortfall.z2},
                  {"critical_value", r.shortfall.critical_value},
                  {"p_value", r.shortfall.p_value},
                  {"reject", r.shortfall.reject},
                  {"significance", 0.05},
                  {"simulations", r.shortfall.simulations},
                  {"tail_dof", o.es_tail_dof},
                  {"es_source", r.shortfall_es_implied ? "normal-implied" : "forecast"},
                  {"excluded_periods", r.shortfall_excluded}};
  // Z2 simulated under each period's own forecast law (parametric and Monte Carlo methods in a
  // rolling backtest); null for methods without one and for --forecasts files.
  j["es_test_model"] = r.shortfall_model
                           ? nlohmann::json{{"statistic", "acerbi-szekely-z2"},
                                            {"null", "forecast-law"},
                                            {"z2", r.shortfall_model->z2},
                                            {"critical_value", r.shortfall_model->critical_value},
                                            {"p_value", r.shortfall_model->p_value},
                                            {"reject", r.shortfall_model->reject},
                                            {"significance", 0.05},
                                            {"simulations", r.shortfall_model->simulations}}
                           : nlohmann::json(nullptr);
  j["recalibration"] = {
      {"basis", o.recalibrate},
      {"multiplier", r.multiplier},
      {"zone_multiplier", r.multiplier_zone},
      {"exception_ratio_multiplier", r.multiplier_exception_ratio
                                         ? nlohmann::json(*r.multiplier_exception_ratio)
                                         : nlohmann::json(nullptr)},
      {"last_var", r.last_var},
      {"last_calibrated_var", r.last_calibrated_var},
      {"mean_calibrated_var", r.mean_calibrated_var},
      {"calibrated_exceptions", r.calibrated_exceptions},
      {"rolling",
       {{"window", 250},
        {"exceptions", r.calibrated.exceptions},
        {"kupiec_p_value", r.calibrated.pof.p_value},
        {"zone", risk::to_string(r.calibrated.traffic_light.zone)},
        {"mean_var", r.calibrated.mean_var},
        {"last_multiplier", r.calibrated.multiplier.back()},
        {"last_var", r.calibrated.var.back()}}}};
  j["mean_var"] = r.mean_var;
  j["mean_cvar"] = r.mean_es;
  std::cout << j.dump(2) << '\n';
}

const char* verdict(bool reject) { return reject ? "reject" : "accept"; }

void print_text(const BacktestCliOptions& o, const BacktestInput& in,
                const risk::BacktestReport& r) {
  auto& out = std::cout;
  if (in.source == "rolling") {
    out << "backtest of " << o.method << ", window " << o.window << ", refit every " << o.refit
        << " (" << in.refits << " fits), confidence " << general(o.confidence) << '\n';
  } else {
    out << "backtest of " << o.forecasts << " against " << o.realized << ", confidence "
        << general(o.confidence) << '\n';
  }
  out << "periods          " << r.n_obs << " (" << in.dates.front() << " to " << in.dates.back()
      << ")";
  if (in.dropped > 0) {
    out << ", " << in.dropped << " forecasts without a realised return skipped";
  }
  out << '\n';
  if (in.source == "rolling") {
    out << "diagnostics      ";
    const auto kinds = risk::all_diagnostic_kinds();
    bool any = false;
    for (std::size_t k = 0; k < in.diagnostic_fits.size() && k < kinds.size(); ++k) {
      if (in.diagnostic_fits[k] > 0) {
        out << (any ? ", " : "") << risk::to_string(kinds[k]) << " in " << in.diagnostic_fits[k]
            << " of " << in.refits << " fits";
        any = true;
      }
    }
    out << (any ? "" : "none") << '\n';
  }
  if (r.non_positive_var > 0) {
    out << "VaR <= 0         " << r.non_positive_var
        << " periods (the model expected no loss; any loss above the VaR counts as an "
           "exception)\n";
  }
  out << "exceptions       " << r.exceptions << " (expected " << fixed(r.expected_exceptions, 2)
      << ", ratio " << fixed(r.exception_ratio, 3) << ")";
  if (r.first_exception > 0) {
    out << ", first on " << in.dates[r.first_exception - 1];
  }
  out << '\n';
  out << "Kupiec POF       LR " << fixed(r.pof.lr, 5) << "  p " << fixed(r.pof.p_value, 5) << "  "
      << verdict(r.pof_reject) << '\n';
  out << "independence     LR " << fixed(r.independence.lr, 5) << "  p "
      << fixed(r.independence.p_value, 5) << "  " << verdict(r.independence_reject) << "  (n00 "
      << r.transitions.n00 << ", n01 " << r.transitions.n01 << ", n10 " << r.transitions.n10
      << ", n11 " << r.transitions.n11 << ")\n";
  out << "cond. coverage   LR " << fixed(r.conditional_coverage.lr, 5) << "  p "
      << fixed(r.conditional_coverage.p_value, 5) << "  " << verdict(r.conditional_coverage_reject)
      << '\n';
  const IndependenceExtras x = independence_extras(o, in);
  if (x.duration.defined) {
    out << "duration (C-P)   LR " << fixed(x.duration.lr.lr, 5) << "  p "
        << fixed(x.duration.lr.p_value, 5) << "  " << verdict(x.duration.lr.p_value < x.level)
        << "  (Weibull b " << fixed(x.duration.shape_b, 3) << ", " << x.duration.durations
        << " durations, " << x.duration.uncensored << " uncensored)\n";
  } else {
    out << "duration (C-P)   n/a (no uncensored duration between exceptions)\n";
  }
  if (x.dq) {
    out << "DQ (E-M)         DQ " << fixed(x.dq->dq, 5) << "  p " << fixed(x.dq->p_value, 5) << "  "
        << verdict(x.dq->p_value < x.level) << "  (" << x.dq->lags << " lags, dof " << x.dq->dof
        << ")\n";
  } else {
    out << "DQ (E-M)         n/a (too few periods for " << risk::kDefaultDqLags << " lags)\n";
  }
  out << "traffic light    " << risk::to_string(r.traffic_light.zone)
      << "  (P(X <= " << r.exceptions << ") = " << fixed(r.traffic_light.cumulative_probability, 5)
      << "; green <= " << r.traffic_light.green_max << ", yellow <= " << r.traffic_light.yellow_max
      << " exceptions)\n";
  out << "ES test (Z2)     Z2 " << fixed(r.shortfall.z2, 4) << "  critical "
      << fixed(r.shortfall.critical_value, 4) << " at 5 %  p " << fixed(r.shortfall.p_value, 4)
      << "  " << verdict(r.shortfall.reject) << "  ("
      << (r.shortfall_es_implied ? "ES implied by a normal VaR" : "ES from the forecasts") << ", "
      << r.shortfall.simulations << " simulations";
  if (r.shortfall_excluded > 0) {
    out << ", " << r.shortfall_excluded << " periods with ES <= 0 left out";
  }
  out << ")\n";
  if (r.shortfall_model) {
    out << "ES test (Z2 law) Z2 " << fixed(r.shortfall_model->z2, 4) << "  critical "
        << fixed(r.shortfall_model->critical_value, 4) << " at 5 %  p "
        << fixed(r.shortfall_model->p_value, 4) << "  " << verdict(r.shortfall_model->reject)
        << "  (null simulated under each period's forecast law, " << r.shortfall_model->simulations
        << " simulations)\n";
  } else {
    out << "ES test (Z2 law) n/a (no forecast law: "
        << (in.source == "rolling" ? o.method : "a forecast file")
        << "; the fixed-model test above applies)\n";
  }
  out << "recalibration    multiplier " << fixed(r.multiplier, 4) << " (" << o.recalibrate
      << "; zone " << fixed(r.multiplier_zone, 4) << ", exception ratio "
      << (r.multiplier_exception_ratio ? fixed(*r.multiplier_exception_ratio, 4) : "n/a") << "), "
      << r.calibrated_exceptions << " exceptions after calibration (in sample)\n";
  out << "rolling recal.   trailing-250-day multiplier (out of sample): " << r.calibrated.exceptions
      << " exceptions, Kupiec p " << fixed(r.calibrated.pof.p_value, 5) << ", "
      << risk::to_string(r.calibrated.traffic_light.zone) << ", mean VaR "
      << fixed(r.calibrated.mean_var, 6) << ", last multiplier "
      << fixed(r.calibrated.multiplier.back(), 4) << '\n';
  out << "VaR              last " << fixed(r.last_var, 6) << ", calibrated "
      << fixed(r.last_calibrated_var, 6) << "; mean " << fixed(r.mean_var, 6) << ", mean CVaR "
      << fixed(r.mean_es, 6) << '\n';
}

void run(const BacktestCliOptions& o) {
  if (!(o.confidence > 0.0 && o.confidence < 1.0)) {
    throw UserError("--confidence must lie strictly between 0 and 1, e.g. 0.99.");
  }
  if (o.recalibrate != "zone" && o.recalibrate != "ratio") {
    throw UserError("--recalibrate must be 'zone' or 'ratio'.");
  }
  if (o.es_simulations == 0) {
    throw UserError("--es-simulations must be at least 1.");
  }
  if (o.es_tail_dof != 0.0 && !(o.es_tail_dof > 1.0)) {
    throw UserError("--es-tail-dof must be 0 (normal) or greater than 1.");
  }
  const bool by_forecasts = !o.forecasts.empty() || !o.realized.empty();
  const bool by_prices = !o.prices.empty();
  if (by_forecasts == by_prices) {
    throw UserError(
        "give either --prices FILE... --method M --window W, or --forecasts FILE --realized FILE.");
  }
  BacktestInput in;
  if (by_forecasts) {
    if (o.forecasts.empty() || o.realized.empty()) {
      throw UserError("--forecasts and --realized go together; give both files.");
    }
    if (!o.method.empty()) {
      throw UserError("--method applies to --prices, not to --forecasts.");
    }
    in = load_forecasts(o);
  } else {
    if (o.method.empty()) {
      throw UserError("--prices needs --method (e.g. --method historical).");
    }
    const auto method = risk::parse_risk_method(o.method);
    if (!method) {
      throw UserError("unknown --method '" + o.method + "'; use " +
                      risk::risk_method_names(", ", " or ") + ".");
    }
    if (o.window < 2) {
      throw UserError("--window must be at least 2.");
    }
    if (o.refit < 1) {
      throw UserError("--refit must be at least 1.");
    }
    in = load_rolling(o, *method);
  }
  risk::BacktestOptions bo;
  bo.confidence = o.confidence;
  bo.recalibration = o.recalibrate == "zone" ? risk::RecalibrationBasis::kTrafficLight
                                             : risk::RecalibrationBasis::kExceptionRatio;
  bo.shortfall.simulations = o.es_simulations;
  bo.shortfall.seed = o.seed;
  bo.shortfall.tail_dof = o.es_tail_dof;
  risk::BacktestReport report;
  const std::vector<const risk::PredictiveLaw*> laws = in.laws.law_per_period();
  try {
    report = risk::run_backtest(in.realized, in.var, in.cvar, bo, laws);
  } catch (const std::invalid_argument& e) {
    throw UserError(std::string("the backtest cannot run: ") + e.what());
  }
  if (!o.forecasts_out.empty()) {
    write_forecasts(in, report, o.forecasts_out);
  }
  if (o.json) {
    print_json(o, in, report);
  } else {
    print_text(o, in, report);
  }
}

// NOLINTNEXTLINE(cert-err58-cpp): the lambda runs later, inside main's try
const RegisterCommand kRegister{
    30, [](CLI::App& app) {
      auto opts = std::make_shared<BacktestCliOptions>();
      auto* cmd = app.add_subcommand(
          "backtest",
          "Backtest VaR/CVaR: exceptions, Kupiec, Christoffersen, Basel zone, ES test (Z2), "
          "recalibration");
      cmd->add_option("--prices", opts->prices,
                      "Price files: date,close per asset, or one wide date,A,B,... file")
          ->expected(1, -1);
      cmd->add_option("--weights", opts->weights, "Portfolio weights w1,w2,... (default: equal)");
      cmd->add_option("--method", opts->method,
                      "Method for a rolling backtest over --prices: " + risk::risk_method_names());
      cmd->add_option("--window", opts->window, "Rolling estimation window W in periods")
          ->capture_default_str();
      cmd->add_option("--mean", opts->mean,
                      "Expected return in the rolling fits: zero (the bank convention) or sample")
          ->capture_default_str();
      cmd->add_option("--refit", opts->refit,
                      "Refit every K periods; the forecast is held in between")
          ->capture_default_str();
      cmd->add_option("--forecasts", opts->forecasts,
                      "Forecast file date,var[,cvar] (loss fractions of value, CVaR >= VaR)");
      cmd->add_option("--realized", opts->realized, "Realised file date,return (simple returns)");
      cmd->add_option("--confidence", opts->confidence, "VaR confidence alpha in (0,1)")
          ->capture_default_str();
      cmd->add_option("--paths", opts->paths, "Monte Carlo paths per refit")->capture_default_str();
      cmd->add_option("--seed", opts->seed, "Seed for Monte Carlo and the ES-test simulation")
          ->capture_default_str();
      cmd->add_option("--ewma", opts->ewma, "EWMA lambda (filtered historical)")
          ->capture_default_str();
      cmd->add_option("--threads", opts->threads,
                      "Threads for the rolling fits and Monte Carlo (0 = all cores); results do "
                      "not depend on it")
          ->capture_default_str();
      cmd->add_option("--es-simulations", opts->es_simulations,
                      "Simulations for the Z2 critical value")
          ->capture_default_str();
      cmd->add_option("--es-tail-dof", opts->es_tail_dof,
                      "Tail of the Z2 simulation model: 0 = normal, else Student-t dof")
          ->capture_default_str();
      cmd->add_option("--recalibrate", opts->recalibrate,
                      "Multiplier basis: zone (Basel plus factor) or ratio (exception ratio)")
          ->capture_default_str();
      cmd->add_option("--forecasts-out", opts->forecasts_out,
                      "Also write the series as date,var,cvar,return,calibrated_var");
      cmd->add_flag("--json", opts->json, "JSON output");
      cmd->callback([opts] { run(*opts); });
    }};

}  // namespace
}  // namespace varkeeper::keeper::cli
