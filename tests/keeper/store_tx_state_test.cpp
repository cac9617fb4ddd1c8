// The store's side of issue 15's confirmed_missing_receipt state (chain/tx_store.hpp): schema
// version 2 accepts it, a version-1 file is migrated in place without losing a row, and the
// state CHECK still refuses what is not a state.
#include <doctest/doctest.h>

#include <string>

#include "chain/tx_store.hpp"
#include "keeper/store/sqlite.hpp"
#include "keeper/store/store.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using chain::TxRequest;
using chain::TxState;
using keeper::KeeperStore;
using varkeeper::test::TempDir;

namespace {

chain::Address sender() {
  chain::Address a{};
  a[19] = 0x42;
  return a;
}

// A record in confirmed_missing_receipt with one attempt, saved; returns its id.
std::uint64_t save_missing_receipt(KeeperStore& store, const std::string& key) {
  const auto id = store.insert(TxRequest{key, sender(), {}, 7, 21'000, "settle"}, sender());
  auto rec = *store.get(id);
  rec.nonce = 3;
  rec.state = TxState::kConfirmedMissingReceipt;
  chain::TxAttempt a;
  a.hash[0] = 0xab;
  a.max_fee_per_gas = 2'000'000'000;
  a.max_priority_fee_per_gas = 1'000'000;
  a.raw = {0x02, 0x01};
  a.state = chain::AttemptState::kBroadcast;
  a.broadcast_block = 9;
  rec.attempts.push_back(a);
  store.save(rec);
  return id;
}

}  // namespace

TEST_CASE("A transaction in confirmed_missing_receipt is stored, reloaded and listed as open") {
  TempDir dir("store");
  const std::string path = dir.file("keeper.db");
  std::uint64_t id = 0;
  {
    auto store = KeeperStore::open(path);
    CHECK(store->schema_version() == keeper::kStoreSchemaVersion);
    id = save_missing_receipt(*store, "k1");
  }
  auto store = KeeperStore::open(path);
  const auto rec = store->get(id);
  REQUIRE(rec);
  CHECK(rec->state == TxState::kConfirmedMissingReceipt);
  CHECK(rec->nonce == std::optional<std::uint64_t>(3));
  REQUIRE(rec->attempts.size() == 1);
  CHECK(rec->attempts[0].broadcast_block == 9);
  const auto open = store->load_open(sender());
  REQUIRE(open.size() == 1);
  CHECK(open[0].id == id);
}

TEST_CASE("A version-1 store is migrated to accept confirmed_missing_receipt and keeps its rows") {
  TempDir dir("store");
  const std::string path = dir.file("keeper.db");
  std::uint64_t old_id = 0;
  {
    auto store = KeeperStore::open(path);
    old_id = store->insert(TxRequest{"old", sender(), {}, 1, 21'000, "report"}, sender());
  }
  {
    // Put the file back to schema version 1: the state CHECK without the new state.
    keeper::sqlite::Database db(path);
    db.exec(
        "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(sql, "
        "' ''confirmed_missing_receipt'',', '') WHERE name = 'tx'; PRAGMA writable_schema = OFF;");
    const int cookie = std::stoi(db.query_text("PRAGMA schema_version").value_or("0"));
    db.exec("PRAGMA schema_version = " + std::to_string(cookie + 1) + "; PRAGMA user_version = 1;");
    const auto sql = db.query_text("SELECT sql FROM sqlite_schema WHERE name = 'tx'");
    REQUIRE(sql);
    REQUIRE(sql->find("confirmed_missing_receipt") == std::string::npos);
    // Version 1 refuses the new state: the test below would pass for nothing otherwise.
    CHECK_THROWS(db.exec("UPDATE tx SET state = 'confirmed_missing_receipt'"));
  }
  auto store = KeeperStore::open(path);
  CHECK(store->schema_version() == keeper::kStoreSchemaVersion);
  CHECK(store->integrity_check() == "ok");
  REQUIRE(store->get(old_id));
  CHECK(store->get(old_id)->request.key == "old");
  const auto id = save_missing_receipt(*store, "k2");
  CHECK(store->get(id)->state == TxState::kConfirmedMissingReceipt);
  // The CHECK still refuses a state that is not one.
  keeper::sqlite::Database db(path);
  CHECK_THROWS(db.exec("UPDATE tx SET state = 'mined'"));
}
