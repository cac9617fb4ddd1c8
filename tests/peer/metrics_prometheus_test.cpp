// Differential: the official Prometheus Python client's text-format parser
// (prometheus_client.parser, Debian package python3-prometheus-client) reads back exactly the
// families, label values and sample values the registry wrote.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "keeper/ops/metrics.hpp"
#include "tests/support/test_support.hpp"

using varkeeper::keeper::KeeperMetrics;
using varkeeper::keeper::MetricsRegistry;
using varkeeper::test::run_process;

namespace {

// Debian's interpreter, where the python3-prometheus-client package installs.
constexpr const char* kPython = "/usr/bin/python3";

constexpr const char* kParse = R"PY(
import json, sys
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit(3)
out = []
for f in text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read()):
    for s in f.samples:
        out.append({"family": f.name, "type": f.type, "name": s.name, "labels": s.labels,
                    "value": repr(float(s.value))})
print(json.dumps(out))
)PY";

nlohmann::json parse_with_python_client(const std::string& text) {
  const varkeeper::test::TempDir dir("prometheus-peer");  // its own file, whoever runs alongside
  const auto path = dir / "metrics.txt";
  {
    std::ofstream f(path, std::ios::binary);
    f << text;
  }
  const auto r = run_process({kPython, "-c", kParse, path.string()});
  if (r.exit_code == 3) {
    FAIL(
        "python3-prometheus-client is missing: run scripts/setup.sh "
        "(or apt-get install python3-prometheus-client)");
  }
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

const nlohmann::json* find(const nlohmann::json& samples, const std::string& name,
                           const nlohmann::json& labels) {
  for (const auto& s : samples) {
    if (s["name"] == name && s["labels"] == labels) return &s;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("the Prometheus Python client parses the daemon's families back to the same values") {
  MetricsRegistry reg;
  KeeperMetrics m(reg);
  const std::string odd = "odd \"name\"\\ with\nnewline and \xc3\xa9";
  m.breaker_state.set({odd}, 2);
  m.portfolio_var.set({"eth-btc"}, 0.0523);
  m.reports_published.inc({"eth-btc", "heartbeat"}, 3);
  m.rpc_errors.inc({"http://127.0.0.1:8545", "timeout"});
  m.gas_spent_wei.inc({}, 1234567890000000.0);
  m.oprisk_ale.set({"information_leakage"}, 1e300);
  m.price.set({"ETH/USD"}, std::numeric_limits<double>::quiet_NaN());
  m.price.set({"BTC/USD"}, -std::numeric_limits<double>::infinity());
  for (double v : {0.003, 0.2, 0.7, 45.0, 100.0}) m.tick_seconds.observe(v);

  const auto samples = parse_with_python_client(reg.render());
  using J = nlohmann::json;
  struct Expect {
    std::string name;
    J labels;
    std::string value;  // Python repr of the float
  };
  for (const auto& e : {
           Expect{"varkeeper_breaker_state", J{{"portfolio", odd}}, "2.0"},
           Expect{"varkeeper_portfolio_var", J{{"portfolio", "eth-btc"}}, "0.0523"},
           Expect{"varkeeper_reports_published_total",
                  J{{"portfolio", "eth-btc"}, {"reason", "heartbeat"}}, "3.0"},
           Expect{"varkeeper_rpc_errors_total",
                  J{{"endpoint", "http://127.0.0.1:8545"}, {"class", "timeout"}}, "1.0"},
           Expect{"varkeeper_gas_spent_wei_total", J::object(), "1234567890000000.0"},
           Expect{"varkeeper_oprisk_ale", J{{"category", "information_leakage"}}, "1e+300"},
           Expect{"varkeeper_price", J{{"asset", "ETH/USD"}}, "nan"},
           Expect{"varkeeper_price", J{{"asset", "BTC/USD"}}, "-inf"},
           Expect{"varkeeper_tick_seconds_bucket", J{{"le", "0.25"}}, "2.0"},
           Expect{"varkeeper_tick_seconds_bucket", J{{"le", "60"}}, "4.0"},
           Expect{"varkeeper_tick_seconds_bucket", J{{"le", "+Inf"}}, "5.0"},
           Expect{"varkeeper_tick_seconds_sum", J::object(), "145.903"},
           Expect{"varkeeper_tick_seconds_count", J::object(), "5.0"},
       }) {
    CAPTURE(e.name);
    CAPTURE(e.labels.dump());
    const auto* s = find(samples, e.name, e.labels);
    REQUIRE(s != nullptr);
    CHECK((*s)["value"] == e.value);
  }
  // Families and types as declared (the client strips _total from a counter family's name).
  for (const auto& s : samples) {
    if (s["name"] == "varkeeper_tick_seconds_count") CHECK(s["type"] == "histogram");
    if (s["name"] == "varkeeper_gas_spent_wei_total") {
      CHECK(s["family"] == "varkeeper_gas_spent_wei");
      CHECK(s["type"] == "counter");
    }
    if (s["name"] == "varkeeper_breaker_state") CHECK(s["type"] == "gauge");
  }
}
