#include "chain/rlp.hpp"

#include <doctest/doctest.h>

#include <boost/multiprecision/cpp_int.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "chain/hex.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using nlohmann::json;
using varkeeper::test::read_file;

namespace {

json load_vectors(const std::string& file) {
  return json::parse(read_file(std::string(VARKEEPER_DATA_DIR) + "/" + file));
}

Bytes hex(std::string_view text) {
  auto b = from_hex(text);
  REQUIRE_MESSAGE(b, "bad hex in vector: " << text);
  return *b;
}

// ethereum/tests convention: "#123..." is a decimal integer of any size.
Bytes big_decimal_to_be(const std::string& digits) {
  boost::multiprecision::cpp_int v(digits);
  Bytes out;
  boost::multiprecision::export_bits(v, std::back_inserter(out), 8);
  if (v == 0) out.clear();
  return out;
}

// Encodes a test-file value with the encoder under test.
void encode_json(RlpEncoder& enc, const json& v) {
  if (v.is_array()) {
    const auto mark = enc.begin_list();
    for (const auto& e : v) encode_json(enc, e);
    enc.end_list(mark);
  } else if (v.is_number_unsigned()) {
    enc.add_uint(v.get<std::uint64_t>());
  } else {
    const auto s = v.get<std::string>();
    if (!s.empty() && s[0] == '#') {
      enc.add_bytes(big_decimal_to_be(s.substr(1)));
    } else {
      enc.add_string(s);
    }
  }
}

// Checks that the decoded `item` is the test-file value `v`.
void check_decoded(const json& v, const RlpItem& item) {
  if (v.is_array()) {
    REQUIRE(item.is_list);
    auto reader = RlpListReader::open(item);
    REQUIRE(reader);
    for (const auto& e : v) {
      auto next = reader->next();
      REQUIRE(next);
      check_decoded(e, *next);
    }
    CHECK(reader->at_end());
  } else if (v.is_number_unsigned()) {
    auto n = rlp_u64(item);
    REQUIRE(n);
    CHECK(*n == v.get<std::uint64_t>());
  } else {
    const auto s = v.get<std::string>();
    auto bytes = rlp_bytes(item);
    REQUIRE(bytes);
    const Bytes got(bytes->begin(), bytes->end());
    if (!s.empty() && s[0] == '#') {
      CHECK(got == big_decimal_to_be(s.substr(1)));
    } else {
      CHECK(got == Bytes(s.begin(), s.end()));
    }
  }
}

void run_valid_file(const std::string& file) {
  const json doc = load_vectors(file);
  REQUIRE(doc["tests"].size() > 5);
  for (const auto& [name, t] : doc["tests"].items()) {
    CAPTURE(name);
    const Bytes want = hex(t["out"].get<std::string>());
    Bytes got;
    RlpEncoder enc(got);
    encode_json(enc, t["in"]);
    CHECK(to_hex(got) == to_hex(want));

    CHECK(rlp_validate(want).has_value());
    auto item = rlp_decode_item(want);
    REQUIRE(item);
    CHECK(item->encoded.size() == want.size());
    check_decoded(t["in"], *item);
  }
}

RlpError error_named(const std::string& name) {
  static const std::map<std::string, RlpError> kNames = {
      {"kInputTooShort", RlpError::kInputTooShort},
      {"kLeadingZero", RlpError::kLeadingZero},
      {"kNonCanonicalSize", RlpError::kNonCanonicalSize},
      {"kOverlongLength", RlpError::kOverlongLength},
      {"kLengthOverflow", RlpError::kLengthOverflow},
      {"kTrailingBytes", RlpError::kTrailingBytes},
  };
  const auto it = kNames.find(name);
  REQUIRE_MESSAGE(it != kNames.end(), "unknown error name in vector file: " << name);
  return it->second;
}

}  // namespace

TEST_CASE("RLP encodes and decodes the examples of the RLP specification") {
  run_valid_file("rlp_spec_examples.json");
}

TEST_CASE("RLP encodes and decodes the ethereum/tests rlptest.json vectors") {
  run_valid_file("rlp_valid.json");
}

TEST_CASE("RLP rejects each ethereum/tests invalidRLPTest.json case with its specific error") {
  const json doc = load_vectors("rlp_invalid.json");
  REQUIRE(doc["tests"].size() == 26);
  for (const auto& [name, t] : doc["tests"].items()) {
    CAPTURE(name);
    const Bytes input = hex(t["out"].get<std::string>());
    auto r = rlp_validate(input);
    REQUIRE_FALSE(r);
    CHECK(to_string(r.error()) == to_string(error_named(t["error"].get<std::string>())));
  }
}

TEST_CASE("RLP refuses bytes after the top-level item") {
  // "dog" followed by one stray byte; and two empty strings in a row.
  for (const char* text : {"0x83646f6700", "0x8080", "0xc0c0"}) {
    CAPTURE(text);
    auto r = rlp_decode_item(hex(text));
    REQUIRE_FALSE(r);
    CHECK(r.error() == RlpError::kTrailingBytes);
    auto v = rlp_validate(hex(text));
    REQUIRE_FALSE(v);
    CHECK(v.error() == RlpError::kTrailingBytes);
  }
}

TEST_CASE("RLP refuses an element that runs past the end of its list") {
  // [ "abc" ] is 0xc483616263. With a list header claiming 3 bytes, "abc" needs 4 and overruns
  // its list; with the fifth byte present, the top-level item ends early: trailing bytes.
  REQUIRE(rlp_validate(hex("0xc483616263")));
  auto overrun = rlp_validate(hex("0xc3836162"));
  REQUIRE_FALSE(overrun);
  CHECK(overrun.error() == RlpError::kOverlongLength);
  overrun = rlp_validate(hex("0xc383616263"));
  REQUIRE_FALSE(overrun);
  CHECK(overrun.error() == RlpError::kTrailingBytes);
}

TEST_CASE("RLP reports a truncated long-form header as input too short") {
  for (const char* text : {"0xb8", "0xb900", "0xf9", "0xfa0101"}) {
    CAPTURE(text);
    auto r = rlp_validate(hex(text));
    REQUIRE_FALSE(r);
    CHECK(r.error() == RlpError::kInputTooShort);
  }
}

TEST_CASE("RLP scalars must be canonical and fit their type") {
  struct Case {
    const char* rlp;
    RlpError error;
  };
  const Case bad[] = {
      {"0x00", RlpError::kLeadingZeroInScalar},      // zero must be 0x80
      {"0x820001", RlpError::kLeadingZeroInScalar},  // 1 with a leading zero byte
      {"0xc0", RlpError::kUnexpectedList},
      // 2^256 (ethereum/tests "bigint"): one byte too wide for a U256.
      {"0xa1010000000000000000000000000000000000000000000000000000000000000000",
       RlpError::kScalarOverflow},
  };
  for (const auto& c : bad) {
    CAPTURE(c.rlp);
    const Bytes input = hex(c.rlp);  // decoded items are views: keep the bytes alive
    auto item = rlp_decode_item(input);
    REQUIRE(item);
    auto v = rlp_u256(*item);
    REQUIRE_FALSE(v);
    CHECK(v.error() == c.error);
  }
  // 2^64 does not fit a uint64 but fits a U256.
  const Bytes two64 = hex("0x89010000000000000000");
  auto item = rlp_decode_item(two64);
  REQUIRE(item);
  auto small = rlp_u64(*item);
  REQUIRE_FALSE(small);
  CHECK(small.error() == RlpError::kScalarOverflow);
  auto big = rlp_u256(*item);
  REQUIRE(big);
  CHECK(*big == (U256(1) << 64));

  // 2^256 - 1 encodes as 0xa0 followed by 32 bytes of 0xff, and decodes back.
  const U256 max = ~U256(0);
  const Bytes enc = rlp_encode_u256(max);
  CHECK(to_hex(enc) == "0xa0" + std::string(64, 'f'));
  auto back = rlp_decode_item(enc);
  REQUIRE(back);
  auto value = rlp_u256(*back);
  REQUIRE(value);
  CHECK(*value == max);
  // Zero is the empty string.
  CHECK(to_hex(rlp_encode_u256(0)) == "0x80");
}

TEST_CASE("RLP typed accessors name a type mismatch") {
  auto str = RlpListReader::decode(hex("0x83646f67"));
  REQUIRE_FALSE(str);
  CHECK(str.error() == RlpError::kUnexpectedString);

  const Bytes cat_dog = hex("0xc88363617483646f67");
  auto list = rlp_decode_item(cat_dog);
  REQUIRE(list);
  auto bytes = rlp_bytes(*list);
  REQUIRE_FALSE(bytes);
  CHECK(bytes.error() == RlpError::kUnexpectedList);

  auto reader = RlpListReader::open(*list);
  REQUIRE(reader);
  auto count = reader->count();
  REQUIRE(count);
  CHECK(*count == 2);
  auto fixed = reader->next_fixed<4>();  // "cat" is 3 bytes
  REQUIRE_FALSE(fixed);
  CHECK(fixed.error() == RlpError::kUnexpectedLength);
  auto dog = reader->next_fixed<3>();
  REQUIRE(dog);
  CHECK((*dog == FixedBytes<3>{'d', 'o', 'g'}));
  auto past = reader->next();
  REQUIRE_FALSE(past);
  CHECK(past.error() == RlpError::kListEnded);
}

TEST_CASE("RLP list headers switch to the long form at a 56-byte payload") {
  // Payload of 55 bytes: short form 0xc0+55 = 0xf7; 56 bytes: 0xf8 0x38 (Yellow Paper eq. 183).
  for (const std::size_t n :
       {std::size_t{54}, std::size_t{55}, std::size_t{56}, std::size_t{300}}) {
    CAPTURE(n);
    Bytes out;
    RlpEncoder enc(out);
    const auto outer = enc.begin_list();
    const auto inner = enc.begin_list();
    enc.end_list(inner);  // one empty list, 1 byte
    for (std::size_t i = 1; i < n; ++i) enc.add_uint(1);
    enc.end_list(outer);
    CHECK(out.size() == n + rlp_header_size(n));
    const std::size_t b0 = out[0], b1 = out[1], b2 = out[2];
    if (n < 56) {
      CHECK(b0 == 0xc0 + n);
    } else if (n < 256) {
      CHECK(b0 == 0xf8);
      CHECK(b1 == n);
    } else {
      CHECK(b0 == 0xf9);
      CHECK(((b1 << 8) | b2) == n);
    }
    CHECK(out[rlp_header_size(n)] == 0xc0);
    CHECK(rlp_validate(out).has_value());
  }
}

TEST_CASE("RLP validation walks deep nesting without recursion") {
  // 5000 nested single-element lists around an empty list (long-form headers once a payload
  // reaches 56 bytes).
  Bytes out;
  RlpEncoder enc(out);
  std::vector<RlpEncoder::ListMark> marks;
  for (int i = 0; i < 5000; ++i) marks.push_back(enc.begin_list());
  while (!marks.empty()) {
    enc.end_list(marks.back());
    marks.pop_back();
  }
  CHECK(rlp_validate(out).has_value());
  out.back() = 0x80;  // the innermost [] becomes "" : still valid
  CHECK(rlp_validate(out).has_value());
  out.push_back(0x00);
  auto r = rlp_validate(out);
  REQUIRE_FALSE(r);
  CHECK(r.error() == RlpError::kTrailingBytes);
}
