// The dry-run simulator (issue 8): the in-memory RiskOracle sink against the contract's rules
// (docs/contracts.md, RiskOracle._checkReport/_checkHistory), and key outcomes of the synthetic
// library scenarios driven through the real Pipeline.
#include "keeper/sim/simulator.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "keeper/core/units.hpp"
#include "keeper/sim/simulation_output.hpp"
#include "risk/backtest_duration.hpp"
#include "risk/oprisk.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

namespace {

const std::string kScenarios = std::string(VARKEEPER_SOURCE_DIR) + "/config/scenarios/";

ScenarioSpec library(const std::string& name) { return load_scenario(kScenarios + name + ".toml"); }

constexpr std::int64_t kNow = 1'700'000'000;

OnchainReport report(std::uint64_t round, std::int64_t observed, double var, double cvar,
                     std::uint8_t status = 0) {
  OnchainReport r;
  r.portfolio_id = 1;
  r.round = round;
  r.observed_at = static_cast<std::uint64_t>(observed);
  r.horizon = 86'400;
  r.confidence = to_wad(0.99);
  r.breaker_status = status;
  r.portfolio_value = to_fixed(1'000'000.0, 8);
  r.value_at_risk = to_wad(var);
  r.expected_shortfall = to_wad(cvar);
  return r;
}

std::size_t trips_between(const SimulationResult& r, double from_day, double to_day) {
  std::size_t n = 0;
  const std::int64_t t0 = r.times.front();
  for (std::size_t k = 1; k < r.times.size(); ++k) {
    const double day = static_cast<double>(r.times[k] - t0) / 86'400.0;
    if (day < from_day || day >= to_day) continue;
    if (r.points[0][k].status == risk::BreakerStatus::kTripped &&
        r.points[0][k - 1].status != risk::BreakerStatus::kTripped) {
      ++n;
    }
  }
  return n;
}

}  // namespace

TEST_CASE("the in-memory sink refuses what RiskOracle refuses, with the contract's error") {
  OracleLimits limits;
  limits.max_age_s = 3600;
  limits.min_interval_s = 60;
  limits.max_var_change = 0.5;  // 50 % per change period (RiskOracle's default, 3600 s)
  struct Row {
    const char* what;
    OnchainReport r;
    std::int64_t now;
    OracleRefusal expected;
  };
  auto zero_confidence = report(2, kNow, 0.05, 0.07);
  zero_confidence.confidence = 0;
  auto full_confidence = report(2, kNow, 0.05, 0.07);
  full_confidence.confidence = kWad;
  auto one_wei_more = report(2, kNow, 0.06, 0.07);
  one_wei_more.value_at_risk += 1;
  auto one_wei_more_later = report(2, kNow + 3600, 0.06, 0.07);
  one_wei_more_later.value_at_risk += 1;
  auto no_horizon = report(2, kNow, 0.05, 0.07);
  no_horizon.horizon = 0;
  auto tripped_one_wei_more = report(2, kNow, 0.12, 0.15, 1);
  tripped_one_wei_more.value_at_risk += 1;
  auto cvar_one_wei_more = report(2, kNow, 0.04, 0.09);
  cvar_one_wei_more.expected_shortfall += 1;
  auto half_hour_one_wei_more = report(2, kNow - 1800, 0.05, 0.06);
  half_hour_one_wei_more.value_at_risk += 1;
  constexpr std::uint64_t kJump = std::uint64_t{1} << 32;
  // Against the stored report: round 1, observed at kNow - 3600, VaR 4 %, CVaR 6 %.
  const Row rows[] = {
      {"confidence 0", zero_confidence, kNow, OracleRefusal::kInvalidConfidence},
      {"confidence 1", full_confidence, kNow, OracleRefusal::kInvalidConfidence},
      {"horizon 0", no_horizon, kNow, OracleRefusal::kInvalidHorizon},
      {"status 3", report(2, kNow, 0.05, 0.07, 3), kNow, OracleRefusal::kInvalidBreakerStatus},
      {"VaR above CVaR", report(2, kNow, 0.08, 0.07), kNow, OracleRefusal::kInvalidFigures},
      {"16 s in the future", report(2, kNow + 16, 0.05, 0.07), kNow, OracleRefusal::kFutureReport},
      {"15 s in the future", report(2, kNow + 15, 0.05, 0.07), kNow, OracleRefusal::kNone},
      {"maxAge + 1 old", report(2, kNow - 3601, 0.05, 0.07), kNow, OracleRefusal::kStaleReport},
      // Same figures: 60 s after the stored observation allow only 50 % * 60 / 3600.
      {"maxAge old", report(2, kNow - 3600 + 60, 0.04, 0.06), kNow + 60, OracleRefusal::kNone},
      {"same round", report(1, kNow + 60, 0.05, 0.07), kNow + 60,
       OracleRefusal::kRoundNotIncreasing},
      {"round + 2^32", report(1 + kJump, kNow, 0.05, 0.07), kNow, OracleRefusal::kNone},
      {"round + 2^32 + 1", report(2 + kJump, kNow, 0.05, 0.07), kNow,
       OracleRefusal::kRoundJumpTooLarge},
      {"same observedAt", report(2, kNow - 3600, 0.05, 0.07), kNow, OracleRefusal::kTooSoon},
      {"observedAt < previous + minInterval", report(2, kNow - 3600 + 59, 0.05, 0.07), kNow,
       OracleRefusal::kTooSoon},
      {"VaR +50 % exactly", report(2, kNow, 0.06, 0.07), kNow, OracleRefusal::kNone},
      {"VaR +50 % and 1 wei", one_wei_more, kNow, OracleRefusal::kVaRChangeTooLarge},
      {"VaR +50 % and 1 wei after two periods", one_wei_more_later, kNow + 3600,
       OracleRefusal::kVaRChangeTooLarge},
      {"VaR +25 % half a period later", report(2, kNow - 1800, 0.05, 0.06), kNow,
       OracleRefusal::kNone},
      {"VaR +25 % and 1 wei half a period later", half_hour_one_wei_more, kNow,
       OracleRefusal::kVaRChangeTooLarge},
      {"VaR -50 % exactly", report(2, kNow, 0.02, 0.06), kNow, OracleRefusal::kNone},
      {"VaR -75 %", report(2, kNow, 0.01, 0.06), kNow, OracleRefusal::kVaRChangeTooLarge},
      {"CVaR +50 % exactly", report(2, kNow, 0.04, 0.09), kNow, OracleRefusal::kNone},
      {"CVaR +50 % and 1 wei", cvar_one_wei_more, kNow, OracleRefusal::kCVaRChangeTooLarge},
      {"VaR and CVaR too far: VaR first", report(2, kNow, 0.5, 0.6), kNow,
       OracleRefusal::kVaRChangeTooLarge},
      // The breaker status widens the limit 4 times (x3 = +200 % = 4 x 50 %), never removes it.
      {"VaR x3 while tripped", report(2, kNow, 0.12, 0.15, 1), kNow, OracleRefusal::kNone},
      {"VaR x3 and 1 wei while tripped", tripped_one_wei_more, kNow,
       OracleRefusal::kVaRChangeTooLarge},
      {"VaR x3 in cooldown", report(2, kNow, 0.12, 0.15, 2), kNow, OracleRefusal::kNone},
      {"VaR x5 in cooldown", report(2, kNow, 0.2, 0.25, 2), kNow,
       OracleRefusal::kVaRChangeTooLarge},
      {"CVaR x5 while tripped", report(2, kNow, 0.04, 0.3, 1), kNow,
       OracleRefusal::kCVaRChangeTooLarge},
      {"VaR x3 in normal", report(2, kNow, 0.12, 0.15, 0), kNow, OracleRefusal::kVaRChangeTooLarge},
  };
  for (const auto& row : rows) {
    const std::string what = row.what;
    CAPTURE(what);
    OracleSink sink(limits);
    REQUIRE(sink.submit(report(1, kNow - 3600, 0.04, 0.06), kNow - 3590) == OracleRefusal::kNone);
    CHECK(sink.submit(row.r, row.now) == row.expected);
    const auto* latest = sink.latest(1);
    REQUIRE(latest != nullptr);
    CHECK(latest->round == (row.expected == OracleRefusal::kNone ? row.r.round : 1));
  }
}

TEST_CASE("the in-memory sink bounds the first round and stores a future observation as now") {
  OracleLimits limits;
  limits.max_age_s = 3600;
  limits.min_interval_s = 0;
  limits.max_var_change = 0.5;
  constexpr std::uint64_t kJump = std::uint64_t{1} << 32;
  OracleSink sink(limits);
  // RiskOracle.MAX_ROUND_JUMP applies from round 0 to the first round too.
  CHECK(sink.submit(report(kJump + 1, kNow + 10, 0.04, 0.06), kNow) ==
        OracleRefusal::kRoundJumpTooLarge);
  CHECK(sink.latest(1) == nullptr);
  // 10 s ahead of the block: accepted, stored with the block time (RiskOracle._write).
  REQUIRE(sink.submit(report(kJump, kNow + 10, 0.04, 0.06), kNow) == OracleRefusal::kNone);
  REQUIRE(sink.latest(1) != nullptr);
  CHECK(sink.latest(1)->observed_at == static_cast<std::uint64_t>(kNow));
  CHECK(sink.latest(1)->round == kJump);
  // Later than the stored time, although earlier than the report's own: not TooSoon; 5 s
  // elapsed since the stored time allow 50 % * 5 / 3600 (= 1/1440 of the VaR).
  auto small = report(kJump + 1, kNow + 5, 0.04, 0.06);
  small.value_at_risk += to_wad(0.04) / 1440;
  CHECK(sink.submit(small, kNow + 1) == OracleRefusal::kNone);
  CHECK(sink.latest(1)->observed_at == static_cast<std::uint64_t>(kNow + 1));
  // Elapsed runs from the stored time (kNow + 1, not the report's kNow + 5): 9 s allow
  // 50 % * 9 / 3600 = 1/800 of the VaR.
  auto next = report(kJump + 2, kNow + 10, 0.04, 0.06);
  next.value_at_risk = small.value_at_risk + small.value_at_risk / 800 + 1;
  CHECK(sink.submit(next, kNow + 10) == OracleRefusal::kVaRChangeTooLarge);
  next.value_at_risk -= 1;
  CHECK(sink.submit(next, kNow + 10) == OracleRefusal::kNone);
  CHECK(sink.latest(1)->value_at_risk == next.value_at_risk);
}

TEST_CASE("the breaker trips in the manipulation scenario when no trusted majority remains") {
  const auto r = run_simulation(library("manipulated-source"));
  REQUIRE(r.summaries.size() == 1);
  // Day 30: one source of three at +15 % is outvoted by the median: an incident, no trip.
  CHECK(trips_between(r, 29.9, 30.5) == 0);
  const auto first = std::find_if(r.incidents.begin(), r.incidents.end(), [](const Incident& i) {
    return i.category == risk::oprisk::kOracleManipulation && i.subject == "ETH/s2";
  });
  REQUIRE(first != r.incidents.end());
  CHECK(first->time == r.times.front() + 30 * 86'400);
  // Day 60: s3 frozen, s2 manipulated: the two remaining sources disagree; the breaker trips.
  CHECK(trips_between(r, 60.0, 60.2) == 1);
  CHECK(r.summaries[0].breaker_trips == 1);
}

TEST_CASE("the breaker never trips in the calm GBM control") {
  const auto r = run_simulation(library("calm-gbm"));
  CHECK(r.summaries[0].breaker_trips == 0);
  CHECK(r.incidents.empty());
  CHECK(r.summaries[0].reports_refused == 0);
}

TEST_CASE("a frozen feed is an incident; all feeds frozen trips the breaker") {
  const auto r = run_simulation(library("stale-source"));
  const auto stale = std::find_if(r.incidents.begin(), r.incidents.end(), [](const Incident& i) {
    return i.category == risk::oprisk::kStaleFeed && i.subject == "ETH/s3";
  });
  REQUIRE(stale != r.incidents.end());
  // s3's last round is at day 30 (or up to an hour before); stale once heartbeat + grace passed.
  CHECK(stale->time > r.times.front() + 30 * 86'400);
  CHECK(stale->time <= r.times.front() + 30 * 86'400 + 3600 + 300 + 3600);
  CHECK(trips_between(r, 30.0, 59.9) == 0);
  CHECK(trips_between(r, 60.0, 60.3) == 1);
}

TEST_CASE("an RPC outage trips the breaker once per outage") {
  const auto r = run_simulation(library("rpc-outage"));
  CHECK(trips_between(r, 30.0, 30.1) == 1);
  CHECK(trips_between(r, 60.0, 60.34) == 1);
  CHECK(r.summaries[0].breaker_trips == 2);
}

TEST_CASE("a jump crash trips the breaker and pays out the protection epoch it falls in") {
  const auto r = run_simulation(library("jump-crash"));
  CHECK(trips_between(r, 45.5, 45.6) == 1);
  CHECK(r.summaries[0].payouts >= 1);
  // The epoch spanning the jump: the realised loss of at least 35 % minus the VaR at its start.
  CHECK(r.summaries[0].payout_per_unit > 0.35 - r.summaries[0].peak_var);
}

TEST_CASE("with the breaker disabled every accepted report carries the computed figures") {
  auto s = library("vol-regime");
  s.breaker.enabled = false;
  const auto r = run_simulation(s);
  std::size_t accepted = 0;
  for (const auto& p : r.points[0]) {
    CHECK(p.status == risk::BreakerStatus::kNormal);
    if (!p.accepted) continue;
    ++accepted;
    CHECK(p.onchain_var == doctest::Approx(p.computed_var).epsilon(1e-15));
  }
  CHECK(accepted == r.summaries[0].reports_published);
  CHECK(r.summaries[0].breaker_trips == 0);
}

// The per-operation constants are measured from receipts (keeper/sim/simulator.hpp says how);
// tests/integration/simulate_chain_test.cpp checks the totals against real receipts on anvil.
TEST_CASE("report gas: the first report pays the fresh slots, each later one a steady submit") {
  auto s = library("calm-gbm");
  s.protection.enabled = false;
  const auto r = run_simulation(s);
  const auto& sum = r.summaries[0];
  REQUIRE(sum.reports_published > 1);
  CHECK(sum.gas_reports ==
        doctest::Approx(gas::kSubmit + gas::kFirstReportExtra +
                        gas::kSubmit * static_cast<double>(sum.reports_published - 1)));
  CHECK(sum.gas_rebalances == gas::kRebalance * static_cast<double>(sum.rebalances));
  CHECK(sum.gas_protection == 0.0);
  CHECK(sum.cost_eth == doctest::Approx(sum.gas * 20e-9));
}

TEST_CASE(
    "exceptions count realised next-period losses above the VaR on chain; duration and DQ too") {
  const auto r = run_simulation(library("vol-regime"));
  const auto& sum = r.summaries[0];
  std::size_t samples = 0, exceptions = 0;
  for (const auto& p : r.points[0]) {
    if (!p.sample) continue;
    ++samples;
    CHECK(p.exception == (p.realised_loss > p.onchain_var));
    if (p.exception) ++exceptions;
  }
  CHECK(samples == sum.backtest_obs);
  CHECK(exceptions == sum.exceptions);
  CHECK(sum.expected_exceptions == doctest::Approx(0.01 * static_cast<double>(samples)));
  // Kupiec (1995) LR_pof closed form for the observed count.
  const double n = static_cast<double>(samples), x = static_cast<double>(exceptions);
  const double p = 0.01, phat = x / n;
  const double lr = -2.0 * ((n - x) * std::log(1 - p) + (x > 0 ? x * std::log(p) : 0.0)) +
                    2.0 * ((n - x) * std::log(1 - phat) + (x > 0 ? x * std::log(phat) : 0.0));
  CHECK(sum.kupiec_p == doctest::Approx(std::erfc(std::sqrt(lr / 2.0))).epsilon(1e-9));

  // Issue 17: the Christoffersen-Pelletier duration and Engle-Manganelli DQ tests in the summary,
  // its JSON and the HTML report, equal to the library's on the samples the report backtests.
  std::vector<double> realized, var;  // of the samples, as the report backtests them
  std::vector<std::uint8_t> hits;
  for (const auto& p : r.points[0]) {
    if (!p.sample) {
      continue;
    }
    realized.push_back(-p.realised_loss);
    var.push_back(p.onchain_var);
    hits.push_back(p.exception ? 1 : 0);
  }
  REQUIRE(realized.size() == sum.backtest_obs);
  REQUIRE(realized.size() > 2 * risk::kDefaultDqLags + 2);
  const auto d = risk::christoffersen_pelletier_duration(hits);
  const auto dq = risk::engle_manganelli_dq(realized, var, sum.confidence);
  CHECK(sum.duration_defined == d.defined);
  CHECK(sum.duration_lr == doctest::Approx(d.lr.lr).epsilon(1e-12));
  CHECK(sum.duration_p == doctest::Approx(d.lr.p_value).epsilon(1e-12));
  CHECK(sum.duration_weibull_b == doctest::Approx(d.shape_b).epsilon(1e-12));
  CHECK(sum.dq_defined);
  CHECK(sum.dq == doctest::Approx(dq.dq).epsilon(1e-12));
  CHECK(sum.dq_p == doctest::Approx(dq.p_value).epsilon(1e-12));
  CHECK(sum.dq_dof == dq.dof);
  const auto j = nlohmann::json::parse(summary_json(r));
  const auto& pj = j["portfolios"][0];
  CHECK(pj["dq"]["dq"].get<double>() == doctest::Approx(dq.dq).epsilon(1e-12));
  CHECK(pj["dq"]["lags"] == risk::kDefaultDqLags);
  if (d.defined) {
    CHECK(pj["duration"]["lr"].get<double>() == doctest::Approx(d.lr.lr).epsilon(1e-12));
  } else {
    CHECK(pj["duration"].is_null());
  }
  const std::string html = report_html(r);
  CHECK(html.find("duration (C-P) p") != std::string::npos);
  CHECK(html.find("DQ (E-M) p") != std::string::npos);
}

TEST_CASE("the same scenario and seed give byte-identical outputs; another seed does not") {
  const auto s = library("feedback-loop");
  const auto a = run_simulation(s);
  const auto b = run_simulation(s);
  CHECK(timeseries_csv(a) == timeseries_csv(b));
  CHECK(summary_json(a) == summary_json(b));
  CHECK(report_html(a) == report_html(b));
  SimulationOptions other;
  other.seed = 8;
  CHECK(timeseries_csv(run_simulation(s, other)) != timeseries_csv(a));
}

TEST_CASE("the feedback loop's vault sells into the AMM the oracle reads") {
  const auto r = run_simulation(library("feedback-loop"));
  REQUIRE(r.feedback.enabled);
  CHECK(r.summaries[0].rebalances >= 1);
  CHECK(r.feedback.risky_sold == doctest::Approx(1500.0));  // half of 3000 ETH
  CHECK(r.feedback.max_discount > 0.0);  // the sales pushed the AMM below the market
}

TEST_CASE(
    "the vault swaps as RiskRebalancer does: not while tripped, in chunks, with a cool-down") {
  auto s = library("jump-crash");
  const auto whole = run_simulation(s);
  REQUIRE(whole.summaries[0].rebalances >= 1);
  s.rebalancer.max_trade = 0.05;
  constexpr std::int64_t kCooldown = std::int64_t{6} * 3600;
  s.rebalancer.cooldown_s = kCooldown;
  const auto r = run_simulation(s);
  std::int64_t last = -1;
  std::size_t swaps = 0;
  bool tripped_seen = false;
  for (std::size_t k = 0; k < r.points[0].size(); ++k) {
    const auto& p = r.points[0][k];
    tripped_seen = tripped_seen || p.status == risk::BreakerStatus::kTripped;
    if (!p.vault_swapped) {
      continue;
    }
    ++swaps;
    CHECK(p.status != risk::BreakerStatus::kTripped);
    if (last >= 0) {
      CHECK(r.times[k] - last >= kCooldown);
    }
    last = r.times[k];
  }
  CHECK(tripped_seen);
  CHECK(swaps == r.summaries[0].rebalances);
  // Each swap moves at most 5 % of the vault's value, so the same path takes more swaps.
  CHECK(r.summaries[0].rebalances > whole.summaries[0].rebalances);
}

TEST_CASE("scenario dates convert like GNU date (date -u -d D +%s, date -u -d @S)") {
  struct Row {
    const char* date;
    std::int64_t days;  // date -u -d D +%s, divided by 86400
  };
  const Row rows[] = {{"1970-01-01", 0},     {"2000-02-29", 11016}, {"2020-03-12", 18333},
                      {"2024-01-01", 19723}, {"1969-12-31", -1},    {"2100-03-01", 47541}};
  for (const auto& row : rows) {
    CAPTURE(row.date);
    CHECK(parse_iso_date(row.date) == row.days);
    CHECK(iso_date(row.days * 86'400) == row.date);
  }
  CHECK(iso_time(1'709'251'199) == "2024-02-29T23:59:59Z");
  CHECK(iso_time(-1) == "1969-12-31T23:59:59Z");
  for (const char* bad : {"2023-02-29", "2100-02-29", "2024-13-01", "2024-00-10", "2024-1-01",
                          "2024-01-32", "20240101", "2024-01-01T00:00"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_iso_date(bad).has_value());
  }
}
