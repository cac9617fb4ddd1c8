// `varkeeper backtest` end to end: the built binary on forecast files reproducing MATLAB's
// published varbacktest example and the Basel table, a rolling run on the bundled BTC history
// round-tripped through --forecasts-out, and its one-sentence errors.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "risk/backtest.hpp"
#include "risk/backtest_duration.hpp"
#include "tests/support/test_support.hpp"

using varkeeper::test::run_process;
using varkeeper::test::TempDir;

namespace {

const std::string kBtc = std::string(VARKEEPER_SOURCE_DIR) + "/config/data/btc_usd_daily.csv";

// Consecutive calendar days from 2000-01-01 (no leap-day subtleties needed: checked by the parser).
std::vector<std::string> days(std::size_t n) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  std::vector<std::string> out;
  int y = 2000, m = 1, d = 1;
  for (std::size_t i = 0; i < n; ++i) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    out.emplace_back(buf);
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    const int month_days = m == 2 && !leap ? 28 : kDays[m - 1];
    if (++d > month_days) {
      d = 1;
      if (++m > 12) {
        m = 1;
        ++y;
      }
    }
  }
  return out;
}

void write_series(const std::string& forecasts, const std::string& realized,
                  const std::vector<double>& var, const std::vector<double>& ret) {
  const auto dates = days(var.size());
  std::ofstream f(forecasts);
  std::ofstream r(realized);
  f << "date,var\n";
  r << "date,return\n";
  for (std::size_t t = 0; t < var.size(); ++t) {
    f << dates[t] << ',' << var[t] << '\n';
    r << dates[t] << ',' << ret[t] << '\n';
  }
}

nlohmann::json run_json(const std::vector<std::string>& args) {
  std::vector<std::string> argv{VARKEEPER_BINARY, "backtest"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--json");
  const auto r = run_process(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("varkeeper backtest reproduces MATLAB's varbacktest example from forecast files") {
  varkeeper::test::require_tool(VARKEEPER_BINARY);
  // MATLAB varbacktest docs (EquityIndex, Normal95): 1043 days, 57 failures, N00 932, N01 53,
  // N10 53, N11 4 -> POF LR 0.46147, CCI LR 0.25866, CC LR 0.72013, TL green. The hit sequence:
  // 53 runs of failures, the first on day 58, runs 5, 15, 25, 35 two days long.
  std::vector<double> var(1043, 0.02);
  std::vector<double> ret(1043, 0.001);
  for (std::size_t run = 0; run < 53; ++run) {
    ret[57 + 18 * run] = -0.03;
    if (run % 10 == 5 && run < 40) ret[57 + 18 * run + 1] = -0.025;
  }
  TempDir dir("backtest");
  write_series(dir.file("f.csv"), dir.file("r.csv"), var, ret);
  const auto j = run_json(
      {"--forecasts", dir.file("f.csv"), "--realized", dir.file("r.csv"), "--confidence", "0.95"});
  CHECK(j["n_obs"] == 1043);
  CHECK(j["exceptions"] == 57);
  CHECK(j["first_exception_date"] == days(58).back());
  CHECK(j["transitions"]["n00"] == 932);
  CHECK(j["transitions"]["n01"] == 53);
  CHECK(j["transitions"]["n10"] == 53);
  CHECK(j["transitions"]["n11"] == 4);
  CHECK(j["kupiec"]["lr"].get<double>() == doctest::Approx(0.46147).epsilon(2e-5));
  CHECK(j["kupiec"]["p_value"].get<double>() == doctest::Approx(0.49694).epsilon(2e-5));
  CHECK(j["christoffersen"]["independence"]["lr"].get<double>() ==
        doctest::Approx(0.25866).epsilon(2e-5));
  CHECK(j["christoffersen"]["independence"]["p_value"].get<double>() ==
        doctest::Approx(0.61104).epsilon(2e-5));
  CHECK(j["christoffersen"]["conditional_coverage"]["lr"].get<double>() ==
        doctest::Approx(0.72013).epsilon(2e-5));
  CHECK(j["traffic_light"]["zone"] == "green");
  CHECK(j["traffic_light"]["cumulative_probability"].get<double>() ==
        doctest::Approx(0.77913).epsilon(2e-5));
  CHECK(j["es_test"]["es_source"] == "normal-implied");
}

TEST_CASE("varkeeper backtest gives Basel's zones for 250 days at 99 percent") {
  varkeeper::test::require_tool(VARKEEPER_BINARY);
  TempDir dir("backtest");
  for (const auto& [x, zone, plus] :
       {std::tuple{4, "green", 0.0}, {5, "yellow", 0.40}, {9, "yellow", 0.85}, {10, "red", 1.0}}) {
    CAPTURE(x);
    std::vector<double> var(250, 0.03);
    std::vector<double> ret(250, 0.0);
    for (int k = 0; k < x; ++k) ret[static_cast<std::size_t>(10 + 20 * k)] = -0.05;
    write_series(dir.file("f.csv"), dir.file("r.csv"), var, ret);
    const auto j = run_json({"--forecasts", dir.file("f.csv"), "--realized", dir.file("r.csv"),
                             "--confidence", "0.99"});
    CHECK(j["exceptions"] == x);
    CHECK(j["traffic_light"]["zone"] == zone);
    CHECK(j["traffic_light"]["green_max"] == 4);
    CHECK(j["traffic_light"]["yellow_max"] == 9);
    CHECK(j["traffic_light"]["plus_factor"].get<double>() == doctest::Approx(plus));
    CHECK(j["recalibration"]["zone_multiplier"].get<double>() ==
          doctest::Approx((3.0 + plus) / 3.0));
  }
}

TEST_CASE("a rolling backtest's forecasts, written out and read back, backtest identically") {
  varkeeper::test::require_tool(VARKEEPER_BINARY);
  TempDir dir("backtest");
  const auto rolling =
      run_json({"--prices", kBtc, "--method", "filtered-historical", "--window", "500",
                "--confidence", "0.99", "--forecasts-out", dir.file("series.csv")});
  CHECK(rolling["source"] == "rolling");
  CHECK(rolling["n_obs"] == 4651);  // 5152 closes -> 5151 returns, minus the 500-day window
  CHECK(rolling["refits"] == 4651);
  CHECK(rolling["last_date"] == "2025-09-24");
  // Split series.csv (date,var,cvar,return,calibrated_var) into the two input files.
  std::ifstream in(dir.file("series.csv"));
  std::ofstream f(dir.file("f.csv"));
  std::ofstream r(dir.file("r.csv"));
  std::string line;
  std::getline(in, line);
  CHECK(line == "date,var,cvar,return,calibrated_var");
  f << "date,var,cvar\n";
  r << "date,return\n";
  std::size_t rows = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> field;
    std::size_t start = 0;
    for (std::size_t comma; (comma = line.find(',', start)) != std::string::npos;
         start = comma + 1) {
      field.push_back(line.substr(start, comma - start));
    }
    field.push_back(line.substr(start));
    REQUIRE(field.size() == 5);
    CHECK(std::stod(field[4]) >= std::stod(field[1]));  // calibrated VaR never below the raw
    f << field[0] << ',' << field[1] << ',' << field[2] << '\n';
    r << field[0] << ',' << field[3] << '\n';
    ++rows;
  }
  CHECK(rows == 4651);
  f.close();
  r.close();
  const auto files = run_json(
      {"--forecasts", dir.file("f.csv"), "--realized", dir.file("r.csv"), "--confidence", "0.99"});
  for (const char* key : {"n_obs", "exceptions", "transitions", "kupiec", "christoffersen",
                          "traffic_light", "es_test", "recalibration", "mean_var", "mean_cvar"}) {
    CAPTURE(key);
    CHECK(files[key] == rolling[key]);
  }
}

TEST_CASE("a rolling backtest counts the fits' diagnostics, in JSON and in the text output") {
  // Cornish-Fisher on 500-day BTC windows every 25 days: 187 fits, 63 of them with (S, K)
  // outside Maillard's domain (tests/risk/parametric_units_test.cpp), each counted.
  varkeeper::test::require_tool(VARKEEPER_BINARY);
  const std::vector<std::string> args{"--prices",     kBtc,   "--method",         "cornish-fisher",
                                      "--window",     "500",  "--refit",          "25",
                                      "--confidence", "0.99", "--es-simulations", "200"};
  const auto j = run_json(args);
  CHECK(j["refits"] == 187);
  CHECK(j["diagnostics"]["cf_outside_domain"] == 63);
  CHECK(j["non_positive_var_periods"] == 0);
  std::vector<std::string> argv{VARKEEPER_BINARY, "backtest"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto text = run_process(argv);
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("diagnostics      cf_outside_domain in 63 of 187 fits") != std::string::npos);
}

TEST_CASE("varkeeper backtest refuses bad input with one sentence naming file and line") {
  varkeeper::test::require_tool(VARKEEPER_BINARY);
  TempDir dir("backtest");
  {
    std::ofstream(dir.file("bad.csv")) << "date,var\n2024-01-01,0.05\n2024-01-03,abc\n";
    std::ofstream(dir.file("below.csv")) << "date,var,cvar\n2024-01-01,0.05,0.04\n";
    std::ofstream(dir.file("r.csv")) << "date,return\n2024-01-01,0.01\n2024-01-03,-0.02\n";
    std::ofstream(dir.file("other.csv")) << "date,return\n2025-01-01,0.01\n";
  }
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases{
      {{"--forecasts", dir.file("bad.csv"), "--realized", dir.file("r.csv")},
       dir.file("bad.csv") + ":3: the line has a value that is not a number ('abc')."},
      {{"--forecasts", dir.file("below.csv"), "--realized", dir.file("r.csv")},
       dir.file("below.csv") + ":2: the line has a CVaR forecast below its VaR forecast"},
      {{"--forecasts", dir.file("bad.csv")}, "--forecasts and --realized go together"},
      {{"--forecasts", dir.file("missing.csv"), "--realized", dir.file("r.csv")},
       dir.file("missing.csv") + " cannot be read."},
      {{"--prices", kBtc, "--method", "nope"}, "unknown --method 'nope'"},
      {{"--prices", kBtc, "--method", "historical", "--window", "6000"},
       "too few observations for the window"},
      {{"--prices", kBtc, "--method", "historical", "--weights", "0.5,0.5"},
       "--weights has 2 value(s) but the input has 1 asset(s) (btc_usd_daily)."},
      {{"--prices", kBtc}, "--prices needs --method"},
      {{"--prices", kBtc, "--method", "historical", "--confidence", "1.5"}, "--confidence"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.message);
    std::vector<std::string> argv{VARKEEPER_BINARY, "backtest"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const auto r = run_process(argv);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
  }
}

TEST_CASE("varkeeper backtest shows the duration and DQ tests, equal to the library's") {
  varkeeper::test::require_tool(VARKEEPER_BINARY);
  // 600 days at 99 %, a VaR varying over 20..26 per mille (exact as printed), exceptions in
  // pairs every 97 days: both tests see the clustering.
  std::vector<double> var(600);
  std::vector<double> ret(600, 0.001);
  for (std::size_t t = 0; t < var.size(); ++t) {
    var[t] = static_cast<double>(20 + t % 7) / 1000.0;
  }
  for (std::size_t t = 30; t + 1 < ret.size(); t += 97) {
    ret[t] = -0.05;
    ret[t + 1] = -0.05;
  }
  TempDir dir("backtest");
  write_series(dir.file("f.csv"), dir.file("r.csv"), var, ret);
  const auto j = run_json(
      {"--forecasts", dir.file("f.csv"), "--realized", dir.file("r.csv"), "--confidence", "0.99"});
  const auto d =
      varkeeper::risk::christoffersen_pelletier_duration(varkeeper::risk::hit_sequence(ret, var));
  const auto q = varkeeper::risk::engle_manganelli_dq(ret, var, 0.99);
  REQUIRE(d.defined);
  CHECK(j["duration"]["defined"] == true);
  CHECK(j["duration"]["lr"].get<double>() == doctest::Approx(d.lr.lr).epsilon(1e-12));
  CHECK(j["duration"]["p_value"].get<double>() == doctest::Approx(d.lr.p_value).epsilon(1e-12));
  CHECK(j["duration"]["weibull_b"].get<double>() == doctest::Approx(d.shape_b).epsilon(1e-12));
  CHECK(j["duration"]["durations"] == d.durations);
  CHECK(j["duration"]["uncensored"] == d.uncensored);
  CHECK(j["duration"]["reject"] == (d.lr.p_value < 0.05));
  CHECK(j["dq"]["dq"].get<double>() == doctest::Approx(q.dq).epsilon(1e-12));
  CHECK(j["dq"]["p_value"].get<double>() == doctest::Approx(q.p_value).epsilon(1e-12));
  CHECK(j["dq"]["dof"] == 6);
  CHECK(j["dq"]["lags"] == 4);
  CHECK(j["dq"]["reject"] == true);  // pairs of exceptions: Hit_(t-1) predicts Hit_t
  CHECK(d.shape_b < 1.0);
  std::vector<std::string> argv{VARKEEPER_BINARY,  "backtest",   "--forecasts",
                                dir.file("f.csv"), "--realized", dir.file("r.csv"),
                                "--confidence",    "0.99"};
  const auto text = run_process(argv);
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("duration (C-P)   LR ") != std::string::npos);
  CHECK(text.out.find("DQ (E-M)         DQ ") != std::string::npos);
}

TEST_CASE("varkeeper backtest shows Z2 under the forecast law for parametric methods only") {
  varkeeper::test::require_tool(VARKEEPER_BINARY);
  const auto normal = run_json({"--prices", kBtc, "--method", "parametric-normal", "--window",
                                "250", "--refit", "20", "--es-simulations", "300"});
  REQUIRE(normal["es_test_model"].is_object());
  CHECK(normal["es_test_model"]["z2"].get<double>() == normal["es_test"]["z2"].get<double>());
  CHECK(normal["es_test_model"]["simulations"] == 300);
  CHECK(normal["es_test_model"]["critical_value"].get<double>() < 0.0);
  const auto hist = run_json({"--prices", kBtc, "--method", "historical", "--window", "250",
                              "--refit", "20", "--es-simulations", "300"});
  CHECK(hist["es_test_model"].is_null());
}
