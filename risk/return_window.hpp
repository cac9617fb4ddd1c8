// The window of returns every risk method reads.
#pragma once

#include <cstddef>
#include <span>

namespace varkeeper::risk {

// T x N log-returns, row-major: returns[t * n_assets + i] is asset i's return in period t
// (oldest first). Rows are already aligned on common dates (risk/returns.hpp builds them).
struct ReturnWindow {
  std::span<const double> returns;
  std::size_t n_assets = 0;
  [[nodiscard]] std::size_t n_obs() const noexcept {
    return n_assets == 0 ? 0 : returns.size() / n_assets;
  }
};

}  // namespace varkeeper::risk
