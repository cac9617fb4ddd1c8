#include "risk/returns.hpp"

#include <cmath>
#include <stdexcept>

namespace varkeeper::risk {
namespace {

// Applies f(p[t][i], p[t + 1][i]) to consecutive rows of a row-major price matrix.
template <class F>
std::vector<double> row_changes(std::span<const double> prices, std::size_t n_assets, F f) {
  if (n_assets == 0 || prices.size() % n_assets != 0) {
    throw std::invalid_argument("the prices are not a whole number of rows of assets.");
  }
  std::vector<double> out;
  const std::size_t rows = prices.size() / n_assets;
  if (rows < 2) {
    return out;
  }
  out.reserve((rows - 1) * n_assets);
  for (std::size_t k = n_assets; k < prices.size(); ++k) {
    out.push_back(f(prices[k - n_assets], prices[k]));
  }
  return out;
}

}  // namespace

std::vector<double> log_returns(std::span<const double> prices, std::size_t n_assets) {
  return row_changes(prices, n_assets,
                     [](double before, double after) { return std::log(after / before); });
}

std::vector<double> simple_returns(std::span<const double> prices, std::size_t n_assets) {
  return row_changes(prices, n_assets,
                     [](double before, double after) { return after / before - 1.0; });
}

std::vector<double> log_returns_from_simple(std::span<const double> simple) {
  std::vector<double> out;
  out.reserve(simple.size());
  for (double r : simple) {
    out.push_back(std::log1p(r));
  }
  return out;
}

}  // namespace varkeeper::risk
