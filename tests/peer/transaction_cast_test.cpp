// Differential test of transaction signing against cast (Foundry, the npm-installed binary):
// seeded random EIP-1559 (and EIP-155 legacy) transactions are signed by varkeeper and by
// `cast mktx` (offline: every field given, no RPC) and must be byte-identical; cast's
// `decode-transaction` must then report the same hash and signer that varkeeper computes, and
// varkeeper must decode cast's bytes back to the same transaction.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "chain/hex.hpp"
#include "chain/transaction.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using varkeeper::test::run_process;

namespace {

const std::string kCast = VARKEEPER_CAST;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(seed) {}
  std::uint64_t u64() { return gen_(); }
  std::uint64_t below(std::uint64_t n) { return gen_() % n; }
  bool chance(unsigned percent) { return below(100) < percent; }
  Bytes bytes(std::size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(gen_());
    return b;
  }
  template <std::size_t N>
  FixedBytes<N> fixed() {
    FixedBytes<N> b{};
    for (auto& x : b) x = static_cast<std::uint8_t>(gen_());
    return b;
  }
  // A value of a random bit width up to `max_bits`, so every encoded length gets exercised.
  U256 width(unsigned max_bits) {
    const unsigned bits = static_cast<unsigned>(below(max_bits + 1));
    if (bits == 0) return 0;
    U256 v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 64) | U256(gen_());
    v >>= (256 - bits);
    return v;
  }
  SecretKey key() {
    for (;;) {
      auto k = SecretKey::from_bytes(fixed<32>());
      if (k) return *k;
    }
  }

 private:
  std::mt19937_64 gen_;
};

std::string dec(const U256& v) { return u256_to_decimal(v); }

// Chain ids that cast treats as EIP-1559 capable, and large ones no registry knows.
std::uint64_t random_chain_id(Rng& rng) {
  static const std::uint64_t kKnown[] = {1, 10, 137, 8453, 42161, 11155111, 31337};
  if (rng.chance(50)) return kKnown[rng.below(std::size(kKnown))];
  return (std::uint64_t{1} << 40) + rng.below(std::uint64_t{1} << 60);
}

std::string access_list_json(const AccessList& list) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& e : list) {
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& k : e.storage_keys) keys.push_back(to_hex(k));
    arr.push_back({{"address", to_hex(e.address)}, {"storageKeys", keys}});
  }
  return arr.dump();
}

std::vector<std::string> common_args(const SecretKey& key, std::uint64_t chain_id,
                                     std::uint64_t nonce, std::uint64_t gas_limit,
                                     const U256& value) {
  return {"--nonce",       std::to_string(nonce),
          "--gas-limit",   std::to_string(gas_limit),
          "--value",       dec(value),
          "--chain",       std::to_string(chain_id),
          "--private-key", to_hex(key.reveal())};
}

std::string cast_mktx(const std::vector<std::string>& args) {
  std::vector<std::string> argv{kCast, "mktx"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = run_process(argv);
  REQUIRE_MESSAGE(r.exit_code == 0, "cast mktx failed: " << r.err);
  return trim(r.out);
}

// cast decode-transaction prints a JSON string whose content is the transaction object.
nlohmann::json cast_decode(const std::string& raw_hex) {
  const auto r = run_process({kCast, "decode-transaction", raw_hex});
  REQUIRE_MESSAGE(r.exit_code == 0, "cast decode-transaction failed: " << r.err);
  nlohmann::json j = nlohmann::json::parse(r.out);
  if (j.is_string()) j = nlohmann::json::parse(j.get<std::string>());
  return j;
}

void check_against_varkeeper(const SignedTransaction& stx, const std::string& cast_raw,
                             const SecretKey& key, bool ask_cast_to_decode) {
  const Bytes ours = encode_signed(stx);
  REQUIRE(to_hex(ours) == cast_raw);
  auto back = decode_transaction(ours);
  REQUIRE(back);
  CHECK(*back == stx);
  auto sender = recover_sender(*back);
  REQUIRE(sender);
  CHECK(*sender == address_of(key));
  if (ask_cast_to_decode) {
    const nlohmann::json d = cast_decode(cast_raw);
    CHECK(d["hash"].get<std::string>() == to_hex(transaction_hash(stx)));
    CHECK(d["signer"].get<std::string>() == to_hex(*sender));
  }
}

}  // namespace

TEST_CASE("varkeeper signs 200 random EIP-1559 transactions byte-identical to cast mktx") {
  varkeeper::test::require_tool(kCast);
  Rng rng(varkeeper::test::test_seed(0x7478'1559'ca57ULL));
  int creations = 0, with_access_list = 0;
  for (int i = 0; i < 200; ++i) {
    CAPTURE(i);
    const SecretKey key = rng.key();
    Eip1559Transaction t;
    t.chain_id = random_chain_id(rng);
    t.nonce = static_cast<std::uint64_t>(rng.width(63));
    t.gas_limit = 21000 + static_cast<std::uint64_t>(rng.width(40));
    t.max_fee_per_gas = rng.width(127);  // alloy (cast) holds fees as u128
    t.max_priority_fee_per_gas = rng.chance(20) ? t.max_fee_per_gas : rng.width(100);
    t.value = rng.width(256);
    const bool create = rng.chance(10);
    t.data = rng.bytes(static_cast<std::size_t>(create ? 1 + rng.below(120) : rng.below(80)));
    if (!create) t.to = rng.fixed<20>();
    const auto entries = rng.chance(40) ? 1 + rng.below(3) : 0;
    for (std::uint64_t e = 0; e < entries; ++e) {
      AccessListEntry entry{rng.fixed<20>(), {}};
      const auto keys = rng.below(3);
      for (std::uint64_t k = 0; k < keys; ++k) entry.storage_keys.push_back(rng.fixed<32>());
      t.access_list.push_back(entry);
    }

    std::vector<std::string> args;
    if (t.to) {
      args.push_back(to_hex(*t.to));
      if (!t.data.empty()) args.push_back(to_hex(t.data));  // hex SIG = raw calldata
    }
    const auto common = common_args(key, t.chain_id, t.nonce, t.gas_limit, t.value);
    args.insert(args.end(), common.begin(), common.end());
    args.insert(args.end(), {"--gas-price", dec(t.max_fee_per_gas), "--priority-gas-price",
                             dec(t.max_priority_fee_per_gas)});
    if (!t.access_list.empty()) {
      args.insert(args.end(), {"--access-list", access_list_json(t.access_list)});
      ++with_access_list;
    }
    if (create) {
      args.insert(args.end(), {"--create", to_hex(t.data)});  // options precede the subcommand
      ++creations;
    }

    const std::string cast_raw = cast_mktx(args);
    const SignedTransaction stx = sign_transaction(t, key);
    check_against_varkeeper(stx, cast_raw, key, /*ask_cast_to_decode=*/true);
  }
  // The seeded mix covers contract creation and access lists.
  CHECK(creations > 5);
  CHECK(with_access_list > 40);
}

TEST_CASE("varkeeper signs 50 random EIP-155 legacy transactions byte-identical to cast mktx") {
  varkeeper::test::require_tool(kCast);
  Rng rng(varkeeper::test::test_seed(0x7478'0155'ca57ULL) ^ 0x155);
  for (int i = 0; i < 50; ++i) {
    CAPTURE(i);
    const SecretKey key = rng.key();
    LegacyTransaction t;
    t.chain_id = random_chain_id(rng);
    t.nonce = static_cast<std::uint64_t>(rng.width(63));
    t.gas_limit = 21000 + static_cast<std::uint64_t>(rng.width(40));
    t.gas_price = rng.width(127);
    t.value = rng.width(256);
    t.to = rng.fixed<20>();
    t.data = rng.bytes(static_cast<std::size_t>(rng.below(80)));

    std::vector<std::string> args{to_hex(*t.to)};
    if (!t.data.empty()) args.push_back(to_hex(t.data));
    const auto common = common_args(key, *t.chain_id, t.nonce, t.gas_limit, t.value);
    args.insert(args.end(), common.begin(), common.end());
    args.insert(args.end(), {"--legacy", "--gas-price", dec(t.gas_price)});

    const std::string cast_raw = cast_mktx(args);
    const SignedTransaction stx = sign_transaction(t, key);
    check_against_varkeeper(stx, cast_raw, key, /*ask_cast_to_decode=*/i % 5 == 0);
  }
}
