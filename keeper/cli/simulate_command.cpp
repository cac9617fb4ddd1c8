// `varkeeper simulate`: a dry run of the keeper's Pipeline over a scenario (a replay of daily
// closes, or a synthetic market with events), reports checked by an in-memory RiskOracle (or, with
// --chain local, by the real one on an anvil node: keeper/chain_sink.hpp); prints a summary table
// per portfolio and, with --out, writes timeseries.csv, summary.json and
// report.html (keeper/simulator.hpp, keeper/simulation_output.hpp, docs/simulate.md).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "keeper/cli/command.hpp"
#include "keeper/config/config.hpp"
#include "keeper/core/startup_error.hpp"
#include "keeper/install/install_paths.hpp"
#include "keeper/sim/chain_sink.hpp"
#include "keeper/sim/scenario.hpp"
#include "keeper/sim/simulation_output.hpp"
#include "keeper/sim/simulator.hpp"

namespace varkeeper::keeper::cli {
namespace {

namespace fs = std::filesystem;

struct SimulateOptions {
  std::string config;
  std::string scenario;
  std::vector<std::string> prices;
  std::string from;
  std::string to;
  std::optional<std::uint64_t> seed;
  std::string out;
  std::string chain;
};

// NAME: config/scenarios/NAME.toml under the working directory, then in the bundled scenario
// library (keeper/install); anything with a '/' or ending in .toml is a file path.
fs::path resolve_scenario(const std::string& name) {
  const bool is_path = name.find('/') != std::string::npos ||
                       (name.size() > 5 && name.substr(name.size() - 5) == ".toml");
  if (is_path) {
    if (!fs::is_regular_file(name)) {
      throw UserError("--scenario: no scenario file " + name + ".");
    }
    return name;
  }
  std::vector<fs::path> dirs{fs::path("config/scenarios")};
  if (const auto library = bundled("config/scenarios")) {
    dirs.push_back(*library);
  }
  for (const fs::path& dir : dirs) {
    fs::path f = dir / (name + ".toml");
    if (fs::is_regular_file(f)) {
      return f;
    }
  }
  throw UserError("--scenario: no scenario named '" + name +
                  "' in config/scenarios (give a file path, or one of the names listed in "
                  "docs/simulate.md).");
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) {
    throw UserError("cannot write " + path.string() + ".");
  }
}

void check_options(const SimulateOptions& o) {
  if (!o.chain.empty() && o.chain != "local") {
    throw UserError("--chain: only 'local' is defined, got '" + o.chain + "'.");
  }
  if (o.scenario.empty() == o.prices.empty()) {
    throw UserError("give either --scenario NAME|FILE or --prices FILE... (exactly one).");
  }
  for (const auto* d : {&o.from, &o.to}) {
    if (!d->empty() && !parse_iso_date(*d)) {
      throw UserError("--from/--to: '" + *d + "' is not a date YYYY-MM-DD.");
    }
  }
  if (!o.from.empty() && !o.to.empty() && *parse_iso_date(o.to) < *parse_iso_date(o.from)) {
    throw UserError("--to " + o.to + " is before --from " + o.from + ".");
  }
}

// The library scenario or file of --scenario, or a replay of the --prices files.
ScenarioSpec scenario_of(const SimulateOptions& o) {
  try {
    if (!o.scenario.empty()) {
      return load_scenario(resolve_scenario(o.scenario));
    }
    std::vector<fs::path> files(o.prices.begin(), o.prices.end());
    return replay_scenario(files);
  } catch (const ScenarioError& e) {
    throw UserError(e.what());
  }
}

// Seed, window and, with --config, the daemon's portfolios and breaker; a progress bar on a
// terminal.
SimulationOptions simulation_options(const SimulateOptions& o) {
  SimulationOptions so;
  so.seed = o.seed;
  if (!o.from.empty()) {
    so.from = o.from;
  }
  if (!o.to.empty()) {
    so.to = o.to;
  }
  if (!o.config.empty()) {
    try {
      const Config config = load_config(o.config);
      // The portfolios exactly as the daemon builds them (methodology hash included).
      so.portfolios = pipeline_config(config).portfolios;
      so.breaker = config.breaker;
    } catch (const ConfigError& e) {
      throw UserError(e.what());
    }
  }
  if (isatty(STDERR_FILENO) == 1) {
    so.progress = [](std::size_t done, std::size_t total) {
      const std::size_t width = 40;
      const std::size_t filled = total == 0 ? width : done * width / total;
      std::fprintf(stderr, "\r[%s%s] %zu/%zu ticks", std::string(filled, '#').c_str(),
                   std::string(width - filled, ' ').c_str(), done, total);
      if (done == total) {
        std::fputc('\n', stderr);
      }
      std::fflush(stderr);
    };
  }
  return so;
}

void write_outputs(const std::string& out, const SimulationResult& result) {
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec || !fs::is_directory(out)) {
    throw UserError("--out: cannot create the directory " + out + ".");
  }
  write_file(fs::path(out) / "timeseries.csv", timeseries_csv(result));
  write_file(fs::path(out) / "summary.json", summary_json(result));
  write_file(fs::path(out) / "report.html", report_html(result));
  std::cout << "wrote " << (fs::path(out) / "timeseries.csv").string() << ", summary.json, "
            << "report.html\n";
}

void run(const SimulateOptions& o) {
  check_options(o);
  const ScenarioSpec scenario = scenario_of(o);
  SimulationOptions so = simulation_options(o);
  std::optional<ChainSink> chain_sink;
  if (!o.chain.empty()) {
    ChainSinkOptions co;
    co.log = [](const std::string& line) { std::cerr << "chain: " << line << '\n'; };
    chain_sink.emplace(std::move(co));
    so.sink = &*chain_sink;
  }
  SimulationResult result;
  try {
    result = run_simulation(scenario, so);
  } catch (const ChainSinkError& e) {
    throw UserError(e.what());
  } catch (const ScenarioError& e) {
    throw UserError(e.what());
  } catch (const std::invalid_argument& e) {
    throw UserError(std::string("the scenario cannot run: ") + e.what());
  }
  std::cout << summary_table(result);
  if (!o.out.empty()) {
    write_outputs(o.out, result);
  }
}

// NOLINTNEXTLINE(cert-err58-cpp): the lambda runs later, inside main's try
const RegisterCommand kRegister{
    60, [](CLI::App& app) {
      auto opts = std::make_shared<SimulateOptions>();
      auto* cmd = app.add_subcommand(
          "simulate",
          "Dry-run the keeper over a historical replay or a synthetic scenario: every report it "
          "would publish (checked by an in-memory RiskOracle, or the real one with --chain "
          "local), breaker trips, rebalances, "
          "protection payouts, VaR backtest and estimated gas");
      cmd->add_option("--config", opts->config,
                      "keeper config (TOML): use its [[portfolios]] and [breaker] instead of the "
                      "scenario's")
          ->type_name("FILE");
      cmd->add_option("--scenario", opts->scenario,
                      "a library scenario NAME (config/scenarios/NAME.toml) or a scenario FILE")
          ->type_name("NAME|FILE");
      cmd->add_option("--prices", opts->prices,
                      "replay date,close CSV FILE(s) (asset = file stem), three sources per asset")
          ->type_name("FILE");
      cmd->add_option("--from", opts->from, "first day of a replay, YYYY-MM-DD")->type_name("DATE");
      cmd->add_option("--to", opts->to, "last day of a replay, YYYY-MM-DD")->type_name("DATE");
      cmd->add_option("--seed", opts->seed, "seed of the synthetic market and source noise")
          ->type_name("S");
      cmd->add_option("--out", opts->out,
                      "write DIR/timeseries.csv, DIR/summary.json and DIR/report.html")
          ->type_name("DIR");
      cmd->add_option("--chain", opts->chain,
                      "'local': submit the reports to the real RiskOracle on an anvil node it "
                      "starts (blocks at the simulated times, gas from receipts; slower)")
          ->type_name("local");
      cmd->callback([opts] { run(*opts); });
    }};

}  // namespace
}  // namespace varkeeper::keeper::cli
