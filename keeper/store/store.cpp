#include "keeper/store/store.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "chain/hex.hpp"
#include "chain/uint256.hpp"
#include "keeper/store/sqlite.hpp"

namespace varkeeper::keeper {

namespace {

// Schema migrations, applied in order, each in one transaction together with the
// `PRAGMA user_version` it brings the file to. Never edit a released step: append a new one.
// STRICT tables (SQLite >= 3.37) refuse values of the wrong type instead of storing them.
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE tx (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key     TEXT    NOT NULL,
  from_address        TEXT    NOT NULL CHECK (length(from_address) = 42),
  to_address          TEXT             CHECK (to_address IS NULL OR length(to_address) = 42),
  data                BLOB    NOT NULL,
  value               TEXT    NOT NULL,
  gas_limit           INTEGER NOT NULL CHECK (gas_limit >= 0),
  label               TEXT    NOT NULL,
  state               TEXT    NOT NULL CHECK (state IN ('unstarted', 'in_progress', 'unconfirmed',
                                                        'confirmed', 'finalized', 'fatal')),
  nonce               INTEGER          CHECK (nonce IS NULL OR nonce >= 0),
  mined_hash          TEXT             CHECK (mined_hash IS NULL OR length(mined_hash) = 66),
  mined_block_hash    TEXT             CHECK (mined_block_hash IS NULL OR
                                              length(mined_block_hash) = 66),
  mined_block         INTEGER NOT NULL CHECK (mined_block >= 0),
  mined_success       INTEGER NOT NULL CHECK (mined_success IN (0, 1)),
  gas_used            INTEGER NOT NULL CHECK (gas_used >= 0),
  effective_gas_price TEXT    NOT NULL,
  error               TEXT    NOT NULL,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
) STRICT;
-- The same key is never enqueued twice; an empty key opts out (as in chain::InMemoryTxStore).
CREATE UNIQUE INDEX tx_by_key ON tx (idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX tx_by_sender_state ON tx (from_address, state);
CREATE INDEX tx_by_sender_nonce ON tx (from_address, nonce);

-- Every signed attempt, saved before it is broadcast (raw signed bytes; never a key).
CREATE TABLE tx_attempt (
  tx_id                    INTEGER NOT NULL REFERENCES tx (id) ON DELETE CASCADE,
  seq                      INTEGER NOT NULL,
  hash                     TEXT    NOT NULL CHECK (length(hash) = 66),
  max_fee_per_gas          TEXT    NOT NULL,
  max_priority_fee_per_gas TEXT    NOT NULL,
  raw                      BLOB    NOT NULL,
  state                    TEXT    NOT NULL CHECK (state IN ('saved', 'broadcast')),
  broadcast_block          INTEGER NOT NULL CHECK (broadcast_block >= 0),
  PRIMARY KEY (tx_id, seq)
) STRICT;

CREATE TABLE price_observation (
  asset       TEXT    NOT NULL,
  source      TEXT    NOT NULL,
  round_id    TEXT    NOT NULL,  -- canonical decimal (uint80 does not fit an INTEGER)
  answer      TEXT    NOT NULL,  -- canonical decimal (int256)
  decimals    INTEGER NOT NULL CHECK (decimals BETWEEN 0 AND 255),
  updated_at  INTEGER NOT NULL,
  observed_at INTEGER NOT NULL,
  PRIMARY KEY (asset, source, round_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX price_observation_by_time ON price_observation (asset, updated_at);

CREATE TABLE price_close (
  asset        TEXT    NOT NULL,
  interval_s   INTEGER NOT NULL CHECK (interval_s > 0),
  period_start INTEGER NOT NULL,
  close        REAL    NOT NULL,
  PRIMARY KEY (asset, interval_s, period_start)
) STRICT, WITHOUT ROWID;

CREATE TABLE report (
  portfolio_id   INTEGER NOT NULL CHECK (portfolio_id >= 0),
  round          INTEGER NOT NULL CHECK (round >= 1),
  observed_at    INTEGER NOT NULL,
  var            REAL    NOT NULL,
  cvar           REAL    NOT NULL,
  published_var  REAL    NOT NULL,
  breaker_status INTEGER NOT NULL CHECK (breaker_status IN (0, 1, 2)),
  digest         TEXT    NOT NULL CHECK (length(digest) = 66),
  tx_id          INTEGER          REFERENCES tx (id),
  state          TEXT    NOT NULL CHECK (state IN ('pending', 'accepted', 'refused')),
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (portfolio_id, round)  -- a round is never published twice
) STRICT;
CREATE INDEX report_by_state ON report (state);

CREATE TABLE incident (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  time     INTEGER NOT NULL,
  category TEXT    NOT NULL CHECK (category <> ''),
  subject  TEXT    NOT NULL,
  evidence TEXT    NOT NULL CHECK (json_valid(evidence))
) STRICT;
CREATE INDEX incident_by_time ON incident (time);
CREATE INDEX incident_by_category_time ON incident (category, time);

CREATE TABLE meta (
  name  TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
)sql"},
    // Issue 15: the transaction manager's confirmed_missing_receipt state. Widening a CHECK changes
    // no stored row, so the table's definition is edited in place (SQLite's documented procedure,
    // https://www.sqlite.org/lang_altertable.html#otheralter; migrate() bumps schema_version)
    // instead of rebuilding a table that tx_attempt and report reference.
    {2, R"sql(
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, '''unconfirmed'',', '''unconfirmed'', ''confirmed_missing_receipt'',')
 WHERE type = 'table' AND name = 'tx' AND instr(sql, 'confirmed_missing_receipt') = 0;
PRAGMA writable_schema = OFF;
)sql"},
    // Issue 15, defect 5: reports superseded while waiting, or dropped before an attempt. The
    // report table's CHECK is widened in place, as in step 2.
    {3, R"sql(
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, '''refused'')', '''refused'', ''superseded'', ''dropped'')')
 WHERE type = 'table' AND name = 'report' AND instr(sql, 'superseded') = 0;
PRAGMA writable_schema = OFF;
)sql"},
};

static_assert(std::size(kMigrations) > 0 &&
                  kMigrations[std::size(kMigrations) - 1].version == kStoreSchemaVersion,
              "kStoreSchemaVersion must be the last migration's version");

// Names what the store is doing in error messages; restores the outer context when done.
class Doing {
 public:
  Doing(sqlite::Database& db, std::string what) : db_(db), previous_(db.context()) {
    db_.set_context(std::move(what));
  }
  ~Doing() { db_.set_context(std::move(previous_)); }
  Doing(const Doing&) = delete;
  Doing& operator=(const Doing&) = delete;

 private:
  sqlite::Database& db_;
  std::string previous_;
};

std::int64_t now_unix() { return static_cast<std::int64_t>(std::time(nullptr)); }

// `text` in double quotes for an error message: printable ASCII kept, other bytes as \xNN, at
// most 64 characters (stored text or caller input must not break the one-line message).
std::string quote_text(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  std::size_t shown = 0;
  for (const char ch : text) {
    if (shown++ == 64) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out + "\"";
}

[[noreturn]] void corrupt(const std::string& path, const std::string& what) {
  throw StoreError(StoreErrorKind::kCorrupt, "store file " + path + " holds " + what);
}

template <std::size_t N>
chain::FixedBytes<N> parse_fixed(const std::string& path, const std::string& text,
                                 const char* column) {
  auto v = chain::from_hex_fixed<N>(text, chain::HexPrefix::kRequired);
  if (!v) {
    corrupt(path, "a malformed " + std::string(column) + " " + quote_text(text));
  }
  return *v;
}

chain::U256 parse_u256(const std::string& path, const std::string& text, const char* column) {
  auto v = chain::u256_from_string(text);
  if (!v) {
    corrupt(path, "a malformed " + std::string(column) + " " + quote_text(text));
  }
  return *v;
}

// "0" or a non-zero digit followed by digits; `allow_negative`: also "-" then a non-zero number.
bool is_canonical_decimal(std::string_view s, bool allow_negative) {
  if (allow_negative && s.size() > 1 && s.front() == '-') {
    s.remove_prefix(1);
    if (s == "0") {
      return false;
    }
  }
  if (s.empty() || s.size() > 78) {
    return false;  // 2^256 has 78 digits
  }
  if (s.size() > 1 && s.front() == '0') {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view attempt_state_text(chain::AttemptState s) noexcept {
  return s == chain::AttemptState::kBroadcast ? "broadcast" : "saved";
}

constexpr const char* kTxColumns =
    "id, idempotency_key, from_address, to_address, data, value, gas_limit, label, state, nonce, "
    "mined_hash, mined_block_hash, mined_block, mined_success, gas_used, effective_gas_price, "
    "error";

chain::TxRecord record_from_row(const std::string& path, const sqlite::Query& q) {
  chain::TxRecord r;
  r.id = q.uint64(0);
  r.request.key = q.text(1);
  r.from = parse_fixed<20>(path, q.text(2), "from_address");
  if (!q.is_null(3)) {
    r.request.to = parse_fixed<20>(path, q.text(3), "to_address");
  }
  r.request.data = q.blob(4);
  r.request.value = parse_u256(path, q.text(5), "value");
  r.request.gas_limit = q.uint64(6);
  r.request.label = q.text(7);
  const auto state = chain::parse_tx_state(q.text(8));
  if (!state) {
    corrupt(path, "an unknown transaction state " + quote_text(q.text(8)));
  }
  r.state = *state;
  if (!q.is_null(9)) {
    r.nonce = q.uint64(9);
  }
  if (!q.is_null(10)) {
    r.mined_hash = parse_fixed<32>(path, q.text(10), "mined_hash");
  }
  if (!q.is_null(11)) {
    r.mined_block_hash = parse_fixed<32>(path, q.text(11), "mined_block_hash");
  }
  r.mined_block = q.uint64(12);
  r.mined_success = q.int64(13) != 0;
  r.gas_used = q.uint64(14);
  r.effective_gas_price = parse_u256(path, q.text(15), "effective_gas_price");
  r.error = q.text(16);
  return r;
}

constexpr const char* kReportColumns =
    "portfolio_id, round, observed_at, var, cvar, published_var, breaker_status, digest, tx_id, "
    "state, created_at";

PublishedReport report_from_row(const std::string& path, const sqlite::Query& q) {
  PublishedReport r;
  r.portfolio_id = q.uint64(0);
  r.round = q.uint64(1);
  r.observed_at = q.int64(2);
  r.var = q.real(3);
  r.cvar = q.real(4);
  r.published_var = q.real(5);
  const std::int64_t status = q.int64(6);
  if (status < 0 || status > 2) {
    corrupt(path, "an unknown breaker status " + std::to_string(status));
  }
  r.breaker_status = static_cast<risk::BreakerStatus>(status);
  r.digest = parse_fixed<32>(path, q.text(7), "report digest");
  if (!q.is_null(8)) {
    r.tx_id = q.uint64(8);
  }
  const auto state = parse_report_state(q.text(9));
  if (!state) {
    corrupt(path, "an unknown report state " + quote_text(q.text(9)));
  }
  r.state = *state;
  r.created_at = q.int64(10);
  return r;
}

constexpr const char* kPriceColumns =
    "asset, source, round_id, answer, decimals, updated_at, observed_at";

PriceObservation price_from_row(const sqlite::Query& q) {
  PriceObservation p;
  p.asset = q.text(0);
  p.source = q.text(1);
  p.round_id = q.text(2);
  p.answer = q.text(3);
  p.decimals = static_cast<int>(q.int64(4));
  p.updated_at = q.int64(5);
  p.observed_at = q.int64(6);
  return p;
}

std::string round_name(std::uint64_t portfolio_id, std::uint64_t round) {
  return "round " + std::to_string(round) + " of portfolio " + std::to_string(portfolio_id);
}

}  // namespace

// ---- small enums -------------------------------------------------------------------------------

std::string_view to_string(ReportState s) noexcept {
  switch (s) {
    case ReportState::kPending: return "pending";
    case ReportState::kAccepted: return "accepted";
    case ReportState::kRefused: return "refused";
    case ReportState::kSuperseded: return "superseded";
    case ReportState::kDropped: return "dropped";
  }
  return "unknown";
}

std::optional<ReportState> parse_report_state(std::string_view s) noexcept {
  for (const auto st : {ReportState::kPending, ReportState::kAccepted, ReportState::kRefused,
                        ReportState::kSuperseded, ReportState::kDropped}) {
    if (to_string(st) == s) {
      return st;
    }
  }
  return std::nullopt;
}

double PriceObservation::price() const {
  // strtod of "<answer>e-<decimals>" rounds the exact decimal value once (correct rounding).
  const std::string text = answer + "e-" + std::to_string(decimals);
  return std::strtod(text.c_str(), nullptr);
}

// ---- opening and migrations ------------------------------------------------------------------

KeeperStore::KeeperStore(std::string path, std::unique_ptr<sqlite::Database> db)
    : path_(std::move(path)), db_(std::move(db)) {}

KeeperStore::~KeeperStore() = default;

std::unique_ptr<KeeperStore> KeeperStore::open(const std::string& path,
                                               const StoreOptions& options) {
  namespace fs = std::filesystem;
  if (path.empty()) {
    throw StoreError(StoreErrorKind::kCannotOpen, "the store file path is empty");
  }
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec) {
      throw StoreError(StoreErrorKind::kCannotOpen, "cannot create the directory " +
                                                        parent.string() + " of store file " + path +
                                                        ": " + ec.message());
    }
  }
  if (fs::is_directory(path, ec)) {
    throw StoreError(StoreErrorKind::kCannotOpen,
                     "store file " + path + " is a directory, not a file");
  }

  auto db = std::make_unique<sqlite::Database>(path);
  std::unique_ptr<KeeperStore> store(new KeeperStore(path, std::move(db)));
  sqlite::Database& d = *store->db_;
  {
    Doing doing(d, "configure the connection");
    d.exec("PRAGMA busy_timeout = " + std::to_string(std::max(0, options.busy_timeout_ms)));
  }
  {
    // The first statement that reads the file: a non-database fails here with SQLITE_NOTADB.
    Doing doing(d, "read the schema version");
    const std::int64_t app_id = std::stoll(d.query_text("PRAGMA application_id").value_or("0"));
    const int version = std::stoi(d.query_text("PRAGMA user_version").value_or("0"));
    const std::int64_t objects =
        std::stoll(d.query_text("SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'")
                       .value_or("0"));
    if (app_id != 0 && app_id != kStoreApplicationId) {
      throw StoreError(StoreErrorKind::kNotADatabase,
                       "store file " + path +
                           " is a SQLite database of another program "
                           "(application_id " +
                           std::to_string(app_id) + "), not a varkeeper store");
    }
    if (app_id == 0 && version == 0 && objects > 0) {
      throw StoreError(StoreErrorKind::kNotADatabase,
                       "store file " + path + " is a SQLite database with " +
                           std::to_string(objects) +
                           " tables or indexes of another program, not a varkeeper store");
    }
    if (version > kStoreSchemaVersion) {
      throw StoreError(StoreErrorKind::kNewerSchema,
                       "store file " + path + " has schema version " + std::to_string(version) +
                           ", newer than the version " + std::to_string(kStoreSchemaVersion) +
                           " this varkeeper understands; upgrade varkeeper or use another store");
    }
  }
  {
    Doing doing(d, "switch to WAL mode");
    // DESIGN.md §5: WAL with synchronous=FULL — a commit is on disk (WAL fsynced) when it returns.
    const auto mode = d.query_text("PRAGMA journal_mode = WAL");
    if (!mode || *mode != "wal") {
      throw StoreError(StoreErrorKind::kCannotOpen,
                       "store file " + path + " cannot use WAL mode (journal mode stays \"" +
                           mode.value_or("") + "\"); put it on a local file system");
    }
    d.exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;");
  }
  if (options.verify_on_open) {
    Doing doing(d, "check its integrity");
    const auto result = d.query_text("PRAGMA quick_check");
    if (!result || *result != "ok") {
      throw StoreError(StoreErrorKind::kCorrupt,
                       "store file " + path + " is corrupt (quick_check: " +
                           sqlite::one_line(result.value_or("no answer")) +
                           "); restore it from a backup or move it away to start afresh");
    }
  }
  store->migrate();
  return store;
}

void KeeperStore::migrate() {
  std::lock_guard lock(mu_);
  for (const auto& m : kMigrations) {
    Doing doing(*db_, "migrate to schema version " + std::to_string(m.version));
    // Another process may migrate concurrently: read the version inside the write transaction.
    transaction([&] {
      const int version = std::stoi(db_->query_text("PRAGMA user_version").value_or("0"));
      if (version >= m.version) {
        return;
      }
      const int cookie = std::stoi(db_->query_text("PRAGMA schema_version").value_or("0"));
      db_->exec(m.sql);
      if (m.version == 1) {
        db_->exec("PRAGMA application_id = " + std::to_string(kStoreApplicationId));
      }
      if (m.version >= 2) {  // steps 2 and 3 edit definitions: re-read by every connection
        db_->exec("PRAGMA schema_version = " + std::to_string(cookie + 1));
      }
      db_->exec("PRAGMA user_version = " + std::to_string(m.version));
    });
  }
}

int KeeperStore::schema_version() const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read the schema version");
  return std::stoi(db_->query_text("PRAGMA user_version").value_or("0"));
}

std::string KeeperStore::integrity_check() const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "check its integrity");
  sqlite::Statement st(*db_, "PRAGMA integrity_check");
  std::string out;
  while (st.step()) {
    if (!out.empty()) {
      out += "; ";
    }
    out += sqlite::one_line(st.text(0));
  }
  return out;
}

void KeeperStore::transaction(const std::function<void()>& fn) {
  std::lock_guard lock(mu_);
  const int depth = depth_;
  const std::string savepoint = "vk_sp" + std::to_string(depth);
  {
    Doing doing(*db_, "begin a transaction");
    // IMMEDIATE: take the write lock now, so a concurrent writer waits (busy timeout) here rather
    // than failing at its first write inside the transaction.
    db_->exec(depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT " + savepoint);
  }
  ++depth_;
  try {
    fn();
  } catch (...) {
    --depth_;
    try {
      if (depth == 0) {
        // An I/O error or SQLITE_FULL may have rolled the transaction back already.
        if (db_->in_transaction()) {
          db_->exec("ROLLBACK");
        }
      } else {
        db_->exec("ROLLBACK TO " + savepoint + "; RELEASE " + savepoint);
      }
    } catch (const StoreError&) {
      // The original failure is the one to report; the rollback's own failure adds nothing.
    }
    throw;
  }
  --depth_;
  Doing doing(*db_, "commit a transaction");
  try {
    db_->exec(depth == 0 ? "COMMIT" : "RELEASE " + savepoint);
  } catch (const StoreError&) {
    if (depth == 0 && db_->in_transaction()) {
      try {
        db_->exec("ROLLBACK");
      } catch (const StoreError&) {
      }
    }
    throw;
  }
}

// ---- chain::TxStore ----------------------------------------------------------------------------

std::uint64_t KeeperStore::insert(const chain::TxRequest& request, const chain::Address& from) {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "insert transaction " + quote_text(request.key));
  std::uint64_t id = 0;
  transaction([&] {
    if (!request.key.empty()) {
      auto q = db_->query("SELECT id FROM tx WHERE idempotency_key = ?1");
      q.bind(1, request.key);
      if (q.step()) {
        id = q.uint64(0);
        return;
      }
    }
    const std::int64_t now = now_unix();
    auto q = db_->query(
        "INSERT INTO tx (idempotency_key, from_address, to_address, data, value, gas_limit, label, "
        "state, nonce, mined_hash, mined_block_hash, mined_block, mined_success, gas_used, "
        "effective_gas_price, error, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "'unstarted', NULL, NULL, NULL, 0, 0, 0, '0', '', ?8, ?8)");
    q.bind(1, request.key).bind(2, chain::to_hex(from));
    if (request.to) {
      q.bind(3, chain::to_hex(*request.to));
    } else {
      q.bind(3, std::nullopt);
    }
    q.bind(4, request.data)
        .bind(5, chain::u256_to_decimal(request.value))
        .bind(6, request.gas_limit)
        .bind(7, request.label)
        .bind(8, now);
    q.run();
    id = static_cast<std::uint64_t>(db_->last_insert_rowid());
  });
  return id;
}

void KeeperStore::save(const chain::TxRecord& r) {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "save transaction " + std::to_string(r.id));
  transaction([&] {
    const std::int64_t now = now_unix();
    {
      auto q = db_->query(
          "INSERT INTO tx (id, idempotency_key, from_address, to_address, data, value, gas_limit, "
          "label, state, nonce, mined_hash, mined_block_hash, mined_block, mined_success, "
          "gas_used, effective_gas_price, error, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, "
          "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18) "
          "ON CONFLICT (id) DO UPDATE SET idempotency_key = excluded.idempotency_key, "
          "from_address = excluded.from_address, to_address = excluded.to_address, "
          "data = excluded.data, value = excluded.value, gas_limit = excluded.gas_limit, "
          "label = excluded.label, state = excluded.state, nonce = excluded.nonce, "
          "mined_hash = excluded.mined_hash, mined_block_hash = excluded.mined_block_hash, "
          "mined_block = excluded.mined_block, mined_success = excluded.mined_success, "
          "gas_used = excluded.gas_used, effective_gas_price = excluded.effective_gas_price, "
          "error = excluded.error, updated_at = excluded.updated_at");
      q.bind(1, r.id).bind(2, r.request.key).bind(3, chain::to_hex(r.from));
      if (r.request.to) {
        q.bind(4, chain::to_hex(*r.request.to));
      } else {
        q.bind(4, std::nullopt);
      }
      q.bind(5, r.request.data)
          .bind(6, chain::u256_to_decimal(r.request.value))
          .bind(7, r.request.gas_limit)
          .bind(8, r.request.label)
          .bind(9, chain::to_string(r.state))
          .bind(10, r.nonce);
      if (r.mined_hash) {
        q.bind(11, chain::to_hex(*r.mined_hash));
      } else {
        q.bind(11, std::nullopt);
      }
      if (r.mined_block_hash) {
        q.bind(12, chain::to_hex(*r.mined_block_hash));
      } else {
        q.bind(12, std::nullopt);
      }
      q.bind(13, r.mined_block)
          .bind(14, r.mined_success ? 1 : 0)
          .bind(15, r.gas_used)
          .bind(16, chain::u256_to_decimal(r.effective_gas_price))
          .bind(17, r.error)
          .bind(18, now);
      q.run();
    }
    {
      auto q = db_->query("DELETE FROM tx_attempt WHERE tx_id = ?1");
      q.bind(1, r.id);
      q.run();
    }
    for (std::size_t i = 0; i < r.attempts.size(); ++i) {
      const auto& a = r.attempts[i];
      auto q = db_->query(
          "INSERT INTO tx_attempt (tx_id, seq, hash, max_fee_per_gas, max_priority_fee_per_gas, "
          "raw, state, broadcast_block) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
      q.bind(1, r.id)
          .bind(2, i)
          .bind(3, chain::to_hex(a.hash))
          .bind(4, chain::u256_to_decimal(a.max_fee_per_gas))
          .bind(5, chain::u256_to_decimal(a.max_priority_fee_per_gas))
          .bind(6, a.raw)
          .bind(7, attempt_state_text(a.state))
          .bind(8, a.broadcast_block);
      q.run();
    }
  });
}

std::vector<chain::TxAttempt> KeeperStore::attempts_of(std::uint64_t id) const {
  auto q = db_->query(
      "SELECT hash, max_fee_per_gas, max_priority_fee_per_gas, raw, state, broadcast_block "
      "FROM tx_attempt WHERE tx_id = ?1 ORDER BY seq");
  q.bind(1, id);
  std::vector<chain::TxAttempt> out;
  while (q.step()) {
    chain::TxAttempt a;
    a.hash = parse_fixed<32>(path_, q.text(0), "attempt hash");
    a.max_fee_per_gas = parse_u256(path_, q.text(1), "max_fee_per_gas");
    a.max_priority_fee_per_gas = parse_u256(path_, q.text(2), "max_priority_fee_per_gas");
    a.raw = q.blob(3);
    const std::string state = q.text(4);
    if (state == "saved") {
      a.state = chain::AttemptState::kSaved;
    } else if (state == "broadcast") {
      a.state = chain::AttemptState::kBroadcast;
    } else {
      corrupt(path_, "an unknown attempt state " + quote_text(state));
    }
    a.broadcast_block = q.uint64(5);
    out.push_back(std::move(a));
  }
  return out;
}

std::optional<chain::TxRecord> KeeperStore::get(std::uint64_t id) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read transaction " + std::to_string(id));
  if (id > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::nullopt;
  }
  std::optional<chain::TxRecord> rec;
  {
    auto q = db_->query(std::string("SELECT ") + kTxColumns + " FROM tx WHERE id = ?1");
    q.bind(1, id);
    if (q.step()) {
      rec = record_from_row(path_, q);
    }
  }
  if (rec) {
    rec->attempts = attempts_of(rec->id);
  }
  return rec;
}

std::optional<chain::TxRecord> KeeperStore::find_by_key(std::string_view key) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "find transaction " + quote_text(key));
  std::optional<chain::TxRecord> rec;
  {
    auto q = db_->query(std::string("SELECT ") + kTxColumns +
                        " FROM tx WHERE idempotency_key = ?1 ORDER BY id LIMIT 1");
    q.bind(1, key);
    if (q.step()) {
      rec = record_from_row(path_, q);
    }
  }
  if (rec) {
    rec->attempts = attempts_of(rec->id);
  }
  return rec;
}

std::vector<chain::TxRecord> KeeperStore::load_open(const chain::Address& from) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "load open transactions of " + chain::to_hex(from));
  std::vector<chain::TxRecord> out;
  {
    auto q = db_->query(std::string("SELECT ") + kTxColumns +
                        " FROM tx WHERE from_address = ?1 AND state NOT IN ('finalized', "
                        "'fatal') ORDER BY id");
    q.bind(1, chain::to_hex(from));
    while (q.step()) {
      out.push_back(record_from_row(path_, q));
    }
  }
  for (auto& r : out) {
    r.attempts = attempts_of(r.id);
  }
  return out;
}

std::optional<std::uint64_t> KeeperStore::highest_nonce(const chain::Address& from) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read the highest nonce of " + chain::to_hex(from));
  auto q = db_->query("SELECT max(nonce) FROM tx WHERE from_address = ?1");
  q.bind(1, chain::to_hex(from));
  if (!q.step() || q.is_null(0)) {
    return std::nullopt;
  }
  return q.uint64(0);
}

// ---- price observations and closes -------------------------------------------------------------

bool KeeperStore::add_price(const PriceObservation& p) {
  std::lock_guard lock(mu_);
  const std::string what =
      "add price round " + quote_text(p.round_id) + " of " + p.asset + " from " + p.source;
  if (!is_canonical_decimal(p.round_id, false) || !is_canonical_decimal(p.answer, true)) {
    throw StoreError(StoreErrorKind::kInvalidValue,
                     "cannot " + what + " in store file " + path_ +
                         ": the round id and the answer " + quote_text(p.answer) +
                         " must be decimal integers without leading zeros");
  }
  Doing doing(*db_, what);
  auto q = db_->query(
      "INSERT INTO price_observation (asset, source, round_id, answer, decimals, updated_at, "
      "observed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING");
  q.bind(1, p.asset)
      .bind(2, p.source)
      .bind(3, p.round_id)
      .bind(4, p.answer)
      .bind(5, p.decimals)
      .bind(6, p.updated_at)
      .bind(7, p.observed_at);
  q.run();
  return db_->changes() > 0;
}

std::size_t KeeperStore::add_prices(std::span<const PriceObservation> observations) {
  std::lock_guard lock(mu_);
  std::size_t added = 0;
  transaction([&] {
    for (const auto& p : observations) {
      added += add_price(p) ? 1 : 0;
    }
  });
  return added;
}

std::vector<PriceObservation> KeeperStore::prices(std::string_view asset, std::int64_t from,
                                                  std::int64_t to) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read prices of " + std::string(asset));
  // length() before the text orders canonical decimals numerically.
  auto q = db_->query(std::string("SELECT ") + kPriceColumns +
                      " FROM price_observation WHERE asset = ?1 AND updated_at BETWEEN ?2 AND ?3 "
                      "ORDER BY updated_at, source, length(round_id), round_id");
  q.bind(1, asset).bind(2, from).bind(3, to);
  std::vector<PriceObservation> out;
  while (q.step()) {
    out.push_back(price_from_row(q));
  }
  return out;
}

std::optional<PriceObservation> KeeperStore::latest_price(std::string_view asset,
                                                          std::string_view source) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read the latest price of " + std::string(asset));
  auto q = db_->query(std::string("SELECT ") + kPriceColumns +
                      " FROM price_observation WHERE asset = ?1 AND source = ?2 "
                      "ORDER BY length(round_id) DESC, round_id DESC LIMIT 1");
  q.bind(1, asset).bind(2, source);
  if (!q.step()) {
    return std::nullopt;
  }
  return price_from_row(q);
}

void KeeperStore::upsert_close(std::string_view asset, std::int64_t interval_s,
                               const Close& close) {
  upsert_closes(asset, interval_s, std::span<const Close>(&close, 1));
}

void KeeperStore::upsert_closes(std::string_view asset, std::int64_t interval_s,
                                std::span<const Close> closes) {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "save closes of " + std::string(asset));
  transaction([&] {
    for (const auto& c : closes) {
      auto q = db_->query(
          "INSERT INTO price_close (asset, interval_s, period_start, close) VALUES (?1, ?2, ?3, "
          "?4) ON CONFLICT (asset, interval_s, period_start) DO UPDATE SET close = excluded.close");
      q.bind(1, asset).bind(2, interval_s).bind(3, c.period_start).bind(4, c.close);
      q.run();
    }
  });
}

std::vector<Close> KeeperStore::last_closes(std::string_view asset, std::int64_t interval_s,
                                            std::size_t n) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read closes of " + std::string(asset));
  auto q = db_->query(
      "SELECT period_start, close FROM price_close WHERE asset = ?1 AND interval_s = ?2 "
      "ORDER BY period_start DESC LIMIT ?3");
  const auto limit = static_cast<std::int64_t>(std::min<std::uint64_t>(
      n, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
  q.bind(1, asset).bind(2, interval_s).bind(3, limit);
  std::vector<Close> out;
  while (q.step()) {
    out.push_back(Close{q.int64(0), q.real(1)});
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// ---- published reports -------------------------------------------------------------------------

void KeeperStore::add_report(const PublishedReport& r) {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "add report " + round_name(r.portfolio_id, r.round));
  auto q = db_->query(std::string("INSERT INTO report (") + kReportColumns +
                      ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  q.bind(1, r.portfolio_id)
      .bind(2, r.round)
      .bind(3, r.observed_at)
      .bind(4, r.var)
      .bind(5, r.cvar)
      .bind(6, r.published_var)
      .bind(7, static_cast<int>(r.breaker_status))
      .bind(8, chain::to_hex(r.digest))
      .bind(9, r.tx_id)
      .bind(10, to_string(r.state))
      .bind(11, r.created_at);
  q.run();
}

std::optional<PublishedReport> KeeperStore::report(std::uint64_t portfolio_id,
                                                   std::uint64_t round) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read report " + round_name(portfolio_id, round));
  auto q = db_->query(std::string("SELECT ") + kReportColumns +
                      " FROM report WHERE portfolio_id = ?1 AND round = ?2");
  q.bind(1, portfolio_id).bind(2, round);
  if (!q.step()) {
    return std::nullopt;
  }
  return report_from_row(path_, q);
}

std::optional<PublishedReport> KeeperStore::last_report(std::uint64_t portfolio_id) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read the last report of portfolio " + std::to_string(portfolio_id));
  auto q = db_->query(std::string("SELECT ") + kReportColumns +
                      " FROM report WHERE portfolio_id = ?1 ORDER BY round DESC LIMIT 1");
  q.bind(1, portfolio_id);
  if (!q.step()) {
    return std::nullopt;
  }
  return report_from_row(path_, q);
}

std::optional<PublishedReport> KeeperStore::last_accepted_report(std::uint64_t portfolio_id) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read the last accepted report of portfolio " + std::to_string(portfolio_id));
  auto q = db_->query(std::string("SELECT ") + kReportColumns +
                      " FROM report WHERE portfolio_id = ?1 AND state = 'accepted' "
                      "ORDER BY round DESC LIMIT 1");
  q.bind(1, portfolio_id);
  if (!q.step()) {
    return std::nullopt;
  }
  return report_from_row(path_, q);
}

std::uint64_t KeeperStore::next_round(std::uint64_t portfolio_id) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read the next round of portfolio " + std::to_string(portfolio_id));
  auto q = db_->query("SELECT max(round) FROM report WHERE portfolio_id = ?1");
  q.bind(1, portfolio_id);
  if (!q.step() || q.is_null(0)) {
    return 1;
  }
  return q.uint64(0) + 1;
}

void KeeperStore::set_report_state(std::uint64_t portfolio_id, std::uint64_t round,
                                   ReportState state) {
  std::lock_guard lock(mu_);
  const std::string what = "set the state of report " + round_name(portfolio_id, round);
  Doing doing(*db_, what);
  auto q = db_->query("UPDATE report SET state = ?3 WHERE portfolio_id = ?1 AND round = ?2");
  q.bind(1, portfolio_id).bind(2, round).bind(3, to_string(state));
  q.run();
  if (db_->changes() == 0) {
    throw StoreError(StoreErrorKind::kInvalidValue,
                     "cannot " + what + " in store file " + path_ + ": there is no such report");
  }
}

void KeeperStore::set_report_tx(std::uint64_t portfolio_id, std::uint64_t round,
                                std::uint64_t tx_id) {
  std::lock_guard lock(mu_);
  const std::string what = "set the transaction of report " + round_name(portfolio_id, round);
  Doing doing(*db_, what);
  auto q = db_->query("UPDATE report SET tx_id = ?3 WHERE portfolio_id = ?1 AND round = ?2");
  q.bind(1, portfolio_id).bind(2, round).bind(3, tx_id);
  q.run();
  if (db_->changes() == 0) {
    throw StoreError(StoreErrorKind::kInvalidValue,
                     "cannot " + what + " in store file " + path_ + ": there is no such report");
  }
}

std::vector<PublishedReport> KeeperStore::reports_in_state(ReportState state) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read " + std::string(to_string(state)) + " reports");
  auto q = db_->query(std::string("SELECT ") + kReportColumns +
                      " FROM report WHERE state = ?1 ORDER BY portfolio_id, round");
  q.bind(1, to_string(state));
  std::vector<PublishedReport> out;
  while (q.step()) {
    out.push_back(report_from_row(path_, q));
  }
  return out;
}

// ---- incidents ---------------------------------------------------------------------------------

std::uint64_t KeeperStore::add_incident(const Incident& i) {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "add a " + quote_text(i.category) + " incident");
  auto q = db_->query(
      "INSERT INTO incident (time, category, subject, evidence) VALUES (?1, ?2, ?3, ?4)");
  q.bind(1, i.time).bind(2, i.category).bind(3, i.subject).bind(4, i.evidence);
  q.run();
  return static_cast<std::uint64_t>(db_->last_insert_rowid());
}

std::vector<Incident> KeeperStore::incidents(std::int64_t from, std::int64_t to) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read incidents");
  auto q = db_->query(
      "SELECT id, time, category, subject, evidence FROM incident WHERE time >= ?1 AND time < ?2 "
      "ORDER BY time, id");
  q.bind(1, from).bind(2, to);
  std::vector<Incident> out;
  while (q.step()) {
    out.push_back(Incident{q.uint64(0), q.int64(1), q.text(2), q.text(3), q.text(4)});
  }
  return out;
}

std::map<std::string, std::uint64_t> KeeperStore::incident_counts(std::int64_t from,
                                                                  std::int64_t to) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "count incidents");
  auto q = db_->query(
      "SELECT category, count(*) FROM incident WHERE time >= ?1 AND time < ?2 GROUP BY category");
  q.bind(1, from).bind(2, to);
  std::map<std::string, std::uint64_t> out;
  while (q.step()) {
    out[q.text(0)] = q.uint64(1);
  }
  return out;
}

std::optional<KeeperStore::TimeSpan> KeeperStore::incident_span() const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read the incident time span");
  auto q = db_->query("SELECT min(time), max(time) FROM incident");
  if (!q.step() || q.is_null(0)) {
    return std::nullopt;
  }
  return TimeSpan{q.int64(0), q.int64(1)};
}

// ---- summary -----------------------------------------------------------------------------------

KeeperStore::Summary KeeperStore::summary() const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "count its rows");
  Summary out;
  out.schema_version = std::stoi(db_->query_text("PRAGMA user_version").value_or("0"));
  auto count = [&](const char* sql) {
    auto q = db_->query(sql);
    return q.step() ? q.uint64(0) : 0;
  };
  out.transactions = count("SELECT count(*) FROM tx");
  out.open_transactions =
      count("SELECT count(*) FROM tx WHERE state NOT IN ('finalized', 'fatal')");
  out.price_observations = count("SELECT count(*) FROM price_observation");
  out.closes = count("SELECT count(*) FROM price_close");
  out.incidents = count("SELECT count(*) FROM incident");
  out.meta_entries = count("SELECT count(*) FROM meta");
  for (const auto st : {ReportState::kPending, ReportState::kAccepted, ReportState::kRefused}) {
    out.reports_by_state[std::string(to_string(st))] = 0;
  }
  auto q = db_->query("SELECT state, count(*) FROM report GROUP BY state");
  while (q.step()) {
    out.reports_by_state[q.text(0)] = q.uint64(1);
  }
  return out;
}

// ---- meta --------------------------------------------------------------------------------------

void KeeperStore::set_meta(std::string_view key, std::string_view value) {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "set meta " + quote_text(key));
  auto q = db_->query(
      "INSERT INTO meta (name, value) VALUES (?1, ?2) "
      "ON CONFLICT (name) DO UPDATE SET value = excluded.value");
  q.bind(1, key).bind(2, value);
  q.run();
}

std::optional<std::string> KeeperStore::meta(std::string_view key) const {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "read meta " + quote_text(key));
  auto q = db_->query("SELECT value FROM meta WHERE name = ?1");
  q.bind(1, key);
  if (!q.step()) {
    return std::nullopt;
  }
  return q.text(0);
}

void KeeperStore::erase_meta(std::string_view key) {
  std::lock_guard lock(mu_);
  Doing doing(*db_, "erase meta " + quote_text(key));
  auto q = db_->query("DELETE FROM meta WHERE name = ?1");
  q.bind(1, key);
  q.run();
}

}  // namespace varkeeper::keeper
