#include "chain/secp256k1.hpp"

#include <doctest/doctest.h>

#include <random>

#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;

namespace {

SecretKey key_from_hex(std::string_view hex) {
  auto key = SecretKey::from_hex(hex);
  REQUIRE(key.has_value());
  return *key;
}

Hash32 hash_from_hex(std::string_view hex) {
  auto h = from_hex_fixed<32>(hex);
  REQUIRE(h.has_value());
  return *h;
}

Signature signature_from_rsv_hex(std::string_view hex) {
  auto bytes = from_hex(hex);
  REQUIRE(bytes.has_value());
  auto sig = from_rsv(*bytes);
  REQUIRE(sig.has_value());
  return *sig;
}

// secp256k1 group order n (SEC 2, 2.4.1) and n - 1.
constexpr std::string_view kOrderHex =
    "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
constexpr std::string_view kOrderMinusOneHex =
    "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140";

Hash32 random_word(std::mt19937_64& rng) {
  Hash32 out{};
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

}  // namespace

TEST_CASE("signing the EIP-155 example digest reproduces the published r, s and parity") {
  // EIP-155 example: key 0x46..46, signing hash daf5a7..8e53, v = 37 (chain 1, parity 0).
  const auto key =
      key_from_hex("0x4646464646464646464646464646464646464646464646464646464646464646");
  const auto digest =
      hash_from_hex("0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
  const Signature sig = sign_hash(digest, key);
  CHECK(to_hex(sig.r) == "0x28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276");
  CHECK(to_hex(sig.s) == "0x67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");
  CHECK(sig.y_parity == 0);
  CHECK(to_checksum_address(address_of(key)) == "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
  auto recovered = recover_address(digest, sig);
  REQUIRE(recovered.has_value());
  CHECK(*recovered == address_of(key));
}

TEST_CASE("recovery reproduces go-ethereum's TestRecoverSanity public key") {
  const auto digest =
      hash_from_hex("0xce0677bb30baa8cf067c88db9811f4333d131bf8bcf12fe7065d211dce971008");
  const auto sig = signature_from_rsv_hex(
      "0x90f27b8b488db00b00606796d2987f6a5f59ae62ea05effe84fef5b8b0e549984a691139ad57a3f0b9066376"
      "73aa2f63d1f55cb1a69199d4009eea23ceaddc9301");
  CHECK(sig.y_parity == 1);
  auto pub = recover_public_key(digest, sig);
  REQUIRE(pub.has_value());
  CHECK(to_hex(*pub) ==
        "0xe32df42865e97135acfb65f3bae71bdc86f4d49150ad6a440b6f15878109880a0a2b2667f7e725ceea70c673"
        "093bf67663e0312623c8e091b13cf2c0f11ef652");
}

TEST_CASE("sign then recover round-trips to the signer for random keys and digests") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0x5167));
  for (int i = 0; i < 200; ++i) {
    auto key = SecretKey::from_bytes(random_word(rng));
    if (!key) continue;  // astronomically unlikely: the word is not below n
    const Hash32 digest = random_word(rng);
    const Signature sig = sign_hash(digest, *key);
    auto pub = recover_public_key(digest, sig);
    REQUIRE(pub.has_value());
    CHECK(*pub == public_key_of(*key));
    auto addr = recover_address(digest, sig);
    REQUIRE(addr.has_value());
    CHECK(*addr == address_of(*key));
    // A different digest recovers a different signer (or none).
    Hash32 other = digest;
    other[0] ^= 0x01;
    auto wrong = recover_address(other, sig);
    if (wrong) CHECK(*wrong != address_of(*key));
  }
}

TEST_CASE("signatures are always low-s: s is at most n/2") {
  // n/2 rounded down (SEC 2 group order halved).
  const auto half =
      hash_from_hex("0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0");
  std::mt19937_64 rng(varkeeper::test::test_seed(0x5167) + 1);
  for (int i = 0; i < 500; ++i) {
    auto key = SecretKey::from_bytes(random_word(rng));
    if (!key) continue;
    const Signature sig = sign_hash(random_word(rng), *key);
    CHECK(sig.s <= half);  // big-endian arrays compare lexicographically, i.e. numerically
    CHECK(sig.y_parity <= 1);
  }
}

TEST_CASE("signing is deterministic (RFC 6979): same key and digest give the same signature") {
  const auto key =
      key_from_hex("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");
  const Hash32 digest = keccak256(std::string_view{"determinism"});
  const Signature a = sign_hash(digest, key);
  const Signature b = sign_hash(digest, key);
  CHECK(a == b);
  Hash32 other = digest;
  other[31] ^= 0x80;
  CHECK_FALSE(sign_hash(other, key) == a);
}

TEST_CASE("recovery refuses the high-s twin of a valid signature with kHighS") {
  // The EIP-155 example signature, with s replaced by n - s (still a valid ECDSA signature
  // mathematically, but malleable: EIP-2 forbids it).
  const auto digest =
      hash_from_hex("0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
  Signature sig;
  sig.r = hash_from_hex("0x28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276");
  // n - 0x67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83
  sig.s = hash_from_hex("0x98341627668089e51348fccfb4c7ff31c55912f2d2e47ef09652acf665fad3be");
  sig.y_parity = 1;
  auto r = recover_public_key(digest, sig);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == SignatureError::kHighS);
  auto rsv = to_rsv(sig);
  auto parsed = from_rsv(rsv);
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error() == SignatureError::kHighS);
}

TEST_CASE("recovery refuses r or s that are zero or not below n with kInvalidRS") {
  const auto digest = keccak256(std::string_view{"invalid r s"});
  const Hash32 one =
      hash_from_hex("0x0000000000000000000000000000000000000000000000000000000000000001");
  const Hash32 zero{};
  const Hash32 n = hash_from_hex(kOrderHex);
  const Hash32 all_ff =
      hash_from_hex("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
  struct Case {
    Hash32 r, s;
  };
  const Case cases[] = {{zero, one}, {one, zero}, {n, one}, {all_ff, one}, {one, n}};
  for (const auto& c : cases) {
    Signature sig{c.r, c.s, 0};
    auto r = recover_public_key(digest, sig);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == SignatureError::kInvalidRS);
  }
  // r = n - 1 is in range; whatever happens, it is not kInvalidRS.
  Signature edge{hash_from_hex(kOrderMinusOneHex), one, 0};
  auto r = recover_public_key(digest, edge);
  if (!r) CHECK(r.error() != SignatureError::kInvalidRS);
}

TEST_CASE("recovery refuses a recovery id other than 0 or 1 with kBadRecoveryId") {
  const auto key =
      key_from_hex("0x4646464646464646464646464646464646464646464646464646464646464646");
  const Hash32 digest = keccak256(std::string_view{"recid"});
  Signature sig = sign_hash(digest, key);
  for (std::uint8_t v : {2, 3, 27, 255}) {
    sig.y_parity = v;
    auto r = recover_address(digest, sig);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == SignatureError::kBadRecoveryId);
  }
}

TEST_CASE("the 65-byte r||s||v form writes v = 27 + parity and reads 27/28 or 0/1") {
  const auto key =
      key_from_hex("0x4646464646464646464646464646464646464646464646464646464646464646");
  const Hash32 digest = keccak256(std::string_view{"rsv"});
  const Signature sig = sign_hash(digest, key);
  auto rsv = to_rsv(sig);
  CHECK(rsv[64] == 27 + sig.y_parity);
  auto back = from_rsv(rsv);
  REQUIRE(back.has_value());
  CHECK(*back == sig);
  rsv[64] = sig.y_parity;
  back = from_rsv(rsv);
  REQUIRE(back.has_value());
  CHECK(*back == sig);
  for (std::uint8_t v : {2, 26, 29, 37, 38}) {
    rsv[64] = v;
    auto bad = from_rsv(rsv);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error() == SignatureError::kBadRecoveryId);
  }
  const Bytes short_sig(64, 1);
  auto bad = from_rsv(short_sig);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == SignatureError::kWrongLength);
}

TEST_CASE("secret keys must be 32 bytes with 0 < key < n") {
  CHECK(SecretKey::from_hex(kOrderMinusOneHex).has_value());
  struct Case {
    std::string_view hex;
    KeyError error;
  };
  const Case cases[] = {
      {"0x0000000000000000000000000000000000000000000000000000000000000000", KeyError::kOutOfRange},
      {kOrderHex, KeyError::kOutOfRange},
      {"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", KeyError::kOutOfRange},
      {"0x01", KeyError::kWrongLength},
      {"0x000000000000000000000000000000000000000000000000000000000000000001",
       KeyError::kWrongLength},
      {"0xzz00000000000000000000000000000000000000000000000000000000000001", KeyError::kBadHex},
      {"0x1", KeyError::kBadHex},
  };
  for (const auto& c : cases) {
    CAPTURE(c.hex);
    auto k = SecretKey::from_hex(c.hex);
    REQUIRE_FALSE(k.has_value());
    CHECK(k.error() == c.error);
  }
}
