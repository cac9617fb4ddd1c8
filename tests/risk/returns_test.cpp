#include "risk/returns.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

using namespace varkeeper::risk;

TEST_CASE("log and simple returns of a price path") {
  const std::vector<double> prices{100.0, 110.0, 99.0};
  const auto lr = log_returns(prices);
  REQUIRE(lr.size() == 2);
  CHECK(lr[0] == doctest::Approx(std::log(1.1)).epsilon(1e-15));
  CHECK(lr[1] == doctest::Approx(std::log(0.9)).epsilon(1e-15));
  const auto sr = simple_returns(prices);
  REQUIRE(sr.size() == 2);
  CHECK(sr[0] == doctest::Approx(0.1).epsilon(1e-14));
  CHECK(sr[1] == doctest::Approx(-0.1).epsilon(1e-14));
  CHECK(log_returns(std::vector<double>{5.0}).empty());
}

TEST_CASE("the return matrix of price rows is row-major, per asset, ln(p[t+1] / p[t]) exactly") {
  // Three dates x two assets, row-major: (100, 2000), (110, 1800), (99, 1890).
  const std::vector<double> prices{100.0, 2000.0, 110.0, 1800.0, 99.0, 1890.0};
  const auto r = log_returns(prices, 2);
  REQUIRE(r.size() == 4);
  // Bit for bit what the pipeline, `var` and `backtest` computed inline before.
  CHECK(r[0] == std::log(110.0 / 100.0));
  CHECK(r[1] == std::log(1800.0 / 2000.0));
  CHECK(r[2] == std::log(99.0 / 110.0));
  CHECK(r[3] == std::log(1890.0 / 1800.0));
  const auto s = simple_returns(prices, 2);
  REQUIRE(s.size() == 4);
  CHECK(s[1] == 1800.0 / 2000.0 - 1.0);
  CHECK(s[2] == 99.0 / 110.0 - 1.0);
  CHECK(log_returns(std::vector<double>{1.0, 2.0}, 2).empty());  // one row: no return
  CHECK(log_returns(std::vector<double>{}, 3).empty());
}

TEST_CASE("a price matrix that is not whole rows of assets is refused") {
  const std::vector<double> prices{1.0, 2.0, 3.0};
  CHECK_THROWS_AS((void)log_returns(prices, 2), std::invalid_argument);
  CHECK_THROWS_AS((void)log_returns(prices, 0), std::invalid_argument);
  CHECK_THROWS_AS((void)simple_returns(prices, 2), std::invalid_argument);
}

TEST_CASE("simple returns become log-returns element by element") {
  const std::vector<double> simple{0.01, -0.02, 0.0};
  const auto r = log_returns_from_simple(simple);
  REQUIRE(r.size() == 3);
  CHECK(r[0] == std::log1p(0.01));
  CHECK(r[1] == std::log1p(-0.02));
  CHECK(r[2] == 0.0);
}
