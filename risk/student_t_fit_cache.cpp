#include "risk/student_t_fit_cache.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace varkeeper::risk {
namespace {

// FNV-1a (64-bit) over the window's bytes and its asset count: only a fast pre-check, a hit is
// confirmed by comparing the bytes.
std::uint64_t window_hash(std::span<const double> returns, std::size_t n_assets) {
  std::uint64_t h = 14695981039346656037ULL;
  const auto mix = [&h](const unsigned char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ULL;
    }
  };
  mix(reinterpret_cast<const unsigned char*>(&n_assets), sizeof n_assets);
  mix(reinterpret_cast<const unsigned char*>(returns.data()), returns.size_bytes());
  return h;
}

bool same_bytes(std::span<const double> a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

}  // namespace

StudentTFitCache::StudentTFitCache(std::size_t capacity) : capacity_(capacity) {
  if (capacity == 0) {
    throw std::invalid_argument("a fit cache needs room for at least one window.");
  }
  entries_.reserve(capacity);
}

MultivariateTFit StudentTFitCache::fit(std::span<const double> returns, std::size_t n_assets) {
  const std::uint64_t hash = window_hash(returns, n_assets);
  {
    const std::lock_guard lock(mutex_);
    for (auto& e : entries_) {
      if (e.hash == hash && e.n_assets == n_assets && same_bytes(returns, e.returns)) {
        e.last_used = ++clock_;
        ++hits_;
        return e.fit;
      }
    }
    ++misses_;
  }
  MultivariateTFit fresh = fit_multivariate_t(returns, n_assets);
  const std::lock_guard lock(mutex_);
  // Another thread may have inserted the same window meanwhile; its fit is identical.
  const bool present = std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.hash == hash && e.n_assets == n_assets && same_bytes(returns, e.returns);
  });
  if (!present) {
    Entry entry{hash, n_assets, std::vector<double>(returns.begin(), returns.end()), fresh,
                ++clock_};
    if (entries_.size() < capacity_) {
      entries_.push_back(std::move(entry));
    } else {
      auto oldest = std::min_element(
          entries_.begin(), entries_.end(),
          [](const Entry& a, const Entry& b) { return a.last_used < b.last_used; });
      *oldest = std::move(entry);
    }
  }
  return fresh;
}

std::size_t StudentTFitCache::hits() const {
  const std::lock_guard lock(mutex_);
  return hits_;
}

std::size_t StudentTFitCache::misses() const {
  const std::lock_guard lock(mutex_);
  return misses_;
}

std::size_t StudentTFitCache::size() const {
  const std::lock_guard lock(mutex_);
  return entries_.size();
}

StudentTFitCache& shared_student_t_fit_cache() {
  static StudentTFitCache cache(64);
  return cache;
}

}  // namespace varkeeper::risk
