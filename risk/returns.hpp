// Returns from price series. Inside risk/, returns are log-returns unless a name says otherwise.
#pragma once

#include <span>
#include <vector>

namespace varkeeper::risk {

// r_t = ln(p_t / p_{t-1}); prices must be positive and finite (checked by the caller's parser).
[[nodiscard]] std::vector<double> log_returns(std::span<const double> prices);

// r_t = p_t / p_{t-1} - 1.
[[nodiscard]] std::vector<double> simple_returns(std::span<const double> prices);

}  // namespace varkeeper::risk
