#include "chain/hex.hpp"

#include <doctest/doctest.h>

using namespace varkeeper::chain;

TEST_CASE("hex decodes with and without the 0x prefix and round-trips") {
  auto a = from_hex("0x00ff10Ab");
  REQUIRE(a);
  CHECK(*a == Bytes{0x00, 0xff, 0x10, 0xab});
  auto b = from_hex("00ff10ab");
  REQUIRE(b);
  CHECK(*b == *a);
  CHECK(to_hex(*a) == "0x00ff10ab");
  CHECK(to_hex(*a, false) == "00ff10ab");
  auto empty = from_hex("0x");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("hex rejects malformed input with the specific error") {
  struct Case {
    const char* text;
    HexPrefix prefix;
    HexError error;
  };
  const Case cases[] = {
      {"abcd", HexPrefix::kRequired, HexError::kMissingPrefix},
      {"0xabc", HexPrefix::kOptional, HexError::kOddLength},
      {"0xzz", HexPrefix::kOptional, HexError::kBadDigit},
      {"0x0g", HexPrefix::kOptional, HexError::kBadDigit},
      {"0x 1", HexPrefix::kOptional, HexError::kBadDigit},
      {"x12", HexPrefix::kOptional, HexError::kOddLength},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto r = from_hex(c.text, c.prefix);
    REQUIRE_FALSE(r);
    CHECK(r.error() == c.error);
  }
  auto fixed = from_hex_fixed<20>("0x1234");
  REQUIRE_FALSE(fixed);
  CHECK(fixed.error() == HexError::kWrongLength);
}
