#include "chain/keccak.hpp"

#include <doctest/doctest.h>

#include "chain/hex.hpp"

using namespace varkeeper::chain;

TEST_CASE("keccak256 matches the published Keccak-256 vectors, not SHA3-256") {
  struct Case {
    std::string_view input;
    const char* digest;
  };
  const Case cases[] = {
      {"", "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
      {"abc", "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
      // The ERC-20 Transfer event topic.
      {"Transfer(address,address,uint256)",
       "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    CHECK(to_hex(keccak256(c.input)) == c.digest);
  }
  // SHA3-256("") would be a7ffc6f8...; make sure we are not that.
  CHECK(to_hex(keccak256(std::string_view{})).substr(0, 10) != "0xa7ffc6f8");
}
