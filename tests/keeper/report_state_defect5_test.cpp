// Issue 15, defect 5 (store side): a report row ends `superseded` (replaced while it waited for
// its portfolio's report in flight) or `dropped` (never landed); a version-2 store is migrated
// to accept both and keeps its rows.
#include <doctest/doctest.h>

#include <string>

#include "keeper/store/sqlite.hpp"
#include "keeper/store/store.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using keeper::KeeperStore;
using keeper::ReportState;
using varkeeper::test::TempDir;

namespace {
keeper::PublishedReport row(std::uint64_t round) {
  keeper::PublishedReport r;
  r.portfolio_id = 1;
  r.round = round;
  r.created_at = 100;
  return r;
}
}  // namespace

TEST_CASE("reporter_defect5: a version-2 store is migrated to accept superseded and dropped rows") {
  TempDir dir("store");
  const std::string path = dir.file("keeper.db");
  {
    auto store = KeeperStore::open(path);
    store->add_report(row(1));
    store->add_report(row(2));
  }
  {
    // Put the file back to schema version 2: the report state CHECK without the new states.
    keeper::sqlite::Database db(path);
    db.exec(
        "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(sql, "
        "', ''superseded'', ''dropped''', '') WHERE name = 'report'; "
        "PRAGMA writable_schema = OFF;");
    const int cookie = std::stoi(db.query_text("PRAGMA schema_version").value_or("0"));
    db.exec("PRAGMA schema_version = " + std::to_string(cookie + 1) + "; PRAGMA user_version = 2;");
    const auto sql = db.query_text("SELECT sql FROM sqlite_schema WHERE name = 'report'");
    REQUIRE(sql);
    REQUIRE(sql->find("superseded") == std::string::npos);
    // Version 2 refuses the new states: the checks below would pass for nothing otherwise.
    CHECK_THROWS(db.exec("UPDATE report SET state = 'dropped' WHERE round = 1"));
  }
  auto store = KeeperStore::open(path);
  CHECK(store->schema_version() == 3);
  CHECK(store->integrity_check() == "ok");
  store->set_report_state(1, 1, ReportState::kSuperseded);
  store->set_report_state(1, 2, ReportState::kDropped);
  CHECK(store->report(1, 1)->state == ReportState::kSuperseded);
  CHECK(store->report(1, 2)->state == ReportState::kDropped);
  CHECK(store->reports_in_state(ReportState::kPending).empty());
  CHECK(store->reports_in_state(ReportState::kDropped).size() == 1);
  CHECK(keeper::parse_report_state("superseded") == ReportState::kSuperseded);
  CHECK(keeper::parse_report_state("dropped") == ReportState::kDropped);
  CHECK(store->summary().reports_by_state.at("superseded") == 1);
  // The CHECK still refuses a state that is not one.
  keeper::sqlite::Database db(path);
  CHECK_THROWS(db.exec("UPDATE report SET state = 'lost'"));
}
