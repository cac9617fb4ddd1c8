// Hostile input for the transaction decoder: random bytes, mutations of signed legacy and EIP-1559
// transactions (flipped bytes, truncation, extension, splices, a wrong type byte) and field-level
// mutations (a field replaced by a non-canonical scalar, a list, an oversized string, a high-s
// signature). The decoder must never crash (ASan + UBSan run this too), must name a specific
// error for every rejection, and must be canonical: an accepted input re-encodes to itself.
#include <doctest/doctest.h>

#include <random>
#include <set>
#include <vector>

#include "chain/transaction.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;

namespace {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(seed) {}
  std::uint64_t u64() { return gen_(); }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : gen_() % n; }
  std::uint8_t byte() { return static_cast<std::uint8_t>(gen_()); }
  bool chance(unsigned percent) { return below(100) < percent; }
  Bytes bytes(std::size_t n) {
    Bytes b(n);
    for (auto& x : b) x = byte();
    return b;
  }
  template <std::size_t N>
  FixedBytes<N> fixed() {
    FixedBytes<N> b{};
    for (auto& x : b) x = byte();
    return b;
  }
  U256 width(unsigned max_bytes) {
    U256 v = 0;
    for (std::uint64_t i = 0, n = below(max_bytes + 1); i < n; ++i) v = (v << 8) | byte();
    return v;
  }

 private:
  std::mt19937_64 gen_;
};

SecretKey random_key(Rng& rng) {
  for (;;) {
    auto k = SecretKey::from_bytes(rng.fixed<32>());
    if (k) return *k;
  }
}

Transaction random_transaction(Rng& rng) {
  std::optional<Address> to;
  if (!rng.chance(15)) to = rng.fixed<20>();
  if (rng.chance(35)) {
    LegacyTransaction t;
    t.nonce = static_cast<std::uint64_t>(rng.width(8));
    t.gas_price = rng.width(32);
    t.gas_limit = static_cast<std::uint64_t>(rng.width(8));
    t.to = to;
    t.value = rng.width(32);
    t.data = rng.bytes(rng.below(rng.chance(10) ? 200 : 40));
    if (!rng.chance(15)) t.chain_id = static_cast<std::uint64_t>(rng.width(8));
    return t;
  }
  Eip1559Transaction t;
  t.chain_id = static_cast<std::uint64_t>(rng.width(8));
  t.nonce = static_cast<std::uint64_t>(rng.width(8));
  t.max_priority_fee_per_gas = rng.width(32);
  t.max_fee_per_gas = rng.width(32);
  t.gas_limit = static_cast<std::uint64_t>(rng.width(8));
  t.to = to;
  t.value = rng.width(32);
  t.data = rng.bytes(rng.below(rng.chance(10) ? 200 : 40));
  for (std::uint64_t e = 0, n = rng.chance(50) ? rng.below(4) : 0; e < n; ++e) {
    AccessListEntry entry{rng.fixed<20>(), {}};
    for (std::uint64_t k = 0, m = rng.below(4); k < m; ++k) {
      entry.storage_keys.push_back(rng.fixed<32>());
    }
    t.access_list.push_back(entry);
  }
  return t;
}

// A random RLP item meant to upset a field: non-canonical scalars, lists, wrong sizes.
Bytes hostile_field(Rng& rng) {
  switch (rng.below(7)) {
    case 0: return {0x00};                                      // zero as 0x00
    case 1: return {0x82, 0x00, rng.byte()};                    // leading zero
    case 2: return {0xc0};                                      // empty list
    case 3: return rlp_encode_bytes(rng.bytes(rng.below(70)));  // random string
    case 4: return rlp_encode_bytes(Bytes(33, 0xff));           // wider than 256 bits
    case 5: return {0x80};                                      // empty string / zero
    default: return rlp_encode_u256(rng.width(32));             // a random scalar
  }
}

// Splits a raw transaction into its type prefix (empty for legacy) and encoded fields.
bool split(const Bytes& raw, Bytes& prefix, std::vector<Bytes>& fields) {
  ByteView body(raw);
  prefix.clear();
  if (!raw.empty() && raw[0] < 0x80) {
    prefix.push_back(raw[0]);
    body = body.subspan(1);
  }
  auto list = RlpListReader::decode(body);
  if (!list) return false;
  fields.clear();
  while (!list->at_end()) {
    auto item = list->next();
    if (!item) return false;
    fields.emplace_back(item->encoded.begin(), item->encoded.end());
  }
  return true;
}

Bytes join(const Bytes& prefix, const std::vector<Bytes>& fields) {
  Bytes out = prefix;
  RlpEncoder enc(out);
  const auto mark = enc.begin_list();
  for (const auto& f : fields) enc.add_raw(f);
  enc.end_list(mark);
  return out;
}

Bytes mutate(Rng& rng, const std::vector<Bytes>& corpus) {
  Bytes b = corpus[rng.below(corpus.size())];
  switch (rng.below(9)) {
    case 0:
      for (std::uint64_t i = 0, n = 1 + rng.below(3); i < n && !b.empty(); ++i) {
        b[rng.below(b.size())] ^= static_cast<std::uint8_t>(1u << rng.below(8));
      }
      break;
    case 1:
      if (!b.empty()) b[rng.below(std::min<std::size_t>(b.size(), 4))] = rng.byte();
      break;
    case 2: b.resize(rng.below(b.size() + 1)); break;
    case 3:
      for (std::uint64_t i = 0, n = 1 + rng.below(4); i < n; ++i) b.push_back(rng.byte());
      break;
    case 4: {
      const Bytes& other = corpus[rng.below(corpus.size())];
      Bytes s(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(rng.below(b.size() + 1)));
      s.insert(s.end(), other.begin() + static_cast<std::ptrdiff_t>(rng.below(other.size() + 1)),
               other.end());
      b = std::move(s);
      break;
    }
    case 5:  // another type byte in front of the payload
      if (!b.empty() && b[0] < 0x80) {
        b[0] = static_cast<std::uint8_t>(rng.below(0x80));
      } else {
        b.insert(b.begin(), static_cast<std::uint8_t>(rng.below(0x80)));
      }
      break;
    default: {  // field-level: replace, drop or duplicate a field, keeping the RLP well formed
      Bytes prefix;
      std::vector<Bytes> fields;
      if (!split(b, prefix, fields) || fields.empty()) break;
      const auto i = rng.below(fields.size());
      const auto what = rng.below(10);
      if (what < 7) {
        fields[i] = hostile_field(rng);
      } else if (what < 8) {
        fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(i));
      } else if (what < 9) {
        fields.insert(fields.begin() + static_cast<std::ptrdiff_t>(i), fields[i]);
      } else {
        // The malleable twin of the signature: s' = n - s (EIP-2 forbids it).
        const U256 n{"0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"};
        auto s = rlp_decode_item(fields.back());
        if (s) {
          auto sv = rlp_u256(*s);
          if (sv && *sv != 0 && *sv < n) fields.back() = rlp_encode_u256(n - *sv);
        }
      }
      b = join(prefix, fields);
    }
  }
  return b;
}

struct Tally {
  std::size_t accepted = 0;
  std::size_t rejected = 0;
  std::set<TxError> seen;
  std::set<RlpError> seen_rlp;
};

void check_input(const Bytes& input, Tally& tally, bool recover) {
  auto r = decode_transaction(input);
  if (!r) {
    ++tally.rejected;
    const TxDecodeError& e = r.error();
    tally.seen.insert(e.code);
    if (to_string(e.code).find("unknown") != std::string_view::npos) FAIL("unnamed error");
    // An RLP failure carries its RLP reason; no other failure does.
    if ((e.code == TxError::kRlp) != e.rlp.has_value()) FAIL("inconsistent RLP detail");
    if (e.rlp) tally.seen_rlp.insert(*e.rlp);
    return;
  }
  ++tally.accepted;
  if (encode_signed(*r) != input) FAIL("accepted a non-canonical transaction");
  if (recover) (void)recover_sender(*r);  // must not crash whatever the signature
}

}  // namespace

TEST_CASE("the transaction decoder survives random and mutated input and stays canonical") {
  Rng rng(varkeeper::test::test_seed(0x7478'686f7374ULL));
  std::vector<Bytes> corpus;
  for (int i = 0; i < 150; ++i) {
    const SecretKey key = random_key(rng);
    corpus.push_back(encode_signed(sign_transaction(random_transaction(rng), key)));
  }
  Tally tally;
  for (const auto& b : corpus) check_input(b, tally, true);
  REQUIRE(tally.rejected == 0);

  // Random bytes behind a plausible first byte: 50 000 inputs.
  for (int i = 0; i < 50000; ++i) {
    Bytes b = rng.bytes(rng.below(120));
    if (!b.empty() && rng.chance(50)) b[0] = rng.chance(50) ? 0x02 : 0xf8;
    check_input(b, tally, false);
  }
  // Mutations of signed transactions: 200 000 inputs; recover the sender of every 64th accepted.
  for (int i = 0; i < 200000; ++i) check_input(mutate(rng, corpus), tally, (i & 63) == 0);

  MESSAGE("transaction hostile: " << tally.accepted << " accepted, " << tally.rejected
                                  << " rejected, " << tally.seen.size() << " error kinds, "
                                  << tally.seen_rlp.size() << " RLP error kinds");
  CHECK(tally.accepted > 1000);
  CHECK(tally.rejected > 100000);
  // Every transaction error kind is reached by the mutations.
  const std::set<TxError> all = {
      TxError::kEmpty,       TxError::kUnsupportedType, TxError::kRlp,  TxError::kWrongFieldCount,
      TxError::kBadToLength, TxError::kBadAccessList,   TxError::kBadV, TxError::kInvalidSignature,
      TxError::kHighS,
  };
  for (const auto e : all) {
    CAPTURE(to_string(e));
    CHECK(tally.seen.count(e) == 1);
  }
}
