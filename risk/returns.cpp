#include "risk/returns.hpp"

#include <cmath>

namespace varkeeper::risk {

std::vector<double> log_returns(std::span<const double> prices) {
  std::vector<double> out;
  if (prices.size() < 2) return out;
  out.reserve(prices.size() - 1);
  for (std::size_t i = 1; i < prices.size(); ++i)
    out.push_back(std::log(prices[i] / prices[i - 1]));
  return out;
}

std::vector<double> simple_returns(std::span<const double> prices) {
  std::vector<double> out;
  if (prices.size() < 2) return out;
  out.reserve(prices.size() - 1);
  for (std::size_t i = 1; i < prices.size(); ++i) out.push_back(prices[i] / prices[i - 1] - 1.0);
  return out;
}

}  // namespace varkeeper::risk
