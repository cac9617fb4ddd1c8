// Hostile input for the RLP decoder: random bytes and mutations of valid encodings (flipped and
// replaced bytes, truncation, extension, splices of two encodings, forged headers). The decoder
// must never crash or read out of bounds (this runs under ASan + UBSan too), must name a specific
// error for every rejection, and must be canonical: whatever it accepts re-encodes to the same
// bytes.
#include <doctest/doctest.h>

#include <random>
#include <set>
#include <vector>

#include "chain/rlp.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;

namespace {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(seed) {}
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : gen_() % n; }
  std::uint8_t byte() { return static_cast<std::uint8_t>(gen_()); }
  bool chance(unsigned percent) { return below(100) < percent; }

 private:
  std::mt19937_64 gen_;
};

// A random valid item: strings of every length class, nested lists, scalars.
void random_item(Rng& rng, RlpEncoder& enc, int depth) {
  const auto kind = rng.below(depth > 4 ? 3 : 5);
  switch (kind) {
    case 0: {  // short string, sometimes a single byte below 0x80
      Bytes b(rng.below(8));
      for (auto& x : b) x = rng.byte();
      enc.add_bytes(b);
      break;
    }
    case 1: {  // a string around the 55/56 boundary, or long
      Bytes b(rng.chance(50) ? 50 + rng.below(10) : rng.below(300));
      for (auto& x : b) x = rng.byte();
      enc.add_bytes(b);
      break;
    }
    case 2: {  // a scalar of random width
      U256 v = 0;
      const auto bytes = rng.below(33);
      for (std::uint64_t i = 0; i < bytes; ++i) v = (v << 8) | rng.byte();
      enc.add_u256(v);
      break;
    }
    default: {  // a list
      const auto mark = enc.begin_list();
      const auto n = rng.below(rng.chance(20) ? 20 : 5);
      for (std::uint64_t i = 0; i < n; ++i) random_item(rng, enc, depth + 1);
      enc.end_list(mark);
    }
  }
}

// Re-encodes an accepted input from its decoded tree (test-local, recursive: inputs are small).
void reencode(const RlpItem& item, RlpEncoder& enc) {
  if (!item.is_list) {
    enc.add_bytes(item.payload);
    return;
  }
  auto reader = RlpListReader::open(item);
  REQUIRE(reader);
  const auto mark = enc.begin_list();
  while (!reader->at_end()) {
    auto next = reader->next();
    REQUIRE(next);  // validate() accepted the whole tree
    reencode(*next, enc);
  }
  enc.end_list(mark);
}

// The errors rlp_validate can name; type errors belong to the typed accessors.
const std::set<RlpError> kStructuralErrors = {
    RlpError::kInputTooShort,  RlpError::kLeadingZero,    RlpError::kNonCanonicalSize,
    RlpError::kOverlongLength, RlpError::kLengthOverflow, RlpError::kTrailingBytes,
};

struct Tally {
  std::size_t accepted = 0;
  std::size_t rejected = 0;
  std::set<RlpError> seen;
};

void check_input(const Bytes& input, Tally& tally) {
  auto r = rlp_validate(input);
  if (!r) {
    ++tally.rejected;
    tally.seen.insert(r.error());
    const bool specific = kStructuralErrors.count(r.error()) == 1;
    if (!specific) FAIL("unexpected error " << static_cast<int>(r.error()));
    // The single-item decoder agrees with validation on the top-level header.
    ByteView view(input);
    auto top = rlp_read_item(view);
    if (top && view.empty() && !top->is_list) FAIL("validate rejected a lone valid string");
    return;
  }
  ++tally.accepted;
  auto item = rlp_decode_item(input);
  REQUIRE(item);
  Bytes again;
  RlpEncoder enc(again);
  reencode(*item, enc);
  if (again != input) FAIL("accepted a non-canonical encoding");
  // The typed accessors must not crash on whatever was accepted.
  if (!item->is_list) {
    (void)rlp_u256(*item);
    (void)rlp_u64(*item);
    (void)rlp_fixed<20>(*item);
  } else {
    auto reader = RlpListReader::open(*item);
    REQUIRE(reader);
    (void)reader->count();
    while (!reader->at_end()) (void)reader->next_u256();
  }
}

Bytes mutate(Rng& rng, const std::vector<Bytes>& corpus) {
  Bytes b = corpus[rng.below(corpus.size())];
  const auto op = rng.below(8);
  switch (op) {
    case 0:  // flip bits in a few bytes
      for (std::uint64_t i = 0, n = 1 + rng.below(3); i < n && !b.empty(); ++i) {
        b[rng.below(b.size())] ^= static_cast<std::uint8_t>(1u << rng.below(8));
      }
      break;
    case 1:  // replace a byte, favouring header positions
      if (!b.empty()) b[rng.chance(50) ? 0 : rng.below(b.size())] = rng.byte();
      break;
    case 2:  // truncate
      b.resize(rng.below(b.size() + 1));
      break;
    case 3:  // extend with random bytes
      for (std::uint64_t i = 0, n = 1 + rng.below(8); i < n; ++i) b.push_back(rng.byte());
      break;
    case 4: {  // splice: a prefix of one encoding and a suffix of another
      const Bytes& other = corpus[rng.below(corpus.size())];
      Bytes s(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(rng.below(b.size() + 1)));
      s.insert(s.end(), other.begin() + static_cast<std::ptrdiff_t>(rng.below(other.size() + 1)),
               other.end());
      b = std::move(s);
      break;
    }
    case 5: {  // wrap in a forged list header with a random length
      Bytes s{static_cast<std::uint8_t>(0xc0 + rng.below(64))};
      if (s[0] > 0xf7) {
        for (unsigned i = 0; i < s[0] - 0xf7u; ++i) s.push_back(rng.byte());
      }
      s.insert(s.end(), b.begin(), b.end());
      b = std::move(s);
      break;
    }
    case 6: {  // a long-form header with a random (possibly huge) length
      const std::uint8_t tag = rng.chance(50) ? 0xb8 + rng.below(8) : 0xf8 + rng.below(8);
      Bytes s{tag};
      const unsigned len_of_len = (tag >= 0xf8 ? tag - 0xf7u : tag - 0xb7u);
      const bool saturate = rng.chance(10);  // lengths near 2^64: size_t overflow
      for (unsigned i = 0; i < len_of_len; ++i) {
        s.push_back(saturate ? 0xff : rng.chance(20) ? 0 : rng.byte());
      }
      s.insert(s.end(), b.begin(), b.end());
      b = std::move(s);
      break;
    }
    default:  // insert or delete one byte
      if (!b.empty() && rng.chance(50)) {
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(rng.below(b.size())));
      } else {
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(rng.below(b.size() + 1)), rng.byte());
      }
  }
  return b;
}

}  // namespace

TEST_CASE("the RLP decoder survives random and mutated input and stays canonical") {
  Rng rng(varkeeper::test::test_seed(0x726c70'686f7374ULL));
  std::vector<Bytes> corpus;
  for (int i = 0; i < 400; ++i) {
    Bytes b;
    RlpEncoder enc(b);
    random_item(rng, enc, 0);
    corpus.push_back(std::move(b));
  }
  Tally tally;
  for (const auto& b : corpus) check_input(b, tally);
  REQUIRE(tally.rejected == 0);  // the corpus itself is valid

  // Pure random bytes: 100 000 inputs of 0..48 bytes.
  for (int i = 0; i < 100000; ++i) {
    Bytes b(rng.below(49));
    for (auto& x : b) x = rng.byte();
    check_input(b, tally);
  }
  // Mutations of valid encodings: 250 000 inputs.
  for (int i = 0; i < 250000; ++i) check_input(mutate(rng, corpus), tally);

  MESSAGE("RLP hostile: " << tally.accepted << " accepted, " << tally.rejected
                          << " rejected, distinct errors " << tally.seen.size());
  CHECK(tally.accepted > 10000);
  CHECK(tally.rejected > 100000);
  CHECK(tally.seen == kStructuralErrors);  // every error kind was reached
}
