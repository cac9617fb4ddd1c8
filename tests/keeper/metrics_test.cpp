// The metrics registry against the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-format-details).
#include "keeper/ops/metrics.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using varkeeper::keeper::Counter;
using varkeeper::keeper::Gauge;
using varkeeper::keeper::Histogram;
using varkeeper::keeper::KeeperMetrics;
using varkeeper::keeper::MetricsRegistry;

TEST_CASE("a small registry renders HELP, TYPE and samples in the exact text format") {
  MetricsRegistry reg;
  auto& published = reg.counter("varkeeper_reports_published_total", "Reports published.",
                                {"portfolio", "reason"});
  auto& var = reg.gauge("varkeeper_portfolio_var", "Computed VaR.", {"portfolio"});
  auto& gas = reg.counter("varkeeper_gas_spent_wei_total", "Gas paid, in wei.");
  published.inc({"eth-btc", "heartbeat"});
  published.inc({"eth-btc", "deviation"}, 2);
  var.set({"eth-btc"}, 0.0625);
  var.set({"alpha"}, -0.5);
  gas.inc({}, 21000);

  // Families sorted by name; series sorted by label values; integral values without a fraction.
  CHECK(reg.render() ==
        "# HELP varkeeper_gas_spent_wei_total Gas paid, in wei.\n"
        "# TYPE varkeeper_gas_spent_wei_total counter\n"
        "varkeeper_gas_spent_wei_total 21000\n"
        "# HELP varkeeper_portfolio_var Computed VaR.\n"
        "# TYPE varkeeper_portfolio_var gauge\n"
        "varkeeper_portfolio_var{portfolio=\"alpha\"} -0.5\n"
        "varkeeper_portfolio_var{portfolio=\"eth-btc\"} 0.0625\n"
        "# HELP varkeeper_reports_published_total Reports published.\n"
        "# TYPE varkeeper_reports_published_total counter\n"
        "varkeeper_reports_published_total{portfolio=\"eth-btc\",reason=\"deviation\"} 2\n"
        "varkeeper_reports_published_total{portfolio=\"eth-btc\",reason=\"heartbeat\"} 1\n");
}

TEST_CASE("label values escape backslash, double quote and newline as the format's example does") {
  // The example of the exposition-format page ("Escaping in label values"); its value is written
  // there as 1.458255915e9, which is the same float64 as 1458255915.
  MetricsRegistry reg("");
  auto& g = reg.gauge("msdos_file_access_time_seconds", "", {"path", "error"});
  g.set({"C:\\DIR\\FILE.TXT", "Cannot find file:\n\"FILE.TXT\""}, 1.458255915e9);
  const std::string text = reg.render();
  CHECK(text.rfind("# TYPE msdos_file_access_time_seconds gauge\n", 0) == 0);  // no empty HELP
  CHECK(text.find("msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot "
                  "find file:\\n\\\"FILE.TXT\\\"\"} 1458255915\n") != std::string::npos);
}

TEST_CASE("HELP text escapes backslash and newline but not double quotes") {
  // prometheus/client_python tests/test_exposition.py test_escaping: help 'A\ncount\\er', label
  // value '\\x\n"' -> '# HELP cc A\\ncount\\\\er' and 'cc{a="\\\\x\\n\\""}' (that client writes
  // the value as 1.0; this registry, like the Go client, as 1).
  MetricsRegistry reg("");
  auto& c = reg.counter("cc", "A\ncount\\er \"quoted\"", {"a"});
  c.inc({"\\x\n\""});
  CHECK(reg.render() ==
        "# HELP cc A\\ncount\\\\er \"quoted\"\n"
        "# TYPE cc counter\n"
        "cc{a=\"\\\\x\\n\\\"\"} 1\n");
}

TEST_CASE("histogram buckets are cumulative, end with +Inf, and count a value equal to a bound") {
  MetricsRegistry reg;
  auto& h = reg.histogram("varkeeper_tick_seconds", "Tick time.", {}, {0.0625, 0.25, 1});
  // Dyadic values, exact in binary: sum = 0.03125 + 0.0625 + 0.125 + 0.5 + 1 + 4 = 5.71875.
  for (double v : {0.03125, 0.0625, 0.125, 0.5, 1.0, 4.0}) h.observe(v);
  CHECK(reg.render() ==
        "# HELP varkeeper_tick_seconds Tick time.\n"
        "# TYPE varkeeper_tick_seconds histogram\n"
        "varkeeper_tick_seconds_bucket{le=\"0.0625\"} 2\n"
        "varkeeper_tick_seconds_bucket{le=\"0.25\"} 3\n"
        "varkeeper_tick_seconds_bucket{le=\"1\"} 5\n"
        "varkeeper_tick_seconds_bucket{le=\"+Inf\"} 6\n"
        "varkeeper_tick_seconds_sum 5.71875\n"
        "varkeeper_tick_seconds_count 6\n");
  CHECK(h.count() == 6);
}

TEST_CASE("a labelled histogram puts le after its own labels") {
  MetricsRegistry reg;
  auto& h = reg.histogram("varkeeper_rpc_seconds", "RPC time.", {"endpoint"}, {0.5});
  h.observe({"http://127.0.0.1:8545"}, 0.25);
  h.observe({"http://127.0.0.1:8545"}, 0.75);
  CHECK(reg.render() ==
        "# HELP varkeeper_rpc_seconds RPC time.\n"
        "# TYPE varkeeper_rpc_seconds histogram\n"
        "varkeeper_rpc_seconds_bucket{endpoint=\"http://127.0.0.1:8545\",le=\"0.5\"} 1\n"
        "varkeeper_rpc_seconds_bucket{endpoint=\"http://127.0.0.1:8545\",le=\"+Inf\"} 2\n"
        "varkeeper_rpc_seconds_sum{endpoint=\"http://127.0.0.1:8545\"} 1\n"
        "varkeeper_rpc_seconds_count{endpoint=\"http://127.0.0.1:8545\"} 2\n");
}

TEST_CASE("special sample values are written +Inf, -Inf and NaN") {
  using varkeeper::keeper::format_sample_value;
  CHECK(format_sample_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_sample_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_sample_value(std::nan("")) == "NaN");
  CHECK(format_sample_value(0) == "0");
  CHECK(format_sample_value(1e6) == "1000000");
  CHECK(format_sample_value(9007199254740992.0) == "9007199254740992");  // 2^53
  CHECK(format_sample_value(-1234567890000000.0) == "-1234567890000000");
  CHECK(format_sample_value(0.1) == "0.1");  // shortest round trip, not 0.1000000000000000055
  CHECK(std::stod(format_sample_value(1e300)) == 1e300);
}

TEST_CASE("an unlabelled family renders at zero, a labelled one is declared before its series") {
  MetricsRegistry reg;
  (void)reg.counter("varkeeper_gas_spent_wei_total", "Gas.");
  auto& price = reg.gauge("varkeeper_price", "Price.", {"asset"});
  // Issue 19: every family is in every exposition (the Grafana dashboard test relies on it),
  // a labelled one without series by its HELP and TYPE lines alone.
  CHECK(reg.render() ==
        "# HELP varkeeper_gas_spent_wei_total Gas.\n"
        "# TYPE varkeeper_gas_spent_wei_total counter\n"
        "varkeeper_gas_spent_wei_total 0\n"
        "# HELP varkeeper_price Price.\n"
        "# TYPE varkeeper_price gauge\n");
  price.set({"ETH"}, 2);
  CHECK(reg.render().find("# TYPE varkeeper_price gauge\nvarkeeper_price{asset=\"ETH\"} 2\n") !=
        std::string::npos);
}

TEST_CASE("registration refuses bad names, secret label names, and shape clashes") {
  MetricsRegistry reg;
  CHECK_THROWS_AS((void)reg.counter("reports_total", "no prefix"), std::invalid_argument);
  CHECK_THROWS_AS((void)reg.counter("varkeeper_bad-name", "dash"), std::invalid_argument);
  CHECK_THROWS_AS((void)reg.gauge("varkeeper_x", "", {"1abc"}), std::invalid_argument);
  CHECK_THROWS_AS((void)reg.gauge("varkeeper_x", "", {"__reserved"}), std::invalid_argument);
  CHECK_THROWS_AS((void)reg.gauge("varkeeper_x", "", {"a", "a"}), std::invalid_argument);
  for (const char* secret : {"password", "private_key", "signer_key", "secret", "mnemonic"}) {
    CAPTURE(secret);
    CHECK_THROWS_AS((void)reg.gauge("varkeeper_x", "", {secret}), std::invalid_argument);
  }
  CHECK_THROWS_AS((void)reg.histogram("varkeeper_h", "", {"le"}, {1}), std::invalid_argument);
  CHECK_THROWS_AS((void)reg.histogram("varkeeper_h", "", {}, {}), std::invalid_argument);
  CHECK_THROWS_AS((void)reg.histogram("varkeeper_h", "", {}, {1, 1}), std::invalid_argument);
  CHECK_THROWS_AS((void)reg.histogram("varkeeper_h", "", {}, {1, std::nan("")}),
                  std::invalid_argument);

  auto& a = reg.gauge("varkeeper_price", "Price.", {"asset"});
  CHECK(&reg.gauge("varkeeper_price", "Price.", {"asset"}) == &a);  // same shape: same family
  CHECK_THROWS_AS((void)reg.counter("varkeeper_price", "Price.", {"asset"}), std::invalid_argument);
  CHECK_THROWS_AS((void)reg.gauge("varkeeper_price", "Price.", {"feed"}), std::invalid_argument);
}

TEST_CASE("updates with the wrong number of label values or a negative increment throw") {
  MetricsRegistry reg;
  auto& c = reg.counter("varkeeper_incidents_total", "Incidents.", {"category"});
  CHECK_THROWS_AS(c.inc({}), std::invalid_argument);
  CHECK_THROWS_AS(c.inc({"a", "b"}), std::invalid_argument);
  CHECK_THROWS_AS(c.inc({"stale_feed"}, -1), std::invalid_argument);
  CHECK_THROWS_AS(c.inc({"stale_feed"}, std::nan("")), std::invalid_argument);
  auto& h = reg.histogram("varkeeper_tick_seconds", "", {}, {1});
  CHECK_THROWS_AS(h.observe(std::nan("")), std::invalid_argument);
}

TEST_CASE("a 32-byte hex label value is replaced so no key or hash lands in a label") {
  MetricsRegistry reg;
  auto& c = reg.counter("varkeeper_rpc_errors_total", "RPC errors.", {"endpoint", "class"});
  const std::string key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
  c.inc({key, "timeout"});
  c.inc({key.substr(2), "timeout"});
  const std::string text = reg.render();
  CHECK(text.find("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80") ==
        std::string::npos);
  CHECK(text.find("varkeeper_rpc_errors_total{endpoint=\"redacted\",class=\"timeout\"} 2\n") !=
        std::string::npos);
}

TEST_CASE("gauges set, add and remove series; counters read back") {
  MetricsRegistry reg;
  auto& g = reg.gauge("varkeeper_tx_state", "Transactions by state.", {"state"});
  g.set({"unconfirmed"}, 3);
  g.add({"unconfirmed"}, -1);
  g.add({"confirmed"}, 5);
  CHECK(g.value({"unconfirmed"}) == 2);
  CHECK(g.value({"confirmed"}) == 5);
  g.remove({"confirmed"});
  CHECK(reg.render().find("{state=\"confirmed\"}") == std::string::npos);
  CHECK(reg.render().find("{state=\"unconfirmed\"} 2\n") != std::string::npos);
  CHECK(g.value({"never"}) == 0);
  CHECK(reg.render().find("never") == std::string::npos);  // reading creates no series
}

TEST_CASE("concurrent updates from several threads are all counted") {
  MetricsRegistry reg;
  auto& c = reg.counter("varkeeper_reports_published_total", "", {"portfolio", "reason"});
  auto& h = reg.histogram("varkeeper_tick_seconds", "", {}, {0.5});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        c.inc({"p", t % 2 ? "deviation" : "heartbeat"});
        h.observe(0.25);
        if (i % 1000 == 0) (void)reg.render();
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(c.value({"p", "deviation"}) + c.value({"p", "heartbeat"}) == kThreads * kPerThread);
  CHECK(h.count() == static_cast<std::uint64_t>(kThreads * kPerThread));
}

TEST_CASE("the daemon's families are registered with the documented names and labels") {
  MetricsRegistry reg;
  KeeperMetrics m(reg);
  m.portfolio_var.set({"eth-btc"}, 0.05);
  m.breaker_state.set({"eth-btc"}, 1);
  m.reports_published.inc({"eth-btc", "heartbeat"});
  m.tx_state.set({"confirmed"}, 1);
  m.rpc_errors.inc({"http://127.0.0.1:8545", "timeout"});
  m.incidents.inc({"stale_feed"});
  m.oprisk_aro.set({"denial_of_service"}, 0.0625);
  m.tick_seconds.observe(0.2);
  const std::string text = reg.render();
  for (const char* line :
       {"# TYPE varkeeper_tick_seconds histogram\n", "varkeeper_tick_seconds_bucket{le=\"60\"} 1\n",
        "varkeeper_portfolio_var{portfolio=\"eth-btc\"} 0.05\n",
        "varkeeper_breaker_state{portfolio=\"eth-btc\"} 1\n",
        "varkeeper_reports_published_total{portfolio=\"eth-btc\",reason=\"heartbeat\"} 1\n",
        "varkeeper_tx_state{state=\"confirmed\"} 1\n",
        "varkeeper_rpc_errors_total{endpoint=\"http://127.0.0.1:8545\",class=\"timeout\"} 1\n",
        "varkeeper_gas_spent_wei_total 0\n",
        "varkeeper_incidents_total{category=\"stale_feed\"} 1\n",
        "varkeeper_oprisk_aro{category=\"denial_of_service\"} 0.0625\n"}) {
    CAPTURE(line);
    CHECK(text.find(line) != std::string::npos);
  }
}
