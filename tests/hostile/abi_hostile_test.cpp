// Hostile input for the ABI decoder, revert decoder and the type/value parsers: a few hundred
// thousand random and mutated inputs. Nothing may crash or read out of bounds (ASan runs this
// too); every refusal carries a specific error with an offset inside the input; every accepted
// input re-encodes to exactly the same bytes (the decoder accepts only the strict encoding).
#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "chain/abi.hpp"
#include "tests/support/abi_random.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using varkeeper::test::AbiRandom;

namespace {

const char* const kTypeLists[] = {
    "uint256,address,bool",
    "int8,uint24,bytes31,int256",
    "bytes,string",
    "uint256[][],string[]",
    "(uint8,bytes)[],string[2],int16",
    "bytes7,(int256,(string,address[])[]),uint256[][]",
    "string[][],(bool,bytes)[2],int40[]",
    "(bytes[2],string)[][]",
    "((uint8,bool)[3],string)[]",
};

// A word that is likely to be meaningful as an offset or a length.
Bytes plausible_word(AbiRandom& r, std::size_t input_size) {
  U256 v;
  switch (r.below(7)) {
    case 0: v = 0; break;
    case 1: v = U256(32 * r.below(input_size / 32 + 3)); break;
    case 2: v = U256(r.below(input_size + 64)); break;
    case 3: v = ~U256(0) - U256(r.below(64)); break;
    case 4: v = U256(1) << (r.below(256)); break;
    case 5: v = U256(r.below(4)); break;
    default: v = r.bits(256); break;
  }
  const Hash32 w = u256_to_be32(v);
  return Bytes(w.begin(), w.end());
}

void mutate(AbiRandom& r, Bytes& data) {
  const std::size_t rounds = 1 + r.below(3);
  for (std::size_t k = 0; k < rounds; ++k) {
    const std::size_t words = data.size() / 32;
    switch (r.below(8)) {
      case 0:  // flip one byte
        if (!data.empty())
          data[r.below(data.size())] ^= static_cast<std::uint8_t>(1 + r.below(255));
        break;
      case 1:  // overwrite an aligned word with an offset-like / length-like value
      case 2:
        if (words > 0) {
          const Bytes w = plausible_word(r, data.size());
          std::copy(w.begin(), w.end(),
                    data.begin() + static_cast<std::ptrdiff_t>(32 * r.below(words)));
        }
        break;
      case 3:  // truncate
        if (!data.empty()) data.resize(r.below(data.size()));
        break;
      case 4: {  // append bytes or a word
        const Bytes w = plausible_word(r, data.size());
        data.insert(data.end(), w.begin(),
                    w.begin() + static_cast<std::ptrdiff_t>(r.coin() ? 32 : 1 + r.below(31)));
        break;
      }
      case 5:  // duplicate a word in the middle
        if (words > 0) {
          const std::size_t at = 32 * r.below(words);
          const Bytes w(data.begin() + static_cast<std::ptrdiff_t>(at),
                        data.begin() + static_cast<std::ptrdiff_t>(at + 32));
          data.insert(data.begin() + static_cast<std::ptrdiff_t>(at), w.begin(), w.end());
        }
        break;
      case 6:  // remove a word
        if (words > 0) {
          const auto at = static_cast<std::ptrdiff_t>(32 * r.below(words));
          data.erase(data.begin() + at, data.begin() + at + 32);
        }
        break;
      default:  // set the low byte of a word (small offsets and lengths)
        if (words > 0) data[32 * r.below(words) + 31] = static_cast<std::uint8_t>(r.below(256));
        break;
    }
  }
}

Bytes random_bytes(AbiRandom& r) {
  Bytes data;
  const std::size_t words = r.below(24);
  for (std::size_t i = 0; i < words; ++i) {
    const Bytes w = r.coin() ? plausible_word(r, words * 32) : r.bytes(32);
    data.insert(data.end(), w.begin(), w.end());
  }
  if (r.below(4) == 0) {
    const Bytes tail = r.bytes(r.below(32));
    data.insert(data.end(), tail.begin(), tail.end());
  }
  return data;
}

}  // namespace

TEST_CASE("the ABI decoder survives random and mutated input with specific errors") {
  AbiRandom r(varkeeper::test::test_seed(0xab1ba5e));
  std::vector<std::vector<AbiType>> lists;
  for (const char* text : kTypeLists) {
    auto parsed = parse_abi_type_list(text);
    REQUIRE(parsed.has_value());
    lists.push_back(*parsed);
  }
  constexpr std::size_t kInputs = 300'000;
  std::set<AbiDecodeError> seen;
  std::size_t accepted = 0;
  std::size_t accepted_mutants = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t n = 0; n < kInputs; ++n) {
    const auto& types = lists[n % lists.size()];
    Bytes data;
    bool mutated = true;
    if (n % 5 == 0) {
      data = random_bytes(r);
    } else {
      std::vector<AbiValue> values;
      for (const auto& t : types) values.push_back(r.value(t));
      auto encoded = abi_encode(types, values);
      REQUIRE(encoded.has_value());
      data = std::move(*encoded);
      if (n % 17 == 1) {
        mutated = false;  // some untouched encodings must decode to their values
        auto decoded = abi_decode(types, data);
        REQUIRE(decoded.has_value());
        CHECK(*decoded == values);
      } else {
        mutate(r, data);
      }
    }
    auto decoded = abi_decode(types, data);
    if (!decoded) {
      seen.insert(decoded.error().code);
      CHECK(decoded.error().offset <= data.size());
      CHECK(to_string(decoded.error().code) != "unknown ABI decode error");
      continue;
    }
    ++accepted;
    if (mutated) ++accepted_mutants;
    // Accepted means strict: the re-encoding is the input, byte for byte.
    auto again = abi_encode(types, *decoded);
    REQUIRE(again.has_value());
    if (*again != data) {
      FAIL_CHECK("non-canonical input accepted, case " << n);
    }
    // With trailing bytes allowed, the same input decodes to the same values.
    auto lenient = abi_decode(types, data, {.allow_trailing_bytes = true});
    REQUIRE(lenient.has_value());
    CHECK(*lenient == *decoded);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE(kInputs << " decodes in " << seconds << " s; accepted " << accepted << " ("
                  << accepted_mutants << " mutants), distinct errors " << seen.size());
  // The mutations reach every class of refusal a strict decoder has.
  for (AbiDecodeError e : {AbiDecodeError::kTruncated, AbiDecodeError::kOffsetOutOfBounds,
                           AbiDecodeError::kOffsetIntoHead, AbiDecodeError::kOverlappingData,
                           AbiDecodeError::kNonCanonicalOffset, AbiDecodeError::kLengthOutOfBounds,
                           AbiDecodeError::kNonZeroPadding, AbiDecodeError::kDirtyHighBits,
                           AbiDecodeError::kBadSignExtension, AbiDecodeError::kBadBool,
                           AbiDecodeError::kDirtyAddress, AbiDecodeError::kTrailingBytes}) {
    CAPTURE(to_string(e));
    CHECK(seen.count(e) == 1);
  }
  CHECK(accepted > kInputs / 50);
}

TEST_CASE("revert data decoding survives random and mutated revert payloads") {
  AbiRandom r(varkeeper::test::test_seed(0xab1ba5e) ^ 0xe77);
  const std::vector<AbiSignature> errors = {
      *parse_abi_signature("InsufficientBalance(uint256,uint256)"),
      *parse_abi_signature("Rejected(string,bytes[],(address,int8))")};
  std::size_t decoded_ok = 0;
  for (std::size_t n = 0; n < 60'000; ++n) {
    Bytes data;
    switch (n % 4) {
      case 0: data.assign(kErrorSelector.begin(), kErrorSelector.end()); break;
      case 1: data.assign(kPanicSelector.begin(), kPanicSelector.end()); break;
      case 2: {
        const Selector s = selector_of(errors[r.below(errors.size())]);
        data.assign(s.begin(), s.end());
        break;
      }
      default: data = r.bytes(r.below(6)); break;
    }
    if (n % 4 == 0 && r.coin()) {
      auto body = abi_encode({abi_string()}, {AbiValue::from_string(r.text())});
      data.insert(data.end(), body->begin(), body->end());
      mutate(r, data);
    } else {
      const Bytes tail = random_bytes(r);
      data.insert(data.end(), tail.begin(), tail.end());
    }
    auto reason = decode_revert(data, errors);
    if (!reason) {
      CHECK(reason.error().offset <= data.size());
      continue;
    }
    ++decoded_ok;
    CHECK_FALSE(describe(*reason).empty());
  }
  CHECK(decoded_ok > 0);
}

TEST_CASE("type, signature and value parsers survive random text") {
  AbiRandom r(varkeeper::test::test_seed(0xab1ba5e) ^ 0x7e47);
  static const std::vector<std::string> pieces = {
      "uint", "int", "256", "8", "bytes", "32",   "string", "address", "bool",
      "(",    ")",   "[",   "]", "[2]",   "[]",   ",",      " ",       "indexed",
      "f",    "0",   "x",   "-", "\"",    "\xff", "tuple",  "fixed"};
  std::size_t types_ok = 0;
  for (std::size_t n = 0; n < 60'000; ++n) {
    std::string text;
    const std::size_t count = r.below(14);
    for (std::size_t i = 0; i < count; ++i) text += pieces[r.below(pieces.size())];
    auto type = parse_abi_type(text);
    if (type) {
      ++types_ok;
      // The canonical form of an accepted type parses to the same type.
      auto again = parse_abi_type(canonical_name(*type));
      REQUIRE(again.has_value());
      CHECK(*again == *type);
    } else {
      CHECK(type.error().position <= text.size());
    }
    auto sig = parse_abi_signature("f(" + text + ")");
    if (!sig) CHECK(sig.error().position <= text.size() + 3);
    // Values: random text against a random type.
    const AbiType t = r.type(3);
    auto value = parse_abi_value(t, text);
    if (value) {
      CHECK(abi_encode({t}, {*value}).has_value());  // parsed values are always encodable
    } else {
      CHECK(value.error().position <= text.size());
    }
  }
  CHECK(types_ok > 0);
}
