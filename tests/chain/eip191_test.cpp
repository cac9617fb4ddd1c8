#include "chain/eip191.hpp"

#include <doctest/doctest.h>

#include "chain/hex.hpp"
#include "chain/keccak.hpp"

using namespace varkeeper::chain;

TEST_CASE("personal_message_hash matches the published EIP-191 digests") {
  // web3.js / ethers documentation: hashMessage("Hello World") and hashMessage("Some data").
  CHECK(to_hex(personal_message_hash(std::string_view{"Hello World"})) ==
        "0xa1de988600a42c4b4ab089b619297c17d53cffae5d5120d82d8a92d0bb3b78f2");
  CHECK(to_hex(personal_message_hash(std::string_view{"Some data"})) ==
        "0x1da44b586eb0729ff70a73c326926f6ed5a25f5b056e7f47fbc6e58d86871655");
  // Bytes and text of the same content hash alike.
  const Bytes hello{72, 101, 108, 108, 111, 32, 87, 111, 114, 108, 100};
  CHECK(to_hex(personal_message_hash(ByteView{hello})) ==
        "0xa1de988600a42c4b4ab089b619297c17d53cffae5d5120d82d8a92d0bb3b78f2");
}

TEST_CASE("personal_sign reproduces web3.js's published accounts.sign example") {
  // web3.js docs, web3.eth.accounts.sign('Some data', '0x4c0883a6...').
  auto key =
      SecretKey::from_hex("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");
  REQUIRE(key.has_value());
  const Signature sig = personal_sign(std::string_view{"Some data"}, *key);
  CHECK(
      to_hex(to_rsv(sig)) ==
      "0xb91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422f"
      "c2da167c747ef045e5d18a5f5d4300f8e1a0291c");
  auto signer = recover_personal_signer(as_bytes("Some data"), sig);
  REQUIRE(signer.has_value());
  CHECK(to_checksum_address(*signer) == "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23");
  auto other = recover_personal_signer(as_bytes("Some datA"), sig);
  if (other) CHECK(*other != *signer);
}

TEST_CASE("the EIP-191 length prefix is the decimal byte length, not the character count") {
  // "é" is two UTF-8 bytes: the prefix must say 2. Closed form: keccak of the explicit preimage.
  const std::string msg = "\xc3\xa9";
  CHECK(personal_message_hash(std::string_view{msg}) ==
        keccak256(std::string_view{"\x19"
                                   "Ethereum Signed Message:\n2\xc3\xa9"}));
  CHECK(personal_message_hash(std::string_view{}) ==
        keccak256(std::string_view{"\x19"
                                   "Ethereum Signed Message:\n0"}));
}
