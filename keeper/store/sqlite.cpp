#include "keeper/store/sqlite.hpp"

#include <sqlite3.h>

#include <utility>

namespace varkeeper::keeper::sqlite {

namespace {

StoreErrorKind kind_of(int rc) noexcept {
  switch (rc & 0xff) {  // primary result code (https://sqlite.org/rescode.html)
    case SQLITE_NOTADB: return StoreErrorKind::kNotADatabase;
    case SQLITE_CORRUPT: return StoreErrorKind::kCorrupt;
    case SQLITE_CONSTRAINT: return StoreErrorKind::kConstraint;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return StoreErrorKind::kBusy;
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return StoreErrorKind::kCannotOpen;
    default: return StoreErrorKind::kOther;
  }
}

}  // namespace

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_break = false;
  for (const char c : text) {
    if (c == '\n' || c == '\r') {
      pending_break = !out.empty();
      continue;
    }
    if (pending_break) {
      out += "; ";
      pending_break = false;
    }
    out += c == '\t' ? ' ' : c;
  }
  return out;
}

// ---- Statement -------------------------------------------------------------------------------

Statement::Statement(Database& db, std::string_view sql) : db_(&db) {
  const int rc = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    db.fail(rc, db.context().empty() ? "prepare a statement" : db.context());
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

namespace {
void check_bind(const Database& db, int rc) {
  if (rc != SQLITE_OK) {
    db.fail(rc, db.context().empty() ? "bind a value" : db.context());
  }
}
}  // namespace

void Statement::bind_int64(int index, std::int64_t value) {
  check_bind(*db_, sqlite3_bind_int64(stmt_, index, value));
}

void Statement::bind_uint64(int index, std::uint64_t value) {
  if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    throw StoreError(StoreErrorKind::kInvalidValue,
                     "cannot " +
                         (db_->context().empty() ? std::string("store a value") : db_->context()) +
                         " in store file " + db_->path() + ": the integer " +
                         std::to_string(value) + " is above 2^63-1, the largest SQLite integer");
  }
  bind_int64(index, static_cast<std::int64_t>(value));
}

void Statement::bind_double(int index, double value) {
  check_bind(*db_, sqlite3_bind_double(stmt_, index, value));
}

void Statement::bind_text(int index, std::string_view value) {
  check_bind(*db_, sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                       SQLITE_UTF8));
}

void Statement::bind_blob(int index, chain::ByteView value) {
  // A zero-length blob must still be a blob, not NULL: bind a non-null pointer.
  static constexpr std::uint8_t kEmpty = 0;
  const void* data = value.empty() ? static_cast<const void*>(&kEmpty) : value.data();
  check_bind(*db_, sqlite3_bind_blob64(stmt_, index, data, value.size(), SQLITE_TRANSIENT));
}

void Statement::bind_null(int index) { check_bind(*db_, sqlite3_bind_null(stmt_, index)); }

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  // sqlite3_step's error message belongs to the connection; read it before resetting.
  db_->fail(rc, db_->context().empty() ? "run a statement" : db_->context());
}

void Statement::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::uint64_t Statement::uint64(int column) const {
  const std::int64_t v = sqlite3_column_int64(stmt_, column);
  if (v < 0) {
    throw StoreError(StoreErrorKind::kCorrupt,
                     "store file " + db_->path() +
                         " holds a negative value in the unsigned column " +
                         sqlite3_column_name(stmt_, column));
  }
  return static_cast<std::uint64_t>(v);
}

double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  if (p == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

chain::Bytes Statement::blob(int column) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  if (p == nullptr || n <= 0) {
    return {};
  }
  return chain::Bytes(p, p + n);
}

// ---- Database --------------------------------------------------------------------------------

Database::Database(std::string path) : path_(std::move(path)) {
  const int rc =
      sqlite3_open_v2(path_.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = one_line(db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw StoreError(StoreErrorKind::kCannotOpen, "cannot open store file " + path_ + ": " + why);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Database::~Database() {
  cache_.clear();  // finalize every statement before closing the connection
  sqlite3_close_v2(db_);
}

void Database::exec(std::string_view sql) {
  const std::string text(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);  // the same text is available from sqlite3_errmsg
  if (rc != SQLITE_OK) {
    fail(rc, context_.empty() ? "run a statement" : context_);
  }
}

Query Database::query(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    it = cache_.emplace(std::string(sql), std::make_unique<Statement>(*this, sql)).first;
  }
  return Query(*it->second);
}

std::optional<std::string> Database::query_text(std::string_view sql) {
  Statement st(*this, sql);
  if (!st.step()) {
    return std::nullopt;
  }
  return st.text(0);
}

std::int64_t Database::last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }

int Database::changes() const noexcept { return sqlite3_changes(db_); }

bool Database::in_transaction() const noexcept { return sqlite3_get_autocommit(db_) == 0; }

void Database::fail(int rc, std::string_view doing) const {
  const StoreErrorKind kind = kind_of(rc);
  const std::string why = one_line(
      db_ != nullptr && sqlite3_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  switch (kind) {
    case StoreErrorKind::kNotADatabase:
      throw StoreError(kind, "store file " + path_ +
                                 " is not a SQLite database (it may be another kind of file, "
                                 "encrypted, or overwritten)");
    case StoreErrorKind::kCorrupt:
      throw StoreError(kind, "store file " + path_ + " is corrupt (" + why +
                                 "); restore it from a backup or move it away to start afresh");
    case StoreErrorKind::kBusy:
      throw StoreError(kind, "cannot " + std::string(doing) + " in store file " + path_ +
                                 ": another process holds its lock (" + why + ")");
    default:
      throw StoreError(kind,
                       "cannot " + std::string(doing) + " in store file " + path_ + ": " + why);
  }
}

}  // namespace varkeeper::keeper::sqlite
