#include "risk/returns.hpp"

#include <doctest/doctest.h>

#include <cmath>

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
