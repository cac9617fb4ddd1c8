// Crash safety of the keeper's store (DESIGN.md §5): a child process writes to a KeeperStore and
// is killed with SIGKILL at a random (seeded) moment; the reopened store must pass SQLite's
// integrity check, hold every row group the child acknowledged, and hold no half-written group.
// The second test kills a transaction manager running over a KeeperStore against a real anvil.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "keeper/store/store.hpp"
#include "tests/support/test_support.hpp"

using varkeeper::test::TempDir;

namespace fs = std::filesystem;
using namespace varkeeper;
using keeper::KeeperStore;

namespace {

// Writes all of `v` to `fd` (8 bytes: atomic on a pipe, PIPE_BUF >= 512).
bool write_u64(int fd, std::uint64_t v) {
  return ::write(fd, &v, sizeof v) == static_cast<ssize_t>(sizeof v);
}

// Reads 8-byte values from `fd` until EOF.
std::vector<std::uint64_t> read_all_u64(int fd) {
  std::vector<std::uint64_t> out;
  std::uint64_t v = 0;
  for (;;) {
    const ssize_t n = ::read(fd, &v, sizeof v);
    if (n == static_cast<ssize_t>(sizeof v)) {
      out.push_back(v);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EOF (the child is dead and the pipe drained); writes of 8 bytes never split
    }
  }
  return out;
}

// Waits until one value arrives on `fd` (the child is running), at most `timeout`.
bool wait_first_u64(int fd, std::uint64_t& v, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  bool got = false;
  while (std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::read(fd, &v, sizeof v);
    if (n == static_cast<ssize_t>(sizeof v)) {
      got = true;
      break;
    }
    if (n == 0) break;  // the child died before writing anything
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::fcntl(fd, F_SETFL, flags);
  return got;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

chain::Address crash_sender() {
  chain::Address a{};
  a.fill(0x77);
  return a;
}

// The child's loop: one row group per round, in one transaction — a tx record with a signed
// attempt (raw bytes), the report that carries it, an incident, a price, a close and the meta
// cursor — then the round is acknowledged on the pipe. Never returns.
[[noreturn]] void write_rounds_forever(const std::string& path, int ack_fd, std::uint64_t seed) {
  try {
    std::mt19937_64 rng(seed);
    auto store = KeeperStore::open(path);
    const chain::Address from = crash_sender();
    for (std::uint64_t round = store->next_round(1);; ++round) {
      const std::string r = std::to_string(round);
      store->transaction([&] {
        chain::TxRequest req;
        req.key = "crash:" + r;
        req.data = chain::Bytes(68, 0xab);
        req.label = "report";
        const auto tx_id = store->insert(req, from);
        auto rec = *store->get(tx_id);
        rec.state = chain::TxState::kInProgress;
        rec.nonce = round - 1;
        chain::TxAttempt attempt;
        attempt.hash.fill(static_cast<std::uint8_t>(round));
        attempt.max_fee_per_gas = rng();
        attempt.raw = chain::Bytes(100 + rng() % 4000, static_cast<std::uint8_t>(round));
        rec.attempts.push_back(attempt);
        store->save(rec);
        keeper::PublishedReport report;
        report.portfolio_id = 1;
        report.round = round;
        report.observed_at = static_cast<std::int64_t>(round);
        report.var = 0.05;
        report.cvar = 0.07;
        report.published_var = 0.05;
        report.digest.fill(static_cast<std::uint8_t>(round));
        report.tx_id = tx_id;
        report.created_at = static_cast<std::int64_t>(round);
        store->add_report(report);
        (void)store->add_incident({0, static_cast<std::int64_t>(round), "stale_feed", r, "{}"});
        (void)store->add_price({"ETH/USD", "0xfeed", r, "300000000000", 8,
                                static_cast<std::int64_t>(round),
                                static_cast<std::int64_t>(round)});
        store->upsert_close("ETH/USD", 60, {static_cast<std::int64_t>(round) * 60, 3000.0});
        store->set_meta("last_round", r);
      });
      if (!write_u64(ack_fd, round)) ::_exit(3);
    }
  } catch (...) {
    ::_exit(2);
  }
}

struct Conn {
  chain::EndpointPool pool;
  chain::EthClient eth;
  explicit Conn(const std::string& url) : pool(make_clients(url)), eth(pool) {}
  static std::vector<std::unique_ptr<chain::JsonRpcClient>> make_clients(const std::string& url) {
    std::vector<std::unique_ptr<chain::JsonRpcClient>> v;
    v.push_back(
        std::make_unique<chain::JsonRpcClient>(chain::make_http_transport(*chain::parse_url(url))));
    return v;
  }
  chain::Json rpc(const std::string& method, chain::Json params = chain::Json::array()) {
    auto r = pool.call(method, params);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().describe()));
    return *r;
  }
};

chain::SecretKey manager_key() { return *chain::SecretKey::from_hex(keeper::kAnvilKey1); }

constexpr int kIntentsPerRun = 4;

// Intent i of run `rep`: a transfer to 0x...dEaD of a value that names it.
chain::TxRequest intent(int rep, int i) {
  chain::TxRequest r;
  r.key = "crash-" + std::to_string(rep) + "-" + std::to_string(i);
  r.to = *chain::from_hex_fixed<20>("0x000000000000000000000000000000000000dEaD");
  r.value = 1000 + rep * 10 + i;
  r.gas_limit = 21'000;
  r.label = "test";
  return r;
}

// The child: a transaction manager over the store, enqueueing this run's intents and ticking
// until it is killed. Acknowledges once started. Never returns.
[[noreturn]] void run_manager_forever(const std::string& path, const std::string& url, int rep,
                                      int ack_fd) {
  try {
    auto store = KeeperStore::open(path);
    Conn conn(url);
    chain::TxManager mgr(conn.eth, *store, manager_key(), 31337);
    if (!mgr.start()) ::_exit(4);
    if (!write_u64(ack_fd, 0)) ::_exit(3);
    for (int i = 0; i < kIntentsPerRun; ++i) mgr.enqueue(intent(rep, i));
    for (;;) mgr.tick();
  } catch (...) {
    ::_exit(2);
  }
}

}  // namespace

TEST_CASE("A store killed with SIGKILL mid-write keeps every acknowledged round, whole, 10 times") {
  const std::uint64_t seed = test::test_seed(0x5704e);
  std::mt19937_64 rng(seed);
  TempDir dir("store-crash");
  const std::string path = dir.file("keeper.db");
  std::uint64_t acknowledged_max = 0;
  std::uint64_t killed_mid_round = 0;
  for (int rep = 0; rep < 10; ++rep) {
    CAPTURE(rep);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const std::uint64_t child_seed = rng();
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      write_rounds_forever(path, fds[1], child_seed);
    }
    ::close(fds[1]);
    std::uint64_t first = 0;
    const bool running = wait_first_u64(fds[0], first, std::chrono::seconds(20));
    if (running) {
      // A random moment while it writes (each round is a few fsyncs: well under a millisecond
      // to a few milliseconds).
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200'000));
    }
    kill_and_reap(pid);
    std::vector<std::uint64_t> acks = read_all_u64(fds[0]);
    ::close(fds[0]);
    REQUIRE_MESSAGE(running, "the writer child never acknowledged a round");
    acks.insert(acks.begin(), first);
    // Acknowledged rounds continue where the previous child stopped, one by one.
    CHECK(acks.front() == acknowledged_max + 1);
    for (std::size_t i = 1; i < acks.size(); ++i) CHECK(acks[i] == acks[i - 1] + 1);
    acknowledged_max = acks.back();

    auto store = KeeperStore::open(path);
    CHECK(store->integrity_check() == "ok");
    const std::uint64_t next = store->next_round(1);
    // Every acknowledged round is there; at most the one in flight at the kill committed
    // without being acknowledged.
    REQUIRE(next - 1 >= acknowledged_max);
    CHECK(next - 1 <= acknowledged_max + 1);
    if (next - 1 == acknowledged_max + 1) ++killed_mid_round;
    acknowledged_max = next - 1;
    // Every stored round is whole: its transaction (with its attempt bytes), report, incident,
    // price, close and cursor — all or nothing.
    const auto incidents = store->incidents(0, static_cast<std::int64_t>(next));
    CHECK(incidents.size() == next - 1);
    const auto prices = store->prices("ETH/USD", 0, static_cast<std::int64_t>(next));
    CHECK(prices.size() == next - 1);
    CHECK(store->last_closes("ETH/USD", 60, next + 10).size() == next - 1);
    CHECK(store->meta("last_round") == std::to_string(next - 1));
    for (std::uint64_t round = 1; round < next; ++round) {
      const auto report = store->report(1, round);
      REQUIRE(report);
      REQUIRE(report->tx_id);
      const auto tx = store->get(*report->tx_id);
      REQUIRE(tx);
      CHECK(tx->request.key == "crash:" + std::to_string(round));
      CHECK(tx->nonce == round - 1);
      REQUIRE(tx->attempts.size() == 1);
      CHECK(tx->attempts[0].raw.size() >= 100);
      CHECK(tx->attempts[0].raw.front() == static_cast<std::uint8_t>(round));
    }
    CHECK(store->highest_nonce(crash_sender()) == next - 2);
  }
  MESSAGE("rounds stored: " << acknowledged_max
                            << "; kills that landed after a commit was written (during its fsync) "
                            << "and before its acknowledgement: " << killed_mid_round);
  CHECK(acknowledged_max >= 10);
}

TEST_CASE(
    "A transaction manager over KeeperStore killed with SIGKILL resumes: every intent mined once, "
    "no nonce gap, 10 times") {
  test::require_tool(VARKEEPER_ANVIL);
  const std::uint64_t seed = test::test_seed(0x7a11);
  std::mt19937_64 rng(seed);
  TempDir dir("store-crash");
  const std::string path = dir.file("keeper.db");
  keeper::AnvilNode anvil;  // automine: each transaction is mined as it arrives
  const std::string url = anvil.http_url();
  std::map<std::string, int> states_at_kill;
  for (int rep = 0; rep < 10; ++rep) {
    CAPTURE(rep);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      run_manager_forever(path, url, rep, fds[1]);
    }
    ::close(fds[1]);
    std::uint64_t started = 0;
    const bool running = wait_first_u64(fds[0], started, std::chrono::seconds(20));
    // The child sends and finalizes its intents within a few tens of milliseconds (automine):
    // kill it somewhere in that span.
    if (running) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 80'000));
    kill_and_reap(pid);
    ::close(fds[0]);
    REQUIRE_MESSAGE(running, "the transaction manager child did not start");

    // A new manager over the reopened store resumes; the keeper re-enqueues its intents.
    auto store = KeeperStore::open(path);
    CHECK(store->integrity_check() == "ok");
    std::string at_kill;  // the state each of this run's intents was left in
    for (int i = 0; i < kIntentsPerRun; ++i) {
      const auto rec = store->find_by_key(intent(rep, i).key);
      at_kill += " " + (rec ? std::string(chain::to_string(rec->state)) : std::string("absent"));
      ++states_at_kill[rec ? std::string(chain::to_string(rec->state)) : std::string("absent")];
    }
    CAPTURE(at_kill);
    Conn conn(url);
    chain::TxManager mgr(conn.eth, *store, manager_key(), 31337);
    REQUIRE(mgr.start());
    for (int i = 0; i < kIntentsPerRun; ++i) mgr.enqueue(intent(rep, i));
    for (int t = 0; t < 4; ++t) {
      mgr.tick();
      (void)conn.rpc("evm_mine");
    }
  }
  auto store = KeeperStore::open(path);
  Conn conn(url);
  chain::TxManager final_mgr(conn.eth, *store, manager_key(), 31337);
  REQUIRE(final_mgr.start());
  CHECK(store->load_open(final_mgr.sender()).empty());
  // Every intent's record is finalized.
  int intents = 0;
  for (std::uint64_t id = 1;; ++id) {
    const auto rec = store->get(id);
    if (!rec) break;
    if (rec->request.label != "test") continue;
    CHECK_MESSAGE(rec->state == chain::TxState::kFinalized, rec->request.key);
    ++intents;
  }
  CHECK(intents == 10 * kIntentsPerRun);
  // On chain: the sender's nonces are 0..n-1 with none twice, and each intent's value was
  // transferred exactly once.
  std::map<std::uint64_t, int> nonces;
  std::map<std::string, int> values;
  const auto head = *conn.eth.block_number();
  const auto dead = *chain::from_hex_fixed<20>("0x000000000000000000000000000000000000dEaD");
  for (std::uint64_t b = 1; b <= head; ++b) {
    const chain::Json block =
        conn.rpc("eth_getBlockByNumber",
                 chain::Json::array({chain::u256_to_quantity(chain::U256(b)), true}));
    for (const auto& tx : block["transactions"]) {
      if (*chain::parse_address(tx["from"].get<std::string>()) != final_mgr.sender()) continue;
      ++nonces[*chain::decode_u64_quantity(tx["nonce"], "nonce")];
      if (!tx["to"].is_null() && *chain::parse_address(tx["to"].get<std::string>()) == dead) {
        ++values[tx["value"].get<std::string>()];
      }
    }
  }
  REQUIRE_FALSE(nonces.empty());
  CHECK(nonces.begin()->first == 0);
  CHECK(nonces.rbegin()->first == nonces.size() - 1);
  for (const auto& [nonce, count] : nonces) CHECK_MESSAGE(count == 1, "nonce " << nonce);
  CHECK(values.size() == static_cast<std::size_t>(10 * kIntentsPerRun));
  for (int rep = 0; rep < 10; ++rep) {
    for (int i = 0; i < kIntentsPerRun; ++i) {
      const std::string v = chain::u256_to_quantity(intent(rep, i).value);
      CHECK_MESSAGE(values[v] == 1, "intent " << rep << "-" << i << " value " << v);
    }
  }
  std::string kill_states;
  for (const auto& [state, n] : states_at_kill)
    kill_states += " " + state + "=" + std::to_string(n);
  MESSAGE("mined " << nonces.size() << " transactions of the sender for " << 10 * kIntentsPerRun
                   << " intents; intents' states at the kills:" << kill_states);
}
