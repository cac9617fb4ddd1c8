#include "risk/garch_fit_cache.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace varkeeper::risk {
namespace {

// FNV-1a (64-bit) over the column's bytes: only a pre-check, a hit is confirmed by the bytes.
std::uint64_t column_hash(std::span<const double> x) {
  std::uint64_t h = 14695981039346656037ULL;
  const auto* p = reinterpret_cast<const unsigned char*>(x.data());
  for (std::size_t i = 0; i < x.size_bytes(); ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

bool same_bytes(std::span<const double> a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

}  // namespace

GarchFitCache::GarchFitCache(std::size_t capacity) : capacity_(capacity) {
  if (capacity == 0) {
    throw std::invalid_argument("a fit cache needs room for at least one column.");
  }
  entries_.reserve(capacity);
}

GarchFit GarchFitCache::fit(std::span<const double> column) {
  const std::uint64_t hash = column_hash(column);
  {
    const std::lock_guard lock(mutex_);
    for (auto& e : entries_) {
      if (e.hash == hash && same_bytes(column, e.column)) {
        e.last_used = ++clock_;
        ++hits_;
        return e.fit;
      }
    }
    ++misses_;
  }
  GarchFit fresh = fit_garch(column);
  const std::lock_guard lock(mutex_);
  // Another thread may have inserted the same column meanwhile; its fit is identical.
  const bool present = std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.hash == hash && same_bytes(column, e.column);
  });
  if (!present) {
    Entry entry{hash, std::vector<double>(column.begin(), column.end()), fresh, ++clock_};
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

std::size_t GarchFitCache::hits() const {
  const std::lock_guard lock(mutex_);
  return hits_;
}

std::size_t GarchFitCache::misses() const {
  const std::lock_guard lock(mutex_);
  return misses_;
}

std::size_t GarchFitCache::size() const {
  const std::lock_guard lock(mutex_);
  return entries_.size();
}

GarchFitCache& shared_garch_fit_cache() {
  static GarchFitCache cache(256);
  return cache;
}

}  // namespace varkeeper::risk
