// Differential: the official Prometheus Python client's text-format parser reads back the
// per-peer metrics of the keeper network (issue 18) exactly as render_peer_metrics wrote them.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "keeper/network/signature_book.hpp"
#include "tests/keeper/peer_fixture.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper::network;
namespace fx = varkeeper::test::peer;

namespace {

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
                    "value": float(s.value)})
print(json.dumps(out))
)PY";

}  // namespace

TEST_CASE("the per-peer metrics parse with the Prometheus client and carry the book's figures") {
  const auto ours = fx::key(0x11);
  const auto a = fx::key(0x22);
  const auto b = fx::key(0x33);
  SignatureBook book(fx::domain(), chain::address_of(ours),
                     {{"", chain::address_of(a)}, {"", chain::address_of(b)}}, nullptr);
  const auto r = fx::report(1, 12);
  REQUIRE(book.add_own(fx::signed_by(ours, r)));
  REQUIRE(book.add_peer(fx::signed_by(a, r), 1'765'000'123) == SignatureBook::Verdict::kAccepted);
  auto lie = r;
  lie.method = 1;
  REQUIRE(book.add_peer(fx::signed_by(b, lie), 5) == SignatureBook::Verdict::kDiverges);
  book.note_push_result(chain::address_of(a), true, "", 1'765'000'124);
  book.note_push_result(chain::address_of(b), false, "timeout", 1'765'000'124);

  const varkeeper::test::TempDir dir("peer-metrics");
  const auto path = dir / "metrics.txt";
  {
    std::ofstream f(path, std::ios::binary);
    f << render_peer_metrics(book.stats());
  }
  const auto run = varkeeper::test::run_process({kPython, "-c", kParse, path.string()});
  if (run.exit_code == 3) {
    FAIL("python3-prometheus-client is missing: run scripts/setup.sh");
  }
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto samples = nlohmann::json::parse(run.out);
  const auto value = [&](const std::string& name, const chain::Address& peer) {
    for (const auto& s : samples) {
      if (s["name"] == name && s["labels"]["peer"] == chain::to_checksum_address(peer)) {
        return s["value"].get<double>();
      }
    }
    FAIL("no sample " << name);
    return -1.0;
  };
  const auto pa = chain::address_of(a);
  const auto pb = chain::address_of(b);
  CHECK(samples.size() == 12);  // six families, two peers
  CHECK(value("varkeeper_peer_reachable", pa) == 1);
  CHECK(value("varkeeper_peer_reachable", pb) == 0);
  CHECK(value("varkeeper_peer_last_contact_timestamp_seconds", pa) == 1'765'000'124);
  CHECK(value("varkeeper_peer_last_agreement_round", pa) == 12);
  CHECK(value("varkeeper_peer_last_agreement_round", pb) == 0);
  CHECK(value("varkeeper_peer_divergences_total", pb) == 1);
  CHECK(value("varkeeper_peer_signatures_received_total", pa) == 1);
  CHECK(value("varkeeper_peer_signatures_received_total", pb) == 0);
  CHECK(value("varkeeper_peer_rejected_total", pa) == 0);
  for (const auto& s : samples) {
    if (s["name"] == "varkeeper_peer_divergences_total") CHECK(s["type"] == "counter");
    if (s["name"] == "varkeeper_peer_reachable") CHECK(s["type"] == "gauge");
  }
}
