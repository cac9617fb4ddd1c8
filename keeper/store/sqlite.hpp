// A thin RAII layer over the SQLite C API for the keeper's store: one Database owns the sqlite3*
// and a cache of prepared statements (each SQL text is compiled once per connection); a Query
// borrows a cached statement, binds typed values by position, steps it, and resets it when it goes
// out of scope. Every failure throws StoreError with one sentence naming the database file.
// sqlite3.h stays out of this header (the keeper links SQLite privately).
#pragma once

#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "chain/bytes.hpp"
#include "keeper/store/store_error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace varkeeper::keeper::sqlite {

class Database;

// A prepared statement (sqlite3_stmt*), finalized on destruction.
class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are numbered from 1, as in sqlite3_bind_*.
  void bind_int64(int index, std::int64_t value);
  // Refuses values above INT64_MAX (SQLite integers are signed 64-bit) with kInvalidValue.
  void bind_uint64(int index, std::uint64_t value);
  void bind_double(int index, double value);
  void bind_text(int index, std::string_view value);
  void bind_blob(int index, chain::ByteView value);
  void bind_null(int index);

  // true: a row is available; false: the statement has run to completion.
  bool step();
  // Resets the statement and clears its bindings so it can run again.
  void reset() noexcept;

  [[nodiscard]] bool is_null(int column) const;
  [[nodiscard]] std::int64_t int64(int column) const;
  // Refuses a negative stored value with kInvalidValue (the column is documented unsigned).
  [[nodiscard]] std::uint64_t uint64(int column) const;
  [[nodiscard]] double real(int column) const;
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] chain::Bytes blob(int column) const;

 private:
  Database* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Borrows a cached Statement; resets it on destruction. Obtained from Database::query.
class Query {
 public:
  explicit Query(Statement& statement) : s_(&statement) {}
  ~Query() { s_->reset(); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  template <std::integral T>
  Query& bind(int index, T value) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      s_->bind_uint64(index, value);
    } else {
      s_->bind_int64(index, static_cast<std::int64_t>(value));
    }
    return *this;
  }
  Query& bind(int index, double value) {
    s_->bind_double(index, value);
    return *this;
  }
  Query& bind(int index, std::string_view value) {
    s_->bind_text(index, value);
    return *this;
  }
  Query& bind(int index, const std::string& value) {
    s_->bind_text(index, value);
    return *this;
  }
  Query& bind(int index, const char* value) {
    s_->bind_text(index, value);
    return *this;
  }
  Query& bind(int index, chain::ByteView value) {
    s_->bind_blob(index, value);
    return *this;
  }
  Query& bind(int index, const chain::Bytes& value) {
    s_->bind_blob(index, value);
    return *this;
  }
  Query& bind(int index, std::nullopt_t) {
    s_->bind_null(index);
    return *this;
  }
  template <class T>
  Query& bind(int index, const std::optional<T>& value) {
    if (value) {
      return bind(index, *value);
    }
    s_->bind_null(index);
    return *this;
  }

  bool step() { return s_->step(); }
  // Runs a statement that returns no rows.
  void run() {
    while (s_->step()) {
    }
  }
  [[nodiscard]] bool is_null(int c) const { return s_->is_null(c); }
  [[nodiscard]] std::int64_t int64(int c) const { return s_->int64(c); }
  [[nodiscard]] std::uint64_t uint64(int c) const { return s_->uint64(c); }
  [[nodiscard]] double real(int c) const { return s_->real(c); }
  [[nodiscard]] std::string text(int c) const { return s_->text(c); }
  [[nodiscard]] chain::Bytes blob(int c) const { return s_->blob(c); }

 private:
  Statement* s_;
};

// `text` with every run of line breaks and tabs replaced by "; " or a space, so SQLite's
// multi-line diagnostics (integrity_check) fit the one-sentence error convention.
[[nodiscard]] std::string one_line(std::string_view text);

// One connection (sqlite3*), closed on destruction after its cached statements are finalized.
class Database {
 public:
  // Opens (creating if needed) the file read-write. SQLite opens lazily: a file that is not a
  // database is only detected by the first statement that reads it.
  explicit Database(std::string path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] sqlite3* handle() const noexcept { return db_; }

  // Runs one or more SQL statements that return no rows (schema steps, BEGIN/COMMIT, pragmas).
  void exec(std::string_view sql);
  // A cached prepared statement of `sql`, bound by the caller; reset when the Query dies.
  [[nodiscard]] Query query(std::string_view sql);
  // The first column of the first row of `sql` as text (for pragmas); nullopt if no row.
  [[nodiscard]] std::optional<std::string> query_text(std::string_view sql);

  [[nodiscard]] std::int64_t last_insert_rowid() const noexcept;
  [[nodiscard]] int changes() const noexcept;
  // true inside BEGIN ... COMMIT (sqlite3_get_autocommit is 0).
  [[nodiscard]] bool in_transaction() const noexcept;

  // Throws the StoreError for result code `rc`: "cannot <doing> in store file <path>: <why>".
  [[noreturn]] void fail(int rc, std::string_view doing) const;
  // What the current statement is doing, for the error message ("save transaction 3").
  void set_context(std::string context) { context_ = std::move(context); }
  [[nodiscard]] const std::string& context() const noexcept { return context_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> cache_;
  std::string context_;
};

}  // namespace varkeeper::keeper::sqlite
