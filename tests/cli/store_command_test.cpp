// `varkeeper store check` as an operator runs it: the summary of a store written through the
// KeeperStore API, and the one-sentence refusals (exit 2) of a missing, foreign or newer file.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "keeper/store/sqlite.hpp"
#include "keeper/store/store.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace varkeeper;
using varkeeper::test::run_process;
using varkeeper::test::TempDir;

namespace {

// stderr is exactly one line: "varkeeper: <sentence naming the file>".
void check_one_line_naming(const std::string& err, const std::string& file) {
  CHECK(err.rfind("varkeeper: ", 0) == 0);
  CHECK(err.find('\n') == err.size() - 1);
  CHECK_MESSAGE(err.find(file) != std::string::npos, err);
}

}  // namespace

TEST_CASE("varkeeper store check prints what a store holds, as text and as JSON") {
  TempDir dir("store-cli");
  const std::string path = dir.file("keeper.db");
  {
    auto store = keeper::KeeperStore::open(path);
    chain::Address from{};
    from.fill(1);
    const auto t1 = store->insert({"a", std::nullopt, {}, 0, 0, "report"}, from);
    (void)store->insert({"b", std::nullopt, {}, 0, 0, "report"}, from);
    auto rec = *store->get(t1);
    rec.state = chain::TxState::kFinalized;
    store->save(rec);
    for (std::uint64_t round = 1; round <= 3; ++round) {
      keeper::PublishedReport r;
      r.portfolio_id = 7;
      r.round = round;
      r.state = round < 3 ? keeper::ReportState::kAccepted : keeper::ReportState::kPending;
      store->add_report(r);
    }
    for (int i = 1; i <= 4; ++i) {
      (void)store->add_price({"ETH/USD", "0xfeed", std::to_string(i), "1", 8, i, i});
    }
    for (int i = 0; i < 5; ++i) store->upsert_close("ETH/USD", 60, {i * 60, 1.0});
    (void)store->add_incident({0, 1, "stale_feed", "ETH/USD", "{}"});
    (void)store->add_incident({0, 2, "denial_of_service", "http://127.0.0.1:1", "{}"});
    store->set_meta("last_block:31337", "9");
  }
  const auto json = run_process({VARKEEPER_BINARY, "store", "check", path, "--json"});
  REQUIRE_MESSAGE(json.exit_code == 0, json.err);
  const auto j = nlohmann::json::parse(json.out);
  CHECK(j["store"] == path);
  CHECK(j["schema_version"] == keeper::kStoreSchemaVersion);
  CHECK(j["integrity"] == "ok");
  CHECK(j["transactions"] == 2);
  CHECK(j["open_transactions"] == 1);
  CHECK(j["reports"]["accepted"] == 2);
  CHECK(j["reports"]["pending"] == 1);
  CHECK(j["reports"]["refused"] == 0);
  CHECK(j["price_observations"] == 4);
  CHECK(j["closes"] == 5);
  CHECK(j["incidents"] == 2);
  CHECK(j["meta_entries"] == 1);

  const auto text = run_process({VARKEEPER_BINARY, "store", "check", path});
  REQUIRE_MESSAGE(text.exit_code == 0, text.err);
  CHECK(text.out.find("integrity:    ok\n") != std::string::npos);
  CHECK(text.out.find("reports:      2 accepted, 1 pending, 0 refused\n") != std::string::npos);
  CHECK(text.out.find("prices:       4 observations, 5 closes\n") != std::string::npos);
}

TEST_CASE("varkeeper store check refuses a missing, foreign or newer file with one line, exit 2") {
  TempDir dir("store-cli");
  const std::string missing = dir.file("missing.db");
  auto r = run_process({VARKEEPER_BINARY, "store", "check", missing});
  CHECK(r.exit_code == 2);
  check_one_line_naming(r.err, missing);
  CHECK_FALSE(fs::exists(missing));  // a check never creates a store

  const std::string garbage = dir.file("notes.txt");
  { std::ofstream(garbage) << std::string(3000, 'z'); }
  r = run_process({VARKEEPER_BINARY, "store", "check", garbage});
  CHECK(r.exit_code == 2);
  check_one_line_naming(r.err, garbage);
  CHECK(r.err.find("not a SQLite database") != std::string::npos);

  const std::string newer = dir.file("newer.db");
  { auto store = keeper::KeeperStore::open(newer); }
  {
    keeper::sqlite::Database db(newer);
    db.exec("PRAGMA user_version = " + std::to_string(keeper::kStoreSchemaVersion + 1));
  }
  r = run_process({VARKEEPER_BINARY, "store", "check", newer});
  CHECK(r.exit_code == 2);
  check_one_line_naming(r.err, newer);
  CHECK(r.err.find("newer") != std::string::npos);
}
