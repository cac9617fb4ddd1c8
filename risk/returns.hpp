// Returns from price series. Inside risk/, returns are log-returns unless a name says otherwise.
//
// The one builder of the return matrix the risk engine reads (risk::ReturnWindow): the keeper's
// pipeline, `varkeeper var` and `varkeeper backtest` all turn their aligned prices into returns
// here, so they agree bit for bit.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace varkeeper::risk {

// Log-returns of price rows. `prices` is T x n_assets, row-major, oldest first, each row the
// prices of every asset on one common date; the result is (T - 1) x n_assets, row-major:
//   r[t * n_assets + i] = ln(p[t + 1][i] / p[t][i]).
// n_assets = 1 is a single series. Fewer than two rows give no returns. Prices must be positive
// and finite (checked by the caller's parser). Throws std::invalid_argument if n_assets is 0 or
// `prices` is not a whole number of rows.
[[nodiscard]] std::vector<double> log_returns(std::span<const double> prices,
                                              std::size_t n_assets = 1);

// Simple returns of price rows, laid out as log_returns: r = p[t + 1][i] / p[t][i] - 1.
[[nodiscard]] std::vector<double> simple_returns(std::span<const double> prices,
                                                 std::size_t n_assets = 1);

// ln(1 + r) of each simple return (any layout: element by element), e.g. a file of per-period
// simple returns read as the log-returns the engine uses. Each r must be above -1.
[[nodiscard]] std::vector<double> log_returns_from_simple(std::span<const double> simple);

}  // namespace varkeeper::risk
