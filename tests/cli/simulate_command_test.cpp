// `varkeeper simulate` end to end: the built binary on every library scenario (issue 8 "Done
// when"), byte-identical outputs for the same seed, and one-sentence errors for bad input.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/test_support.hpp"

using varkeeper::test::read_file;
using varkeeper::test::run_process;
using varkeeper::test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kSource = VARKEEPER_SOURCE_DIR;

nlohmann::json simulate(const std::string& scenario, const fs::path& out,
                        std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{VARKEEPER_BINARY, "simulate", "--scenario",
                                scenario,         "--out",    out.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  const auto r = run_process(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("VaR exceptions / expected") != std::string::npos);
  CHECK(r.err.empty());  // no progress bar when stderr is not a terminal
  return nlohmann::json::parse(read_file(out / "summary.json"));
}

std::size_t trips(const nlohmann::json& j) { return j["portfolios"][0]["breaker_trips"]; }

// The first line of stderr, and that there is only one.
std::string one_line(const std::string& err) {
  CHECK(!err.empty());
  CHECK(err.find('\n') == err.size() - 1);
  return err.substr(0, err.find('\n'));
}

}  // namespace

TEST_CASE("every library scenario runs and shows its key outcome") {
  TempDir dir("library");
  struct Row {
    const char* name;
    void (*check)(const nlohmann::json&);
  };
  const Row rows[] = {
      {"covid-2020-03",
       [](const nlohmann::json& j) {
         CHECK(j["portfolios"][0]["payouts"].get<int>() >= 1);  // 2020-03-12: -26 % in a day
         CHECK(trips(j) >= 1);  // BTC's -39 % close is a step move beyond the 20 % bound
       }},
      {"terra-2022-05",
       [](const nlohmann::json& j) { CHECK(j["portfolios"][0]["exceptions"].get<int>() >= 1); }},
      {"ftx-2022-11",
       [](const nlohmann::json& j) { CHECK(j["portfolios"][0]["reports_published"] == 62); }},
      {"calm-year",
       [](const nlohmann::json& j) {
         CHECK(trips(j) == 0);
         CHECK(j["incidents"].empty());
         CHECK(j["ticks"] == 365);
       }},
      {"calm-gbm", [](const nlohmann::json& j) { CHECK(trips(j) == 0); }},
      {"vol-regime",
       [](const nlohmann::json& j) {
         CHECK(j["portfolios"][0]["peak_var"].get<double>() > 0.2);  // 10.5 % daily vol
       }},
      {"jump-crash",
       [](const nlohmann::json& j) {
         CHECK(trips(j) >= 1);
         CHECK(j["portfolios"][0]["payouts"].get<int>() >= 1);
       }},
      {"depeg",
       [](const nlohmann::json& j) { CHECK(j["portfolios"][0]["payouts"].get<int>() >= 1); }},
      {"manipulated-source",
       [](const nlohmann::json& j) {
         CHECK(trips(j) >= 1);
         CHECK(j["incidents"][0]["category"] == "oracle_manipulation");
       }},
      {"stale-source", [](const nlohmann::json& j) { CHECK(trips(j) >= 1); }},
      {"rpc-outage", [](const nlohmann::json& j) { CHECK(trips(j) == 2); }},
      {"feedback-loop",
       [](const nlohmann::json& j) {
         CHECK(j["portfolios"][0]["rebalances"].get<int>() >= 1);
         CHECK(j["feedback"]["risky_sold"].get<double>() > 0.0);
       }},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    const auto out = dir.path() / row.name;
    const auto j = simulate(row.name, out);
    CHECK(j["scenario"] == row.name);
    row.check(j);
    const std::string csv = read_file(out / "timeseries.csv");
    CHECK(csv.rfind("time,t,portfolio,", 0) == 0);
    const std::string html = read_file(out / "report.html");
    CHECK(html.find("<svg") != std::string::npos);
    CHECK(html.find("http") == html.find("http://www.w3.org/2000/svg"));  // no external asset
  }
}

TEST_CASE("the same scenario and seed give byte-identical files; another seed differs") {
  TempDir dir("determinism");
  for (const char* name : {"jump-crash", "covid-2020-03"}) {
    CAPTURE(name);
    (void)simulate(name, dir.path() / "a", {"--seed", "11"});
    (void)simulate(name, dir.path() / "b", {"--seed", "11"});
    for (const char* f : {"timeseries.csv", "summary.json", "report.html"}) {
      CAPTURE(f);
      const auto a = read_file(dir.path() / "a" / f);
      CHECK(!a.empty());
      CHECK(a == read_file(dir.path() / "b" / f));
    }
  }
  (void)simulate("jump-crash", dir.path() / "c", {"--seed", "12"});
  CHECK(read_file(dir.path() / "c" / "timeseries.csv") !=
        read_file(dir.path() / "a" / "timeseries.csv"));
}

TEST_CASE("--prices replays CSV files and --from/--to select the window") {
  const auto r = run_process({VARKEEPER_BINARY, "simulate", "--prices",
                              kSource + "/config/data/btc_usd_daily.csv", "--from", "2021-01-01",
                              "--to", "2021-01-31"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("31 ticks, 2021-01-01T00:00:00Z .. 2021-01-31T00:00:00Z") != std::string::npos);
  CHECK(r.out.find("1 btc_usd_daily") != std::string::npos);
}

TEST_CASE("bad input ends in one sentence and a non-zero exit") {
  TempDir dir("errors");
  const auto bad = dir.path() / "bad.toml";
  std::ofstream(bad) << "[[assets]]\nsymbol = \"ETH\"\nvolatility = 0.3\n";
  struct Row {
    std::vector<std::string> args;
    std::string message;
  };
  const Row rows[] = {
      {{"--scenario", "no-such-scenario"},
       "varkeeper: --scenario: no scenario named 'no-such-scenario' in config/scenarios (give a "
       "file path, or one of the names listed in docs/simulate.md)."},
      {{"--scenario", bad.string()},
       "varkeeper: " + bad.string() + ":3: unknown key 'volatility' in assets[0]"},
      {{"--scenario", "calm-year", "--from", "2023-13-01"},
       "varkeeper: --from/--to: '2023-13-01' is not a date YYYY-MM-DD."},
      {{"--scenario", "calm-year", "--from", "2030-01-01"},
       "varkeeper: the price files have no common date between 2030-01-01 and 2023-12-31."},
      {{"--scenario", "calm-gbm", "--from", "2024-01-01"},
       "varkeeper: --from and --to select a window of a replay; a synthetic scenario sets its "
       "clock in [clock] (from, days)."},
      {{"--scenario", "calm-gbm", "--prices", kSource + "/config/data/btc_usd_daily.csv"},
       "varkeeper: give either --scenario NAME|FILE or --prices FILE... (exactly one)."},
      {{"--scenario", "calm-gbm", "--chain", "mainnet"},
       "varkeeper: --chain: only 'local' is defined, got 'mainnet'."},
      {{"--config", "/nonexistent/keeper.toml", "--scenario", "calm-gbm"},
       "varkeeper: /nonexistent/keeper.toml: config file does not exist"},
      {{"--prices", bad.string()},
       "varkeeper: " + bad.string() +
           " line 1: the header must start with a 'date' column, found '[[assets]]'."},
  };
  for (const auto& row : rows) {
    std::vector<std::string> argv{VARKEEPER_BINARY, "simulate"};
    argv.insert(argv.end(), row.args.begin(), row.args.end());
    CAPTURE(row.args.back());
    const auto r = run_process(argv);
    CHECK(r.exit_code == 2);
    CHECK(one_line(r.err) == row.message);
  }
}

TEST_CASE("--chain local gives the in-memory run's time series, with gas from receipts") {
  varkeeper::test::require_tool(VARKEEPER_ANVIL);
  // rpc-outage has a TooSoon refusal; covid-2020-03 (a replay) none since the observation time is
  // the tick's (issue 16, defect 10; it had two StaleReport ones).
  for (const std::string scenario : {"rpc-outage", "covid-2020-03"}) {
    CAPTURE(scenario);
    TempDir memory("mem-" + scenario), chain("chain-" + scenario);
    const auto m = simulate(scenario, memory.path());
    std::vector<std::string> argv{VARKEEPER_BINARY, "simulate", "--scenario",
                                  scenario,         "--out",    chain.path().string(),
                                  "--chain",        "local"};
    const auto r = run_process(argv);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("chain: deploy: RiskOracle deployed at") != std::string::npos);
    CHECK(r.out.find("reports checked by the RiskOracle 0x") != std::string::npos);
    CHECK(r.out.find("gas (reports: receipts)") != std::string::npos);
    CHECK(read_file(chain.path() / "timeseries.csv") ==
          read_file(memory.path() / "timeseries.csv"));
    const auto c = nlohmann::json::parse(read_file(chain.path() / "summary.json"));
    CHECK(m["report_gas"] == "estimated");
    CHECK(c["report_gas"] == "receipts");
    CHECK(c["portfolios"][0]["reports_published"] == m["portfolios"][0]["reports_published"]);
    CHECK(c["portfolios"][0]["refusals"] == m["portfolios"][0]["refusals"]);
    CHECK(m["portfolios"][0]["refusals"].size() == (scenario == "rpc-outage" ? 1U : 0U));
  }
}

TEST_CASE("--config replaces the scenario's portfolios and breaker with the keeper config's") {
  const auto r = run_process({VARKEEPER_BINARY, "simulate", "--config",
                              kSource + "/config/local.toml", "--scenario", "calm-year"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // config/local.toml: portfolio 1 "treasury" (filtered-historical at 99 %) and 2 "eth-tail"
  // (mc-t at 97.5 %).
  CHECK(r.out.find("1 treasury") != std::string::npos);
  CHECK(r.out.find("2 eth-tail") != std::string::npos);
  CHECK(r.out.find("mc-t @ 97.5 %") != std::string::npos);
  CHECK(r.out.find("1 btc-eth") == std::string::npos);
}
