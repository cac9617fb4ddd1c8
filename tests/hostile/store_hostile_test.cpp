// Mutated store files into KeeperStore: a damaged database must be refused with a StoreError (one
// sentence naming the file) or read consistently — never a crash, an out-of-bounds read, or any
// other exception. Built with ASan+UBSan by scripts/test.sh.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "keeper/store/store.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace varkeeper;
using keeper::KeeperStore;
using keeper::StoreError;
using varkeeper::test::read_file;

namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A store with rows in every table.
void fill(KeeperStore& store) {
  chain::Address from{};
  from.fill(0x42);
  store.transaction([&] {
    for (int i = 1; i <= 40; ++i) {
      const std::string r = std::to_string(i);
      const auto id =
          store.insert({"k" + r, std::nullopt, chain::Bytes(20, 7), 5, 21000, "t"}, from);
      auto rec = *store.get(id);
      rec.state = i % 3 == 0 ? chain::TxState::kFinalized : chain::TxState::kUnconfirmed;
      rec.nonce = static_cast<std::uint64_t>(i);
      chain::TxAttempt a;
      a.hash.fill(static_cast<std::uint8_t>(i));
      a.raw = chain::Bytes(200, static_cast<std::uint8_t>(i));
      rec.attempts = {a, a};
      store.save(rec);
      keeper::PublishedReport rep;
      rep.portfolio_id = 1;
      rep.round = static_cast<std::uint64_t>(i);
      rep.tx_id = id;
      store.add_report(rep);
      (void)store.add_price({"ETH/USD", "0xfeed", r, "300000000000", 8, i, i});
      store.upsert_close("ETH/USD", 60, {i * 60, 3000.0 + i});
      (void)store.add_incident({0, i, "stale_feed", "ETH/USD", R"({"i":)" + r + "}"});
      store.set_meta("m" + r, r);
    }
  });
}

// Every read the keeper makes at start-up, and one write.
void exercise(KeeperStore& store) {
  chain::Address from{};
  from.fill(0x42);
  (void)store.schema_version();
  (void)store.summary();
  (void)store.load_open(from);
  (void)store.highest_nonce(from);
  for (std::uint64_t id = 1; id <= 41; ++id) (void)store.get(id);
  (void)store.find_by_key("k7");
  (void)store.prices("ETH/USD", 0, 100);
  (void)store.latest_price("ETH/USD", "0xfeed");
  (void)store.last_closes("ETH/USD", 60, 100);
  (void)store.last_report(1);
  (void)store.next_round(1);
  (void)store.reports_in_state(keeper::ReportState::kPending);
  (void)store.incidents(0, 100);
  (void)store.incident_counts(0, 100);
  (void)store.incident_span();
  (void)store.meta("m3");
  (void)store.integrity_check();
  (void)store.add_incident({0, 999, "hostile", "test", "{}"});
}

}  // namespace

TEST_CASE(
    "mutated store files are refused with a StoreError naming the file or read, never crash") {
  std::string tmpl = (fs::temp_directory_path() / "varkeeper-store-hostile-XXXXXX").string();
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  const fs::path dir = tmpl;
  const std::string base_path = (dir / "base.db").string();
  {
    auto store = KeeperStore::open(base_path);
    fill(*store);
  }  // the last connection checkpoints the WAL into the file and removes it
  const std::string base = read_file(base_path);
  REQUIRE(base.size() > 8 * 4096);

  std::mt19937_64 rng(varkeeper::test::test_seed(0x40571e));
  const std::string path = (dir / "mutated.db").string();
  int opened = 0;
  int refused = 0;
  for (int iter = 0; iter < 300; ++iter) {
    std::string bytes = base;
    switch (rng() % 4) {
      case 0:  // a few random bytes anywhere (the header included)
        for (int e = 1 + static_cast<int>(rng() % 8); e > 0; --e) {
          bytes[rng() % bytes.size()] = static_cast<char>(rng());
        }
        break;
      case 1: {  // a run of garbage inside one page
        const std::size_t at = rng() % bytes.size();
        const std::size_t n = std::min<std::size_t>(bytes.size() - at, 1 + rng() % 512);
        for (std::size_t i = 0; i < n; ++i) bytes[at + i] = static_cast<char>(rng());
        break;
      }
      case 2:  // truncated
        bytes.resize(rng() % bytes.size());
        break;
      default:  // one page swapped with another
        if (const std::size_t pages = bytes.size() / 4096; pages > 2) {
          const std::size_t a = 1 + rng() % (pages - 1);
          const std::size_t b = 1 + rng() % (pages - 1);
          std::string tmp = bytes.substr(a * 4096, 4096);
          bytes.replace(a * 4096, 4096, bytes.substr(b * 4096, 4096));
          bytes.replace(b * 4096, 4096, tmp);
        }
        break;
    }
    std::error_code ec;
    fs::remove(path + "-wal", ec);
    fs::remove(path + "-shm", ec);
    write_bytes(path, bytes);
    keeper::StoreOptions options;
    options.verify_on_open = iter % 2 == 0;  // also reach the readers with damage unchecked
    try {
      auto store = KeeperStore::open(path, options);
      exercise(*store);
      ++opened;
    } catch (const StoreError& e) {
      ++refused;
      const std::string what = e.what();
      CHECK_MESSAGE(what.find(path) != std::string::npos, what);
      CHECK_MESSAGE(what.find('\n') == std::string::npos, what);
    } catch (const std::exception& e) {
      FAIL("iteration " << iter << " threw a non-StoreError: " << e.what());
    }
  }
  MESSAGE("mutated stores: " << opened << " read, " << refused << " refused");
  CHECK(refused > 0);
  std::error_code ec;
  fs::remove_all(dir, ec);
}
