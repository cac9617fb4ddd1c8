// The one exception type of the keeper's store (keeper/store.hpp, keeper/sqlite.hpp). Its message
// is one sentence naming the store file and what is wrong with it; kind() lets a caller act on it
// (the CLI maps every kind to a non-zero exit code, the pipeline treats kConstraint as a bug).
#pragma once

#include <stdexcept>
#include <string>

namespace varkeeper::keeper {

enum class StoreErrorKind {
  kCannotOpen,    // the file or its directory cannot be created, opened or written
  kNotADatabase,  // the file is not a SQLite database, or is a SQLite database of another program
  kCorrupt,       // SQLite reports damage (SQLITE_CORRUPT, or integrity_check not "ok")
  kNewerSchema,   // written by a newer varkeeper (schema version above the one this build knows)
  kConstraint,    // a UNIQUE/CHECK/FOREIGN KEY constraint refused a write
  kBusy,          // another process held the database lock longer than the busy timeout
  kInvalidValue,  // a value the store cannot represent (e.g. an integer above 2^63-1)
  kOther,         // any other SQLite failure (disk full, I/O error, ...)
};

class StoreError : public std::runtime_error {
 public:
  StoreError(StoreErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  [[nodiscard]] StoreErrorKind kind() const noexcept { return kind_; }

 private:
  StoreErrorKind kind_;
};

}  // namespace varkeeper::keeper
