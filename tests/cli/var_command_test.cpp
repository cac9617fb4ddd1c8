// `varkeeper var` end to end: the built binary on the bundled BTC/ETH histories.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "risk/risk_method.hpp"
#include "tests/support/test_support.hpp"

using varkeeper::test::run_process;
using varkeeper::test::TempDir;

namespace {

const std::string kBtc = std::string(VARKEEPER_SOURCE_DIR) + "/config/data/btc_usd_daily.csv";
const std::string kEth = std::string(VARKEEPER_SOURCE_DIR) + "/config/data/eth_usd_daily.csv";

nlohmann::json run_json(std::vector<std::string> extra) {
  std::vector<std::string> argv{VARKEEPER_BINARY, "var", "--prices", kBtc, kEth, "--json"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  const auto r = run_process(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("varkeeper var --json reports every field for every method") {
  for (const auto method : varkeeper::risk::all_risk_methods()) {
    const std::string m(varkeeper::risk::to_string(method));
    CAPTURE(m);
    const auto j = run_json({"--method", m, "--confidence", "0.99", "--paths", "20000"});
    CHECK(j["method"] == m);
    CHECK(j["confidence"] == 0.99);
    CHECK(j["horizon"] == 1);
    CHECK(j["n_obs"] == 500);
    CHECK(j["last_date"] == "2025-09-24");  // BTC ends first
    const double var = j["var"], cvar = j["cvar"];
    CHECK(var > 0.0);
    CHECK(cvar >= var);
    CHECK(j.contains("stderr_var"));
    CHECK(j.contains("stderr_cvar"));
    REQUIRE(j["components"].size() == 2);
    CHECK(j["components"][0]["asset"] == "btc_usd_daily");
    const double sum =
        j["components"][0]["var"].get<double>() + j["components"][1]["var"].get<double>();
    CHECK(sum == doctest::Approx(var).epsilon(1e-9));
  }
}

TEST_CASE("an unknown --method is refused by var and backtest with a list naming every method") {
  const auto var = run_process({VARKEEPER_BINARY, "var", "--prices", kBtc, "--method", "garch"});
  const auto backtest =
      run_process({VARKEEPER_BINARY, "backtest", "--prices", kBtc, "--method", "garch"});
  CHECK(var.exit_code == 2);
  CHECK(backtest.exit_code == 2);
  const auto help = run_process({VARKEEPER_BINARY, "var", "--help"});
  const auto backtest_help = run_process({VARKEEPER_BINARY, "backtest", "--help"});
  for (const auto method : varkeeper::risk::all_risk_methods()) {
    const std::string name(varkeeper::risk::to_string(method));
    CAPTURE(name);
    // Each name as a whole list item: followed by a separator or the end of the sentence.
    const auto listed = [&](const std::string& text) {
      return text.find(" " + name + ",") != std::string::npos ||
             text.find(" " + name + ".") != std::string::npos ||
             text.find(" " + name + " ") != std::string::npos ||
             text.find(" " + name + "\n") != std::string::npos;
    };
    CHECK(listed(var.err));
    CHECK(listed(backtest.err));
    CHECK(help.out.find(name) != std::string::npos);
    CHECK(backtest_help.out.find(name) != std::string::npos);
  }
  CHECK(var.err == "varkeeper: --method 'garch' is not one of " +
                       varkeeper::risk::risk_method_names() + ".\n");
  CHECK(backtest.err == "varkeeper: unknown --method 'garch'; use " +
                            varkeeper::risk::risk_method_names(", ", " or ") + ".\n");
}

TEST_CASE("varkeeper var Monte Carlo output does not depend on the thread count") {
  const auto one =
      run_json({"--method", "mc-t", "--paths", "50000", "--seed", "9", "--threads", "1"});
  const auto two =
      run_json({"--method", "mc-t", "--paths", "50000", "--seed", "9", "--threads", "2"});
  CHECK(one.dump() == two.dump());
  CHECK(one["stderr_var"].get<double>() > 0.0);
}

TEST_CASE("varkeeper var refuses bad input with one sentence and a non-zero exit") {
  const TempDir dir("var-cli");
  const std::string bad = dir.file("varkeeper_var_cli_test_bad.csv");
  std::ofstream(bad) << "date,close\n2024-01-01,100\n2024-01-02,-3\n";
  auto r = run_process({VARKEEPER_BINARY, "var", "--prices", bad, "--method", "historical"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "varkeeper: " + bad +
                     " line 3: the varkeeper_var_cli_test_bad price -3 is not positive.\n");
  r = run_process({VARKEEPER_BINARY, "var", "--prices", kBtc, kEth, "--weights", "1", "--method",
                   "historical"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--weights has 1 value(s) but the input has 2 asset(s)") != std::string::npos);
  r = run_process(
      {VARKEEPER_BINARY, "var", "--prices", kBtc, "--window", "999999", "--method", "historical"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("fewer than --window 999999") != std::string::npos);
  r = run_process({VARKEEPER_BINARY, "var", "--prices", kBtc, "--method", "garch"});
  CHECK(r.exit_code == 2);
}

TEST_CASE("varkeeper var --sensitivities adds marginal and volatility sensitivities") {
  const auto j = run_json({"--method", "parametric-normal", "--sensitivities"});
  for (const auto& c : j["components"]) {
    // Euler: component = weight x marginal; vega of a long position in a positively
    // correlated portfolio is positive.
    CHECK(c["var"].get<double>() ==
          doctest::Approx(c["weight"].get<double>() * c["marginal_var"].get<double>()));
    CHECK(c["vega_var"].get<double>() > 0.0);
    CHECK(c["vega_cvar"].get<double>() > 0.0);
  }
}

TEST_CASE("varkeeper var --returns revalues simple returns exactly") {
  const TempDir dir("var-cli");
  const std::string file = dir.file("returns.csv");
  std::ofstream(file) << "date,A,B\n2024-01-01,0.01,-0.02\n2024-01-02,-0.03,0.01\n"
                         "2024-01-03,0.02,0.00\n2024-01-04,-0.05,-0.04\n2024-01-05,0.01,0.02\n";
  // --mean sample: the scenarios as observed (the default zero removes their mean).
  const auto r =
      run_process({VARKEEPER_BINARY, "var", "--returns", file, "--method", "historical", "--window",
                   "5", "--confidence", "0.8", "--mean", "sample", "--json"});
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  // n(1 - alpha) = 1: VaR = CVaR = the worst day's loss, 0.5 x 5 % + 0.5 x 4 %.
  CHECK(j["var"].get<double>() == doctest::Approx(0.045).epsilon(1e-14));
  CHECK(j["cvar"].get<double>() == doctest::Approx(0.045).epsilon(1e-14));
  CHECK(j["n_obs"] == 5);
}

TEST_CASE("varkeeper var --mean: zero by default, sample extrapolates the drift, others refused") {
  // BTC alone over 30 days: the sample mean of the last 500 returns is positive, so the drift
  // lowers the VaR; the default is zero and says so.
  const auto run = [](std::vector<std::string> extra) {
    std::vector<std::string> argv{
        VARKEEPER_BINARY,    "var",       "--prices", kBtc, "--json", "--method",
        "parametric-normal", "--horizon", "30"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto r = run_process(argv);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out);
  };
  const auto zero = run({});
  const auto sample = run({"--mean", "sample"});
  CHECK(zero["mean"] == "zero");
  CHECK(sample["mean"] == "sample");
  CHECK(run({"--mean", "zero"})["var"] == zero["var"]);
  CHECK(sample["var"].get<double>() != zero["var"].get<double>());
  const auto bad = run_process({VARKEEPER_BINARY, "var", "--prices", kBtc, "--method",
                                "parametric-normal", "--mean", "drift"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--mean 'drift' is not zero or sample") != std::string::npos);
}
