// keeper/core/units: feed answers and token amounts (the conversions the embedded local chain
// used to write by hand), at the edges DESIGN §3 names: 0, tiny, huge, negative refused.
#include "keeper/core/units.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>

using varkeeper::chain::U256;
using namespace varkeeper::keeper;

namespace {
U256 pow10(int n) {
  U256 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}
}  // namespace

TEST_CASE("a price becomes a feed answer rounded half up, not truncated") {
  // 0.29 * 1e8 is 28999999.999999996 in binary: a cast truncates it to 28999999.
  CHECK(static_cast<std::int64_t>(0.29 * 1e8) == 28'999'999);
  CHECK(to_feed_answer(0.29, 8) == U256(29'000'000));
  CHECK(to_feed_answer(4.35, 8) == U256(435'000'000));  // 434999999.99999994 in binary
  CHECK(to_feed_answer(3000.0, 8) == U256(300'000'000'000ULL));
  CHECK(to_feed_answer(60000.0, 8) == U256(6'000'000'000'000ULL));
  CHECK(to_feed_answer(2963.987654321, 8) == U256(296'398'765'432ULL));  // ...4321 rounds down
  CHECK(to_feed_answer(2963.987654325, 8) == U256(296'398'765'433ULL));  // ...4325 half up
  CHECK(to_feed_answer(1.0, 0) == U256(1));
  CHECK(to_feed_answer(1.0, 18) == pow10(18));
}

TEST_CASE("a feed answer at the edges: zero, tiny, huge, negative and non-finite") {
  CHECK(to_feed_answer(0.0, 8) == U256(0));
  CHECK(to_feed_answer(-0.0, 8) == U256(0));
  CHECK(to_feed_answer(4e-9, 8) == U256(0));  // 0.4 of the last decimal rounds down
  CHECK(to_feed_answer(5e-9, 8) == U256(1));  // half up
  CHECK(to_feed_answer(1e-8, 8) == U256(1));
  CHECK(to_feed_answer(1e-300, 8) == U256(0));
  CHECK(to_feed_answer(1e52, 8) == pow10(60));
  CHECK_THROWS_AS((void)to_feed_answer(1e53, 8), UnitError);  // more digits than it can scale
  // int256: the answer must stay below 2^255 (the sign bit); a token amount may use all 256 bits.
  CHECK_THROWS_AS((void)to_feed_answer(6.0000000000000275e40, 36), UnitError);
  CHECK(to_token_units(6.0000000000000275e40, 36) == U256(60'000'000'000'000'275ULL) * pow10(60));
  CHECK_THROWS_AS((void)to_feed_answer(-0.01, 8), UnitError);
  CHECK_THROWS_AS((void)to_feed_answer(-1e-300, 8), UnitError);
  CHECK_THROWS_AS((void)to_feed_answer(std::nan(""), 8), UnitError);
  CHECK_THROWS_AS((void)to_feed_answer(INFINITY, 8), UnitError);
  CHECK_THROWS_AS((void)to_feed_answer(1.0, -1), UnitError);
  CHECK_THROWS_AS((void)to_feed_answer(1.0, 37), UnitError);
}

TEST_CASE("a token amount becomes base units rounded half up, at the edges") {
  CHECK(to_token_units(0.0, 18) == U256(0));
  CHECK(to_token_units(200.0, 18) == U256(200) * pow10(18));
  CHECK(to_token_units(30'000'000.0, 6) == U256(30'000'000) * pow10(6));
  CHECK(to_token_units(1.5e-18, 18) == U256(2));  // half up
  CHECK(to_token_units(1.4e-18, 18) == U256(1));
  CHECK(to_token_units(4e-19, 18) == U256(0));
  // An AMM swap of 0.1 token: the shortest decimal 0.1, not the binary 0.1000000000000000055...
  CHECK(to_token_units(0.1, 18) == pow10(17));
  CHECK(to_token_units(123.456789, 6) == U256(123'456'789));
  CHECK(to_token_units(1e40, 18) == pow10(58));
  CHECK_THROWS_AS((void)to_token_units(-1e-12, 18), UnitError);
  CHECK_THROWS_AS((void)to_token_units(-1.0, 6), UnitError);
  CHECK_THROWS_AS((void)to_token_units(std::nan(""), 18), UnitError);
  CHECK_THROWS_AS((void)to_token_units(-INFINITY, 18), UnitError);
}

TEST_CASE("from_fixed reads a token amount or a feed answer back") {
  CHECK(from_fixed(U256(0), 18) == 0.0);
  CHECK(from_fixed(U256(10'000) * pow10(18), 18) == 10'000.0);
  CHECK(from_fixed(U256(30'000'000) * pow10(6), 6) == 30'000'000.0);
  CHECK(from_fixed(to_feed_answer(2963.99, 8), 8) == doctest::Approx(2963.99).epsilon(1e-15));
  CHECK(from_fixed(U256(1), 18) == doctest::Approx(1e-18).epsilon(1e-15));
}
