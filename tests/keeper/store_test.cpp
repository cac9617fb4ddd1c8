#include "keeper/store/store.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "chain/tx_store.hpp"
#include "keeper/store/sqlite.hpp"
#include "tests/support/test_support.hpp"

using varkeeper::test::TempDir;

namespace fs = std::filesystem;
using namespace varkeeper;
using chain::Address;
using chain::TxRecord;
using chain::TxRequest;
using chain::TxState;
using keeper::Close;
using keeper::Incident;
using keeper::KeeperStore;
using keeper::PriceObservation;
using keeper::PublishedReport;
using keeper::ReportState;
using keeper::StoreError;
using keeper::StoreErrorKind;

namespace {

// Runs `fn`, requires it to throw StoreError of `kind`, returns the message.
template <class F>
std::string store_error_of(F&& fn, StoreErrorKind kind) {
  try {
    fn();
  } catch (const StoreError& e) {
    CHECK_MESSAGE(e.kind() == kind, e.what());
    return e.what();
  }
  FAIL("no StoreError was thrown");
  return {};
}

// One sentence: no line break, at least one word, and it names the file.
void check_one_sentence_naming(const std::string& message, const std::string& file) {
  CHECK(message.find('\n') == std::string::npos);
  CHECK_MESSAGE(message.find(file) != std::string::npos, message);
}

Address address_of_byte(std::uint8_t b) {
  Address a{};
  a.fill(b);
  return a;
}

chain::Hash32 hash_of_byte(std::uint8_t b) {
  chain::Hash32 h{};
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<std::uint8_t>(b + i);
  return h;
}

void check_same_record(const TxRecord& a, const TxRecord& b) {
  CHECK(a.id == b.id);
  CHECK(a.request.key == b.request.key);
  CHECK(a.request.to == b.request.to);
  CHECK(a.request.data == b.request.data);
  CHECK(a.request.value == b.request.value);
  CHECK(a.request.gas_limit == b.request.gas_limit);
  CHECK(a.request.label == b.request.label);
  CHECK(a.from == b.from);
  CHECK(a.state == b.state);
  CHECK(a.nonce == b.nonce);
  REQUIRE(a.attempts.size() == b.attempts.size());
  for (std::size_t i = 0; i < a.attempts.size(); ++i) {
    CHECK(a.attempts[i].hash == b.attempts[i].hash);
    CHECK(a.attempts[i].max_fee_per_gas == b.attempts[i].max_fee_per_gas);
    CHECK(a.attempts[i].max_priority_fee_per_gas == b.attempts[i].max_priority_fee_per_gas);
    CHECK(a.attempts[i].raw == b.attempts[i].raw);
    CHECK(a.attempts[i].state == b.attempts[i].state);
    CHECK(a.attempts[i].broadcast_block == b.attempts[i].broadcast_block);
  }
  CHECK(a.mined_hash == b.mined_hash);
  CHECK(a.mined_block_hash == b.mined_block_hash);
  CHECK(a.mined_block == b.mined_block);
  CHECK(a.mined_success == b.mined_success);
  CHECK(a.gas_used == b.gas_used);
  CHECK(a.effective_gas_price == b.effective_gas_price);
  CHECK(a.error == b.error);
}

void check_same_records(const std::vector<TxRecord>& a, const std::vector<TxRecord>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) check_same_record(a[i], b[i]);
}

// A record with every field set to something a round trip could get wrong: 256-bit values with
// the top bit set, an empty and a non-empty blob, optional fields present.
TxRecord full_record(std::uint64_t id, const Address& from) {
  TxRecord r;
  r.id = id;
  r.request.key = "report:7:42";
  r.request.to = address_of_byte(0xab);
  r.request.data = {0x00, 0x01, 0xfe, 0xff, 0x00};
  r.request.value = (chain::U256(1) << 255) + 12345;
  r.request.gas_limit = 21000;
  r.request.label = "report";
  r.from = from;
  r.state = TxState::kConfirmed;
  r.nonce = 9;
  chain::TxAttempt a1;
  a1.hash = hash_of_byte(1);
  a1.max_fee_per_gas = chain::U256(30'000'000'000ULL);
  a1.max_priority_fee_per_gas = chain::U256(1'000'000'000ULL);
  a1.raw = {0x02, 0xf8, 0x6c, 0x00};
  a1.state = chain::AttemptState::kBroadcast;
  a1.broadcast_block = 100;
  chain::TxAttempt a2 = a1;
  a2.hash = hash_of_byte(2);
  a2.max_fee_per_gas = (chain::U256(1) << 256) - 1;  // the largest uint256
  a2.raw = {};
  a2.state = chain::AttemptState::kSaved;
  a2.broadcast_block = 0;
  r.attempts = {a1, a2};
  r.mined_hash = a1.hash;
  r.mined_block_hash = hash_of_byte(3);
  r.mined_block = 101;
  r.mined_success = true;
  r.gas_used = 20999;
  r.effective_gas_price = chain::U256(29'000'000'001ULL);
  r.error = "replacement transaction underpriced";
  return r;
}

PublishedReport sample_report(std::uint64_t portfolio, std::uint64_t round) {
  PublishedReport r;
  r.portfolio_id = portfolio;
  r.round = round;
  r.observed_at = 1'700'000'000 + static_cast<std::int64_t>(round);
  r.var = 0.052;
  r.cvar = 0.0731;
  r.published_var = 0.05;
  r.breaker_status = risk::BreakerStatus::kCooldown;
  r.digest = hash_of_byte(static_cast<std::uint8_t>(round));
  r.state = ReportState::kPending;
  r.created_at = 1'700'000'100;
  return r;
}

// Reads `n` bytes at `offset` of a file.
std::vector<std::uint8_t> file_bytes(const std::string& path, std::size_t offset, std::size_t n) {
  const std::string bytes = varkeeper::test::read_file(path);
  REQUIRE(bytes.size() >= offset + n);
  const auto first = bytes.begin() + static_cast<std::ptrdiff_t>(offset);
  return {first, first + static_cast<std::ptrdiff_t>(n)};
}

std::uint32_t be32(const std::vector<std::uint8_t>& b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

}  // namespace

// ---- opening, migrations, refusals -----------------------------------------------------------

TEST_CASE(
    "A new store is created with its parent directories, in WAL mode, at the schema version") {
  TempDir dir("store");
  const std::string path = dir.file("a/b/keeper.db");
  {
    auto store = KeeperStore::open(path);
    CHECK(store->schema_version() == keeper::kStoreSchemaVersion);
    CHECK(store->integrity_check() == "ok");
    CHECK(store->path() == path);
  }
  REQUIRE(fs::exists(path));
  // The database header as https://www.sqlite.org/fileformat.html defines it: the magic string,
  // bytes 18-19 = 2 for WAL, user_version at 60 and application_id at 68 (big-endian).
  const auto magic = file_bytes(path, 0, 16);
  CHECK(std::string(magic.begin(), magic.end()) == std::string("SQLite format 3\0", 16));
  CHECK(file_bytes(path, 18, 2) == std::vector<std::uint8_t>{2, 2});
  CHECK(be32(file_bytes(path, 60, 4)) == static_cast<std::uint32_t>(keeper::kStoreSchemaVersion));
  CHECK(be32(file_bytes(path, 68, 4)) == 0x5661526bU);  // "VaRk"
}

TEST_CASE("An empty file is migrated like a new store") {
  TempDir dir("store");
  const std::string path = dir.file("empty.db");
  { std::ofstream(path, std::ios::binary).flush(); }
  REQUIRE(fs::file_size(path) == 0);
  auto store = KeeperStore::open(path);
  CHECK(store->schema_version() == keeper::kStoreSchemaVersion);
  store->set_meta("k", "v");
  CHECK(store->meta("k") == "v");
}

TEST_CASE("Reopening a store keeps every row and does not migrate again") {
  TempDir dir("store");
  const std::string path = dir.file("keeper.db");
  const Address from = address_of_byte(0x11);
  std::uint64_t tx_id = 0;
  {
    auto store = KeeperStore::open(path);
    tx_id = store->insert(TxRequest{"k1", std::nullopt, {1, 2}, 5, 0, "test"}, from);
    TxRecord rec = full_record(tx_id, from);
    rec.request.key = "k1";
    store->save(rec);
    store->add_price({"ETH/USD", "0xfeed", "5", "300012345678", 8, 1000, 1001});
    store->upsert_close("ETH/USD", 3600, {3600, 3000.5});
    auto report = sample_report(7, 1);
    report.tx_id = tx_id;
    store->add_report(report);
    store->add_incident({0, 50, "stale_feed", "ETH/USD", R"({"age_s":7200})"});
    store->set_meta("last_block:31337", "123");
  }
  auto store = KeeperStore::open(path);
  CHECK(store->schema_version() == keeper::kStoreSchemaVersion);
  TxRecord expected = full_record(tx_id, from);
  expected.request.key = "k1";
  const auto got = store->get(tx_id);
  REQUIRE(got);
  check_same_record(*got, expected);
  CHECK(store->prices("ETH/USD", 0, 2000).size() == 1);
  CHECK(store->last_closes("ETH/USD", 3600, 10) == std::vector<Close>{{3600, 3000.5}});
  const auto report = store->last_report(7);
  REQUIRE(report);
  CHECK(report->tx_id == tx_id);
  CHECK(store->incidents(0, 100).size() == 1);
  CHECK(store->meta("last_block:31337") == "123");
  CHECK(store->next_round(7) == 2);
}

TEST_CASE("A store written by a newer varkeeper is refused with one sentence") {
  TempDir dir("store");
  const std::string path = dir.file("newer.db");
  { auto store = KeeperStore::open(path); }
  {
    keeper::sqlite::Database db(path);
    db.exec("PRAGMA user_version = " + std::to_string(keeper::kStoreSchemaVersion + 1));
  }
  const std::string msg =
      store_error_of([&] { (void)KeeperStore::open(path); }, StoreErrorKind::kNewerSchema);
  check_one_sentence_naming(msg, path);
  CHECK(msg.find("schema version " + std::to_string(keeper::kStoreSchemaVersion + 1)) !=
        std::string::npos);
  CHECK(msg.find("newer") != std::string::npos);
}

TEST_CASE("A file that is not a SQLite database is refused with one sentence naming it") {
  TempDir dir("store");
  const std::string path = dir.file("garbage.db");
  {
    std::ofstream out(path, std::ios::binary);
    std::mt19937_64 rng(test::test_seed(7));
    for (int i = 0; i < 8192; ++i) out.put(static_cast<char>(rng() & 0xff));
  }
  const std::string msg =
      store_error_of([&] { (void)KeeperStore::open(path); }, StoreErrorKind::kNotADatabase);
  check_one_sentence_naming(msg, path);
  CHECK(msg.find("not a SQLite database") != std::string::npos);

  // Text, as when the store path points at a config file by mistake.
  const std::string text_path = dir.file("config.toml");
  { std::ofstream(text_path) << "[chain]\nid = 1\n" << std::string(200, '#') << "\n"; }
  check_one_sentence_naming(
      store_error_of([&] { (void)KeeperStore::open(text_path); }, StoreErrorKind::kNotADatabase),
      text_path);
}

TEST_CASE("A store whose pages were overwritten is refused as corrupt with one sentence") {
  TempDir dir("store");
  const std::string path = dir.file("damaged.db");
  {
    auto store = KeeperStore::open(path);
    store->transaction([&] {
      for (int i = 0; i < 2000; ++i) {
        store->add_incident({0, i, "denial_of_service", "http://127.0.0.1:1",
                             R"({"n":)" + std::to_string(i) + "}"});
      }
    });
  }
  const auto size = fs::file_size(path);
  REQUIRE(size > 16 * 4096);
  {
    // Overwrite pages 4..15 (page size 4096) with a pattern: b-tree pages that no longer parse.
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(3 * 4096);
    const std::string junk(12 * 4096, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const std::string msg =
      store_error_of([&] { (void)KeeperStore::open(path); }, StoreErrorKind::kCorrupt);
  check_one_sentence_naming(msg, path);
  CHECK(msg.find("corrupt") != std::string::npos);
}

TEST_CASE("Another program's SQLite database is refused rather than migrated") {
  TempDir dir("store");
  const std::string path = dir.file("other.db");
  {
    keeper::sqlite::Database db(path);
    db.exec("CREATE TABLE notes (body TEXT)");
  }
  check_one_sentence_naming(
      store_error_of([&] { (void)KeeperStore::open(path); }, StoreErrorKind::kNotADatabase), path);
  {
    keeper::sqlite::Database db(path);
    db.exec("PRAGMA application_id = 1234");
  }
  const std::string msg =
      store_error_of([&] { (void)KeeperStore::open(path); }, StoreErrorKind::kNotADatabase);
  CHECK(msg.find("application_id 1234") != std::string::npos);
}

TEST_CASE("A store path that cannot be created is refused with one sentence naming it") {
  TempDir dir("store");
  const std::string blocker = dir.file("plain-file");
  { std::ofstream(blocker) << "x"; }
  const std::string path = blocker + "/sub/keeper.db";  // the parent is a regular file
  check_one_sentence_naming(
      store_error_of([&] { (void)KeeperStore::open(path); }, StoreErrorKind::kCannotOpen), path);
  check_one_sentence_naming(
      store_error_of([&] { (void)KeeperStore::open(dir.file("")); }, StoreErrorKind::kCannotOpen),
      dir.file(""));
}

// ---- chain::TxStore contract -------------------------------------------------------------------

TEST_CASE("TxStore insert is idempotent by key and returns increasing ids") {
  TempDir dir("store");
  auto store = KeeperStore::open(dir.file("tx.db"));
  const Address from = address_of_byte(1);
  const auto a = store->insert(TxRequest{"a", std::nullopt, {}, 0, 0, "x"}, from);
  const auto b = store->insert(TxRequest{"b", std::nullopt, {}, 0, 0, "x"}, from);
  CHECK(a == 1);
  CHECK(b == 2);
  // The same key, even with other fields and another sender, returns the existing record.
  CHECK(store->insert(TxRequest{"a", address_of_byte(9), {1}, 7, 1, "y"}, address_of_byte(2)) == a);
  const auto rec = store->get(a);
  REQUIRE(rec);
  CHECK(rec->state == TxState::kUnstarted);
  CHECK(rec->from == from);
  CHECK(rec->request.label == "x");
  CHECK_FALSE(rec->nonce);
  // An empty key never deduplicates.
  const auto e1 = store->insert(TxRequest{"", std::nullopt, {}, 0, 0, "gap_fill"}, from);
  const auto e2 = store->insert(TxRequest{"", std::nullopt, {}, 0, 0, "gap_fill"}, from);
  CHECK(e1 != e2);
  CHECK_FALSE(store->get(999));
  CHECK_FALSE(store->get(std::numeric_limits<std::uint64_t>::max()));
  CHECK_FALSE(store->find_by_key("missing"));
}

TEST_CASE("TxStore save round-trips every field of a record, attempts and raw bytes included") {
  TempDir dir("store");
  auto store = KeeperStore::open(dir.file("tx.db"));
  const Address from = address_of_byte(0x42);
  const auto id = store->insert(TxRequest{"report:7:42", std::nullopt, {}, 0, 0, "report"}, from);
  TxRecord rec = full_record(id, from);
  store->save(rec);
  auto got = store->get(id);
  REQUIRE(got);
  check_same_record(*got, rec);
  // Fewer attempts and cleared optionals on the next save.
  rec.attempts.resize(1);
  rec.mined_hash.reset();
  rec.mined_block_hash.reset();
  rec.request.to.reset();  // contract creation
  rec.state = TxState::kUnconfirmed;
  store->save(rec);
  got = store->find_by_key("report:7:42");
  REQUIRE(got);
  check_same_record(*got, rec);
}

TEST_CASE("TxStore load_open and highest_nonce behave as the in-memory store's") {
  TempDir dir("store");
  auto store = KeeperStore::open(dir.file("tx.db"));
  chain::InMemoryTxStore memory;
  const Address a = address_of_byte(0xa0);
  const Address b = address_of_byte(0xb0);
  CHECK_FALSE(store->highest_nonce(a));
  const std::array states = {TxState::kUnstarted, TxState::kInProgress, TxState::kUnconfirmed,
                             TxState::kConfirmed, TxState::kFinalized,  TxState::kFatal};
  std::uint64_t nonce = 0;
  for (std::size_t i = 0; i < 12; ++i) {
    const Address& from = i % 2 == 0 ? a : b;
    const TxRequest req{"k" + std::to_string(i), std::nullopt, {}, 0, 0, "test"};
    const auto id = store->insert(req, from);
    REQUIRE(memory.insert(req, from) == id);
    TxRecord rec = *store->get(id);
    rec.state = states[i % states.size()];
    if (rec.state != TxState::kUnstarted) rec.nonce = nonce++;
    store->save(rec);
    memory.save(rec);
  }
  for (const Address& from : {a, b, address_of_byte(0xc0)}) {
    check_same_records(store->load_open(from), memory.load_open(from));
    CHECK(store->highest_nonce(from) == memory.highest_nonce(from));
  }
  // Oldest first; finalized and fatal ones are not open.
  const auto open_a = store->load_open(a);
  REQUIRE(open_a.size() == 4);
  CHECK(open_a[0].id < open_a[1].id);
  for (const auto& r : open_a) {
    CHECK(r.state != TxState::kFinalized);
    CHECK(r.state != TxState::kFatal);
  }
  // Nonces went 0..9 to records 1..11 in turn: a's last is a finalized one (8), b's a fatal one
  // (9); both count.
  CHECK(store->highest_nonce(a) == 8);
  CHECK(store->highest_nonce(b) == 9);
}

TEST_CASE("TxStore agrees with InMemoryTxStore on a random sequence of operations") {
  const auto seed = test::test_seed(20261122);
  std::mt19937_64 rng(seed);
  TempDir dir("store");
  auto store = KeeperStore::open(dir.file("tx.db"));
  chain::InMemoryTxStore memory;
  const std::array senders = {address_of_byte(1), address_of_byte(2)};
  const std::array<std::string, 6> keys = {"", "a", "b", "c", "report:1:1", "rebalance:9"};
  const std::array states = {TxState::kUnstarted, TxState::kInProgress, TxState::kUnconfirmed,
                             TxState::kConfirmed, TxState::kFinalized,  TxState::kFatal};
  std::uint64_t ids = 0;
  auto random_bytes = [&](std::size_t max) {
    chain::Bytes out(rng() % (max + 1));
    for (auto& x : out) x = static_cast<std::uint8_t>(rng());
    return out;
  };
  for (int step = 0; step < 300; ++step) {
    if (ids == 0 || rng() % 3 == 0) {
      TxRequest req;
      req.key = keys[rng() % keys.size()];
      if (rng() % 2) req.to = address_of_byte(static_cast<std::uint8_t>(rng()));
      req.data = random_bytes(40);
      req.value = chain::U256(rng()) << (rng() % 192);
      req.gas_limit = rng() >> 2;
      req.label = "label" + std::to_string(rng() % 3);
      const Address& from = senders[rng() % senders.size()];
      const auto id = store->insert(req, from);
      REQUIRE(id == memory.insert(req, from));
      ids = std::max(ids, id);
    } else {
      const std::uint64_t id = 1 + rng() % ids;
      TxRecord rec = *memory.get(id);
      rec.state = states[rng() % states.size()];
      rec.nonce = rng() % 4 == 0 ? std::nullopt : std::optional<std::uint64_t>(rng() % 1000);
      rec.attempts.clear();
      for (std::uint64_t k = rng() % 4; k > 0; --k) {
        chain::TxAttempt at;
        at.hash = hash_of_byte(static_cast<std::uint8_t>(rng()));
        at.max_fee_per_gas = chain::U256(rng()) << 64;
        at.max_priority_fee_per_gas = rng();
        at.raw = random_bytes(120);
        at.state = rng() % 2 ? chain::AttemptState::kSaved : chain::AttemptState::kBroadcast;
        at.broadcast_block = rng() >> 1;
        rec.attempts.push_back(at);
      }
      rec.mined_hash =
          rng() % 2 ? std::optional(hash_of_byte(static_cast<std::uint8_t>(rng()))) : std::nullopt;
      rec.mined_block = rng() >> 1;
      rec.mined_success = rng() % 2 == 0;
      rec.gas_used = rng() >> 1;
      rec.effective_gas_price = rng();
      rec.error = rng() % 2 ? "" : "nonce too low";
      store->save(rec);
      memory.save(rec);
    }
  }
  for (std::uint64_t id = 1; id <= ids; ++id) check_same_record(*store->get(id), *memory.get(id));
  for (const auto& key : keys) {
    const auto x = store->find_by_key(key);
    const auto y = memory.find_by_key(key);
    REQUIRE(x.has_value() == y.has_value());
    if (x) check_same_record(*x, *y);
  }
  for (const auto& from : senders) {
    check_same_records(store->load_open(from), memory.load_open(from));
    CHECK(store->highest_nonce(from) == memory.highest_nonce(from));
  }
}

TEST_CASE("A nonce above 2^63-1 is refused with one sentence and nothing is written") {
  TempDir dir("store");
  const std::string path = dir.file("tx.db");
  auto store = KeeperStore::open(path);
  const Address from = address_of_byte(3);
  const auto id = store->insert(TxRequest{"big", std::nullopt, {}, 0, 0, "test"}, from);
  TxRecord rec = *store->get(id);
  rec.nonce = std::numeric_limits<std::uint64_t>::max();
  rec.state = TxState::kInProgress;
  check_one_sentence_naming(
      store_error_of([&] { store->save(rec); }, StoreErrorKind::kInvalidValue), path);
  CHECK(store->get(id)->state == TxState::kUnstarted);
  CHECK_FALSE(store->highest_nonce(from));
}

// ---- price observations and closes -----------------------------------------------------------

TEST_CASE("Price observations are idempotent on asset, source and round and ordered numerically") {
  TempDir dir("store");
  auto store = KeeperStore::open(dir.file("prices.db"));
  // Chainlink round ids: (phaseId << 64) | aggregatorRoundId; phase 6 round 1 is
  // 6 * 2^64 + 1 = 110680464442257309697, beyond int64 and longer than phase 1's ids.
  const PriceObservation p1{"ETH/USD", "0xfeed", "18446744073709551617", "300000000000", 8,
                            100,       101};
  const PriceObservation p2{"ETH/USD", "0xfeed", "110680464442257309697", "301000000000", 8,
                            200,       202};
  const PriceObservation p3{"ETH/USD", "0xbeef", "9", "299000000000", 8, 200, 203};
  const PriceObservation p4{"BTC/USD", "0xfeed", "10", "6712345000000", 8, 150, 151};
  CHECK(store->add_price(p2));
  CHECK(store->add_price(p1));
  CHECK(store->add_price(p3));
  CHECK(store->add_price(p4));
  PriceObservation again = p1;
  again.answer = "1";  // a replay of the same round never overwrites the first reading
  CHECK_FALSE(store->add_price(again));
  CHECK(store->prices("ETH/USD", 0, 1000) == std::vector<PriceObservation>{p1, p3, p2});
  CHECK(store->prices("ETH/USD", 100, 199) == std::vector<PriceObservation>{p1});
  CHECK(store->prices("ETH/USD", 200, 200) == std::vector<PriceObservation>{p3, p2});  // inclusive
  CHECK(store->prices("ETH/USD", 201, 1000).empty());
  CHECK(store->prices("BTC/USD", 0, 1000) == std::vector<PriceObservation>{p4});
  CHECK(store->latest_price("ETH/USD", "0xfeed") == p2);
  CHECK(store->latest_price("ETH/USD", "0xbeef") == p3);
  CHECK_FALSE(store->latest_price("ETH/USD", "0xnone"));
  // Numeric, not text, order of round ids: 10 after 9.
  CHECK(store->add_price({"X", "s", "10", "1", 0, 5, 5}));
  CHECK(store->add_price({"X", "s", "9", "1", 0, 5, 5}));
  CHECK(store->latest_price("X", "s")->round_id == "10");
}

TEST_CASE("Price observations refuse round ids and answers that are not canonical decimals") {
  TempDir dir("store");
  const std::string path = dir.file("prices.db");
  auto store = KeeperStore::open(path);
  for (const auto& [round, answer] :
       std::vector<std::pair<std::string, std::string>>{{"007", "1"},
                                                        {"", "1"},
                                                        {"-1", "1"},
                                                        {"1", "1.5"},
                                                        {"1", "-0"},
                                                        {"1", ""},
                                                        {"1", "0x10"},
                                                        {"1", std::string(79, '9')},
                                                        {"1 ", "1"}}) {
    CAPTURE(round);
    CAPTURE(answer);
    check_one_sentence_naming(store_error_of(
                                  [&] {
                                    (void)store->add_price({"A", "s", round, answer, 8, 1, 1});
                                  },
                                  StoreErrorKind::kInvalidValue),
                              path);
  }
  CHECK(store->prices("A", 0, 10).empty());
  CHECK(store->add_price({"A", "s", "0", "-5", 0, 1, 1}));  // negative answers are kept as read
}

TEST_CASE("A price is the answer scaled by the feed's decimals, rounded once") {
  // Closed forms: 6712345000000 / 10^8 = 67123.45, 1 / 10^18 = 1e-18, -5 / 10^0 = -5; each
  // equals the double nearest the exact decimal, as the literal does.
  CHECK(PriceObservation{"", "", "1", "6712345000000", 8, 0, 0}.price() == 67123.45);
  CHECK(PriceObservation{"", "", "1", "1", 18, 0, 0}.price() == 1e-18);
  CHECK(PriceObservation{"", "", "1", "-5", 0, 0, 0}.price() == -5.0);
  CHECK(PriceObservation{"", "", "1", "300012345678", 8, 0, 0}.price() == 3000.12345678);
}

TEST_CASE("Closes are upserted per asset and interval and read back oldest first") {
  TempDir dir("store");
  auto store = KeeperStore::open(dir.file("closes.db"));
  CHECK(store->last_closes("ETH/USD", 86400, 5).empty());
  const std::vector<Close> closes{{0, 1.0}, {86400, 2.0}, {172800, 3.0}, {259200, 4.0}};
  store->upsert_closes("ETH/USD", 86400, closes);
  store->upsert_close("ETH/USD", 3600, {3600, 99.0});
  store->upsert_close("BTC/USD", 86400, {0, 50.0});
  store->upsert_close("ETH/USD", 86400, {86400, 2.5});  // a later price in the same period
  CHECK(store->last_closes("ETH/USD", 86400, 2) ==
        std::vector<Close>{{172800, 3.0}, {259200, 4.0}});
  CHECK(store->last_closes("ETH/USD", 86400, 10) ==
        std::vector<Close>{{0, 1.0}, {86400, 2.5}, {172800, 3.0}, {259200, 4.0}});
  CHECK(store->last_closes("ETH/USD", 3600, 10) == std::vector<Close>{{3600, 99.0}});
  CHECK(store->last_closes("BTC/USD", 86400, 10) == std::vector<Close>{{0, 50.0}});
  CHECK(store->last_closes("ETH/USD", 86400, 0).empty());
}

// ---- published reports -------------------------------------------------------------------------

TEST_CASE("Published reports round-trip and the next round follows the last one") {
  TempDir dir("store");
  auto store = KeeperStore::open(dir.file("reports.db"));
  CHECK(store->next_round(7) == 1);  // RiskOracle: round 0 means "no report"
  CHECK_FALSE(store->last_report(7));
  const auto tx =
      store->insert(TxRequest{"report:7:1", std::nullopt, {}, 0, 0, "report"}, address_of_byte(5));
  auto r1 = sample_report(7, 1);
  r1.tx_id = tx;
  store->add_report(r1);
  store->add_report(sample_report(7, 2));
  store->add_report(sample_report(8, 5));
  CHECK(store->report(7, 1) == r1);
  CHECK(store->last_report(7) == sample_report(7, 2));
  CHECK(store->next_round(7) == 3);
  CHECK(store->next_round(8) == 6);
  CHECK_FALSE(store->last_accepted_report(7));

  store->set_report_state(7, 1, ReportState::kAccepted);
  store->set_report_state(7, 2, ReportState::kRefused);
  store->set_report_tx(8, 5, tx);
  CHECK(store->report(7, 1)->state == ReportState::kAccepted);
  CHECK(store->last_accepted_report(7)->round == 1);
  CHECK(store->report(8, 5)->tx_id == tx);
  const auto pending = store->reports_in_state(ReportState::kPending);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].portfolio_id == 8);
  CHECK(store->reports_in_state(ReportState::kRefused).size() == 1);
  CHECK(keeper::parse_report_state("accepted") == ReportState::kAccepted);
  CHECK_FALSE(keeper::parse_report_state("Accepted"));
}

TEST_CASE("A report round is never stored twice and a report's constraints hold") {
  TempDir dir("store");
  const std::string path = dir.file("reports.db");
  auto store = KeeperStore::open(path);
  store->add_report(sample_report(7, 1));
  auto dup = sample_report(7, 1);
  dup.var = 0.9;
  const std::string msg =
      store_error_of([&] { store->add_report(dup); }, StoreErrorKind::kConstraint);
  check_one_sentence_naming(msg, path);
  CHECK(msg.find("round 1 of portfolio 7") != std::string::npos);
  CHECK(store->report(7, 1)->var == 0.052);
  // Round 0 is "no report" on chain.
  store_error_of([&] { store->add_report(sample_report(7, 0)); }, StoreErrorKind::kConstraint);
  // tx_id must name a stored transaction (foreign key).
  auto orphan = sample_report(7, 2);
  orphan.tx_id = 4242;
  store_error_of([&] { store->add_report(orphan); }, StoreErrorKind::kConstraint);
  store_error_of([&] { store->set_report_tx(7, 1, 4242); }, StoreErrorKind::kConstraint);
  // A computed VaR that is not a number is refused (SQLite stores NaN as NULL).
  auto nan = sample_report(7, 3);
  nan.var = std::numeric_limits<double>::quiet_NaN();
  store_error_of([&] { store->add_report(nan); }, StoreErrorKind::kConstraint);
  // Updating a report that does not exist.
  store_error_of([&] { store->set_report_state(9, 1, ReportState::kAccepted); },
                 StoreErrorKind::kInvalidValue);
  store_error_of(
      [&] { store->add_report(sample_report(7, std::numeric_limits<std::uint64_t>::max())); },
      StoreErrorKind::kInvalidValue);
  CHECK(store->next_round(7) == 2);
}

// ---- incidents and meta ----------------------------------------------------------------------

TEST_CASE("Incidents are listed by time range and counted per category") {
  TempDir dir("store");
  auto store = KeeperStore::open(dir.file("incidents.db"));
  CHECK_FALSE(store->incident_span());
  const std::vector<Incident> in{
      {0, 100, "stale_feed", "ETH/USD", R"({"age_s":3700})"},
      {0, 150, "denial_of_service", "http://127.0.0.1:8545", R"({"failures":12})"},
      {0, 150, "stale_feed", "BTC/USD", R"({"age_s":4000})"},
      {0, 300, "oracle_manipulation", "ETH/USD", R"({"deviation":0.12,"sources":["a","b"]})"},
  };
  std::vector<std::uint64_t> ids;
  for (const auto& i : in) ids.push_back(store->add_incident(i));
  CHECK(ids == std::vector<std::uint64_t>{1, 2, 3, 4});
  auto expected = in;
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i].id = ids[i];
  CHECK(store->incidents(0, 1000) == expected);
  CHECK(store->incidents(150, 300) ==
        std::vector<Incident>{expected[1], expected[2]});  // [from, to)
  CHECK(store->incidents(301, 1000).empty());
  CHECK(store->incident_counts(0, 1000) ==
        std::map<std::string, std::uint64_t>{
            {"denial_of_service", 1}, {"oracle_manipulation", 1}, {"stale_feed", 2}});
  CHECK(store->incident_counts(101, 1000) ==
        std::map<std::string, std::uint64_t>{
            {"denial_of_service", 1}, {"oracle_manipulation", 1}, {"stale_feed", 1}});
  const auto span = store->incident_span();
  REQUIRE(span);
  CHECK(span->first == 100);
  CHECK(span->last == 300);
}

TEST_CASE("An incident needs a category and JSON evidence") {
  TempDir dir("store");
  const std::string path = dir.file("incidents.db");
  auto store = KeeperStore::open(path);
  check_one_sentence_naming(
      store_error_of(
          [&] {
            (void)store->add_incident({0, 1, "stale_feed", "ETH", "{not json"});
          },
          StoreErrorKind::kConstraint),
      path);
  store_error_of(
      [&] {
        (void)store->add_incident({0, 1, "", "ETH", "{}"});
      },
      StoreErrorKind::kConstraint);
  CHECK(store->incidents(0, 10).empty());
}

TEST_CASE("Meta values are set, replaced, read and erased") {
  TempDir dir("store");
  auto store = KeeperStore::open(dir.file("meta.db"));
  CHECK_FALSE(store->meta("last_block:1"));
  store->set_meta("last_block:1", "100");
  store->set_meta("last_block:1", "101");
  store->set_meta("empty", "");
  CHECK(store->meta("last_block:1") == "101");
  CHECK(store->meta("empty") == "");
  store->erase_meta("last_block:1");
  CHECK_FALSE(store->meta("last_block:1"));
}

// ---- transactions and concurrency --------------------------------------------------------------

TEST_CASE("transaction() commits several rows together or none of them") {
  TempDir dir("store");
  const std::string path = dir.file("tx.db");
  auto store = KeeperStore::open(path);
  store->transaction([&] {
    store->add_report(sample_report(1, 1));
    store->add_incident({0, 1, "failed_submission", "1", "{}"});
    store->set_meta("cursor", "1");
  });
  CHECK(store->last_report(1));
  CHECK_THROWS_WITH_AS(store->transaction([&] {
    store->add_report(sample_report(1, 2));
    store->set_meta("cursor", "2");
    throw std::runtime_error("pipeline failed");
  }),
                       "pipeline failed", std::runtime_error);
  CHECK(store->next_round(1) == 2);
  CHECK(store->meta("cursor") == "1");
  // A failing write inside rolls back the rows written before it.
  CHECK_THROWS_AS(store->transaction([&] {
    store->add_report(sample_report(1, 2));
    store->add_report(sample_report(1, 1));  // duplicate round
  }),
                  StoreError);
  CHECK(store->next_round(1) == 2);
  // Nested: an inner failure caught by the outer function undoes only the inner writes.
  store->transaction([&] {
    store->set_meta("outer", "yes");
    try {
      store->transaction([&] {
        store->set_meta("inner", "yes");
        throw std::runtime_error("inner");
      });
    } catch (const std::runtime_error&) {
    }
  });
  CHECK(store->meta("outer") == "yes");
  CHECK_FALSE(store->meta("inner"));
  // Nothing is left open: another connection can write.
  auto other = KeeperStore::open(path);
  other->set_meta("other", "1");
  CHECK(store->meta("other") == "1");
}

TEST_CASE("Two threads and a second connection share a store without losing writes") {
  TempDir dir("store");
  const std::string path = dir.file("shared.db");
  auto store = KeeperStore::open(path);
  auto reader = KeeperStore::open(path);  // e.g. `varkeeper oprisk --store` beside the daemon
  auto work = [&](int t) {
    for (int i = 0; i < 100; ++i) {
      store->transaction([&] {
        (void)store->add_incident({0, i, "t" + std::to_string(t), "", "{}"});
      });
    }
  };
  std::thread t1(work, 1);
  std::thread t2(work, 2);
  t1.join();
  t2.join();
  CHECK(reader->incident_counts(0, 1000) ==
        std::map<std::string, std::uint64_t>{{"t1", 100}, {"t2", 100}});
}

TEST_CASE("A batch of price observations is stored in one transaction and counts only new ones") {
  TempDir dir("store");
  auto store = KeeperStore::open(dir.file("batch.db"));
  std::vector<PriceObservation> batch;
  for (int i = 1; i <= 50; ++i) {
    batch.push_back({"BTC/USD", "0xfeed", std::to_string(i), std::to_string(i * 100), 8, i, i});
  }
  CHECK(store->add_prices(batch) == 50);
  batch.push_back({"BTC/USD", "0xfeed", "51", "5100", 8, 51, 51});
  CHECK(store->add_prices(batch) == 1);  // the first 50 were there already
  // One bad row refuses the whole batch.
  batch.push_back({"BTC/USD", "0xfeed", "052", "5200", 8, 52, 52});
  batch.insert(batch.begin(), {"BTC/USD", "0xfeed", "53", "5300", 8, 53, 53});
  CHECK_THROWS_AS((void)store->add_prices(batch), StoreError);
  CHECK(store->prices("BTC/USD", 0, 100).size() == 51);
  CHECK_FALSE(store->latest_price("BTC/USD", "0xfeed")->round_id == "53");
}

TEST_CASE("The summary counts what the store holds") {
  TempDir dir("store");
  auto store = KeeperStore::open(dir.file("summary.db"));
  auto s = store->summary();
  CHECK(s.schema_version == keeper::kStoreSchemaVersion);
  CHECK(s.transactions == 0);
  CHECK(s.reports_by_state ==
        std::map<std::string, std::uint64_t>{{"accepted", 0}, {"pending", 0}, {"refused", 0}});
  const auto id = store->insert(TxRequest{"k", std::nullopt, {}, 0, 0, "x"}, address_of_byte(1));
  (void)store->insert(TxRequest{"l", std::nullopt, {}, 0, 0, "x"}, address_of_byte(1));
  TxRecord rec = *store->get(id);
  rec.state = TxState::kFatal;
  store->save(rec);
  store->add_report(sample_report(1, 1));
  store->set_report_state(1, 1, ReportState::kRefused);
  (void)store->add_price({"A", "s", "1", "1", 0, 1, 1});
  store->upsert_close("A", 60, {0, 1.0});
  store->upsert_close("A", 60, {60, 1.0});
  (void)store->add_incident({0, 1, "c", "s", "{}"});
  store->set_meta("m", "v");
  s = store->summary();
  CHECK(s.transactions == 2);
  CHECK(s.open_transactions == 1);
  CHECK(s.reports_by_state.at("refused") == 1);
  CHECK(s.reports_by_state.at("pending") == 0);
  CHECK(s.price_observations == 1);
  CHECK(s.closes == 2);
  CHECK(s.incidents == 1);
  CHECK(s.meta_entries == 1);
}

TEST_CASE("Two transactions never share an idempotency key, even through save") {
  TempDir dir("store");
  const std::string path = dir.file("keys.db");
  auto store = KeeperStore::open(path);
  const Address from = address_of_byte(1);
  (void)store->insert(TxRequest{"a", std::nullopt, {}, 0, 0, "x"}, from);
  const auto b = store->insert(TxRequest{"b", std::nullopt, {}, 0, 0, "x"}, from);
  TxRecord rec = *store->get(b);
  rec.request.key = "a";
  check_one_sentence_naming(store_error_of([&] { store->save(rec); }, StoreErrorKind::kConstraint),
                            path);
  CHECK(store->get(b)->request.key == "b");
  CHECK(store->find_by_key("a")->id == 1);
}
