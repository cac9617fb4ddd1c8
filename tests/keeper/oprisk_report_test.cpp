#include "keeper/ops/oprisk_report.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "keeper/core/pipeline.hpp"
#include "keeper/store/store.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

namespace {
Config example() {
  return load_config(std::string(VARKEEPER_SOURCE_DIR) + "/config/oprisk.example.toml");
}
const OpriskCategoryReport& category(const OpriskReport& r, const std::string& name) {
  for (const auto& c : r.categories) {
    if (c.category == name) return c;
  }
  FAIL("no category " << name);
  throw std::logic_error("unreachable");
}
}  // namespace

TEST_CASE("the example config reproduces the committee's worked hybrid AROs") {
  const auto cfg = example();
  REQUIRE(cfg.oprisk);
  const auto report = build_oprisk_report(*cfg.oprisk, std::nullopt);
  const auto& leak = category(report, "oracle_manipulation");
  CHECK(leak.hybrid_aro == doctest::Approx(0.875).epsilon(1e-14));
  CHECK(leak.p_at_least_one == doctest::Approx(1.0 - std::exp(-0.875)).epsilon(1e-14));
  CHECK(leak.ale == doctest::Approx(0.875 * 250000.0).epsilon(1e-12));
  CHECK(category(report, "denial_of_service").hybrid_aro == doctest::Approx(0.0625).epsilon(1e-14));
  REQUIRE(report.annual_loss);
  // The Monte Carlo mean agrees with the closed form sum lambda E[X] within its standard error
  // (E[X]: the severity's mean, or the SLE for a category simulated as a point mass).
  double mean = 0.0;
  for (const auto& c : cfg.oprisk->categories) {
    mean += category(report, c.name).hybrid_aro *
            (c.severity ? c.severity->mean() : single_loss_expectancy(c));
  }
  CHECK(std::fabs(report.annual_loss->mean - mean) < 4.0 * report.annual_loss->stderr_mean);
  CHECK(format_oprisk_report(report).find("hybrid ARO 0.8750") != std::string::npos);
}

TEST_CASE("incidents recorded by a pipeline run go to the store and change the internal ARO") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("varkeeper-oprisk-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto store = KeeperStore::open((dir / "store.db").string());

  // A short run: one of three sources spikes (candidate manipulation), then every feed goes quiet.
  PipelineConfig pc;
  pc.assets.push_back({"ETH", {{"a", 3600}, {"b", 3600}, {"c", 3600}}});
  PortfolioSpec p;
  p.id = 1;
  p.positions = {{"ETH", 1.0}};
  p.period_s = 60;
  pc.portfolios.push_back(p);
  Pipeline pipe(pc);
  const std::int64_t t0 = 1'800'000'000;
  for (int i = 0; i < 12; ++i) {
    std::vector<PriceReading> rs;
    if (i < 8) {
      for (const auto* s : {"a", "b", "c"}) {
        PriceReading r;
        r.asset = "ETH";
        r.source = s;
        r.round.round_id = {1, static_cast<std::uint64_t>(i + 1)};
        r.round.answered_in_round = r.round.round_id;
        r.round.answer = (i == 4 && std::string(s) == "b") ? 3300.0 : 2000.0;
        r.round.updated_at = t0 + 60 * i;
        rs.push_back(r);
      }
    }
    for (const auto& inc : pipe.tick(t0 + 60 * i, rs).incidents) store->add_incident(inc);
  }
  const auto counts = store->incident_counts(t0, t0 + 3600);
  CHECK(counts.at("oracle_manipulation") == 1);
  CHECK(counts.at("stale_feed") == 4);  // three sources and the asset

  const auto cfg = example();
  const auto configured = build_oprisk_report(*cfg.oprisk, std::nullopt);
  const auto measured = build_oprisk_report(*cfg.oprisk, counts);
  const auto& leak = category(measured, "oracle_manipulation");
  REQUIRE(leak.internal);
  CHECK(leak.internal->events == 1);
  // 1 event in 0.5 years = 2/yr raw; shrunk toward the external sources' 1.3/yr with 2 years of
  // prior weight: (1.3 * 2 + 1) / 2.5 = 1.44.
  CHECK(leak.internal->raw == doctest::Approx(2.0));
  const double prior = (0.30 * 1.2 + 0.15 * 1.5 + 0.05 * 0.8) / 0.50;
  CHECK(leak.internal->shrunk == doctest::Approx((prior * 2.0 + 1.0) / 2.5).epsilon(1e-12));
  CHECK(leak.hybrid_aro != doctest::Approx(category(configured, "oracle_manipulation").hybrid_aro));
  CHECK(leak.hybrid_aro ==
        doctest::Approx(0.5 * leak.internal->shrunk + 0.30 * 1.2 + 0.15 * 1.5 + 0.05 * 0.8));
  std::filesystem::remove_all(dir);
}

// Issue 16, defect 11: categories without a severity were left out of the Monte Carlo, so its
// mean (~589k on the example) was not comparable with the total ALE printed beside it (647k).
// They are now simulated as a point mass at their SLE and the output names them.
TEST_CASE("every category enters the Monte Carlo: its mean is comparable with the total ALE") {
  const auto cfg = example();
  const auto report = build_oprisk_report(*cfg.oprisk, std::nullopt);
  REQUIRE(report.annual_loss);
  // The example's SLEs equal its severities' means where both are given.
  CHECK(report.simulated_ale == doctest::Approx(report.total_ale).epsilon(1e-9));
  CHECK(std::fabs(report.annual_loss->mean - report.total_ale) <
        4.0 * report.annual_loss->stderr_mean);
  CHECK(category(report, "unauthorized_access").simulated_as == "point_mass");
  CHECK(category(report, "oracle_manipulation").simulated_as == "lognormal");
  const std::vector<std::string> point_mass{"unauthorized_access", "stale_feed",
                                            "failed_submission", "rpc_provider_outage"};
  CHECK(report.point_mass_categories == point_mass);
  const std::string text = format_oprisk_report(report);
  CHECK(text.find("a point mass at the SLE for unauthorized_access, stale_feed, "
                  "failed_submission, rpc_provider_outage") != std::string::npos);
  const auto j = nlohmann::json::parse(oprisk_report_json(report));
  CHECK(j["annual_loss"]["point_mass_categories"].size() == 4);
  CHECK(j["annual_loss"]["expected"].get<double>() == doctest::Approx(report.total_ale));
}

// Issue 16, defect 11: an `internal` source with no configured ARO and no store became ARO 0
// silently (stale_feed: 0.8 x 0 + 0.2 x 4.0 = 0.8). It is now left out of the weights (stale_feed:
// the industry source alone, 4.0) and the report says so in text and JSON.
TEST_CASE("an internal source without a store is left out of the weights, with a note") {
  const auto cfg = example();
  const auto report = build_oprisk_report(*cfg.oprisk, std::nullopt, false);
  const auto& stale = category(report, "stale_feed");
  CHECK(stale.hybrid_aro == doctest::Approx(4.0).epsilon(1e-14));
  REQUIRE(stale.sources.size() == 1);
  CHECK(stale.sources[0].name == "industry");
  CHECK(stale.sources[0].weight == 1.0);
  REQUIRE(stale.notes.size() == 1);
  CHECK(stale.notes[0].find("'internal' has no configured ARO and no incident log") !=
        std::string::npos);
  const auto& failed = category(report, "failed_submission");
  CHECK(failed.hybrid_aro == 0.0);
  CHECK(failed.ale == 0.0);
  REQUIRE(failed.notes.size() == 2);
  CHECK(failed.notes[1] == "no source with an ARO: ARO 0");
  // A configured internal ARO (oracle_manipulation) is used as it is, without a note.
  CHECK(category(report, "oracle_manipulation").notes.empty());
  const std::string text = format_oprisk_report(report);
  CHECK(text.find("note: source 'internal' has no configured ARO") != std::string::npos);
  const auto j = nlohmann::json::parse(oprisk_report_json(report));
  bool seen = false;
  for (const auto& c : j["categories"]) {
    if (c["category"] == "stale_feed") {
      seen = true;
      CHECK(c["notes"].size() == 1);
    }
  }
  CHECK(seen);
  // With the incident log the internal source is measured: no note, its weight kept.
  const std::map<std::string, std::uint64_t> counts{{"stale_feed", 2}};
  const auto measured = build_oprisk_report(*cfg.oprisk, counts, false);
  CHECK(category(measured, "stale_feed").notes.empty());
  CHECK(category(measured, "stale_feed").sources.size() == 2);
  CHECK(category(measured, "failed_submission").notes.empty());
}
