// A small memo of multivariate-t fits keyed on the exact return window, so portfolios that hold the
// same assets over the same window share one fit (the keeper and the simulator re-estimate every
// portfolio each tick; with several portfolios over one asset set the identical window would
// otherwise be fitted once per portfolio). The fit is a pure function of the window's bytes and the
// asset count, so a hit returns exactly what a fresh fit_multivariate_t would: results, and hence
// every published figure, are bit-identical with or without the cache, whatever was fitted before.
//
// A hit needs the same hash *and* the same bytes (the window is stored and compared). Bounded:
// at most `capacity` windows, the least recently used one evicted first. Thread-safe: the lock is
// held only to look up and to insert, never during a fit (two threads missing on the same window
// both fit it, and get the same answer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "risk/student_t_fit.hpp"

namespace varkeeper::risk {

class StudentTFitCache {
 public:
  explicit StudentTFitCache(std::size_t capacity);

  // fit_multivariate_t(returns, n_assets), reused if this exact window was fitted recently.
  // Throws what fit_multivariate_t throws (a failed fit is not remembered).
  [[nodiscard]] MultivariateTFit fit(std::span<const double> returns, std::size_t n_assets);

  [[nodiscard]] std::size_t hits() const;
  [[nodiscard]] std::size_t misses() const;
  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    std::uint64_t hash = 0;
    std::size_t n_assets = 0;
    std::vector<double> returns;
    MultivariateTFit fit;
    std::uint64_t last_used = 0;
  };

  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  std::uint64_t clock_ = 0;
  std::size_t hits_ = 0;
  std::size_t misses_ = 0;
};

// The process-wide cache estimate_risk uses for parametric-t and mc-t (64 windows).
[[nodiscard]] StudentTFitCache& shared_student_t_fit_cache();

}  // namespace varkeeper::risk
