#include "chain/transaction.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using nlohmann::json;
using varkeeper::test::read_file;

namespace {

json load_vectors() {
  return json::parse(read_file(std::string(VARKEEPER_DATA_DIR) + "/eip1559_vectors.json"));
}

Bytes hex(std::string_view text) {
  auto b = from_hex(text);
  REQUIRE_MESSAGE(b, "bad hex: " << text);
  return *b;
}

U256 u256(const json& v) {
  if (v.is_number_unsigned()) return U256(v.get<std::uint64_t>());
  auto r = u256_from_string(v.get<std::string>());
  REQUIRE(r);
  return *r;
}

std::uint64_t u64(const json& v) { return static_cast<std::uint64_t>(u256(v)); }

Address address(const std::string& text) {
  auto a = from_hex_fixed<20>(text);
  REQUIRE(a);
  return *a;
}

Hash32 word(const std::string& text) {
  auto w = from_hex_fixed<32>(text);
  REQUIRE(w);
  return *w;
}

SecretKey key(const std::string& text) {
  auto k = SecretKey::from_hex(text);
  REQUIRE(k);
  return *k;
}

// Decodes `raw`, checks it re-encodes to the same bytes, and returns it.
SignedTransaction decode_round_trip(const Bytes& raw) {
  auto decoded = decode_transaction(raw);
  REQUIRE_MESSAGE(decoded, "decode failed: " << to_string(decoded.error().code));
  CHECK(to_hex(encode_signed(*decoded)) == to_hex(raw));
  return *decoded;
}

// The EIP-155 example: nonce 9, gas price 20 gwei, gas 21000, to 0x3535..35, value 1 ether.
LegacyTransaction eip155_example() {
  LegacyTransaction t;
  t.nonce = 9;
  t.gas_price = U256(20'000'000'000ULL);
  t.gas_limit = 21000;
  t.to = address("0x3535353535353535353535353535353535353535");
  t.value = U256(1'000'000'000'000'000'000ULL);
  t.chain_id = 1;
  return t;
}

constexpr const char* kEip155Raw =
    "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a0"
    "28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b"
    "3800ccf555c9f3dc64214b297fb1966a3b6d83";

}  // namespace

TEST_CASE("the EIP-155 example transaction signs to the published data, hash, v, r, s and raw") {
  // Values from the EIP-155 text, "Example" section.
  const LegacyTransaction t = eip155_example();
  CHECK(to_hex(encode_unsigned(t)) ==
        "0xec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a7640000800180"
        "80");
  CHECK(to_hex(signing_hash(t)) ==
        "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");

  const SecretKey k = key("0x4646464646464646464646464646464646464646464646464646464646464646");
  const SignedTransaction stx = sign_transaction(t, k);
  CHECK(legacy_v(t, stx.signature.y_parity) == 37);
  CHECK(stx.signature.r ==
        u256_to_be32(*u256_from_string(
            "18515461264373351373200002665853028612451056578545711640558177340181847433846")));
  CHECK(stx.signature.s ==
        u256_to_be32(*u256_from_string(
            "46948507304638947509940763649030358759909902576025900602547168820602576006531")));
  CHECK(to_hex(encode_signed(stx)) == kEip155Raw);
}

TEST_CASE("the EIP-155 example decodes, round-trips and recovers its sender") {
  const SignedTransaction stx = decode_round_trip(hex(kEip155Raw));
  REQUIRE(std::holds_alternative<LegacyTransaction>(stx.tx));
  CHECK(std::get<LegacyTransaction>(stx.tx) == eip155_example());
  CHECK(stx.signature.y_parity == 0);
  const SecretKey k = key("0x4646464646464646464646464646464646464646464646464646464646464646");
  auto sender = recover_sender(stx);
  REQUIRE(sender);
  CHECK(*sender == address_of(k));
  // keccak256 of the raw bytes is the transaction hash.
  CHECK(transaction_hash(stx) == keccak256(hex(kEip155Raw)));
}

TEST_CASE("EIP-1559 transactions sign to the ethereumjs (Besu) published raw bytes") {
  const json all = load_vectors();
  for (const char* set : {"ethereumjs_signing", "ethereumjs_signing_chain4"}) {
    CAPTURE(set);
    const json& v = all[set];
    const SecretKey k = key(v["private_key"].get<std::string>());
    REQUIRE(v["cases"].size() == 10);
    for (const auto& c : v["cases"]) {
      CAPTURE(c["nonce"].get<std::uint64_t>());
      Eip1559Transaction t;
      t.chain_id = v["chain_id"].get<std::uint64_t>();
      t.nonce = c["nonce"].get<std::uint64_t>();
      t.value = u256(c["value"]);
      t.gas_limit = c["gas_limit"].get<std::uint64_t>();
      t.max_priority_fee_per_gas = u256(c["max_priority_fee_per_gas"]);
      t.max_fee_per_gas = u256(c["max_fee_per_gas"]);
      t.to = address(v["to"].get<std::string>());

      // The published bytes are the typed transaction wrapped as an RLP string.
      const Bytes wrapped = hex(c["signed_transaction_rlp"].get<std::string>());
      auto item = rlp_decode_item(wrapped);
      REQUIRE(item);
      const Bytes raw(item->payload.begin(), item->payload.end());

      const SignedTransaction stx = sign_transaction(t, k);
      CHECK(to_hex(encode_signed(stx)) == to_hex(raw));
      CHECK(to_hex(rlp_encode_bytes(encode_signed(stx))) == to_hex(wrapped));

      const SignedTransaction back = decode_round_trip(raw);
      CHECK(back == stx);
      auto sender = recover_sender(back);
      REQUIRE(sender);
      CHECK(*sender == address_of(k));
    }
  }
}

TEST_CASE("an EIP-1559 mainnet transaction has its published hash and signer") {
  const json v = load_vectors()["mainnet_0x0ec0b6a2"];
  Eip1559Transaction t;
  t.chain_id = v["chain_id"].get<std::uint64_t>();
  t.nonce = v["nonce"].get<std::uint64_t>();
  t.gas_limit = v["gas_limit"].get<std::uint64_t>();
  t.to = address(v["to"].get<std::string>());
  t.value = u256(v["value"]);
  t.data = hex(v["data"].get<std::string>());
  t.max_fee_per_gas = u256(v["max_fee_per_gas"]);
  t.max_priority_fee_per_gas = u256(v["max_priority_fee_per_gas"]);
  const SignedTransaction stx{
      t, Signature{word(v["r"].get<std::string>()), word(v["s"].get<std::string>()),
                   static_cast<std::uint8_t>(v["y_parity"].get<int>())}};
  CHECK(to_hex(transaction_hash(stx)) == v["hash"].get<std::string>());
  auto sender = recover_sender(stx);
  REQUIRE(sender);
  CHECK(to_hex(*sender) == v["signer"].get<std::string>());
  CHECK(decode_round_trip(encode_signed(stx)) == stx);
}

TEST_CASE(
    "an EIP-1559 transaction with an access list signs, round-trips and recovers its sender") {
  const json v = load_vectors()["ethereumjs_access_list"];
  Eip1559Transaction t;
  t.chain_id = v["chain_id"].get<std::uint64_t>();
  t.nonce = v["nonce"].get<std::uint64_t>();
  t.max_priority_fee_per_gas = u256(v["max_priority_fee_per_gas"]);
  t.max_fee_per_gas = u256(v["max_fee_per_gas"]);
  t.gas_limit = u64(v["gas_limit"]);
  t.to = address(v["to"].get<std::string>());
  t.value = u256(v["value"]);
  t.data = hex(v["data"].get<std::string>());
  for (const auto& e : v["access_list"]) {
    AccessListEntry entry{address(e["address"].get<std::string>()), {}};
    for (const auto& k : e["storage_keys"])
      entry.storage_keys.push_back(word(k.get<std::string>()));
    t.access_list.push_back(entry);
  }
  const SecretKey k = key(v["private_key"].get<std::string>());
  CHECK(to_hex(address_of(k)) == v["sender"].get<std::string>());
  const SignedTransaction stx = sign_transaction(t, k);
  auto sender = recover_sender(stx);
  REQUIRE(sender);
  CHECK(to_hex(*sender) == v["sender"].get<std::string>());
  CHECK(decode_round_trip(encode_signed(stx)) == stx);
}

TEST_CASE("contract creation and unprotected legacy transactions round-trip") {
  const SecretKey k = key("0x4646464646464646464646464646464646464646464646464646464646464646");
  LegacyTransaction legacy = eip155_example();
  legacy.to.reset();
  legacy.data = hex("0x6080604052");
  legacy.chain_id.reset();  // Homestead form: v = 27 + y
  const SignedTransaction a = sign_transaction(legacy, k);
  const Bytes raw_a = encode_signed(a);
  const SignedTransaction back_a = decode_round_trip(raw_a);
  CHECK(back_a == a);
  CHECK(legacy_v(legacy, a.signature.y_parity) >= 27);
  CHECK(legacy_v(legacy, a.signature.y_parity) <= 28);
  CHECK(*recover_sender(back_a) == address_of(k));

  Eip1559Transaction create;
  create.chain_id = 31337;
  create.nonce = 1;
  create.gas_limit = 100000;
  create.max_fee_per_gas = 2;
  create.max_priority_fee_per_gas = 1;
  create.data = hex("0x6080604052");
  const SignedTransaction b = sign_transaction(create, k);
  const SignedTransaction back_b = decode_round_trip(encode_signed(b));
  CHECK(back_b == b);
  CHECK(*recover_sender(back_b) == address_of(k));
}

namespace {

// Builds a type-2 transaction by hand, field by field, to exercise the decoder's checks.
struct RawFields {
  std::vector<Bytes> items;  // already-encoded fields
  Bytes encode(std::uint8_t type = kEip1559TxType) const {
    Bytes out{type};
    RlpEncoder enc(out);
    const auto list = enc.begin_list();
    for (const auto& i : items) enc.add_raw(i);
    enc.end_list(list);
    return out;
  }
};

RawFields valid_fields() {
  const SecretKey k = key("0x4646464646464646464646464646464646464646464646464646464646464646");
  Eip1559Transaction t;
  t.nonce = 3;
  t.gas_limit = 21000;
  t.max_fee_per_gas = 100;
  t.to = address("0x3535353535353535353535353535353535353535");
  t.access_list.push_back({address("0x0000000000000000000000000000000000000101"), {Hash32{}}});
  const Bytes raw = encode_signed(sign_transaction(t, k));
  auto list = RlpListReader::decode(ByteView(raw).subspan(1));
  REQUIRE(list);
  RawFields f;
  while (!list->at_end()) {
    auto item = list->next();
    REQUIRE(item);
    f.items.emplace_back(item->encoded.begin(), item->encoded.end());
  }
  REQUIRE(f.items.size() == 12);
  return f;
}

void check_rejected(const Bytes& raw, TxError code, std::optional<RlpError> rlp = {}) {
  auto r = decode_transaction(raw);
  REQUIRE_FALSE(r);
  CHECK(to_string(r.error().code) == to_string(code));
  if (rlp) {
    REQUIRE(r.error().rlp.has_value());
    CHECK(to_string(*r.error().rlp) == to_string(*rlp));
  }
}

Bytes rlp_of(const U256& v) { return rlp_encode_u256(v); }

}  // namespace

TEST_CASE("transaction decoding names what is wrong") {
  const RawFields good = valid_fields();
  REQUIRE(decode_transaction(good.encode()));
  const U256 n{"0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"};

  check_rejected({}, TxError::kEmpty);
  CHECK(describe(TxDecodeError{TxError::kRlp, RlpError::kLeadingZero}) ==
        "malformed transaction RLP: RLP length has a leading zero byte");
  check_rejected(good.encode(0x01), TxError::kUnsupportedType);  // EIP-2930
  check_rejected(good.encode(0x03), TxError::kUnsupportedType);  // EIP-4844
  check_rejected(hex("0x83646f67"), TxError::kRlp, RlpError::kUnexpectedString);

  Bytes trailing = good.encode();
  trailing.push_back(0x00);
  check_rejected(trailing, TxError::kRlp, RlpError::kTrailingBytes);
  Bytes truncated = good.encode();
  truncated.pop_back();
  check_rejected(truncated, TxError::kRlp, RlpError::kOverlongLength);

  RawFields f = good;
  f.items.pop_back();
  check_rejected(f.encode(), TxError::kWrongFieldCount);

  f = good;
  f.items[1] = hex("0x820003");  // nonce 3 with a leading zero byte
  check_rejected(f.encode(), TxError::kRlp, RlpError::kLeadingZeroInScalar);

  f = good;
  f.items[0] = hex("0x89010000000000000000");  // chain id 2^64
  check_rejected(f.encode(), TxError::kRlp, RlpError::kScalarOverflow);

  f = good;
  f.items[5] = rlp_encode_bytes(Bytes(19, 0x35));
  check_rejected(f.encode(), TxError::kBadToLength);

  f = good;
  f.items[7] = hex("0xc0");  // data as a list
  check_rejected(f.encode(), TxError::kRlp, RlpError::kUnexpectedList);

  f = good;
  f.items[8] = hex("0xc2c180");  // access list entry [""]: no keys list
  check_rejected(f.encode(), TxError::kBadAccessList);

  f = good;
  f.items[8] = hex("0x80");  // access list as a string
  check_rejected(f.encode(), TxError::kBadAccessList);

  f = good;
  f.items[9] = hex("0x02");  // y parity 2
  check_rejected(f.encode(), TxError::kBadV);

  f = good;
  f.items[10] = hex("0x80");  // r = 0
  check_rejected(f.encode(), TxError::kInvalidSignature);

  f = good;
  f.items[11] = rlp_of(n);  // s = n
  check_rejected(f.encode(), TxError::kInvalidSignature);

  f = good;
  auto s = rlp_decode_item(good.items[11]);
  REQUIRE(s);
  f.items[11] = rlp_of(n - *rlp_u256(*s));  // the malleable twin: high s (EIP-2)
  check_rejected(f.encode(), TxError::kHighS);
}

TEST_CASE("legacy decoding checks v and derives the EIP-155 chain id") {
  const Bytes raw = hex(kEip155Raw);
  auto list = RlpListReader::decode(raw);
  REQUIRE(list);
  std::vector<Bytes> items;
  while (!list->at_end()) {
    auto item = list->next();
    REQUIRE(item);
    items.emplace_back(item->encoded.begin(), item->encoded.end());
  }
  REQUIRE(items.size() == 9);
  auto with_v = [&](const U256& v) {
    Bytes out;
    RlpEncoder enc(out);
    const auto l = enc.begin_list();
    for (std::size_t i = 0; i < 9; ++i) enc.add_raw(i == 6 ? rlp_encode_u256(v) : items[i]);
    enc.end_list(l);
    return out;
  };
  for (const int bad : {0, 1, 26, 29, 34}) {
    CAPTURE(bad);
    check_rejected(with_v(bad), TxError::kBadV);
  }
  // v = 2^64 * 2 + 35 would mean chain id 2^64.
  check_rejected(with_v((U256(1) << 65) + 35), TxError::kChainIdOverflow);
  // v = 38: chain id 1, odd parity. The signature then recovers some other address, but decodes.
  auto odd = decode_transaction(with_v(38));
  REQUIRE(odd);
  CHECK(std::get<LegacyTransaction>(odd->tx).chain_id == std::optional<std::uint64_t>{1});
  CHECK(odd->signature.y_parity == 1);
}
