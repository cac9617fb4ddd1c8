// A memo of GARCH(1,1) fits keyed on the exact return column (issue 17, scale): filtered historical
// simulation fits one GARCH per asset held, and a keeper whose portfolios share assets would
// otherwise refit the identical column once per portfolio and tick (1,000 portfolios x 20 assets:
// 20,000 fits of ~7 ms for 20 distinct columns). fit_garch is a pure function of the column's
// bytes, so a hit returns exactly what a fresh fit would: every figure is bit-identical with or
// without the memo, whatever was fitted before.
//
// A hit needs the same hash and the same bytes (the column is stored and compared). Bounded: at
// most `capacity` columns, the least recently used evicted first. Thread-safe: the lock is held
// only to look up and to insert, never during a fit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "risk/garch.hpp"

namespace varkeeper::risk {

class GarchFitCache {
 public:
  explicit GarchFitCache(std::size_t capacity);

  // fit_garch(column), reused if this exact column was fitted recently.
  [[nodiscard]] GarchFit fit(std::span<const double> column);

  [[nodiscard]] std::size_t hits() const;
  [[nodiscard]] std::size_t misses() const;
  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    std::uint64_t hash = 0;
    std::vector<double> column;
    GarchFit fit;
    std::uint64_t last_used = 0;
  };

  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  std::uint64_t clock_ = 0;
  std::size_t hits_ = 0;
  std::size_t misses_ = 0;
};

// The process-wide memo filter_returns uses (256 columns).
[[nodiscard]] GarchFitCache& shared_garch_fit_cache();

}  // namespace varkeeper::risk
