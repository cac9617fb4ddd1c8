#include "chain/uint256.hpp"

#include <doctest/doctest.h>

#include "chain/hex.hpp"

using namespace varkeeper::chain;

TEST_CASE("u256 big-endian load and store round-trip at the edges") {
  const U256 max = ~U256(0);
  CHECK(to_hex(u256_to_be32(max)) == "0x" + std::string(64, 'f'));
  CHECK(to_hex(u256_to_be32(U256(1))) == "0x" + std::string(63, '0') + "1");
  CHECK(u256_to_be_minimal(U256(0)).empty());
  CHECK(u256_to_be_minimal(U256(0x0400)) == Bytes{0x04, 0x00});
  auto word = u256_to_be32(max);
  auto back = u256_from_be(word);
  REQUIRE(back);
  CHECK(*back == max);
  Bytes too_long(33, 0);
  auto r = u256_from_be(too_long);
  REQUIRE_FALSE(r);
  CHECK(r.error() == UintError::kTooLong);
}

TEST_CASE("JSON-RPC quantities are strict") {
  CHECK(*u256_from_quantity("0x0") == 0);
  CHECK(*u256_from_quantity("0x41") == 65);
  CHECK(u256_from_quantity("0x01").error() == UintError::kLeadingZero);
  CHECK(u256_from_quantity("41").error() == UintError::kMissingPrefix);
  CHECK(u256_from_quantity("0x").error() == UintError::kEmpty);
  CHECK(u256_from_quantity("0xg").error() == UintError::kBadDigit);
  CHECK(u256_from_quantity("0x1" + std::string(64, '0')).error() == UintError::kTooLong);
  CHECK(u256_to_quantity(U256(0)) == "0x0");
  CHECK(u256_to_quantity(U256(1024)) == "0x400");
}

TEST_CASE("decimal and hex user input parse, overflow is refused") {
  CHECK(*u256_from_string("1000000000000000000") == U256("1000000000000000000"));
  CHECK(*u256_from_string("0x00ff") == 255);
  const std::string max_dec =
      "115792089237316195423570985008687907853269984665640564039457584007913129639935";
  CHECK(*u256_from_string(max_dec) == ~U256(0));
  CHECK(u256_from_string(max_dec.substr(0, max_dec.size() - 1) + "6").error() ==
        UintError::kTooLong);
  CHECK(u256_from_string("12a").error() == UintError::kBadDigit);
  CHECK(u256_to_decimal(U256(42)) == "42");
}
