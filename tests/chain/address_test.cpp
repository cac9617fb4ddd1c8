#include "chain/address.hpp"

#include <doctest/doctest.h>

#include <cctype>

#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "chain/secp256k1.hpp"

using namespace varkeeper::chain;

namespace {
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

TEST_CASE("EIP-55 checksums match every test case published in the EIP") {
  // ERC-55 "Test Cases": all caps, all lower, normal; the normal group is also the spec's
  // test() list.
  const char* cases[] = {
      // All caps
      "0x52908400098527886E0F7030069857D2E4169EE7",
      "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
      // All lower
      "0xde709f2102306220921060314715629080e2fb77",
      "0x27b1fdb04752bbc536007a920d24acb045561c26",
      // Normal
      "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
      "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
      "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
      "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
  };
  for (const char* text : cases) {
    CAPTURE(text);
    auto parsed = parse_address(text);
    REQUIRE(parsed.has_value());
    CHECK(to_checksum_address(*parsed) == text);
    // The lower-case and bare forms parse to the same bytes.
    auto from_lower = parse_address(lower(text));
    REQUIRE(from_lower.has_value());
    CHECK(*from_lower == *parsed);
    auto bare = parse_address(std::string_view{text}.substr(2));
    REQUIRE(bare.has_value());
    CHECK(*bare == *parsed);
  }
}

TEST_CASE("the address of private key 1 is the published 0x7E5F...5Bdf") {
  auto key =
      SecretKey::from_hex("0x0000000000000000000000000000000000000000000000000000000000000001");
  REQUIRE(key.has_value());
  CHECK(to_checksum_address(address_of(*key)) == "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
}

TEST_CASE("the EIP-712 example key keccak256(\"cow\") has the published address") {
  auto key = SecretKey::from_bytes(keccak256(std::string_view{"cow"}));
  REQUIRE(key.has_value());
  CHECK(to_checksum_address(address_of(*key)) == "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826");
}

TEST_CASE("a mixed-case address whose checksum is wrong is refused with kBadChecksum") {
  // One letter's case flipped in each published checksummed address.
  const char* cases[] = {
      "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
      "0xfb6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
      "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6Fb",
      "0xd1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
  };
  for (const char* text : cases) {
    CAPTURE(text);
    auto parsed = parse_address(text);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error() == AddressError::kBadChecksum);
  }
}

TEST_CASE("address text that is not 40 hex digits is refused with a precise error") {
  struct Case {
    std::string_view text;
    AddressError error;
  };
  const Case cases[] = {
      {"", AddressError::kWrongLength},
      {"0x", AddressError::kWrongLength},
      {"0x52908400098527886E0F7030069857D2E4169E", AddressError::kWrongLength},
      {"0x52908400098527886E0F7030069857D2E4169EE700", AddressError::kWrongLength},
      {"0x52908400098527886E0F7030069857D2E4169EE", AddressError::kBadHex},
      {"0x52908400098527886E0F7030069857D2E4169EG7", AddressError::kBadHex},
      {"0x 52908400098527886E0F7030069857D2E4169EE7", AddressError::kBadHex},
      {"52908400098527886E0F7030069857D2E4169EE7 ", AddressError::kBadHex},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto parsed = parse_address(c.text);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error() == c.error);
  }
}

TEST_CASE("the address is the last 20 bytes of keccak256 of the 64-byte public key") {
  // Public key of private key 1 is the generator G (SEC 2, 2.4.1).
  auto g = from_hex_fixed<64>(
      "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
      "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");
  REQUIRE(g.has_value());
  CHECK(to_checksum_address(address_from_public_key(*g)) ==
        "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
  auto key =
      SecretKey::from_hex("0x0000000000000000000000000000000000000000000000000000000000000001");
  REQUIRE(key.has_value());
  CHECK(public_key_of(*key) == *g);
}
