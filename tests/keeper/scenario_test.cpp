// Scenario files (keeper/sim/scenario.cpp): read by the keeper config's TOML reader, with its
// [[portfolios]] and [breaker] schemas (keeper/config/portfolio_schema.hpp, breaker_schema.hpp).
#include "keeper/sim/scenario.hpp"

#include <doctest/doctest.h>

#include <string>

#include "keeper/config/config.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

TEST_CASE("scenario files with a mistake are refused with one sentence naming file, line and key") {
  struct Row {
    bool with_asset;  // prefix one [[assets]] table (ETH, sources s1..s3): two lines
    const char* toml;
    const char* message;
  };
  const Row rows[] = {
      {false, "nmae = \"x\"\n[[assets]]\nsymbol = \"ETH\"\n",
       "s.toml:1: unknown key 'nmae' at the top level (did you mean 'name'?)"},
      {false, "name = \"x\"\n", "s.toml: assets: is required (at least one [[assets]] table)"},
      {false, "[[events]]\nkind = \"jump\"\n",
       "s.toml: assets: is required (at least one [[assets]] table)"},
      {true, "[clock]\nfrom = \"2024-02-30\"\n",
       "s.toml:4: clock.from: must be a date YYYY-MM-DD, got '2024-02-30'"},
      {true, "[[events]]\nkind = \"quake\"\n",
       "s.toml:4: events[0].kind: must be vol-regime, jump, depeg, manipulate, freeze or outage, "
       "got "
       "'quake'"},
      {true,
       "[[events]]\nkind = \"manipulate\"\nasset = \"ETH\"\nsource = \"s9\"\nfrom_day = 1\nfactor "
       "= 2\n",
       "s.toml:6: events[0].source: asset ETH has no source 's9'"},
      {true, "[[events]]\nkind = \"jump\"\nasset = \"BTC\"\nat_day = 1\nsize = -0.1\n",
       "s.toml:5: events[0].asset: names no asset of this scenario ('BTC')"},
      {true, "[[events]]\nkind = \"jump\"\nasset = \"ETH\"\nat_day = 1\nsise = -0.1\n",
       "s.toml:7: unknown key 'sise' in events[0] (did you mean 'size'?)"},
      {true, "[[portfolios]]\npositions = { ETH = 1.0 }\n",
       "s.toml:3: portfolios[0].id: is required"},
      {true, "[[portfolios]]\nid = 1\npositions = { BTC = 1.0 }\n",
       "s.toml:5: portfolios[0].positions.BTC: no asset \"BTC\" is declared in [[assets]]"},
      {true, "[[portfolios]]\nid = 1\npositions = { ETH = -1.0 }\n",
       "s.toml:5: portfolios[0].positions.ETH: must be > 0 in a scenario (the simulator holds long "
       "positions only), got -1"},
      {true, "[[portfolios]]\nid = 1\npositions = { ETH = 1.0 }\nconfidence = 1.5\n",
       "s.toml:6: portfolios[0].confidence: must be in [0.5, 0.9999], got 1.5"},
      {true, "[[portfolios]]\nid = 1\npositions = { ETH = 1.0 }\nwindow = 20\nmin_obs = 25\n",
       "s.toml:7: portfolios[0].min_obs: must not exceed window (20), got 25"},
      {true, "[breaker.breaker]\npolicy = \"panic\"\n",
       "s.toml:4: breaker.breaker.policy: must be \"freeze\", \"conservative\" or "
       "\"pass-through\", "
       "got \"panic\""},
      // The flat layout scenario files used before issue 13 is refused, naming the new key.
      {true, "[breaker]\npolicy = \"freeze\"\n",
       "s.toml:4: unknown key 'policy' in breaker (it is now breaker.breaker.policy)"},
      {true, "[breaker.payout]\nupper = 0.3\n",
       "s.toml:3: unknown key 'payout' in breaker (it is now breaker.actions.payout)"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.toml);
    const std::string text =
        std::string(row.with_asset ? "[[assets]]\nsymbol = \"ETH\"\n" : "") + row.toml;
    std::string got;
    try {
      (void)parse_scenario(text, "s.toml");
    } catch (const ScenarioError& e) {
      got = e.what();
    }
    CHECK(got == row.message);
  }
}

TEST_CASE("a [[portfolios]] block reads the same in a scenario and in a keeper config") {
  // Every key set away from its default, so a reader that ignored one would differ.
  const std::string block =
      "[[portfolios]]\nid = 7\nname = \"p\"\npositions = { ETH = 2.5 }\nmethod = \"mc-t\"\n"
      "mean = \"sample\"\nconfidence = 0.975\nhorizon = 10\nperiod_s = 3600\nwindow = 300\nmin_obs "
      "= 40\n"
      "paths = 20000\nseed = 9\newma_lambda = 0.9\nage_lambda = 0.99\n"
      "publish = { deviation = 0.02, heartbeat_s = 7200 }\n";
  const auto scenario =
      parse_scenario("[[assets]]\nsymbol = \"ETH\"\n" + block, "s.toml").portfolios.at(0);
  const auto config = pipeline_config(
      parse_config("[chain]\nanvil = true\n[keys]\nsigners = [{ dev_key = \"anvil1\" }]\n"
                   "sender = { dev_key = \"anvil0\" }\n[[assets]]\nsymbol = \"ETH\"\n" +
                       block,
                   "c.toml"));
  const auto& c = config.portfolios.at(0);
  for (const auto* p : {&scenario, &c}) {
    CAPTURE(p == &scenario);
    CHECK(p->id == 7);
    CHECK(p->name == "p");
    REQUIRE(p->positions.size() == 1);
    CHECK(p->positions[0].first == "ETH");
    CHECK(p->positions[0].second == 2.5);
    CHECK(p->method == risk::RiskMethod::kMcT);
    CHECK(p->risk.mean == risk::MeanModel::kSample);
    CHECK(p->risk.confidence == 0.975);
    CHECK(p->risk.horizon == 10);
    CHECK(p->period_s == 3600);
    CHECK(p->window == 300);
    CHECK(p->min_obs == 40);
    CHECK(p->risk.paths == 20'000);
    CHECK(p->risk.seed == 9);
    CHECK(p->risk.ewma_lambda == 0.9);
    CHECK(p->risk.age_lambda == 0.99);
    CHECK(p->publish.deviation == 0.02);
    CHECK(p->publish.heartbeat_s == 7200);
  }
}

TEST_CASE("portfolio defaults are the same in both files; min_obs defaults to min(window, 30)") {
  const auto s = parse_scenario(
      "[[assets]]\nsymbol = \"ETH\"\n[[portfolios]]\nid = 1\npositions = { ETH = 1 }\n"
      "[[portfolios]]\nid = 2\npositions = { ETH = 1 }\nwindow = 12\n",
      "s.toml");
  const auto& p = s.portfolios.at(0);
  CHECK(p.name == "portfolio-1");
  CHECK(p.method == risk::RiskMethod::kFilteredHistorical);
  CHECK(p.risk.mean == risk::MeanModel::kZero);
  CHECK(p.window == 500);
  CHECK(p.min_obs == 30);
  CHECK(p.period_s == 86'400);
  CHECK(p.risk.paths == 100'000);
  CHECK(p.publish.heartbeat_s == 3600);
  CHECK(s.portfolios.at(1).min_obs == 12);
}
