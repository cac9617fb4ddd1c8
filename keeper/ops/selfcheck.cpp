#include "keeper/ops/selfcheck.hpp"

#include <cstdlib>
#include <functional>
#include <string_view>

#include "chain/abi.hpp"
#include "chain/eip712.hpp"
#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "chain/secp256k1.hpp"
#include "chain/transaction.hpp"
#include "keeper/core/startup_error.hpp"

namespace varkeeper::keeper {

namespace {

using chain::keccak256;
using chain::to_hex;

// The check VARKEEPER_SELFCHECK_CORRUPT names, if any (see selfcheck.hpp).
std::string_view corrupted_check() {
  const char* name = std::getenv("VARKEEPER_SELFCHECK_CORRUPT");
  return name == nullptr ? std::string_view{} : std::string_view{name};
}

SelfCheckResult expect_equal(std::string name, const std::string& got, std::string want) {
  if (!want.empty() && name == corrupted_check()) {
    want.back() = want.back() == '0' ? '1' : '0';
  }
  SelfCheckResult r{std::move(name), got == want, {}};
  if (!r.passed) {
    r.detail = "expected " + want + ", got " + got;
  }
  return r;
}

// Keccak-256 of "" and "abc" (Keccak team's known answers; SHA3-256 would differ).
void keccak_checks(std::vector<SelfCheckResult>& out) {
  out.push_back(expect_equal("keccak256(\"\")", to_hex(keccak256(std::string_view{})),
                             "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"));
  out.push_back(expect_equal("keccak256(\"abc\")", to_hex(keccak256(std::string_view{"abc"})),
                             "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"));
}

// Address of private key 1 (the generator point's address, widely published).
void address_check(std::vector<SelfCheckResult>& out) {
  auto one = chain::SecretKey::from_hex(
      "0000000000000000000000000000000000000000000000000000000000000001");
  out.push_back(expect_equal("address of private key 1",
                             one ? chain::to_checksum_address(chain::address_of(*one)) : "",
                             "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"));
}

// EIP-712's Mail example (assets/eip-712/Example.js): digest, and its signature by
// keccak256("cow") (RFC 6979, low-s).
void eip712_checks(std::vector<SelfCheckResult>& out) {
  chain::Eip712Types types;
  (void)types.add({"Person", {{"name", "string"}, {"wallet", "address"}}});
  (void)types.add({"Mail", {{"from", "Person"}, {"to", "Person"}, {"contents", "string"}}});
  const auto cow = chain::parse_address("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826");
  const auto bob = chain::parse_address("0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB");
  const auto contract = chain::parse_address("0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC");
  std::string digest_hex;
  std::string signature_hex;
  if (cow && bob && contract) {
    using Struct = chain::Eip712Value::Struct;
    const chain::Eip712Value mail = Struct{{"from", Struct{{"name", "Cow"}, {"wallet", *cow}}},
                                           {"to", Struct{{"name", "Bob"}, {"wallet", *bob}}},
                                           {"contents", "Hello, Bob!"}};
    const auto struct_hash = types.hash_struct("Mail", mail);
    if (struct_hash) {
      const chain::Eip712Domain domain{"Ether Mail", "1", 1, *contract, std::nullopt};
      const auto digest = chain::eip712_digest(chain::domain_separator(domain), *struct_hash);
      digest_hex = to_hex(digest);
      if (auto key = chain::SecretKey::from_bytes(keccak256(std::string_view{"cow"}))) {
        signature_hex = to_hex(chain::to_rsv(chain::sign_hash(digest, *key)));
      }
    }
  }
  out.push_back(expect_equal("EIP-712 Mail digest", digest_hex,
                             "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"));
  out.push_back(expect_equal("EIP-712 Mail signature by keccak256(\"cow\")", signature_hex,
                             "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d"
                             "07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b915621c"));
}

// EIP-155's example transaction (EIP-155 text, "Example"): nonce 9, 20 gwei, 21000 gas, to
// 0x3535...35, 1 ether, chain 1, signed by 0x4646...46: the published raw signed bytes.
void eip155_check(std::vector<SelfCheckResult>& out) {
  std::string raw_hex;
  if (auto key = chain::SecretKey::from_hex(
          "4646464646464646464646464646464646464646464646464646464646464646")) {
    chain::LegacyTransaction tx;
    tx.nonce = 9;
    tx.gas_price = chain::U256(20'000'000'000ULL);
    tx.gas_limit = 21000;
    tx.to = chain::Address{};
    tx.to->fill(0x35);
    tx.value = chain::U256(1'000'000'000'000'000'000ULL);
    tx.chain_id = 1;
    raw_hex = to_hex(chain::encode_signed(chain::sign_transaction(tx, *key)));
  }
  out.push_back(expect_equal(
      "EIP-155 example transaction", raw_hex,
      "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025"
      "a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb7"
      "03304b3800ccf555c9f3dc64214b297fb1966a3b6d83"));
}

// ABI: the ERC-20 transfer selector, and the specification's baz(69, true) calldata.
void abi_checks(std::vector<SelfCheckResult>& out) {
  std::string selector_hex = "(parse error)";
  if (auto selector = chain::function_selector("transfer(address,uint256)")) {
    selector_hex = to_hex(*selector);
  }
  out.push_back(expect_equal("ABI selector transfer(address,uint256)", selector_hex, "0xa9059cbb"));
  std::string calldata_hex = "(encode error)";
  if (auto baz = chain::parse_abi_signature("baz(uint32,bool)")) {
    if (auto calldata = chain::encode_call(
            *baz, {chain::AbiValue::from_uint(69), chain::AbiValue::from_bool(true)})) {
      calldata_hex = to_hex(*calldata);
    }
  }
  out.push_back(expect_equal(
      "ABI calldata baz(69, true)", calldata_hex,
      "0xcdcd77c0000000000000000000000000000000000000000000000000000000000000004500000000000000"
      "00000000000000000000000000000000000000000000000001"));
}

}  // namespace

std::vector<SelfCheckResult> run_self_checks() {
  std::vector<SelfCheckResult> out;
  keccak_checks(out);
  address_check(out);
  eip712_checks(out);
  eip155_check(out);
  abi_checks(out);
  return out;
}

void require_self_checks(const std::vector<SelfCheckResult>& results) {
  for (const auto& r : results) {
    if (!r.passed) {
      throw StartupError("self-check failed: " + r.name + ": " + r.detail +
                         "; refusing to start (a build that hashes or signs wrongly must not "
                         "sign reports; run varkeeper selfcheck)");
    }
  }
}

}  // namespace varkeeper::keeper
