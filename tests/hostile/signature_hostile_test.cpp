// Hostile input for the signature, address and EIP-712 decoders: random and mutated bytes and
// text must never crash or read out of bounds (scripts/test.sh also runs this under ASan and
// UBSan), and each refusal must carry the specific error an independent classification expects.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>

#include "chain/address.hpp"
#include "chain/eip712.hpp"
#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "chain/secp256k1.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;

namespace {

// SEC 2, 2.4.1: the secp256k1 group order.
const U256 kN("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

std::size_t pick(std::mt19937_64& rng, std::size_t n) {
  return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}

Bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

// What from_rsv must answer, worked out with 256-bit integers instead of byte comparisons.
std::optional<SignatureError> expected_rsv_error(ByteView rsv) {
  if (rsv.size() != 65) return SignatureError::kWrongLength;
  const std::uint8_t v = rsv[64];
  if (v != 0 && v != 1 && v != 27 && v != 28) return SignatureError::kBadRecoveryId;
  const U256 r = *u256_from_be(rsv.subspan(0, 32));
  const U256 s = *u256_from_be(rsv.subspan(32, 32));
  if (r == 0 || r >= kN || s == 0 || s >= kN) return SignatureError::kInvalidRS;
  if (s > kN / 2) return SignatureError::kHighS;
  return std::nullopt;
}

// A blob that is a 65-byte signature more often than uniform noise would be: fields pushed to
// the edges (zero, n - 1, n, n/2, n/2 + 1, all ones) and v from the interesting set.
Bytes edgy_rsv(std::mt19937_64& rng) {
  std::size_t len = 65;
  if (pick(rng, 8) == 0) len = pick(rng, 130);
  Bytes out = random_bytes(rng, len);
  if (len != 65) return out;
  const U256 edges[] = {0, 1, kN - 1, kN, kN / 2, kN / 2 + 1, ~U256(0)};
  for (std::size_t field = 0; field < 2; ++field) {
    if (pick(rng, 3) == 0) {
      const Hash32 w = u256_to_be32(edges[pick(rng, std::size(edges))]);
      std::copy(w.begin(), w.end(), out.begin() + static_cast<std::ptrdiff_t>(32 * field));
    } else if (pick(rng, 2) == 0) {
      out[32 * field] &= 0x7f;  // below n/2 more often
    }
  }
  const std::uint8_t vs[] = {0, 1, 2, 26, 27, 28, 29, 35, 36, 37, 38, 255};
  if (pick(rng, 4) != 0) out[64] = vs[pick(rng, std::size(vs))];
  return out;
}

std::string random_address_text(std::mt19937_64& rng) {
  static const std::string kChars = "0123456789abcdefABCDEFxXgG -";
  if (pick(rng, 3) == 0) {
    // A real checksummed address, lower-cased, upper-cased or left alone, then 0-2 edits.
    Address a{};
    const Bytes b = random_bytes(rng, 20);
    std::copy(b.begin(), b.end(), a.begin());
    std::string s = to_checksum_address(a);
    const std::size_t form = pick(rng, 3);
    for (std::size_t k = 2; k < s.size(); ++k) {
      if (form == 1) s[k] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[k])));
      if (form == 2) s[k] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[k])));
    }
    const std::size_t edits = pick(rng, 3);
    for (std::size_t e = 0; e < edits; ++e)
      s[pick(rng, s.size())] = kChars[pick(rng, kChars.size())];
    if (pick(rng, 4) == 0) s.erase(0, 2);
    return s;
  }
  std::string s = pick(rng, 2) ? "0x" : "";
  const std::size_t len = pick(rng, 4) ? 40 : pick(rng, 50);
  for (std::size_t i = 0; i < len; ++i) {
    s += pick(rng, 20) ? kChars[pick(rng, 22)] : kChars[pick(rng, kChars.size())];
  }
  return s;
}

// What parse_address must answer, worked out independently of its implementation.
std::optional<AddressError> expected_address_error(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  bool lower = false;
  bool upper = false;
  for (const char c : text) {
    const bool digit = c >= '0' && c <= '9';
    const bool lo = c >= 'a' && c <= 'f';
    const bool up = c >= 'A' && c <= 'F';
    if (!digit && !lo && !up) return AddressError::kBadHex;
    lower |= lo;
    upper |= up;
  }
  if (text.size() % 2 != 0) return AddressError::kBadHex;
  if (text.size() != 40) return AddressError::kWrongLength;
  if (lower && upper) {
    auto bytes = from_hex_fixed<20>(text);
    if (to_checksum_address(*bytes).substr(2) != text) return AddressError::kBadChecksum;
  }
  return std::nullopt;
}

constexpr const char* kMailJson =
    R"({"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},)"
    R"({"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],)"
    R"("Person":[{"name":"name","type":"string"},{"name":"wallets","type":"address[]"}],)"
    R"("Mail":[{"name":"from","type":"Person"},{"name":"to","type":"Person[2]"},)"
    R"({"name":"contents","type":"string"},{"name":"n","type":"int8"},{"name":"b","type":"bytes2"}]},)"
    R"("primaryType":"Mail","domain":{"name":"Ether Mail","version":"1","chainId":1,)"
    R"("verifyingContract":"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},)"
    R"("message":{"from":{"name":"Cow","wallets":["0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"]},)"
    R"("to":[{"name":"Bob","wallets":[]},{"name":"Eve","wallets":["0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"]}],)"
    R"("contents":"Hello, Bob!","n":-128,"b":"0xbeef"}})";

bool is_known(Eip712ErrorCode code) {
  return static_cast<int>(code) >= static_cast<int>(Eip712ErrorCode::kBadJson) &&
         static_cast<int>(code) <= static_cast<int>(Eip712ErrorCode::kTooDeep);
}

nlohmann::json random_json_leaf(std::mt19937_64& rng) {
  switch (pick(rng, 12)) {
    case 0: return nullptr;
    case 1: return pick(rng, 2) == 1;
    case 2: return static_cast<std::int64_t>(rng());
    case 3: return -1.5;
    case 4: return "";
    case 5: return "0x";
    case 6: return "-0x1";
    case 7: return "115792089237316195423570985008687907853269984665640564039457584007913129639936";
    case 8: return nlohmann::json::array();
    case 9: return nlohmann::json::object();
    case 10: return "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD82";
    default: return std::string(pick(rng, 5), 'A');
  }
}

// Replaces one random node of `j` (walking down at random) with a hostile leaf.
void mutate_node(nlohmann::json& j, std::mt19937_64& rng, int depth = 0) {
  if ((j.is_object() || j.is_array()) && !j.empty() && depth < 12 && pick(rng, 5) != 0) {
    auto it = j.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(pick(rng, j.size())));
    if (pick(rng, 8) == 0) {
      if (j.is_object())
        j.erase(it.key());
      else
        j.erase(it);
      return;
    }
    mutate_node(*it, rng, depth + 1);
    return;
  }
  j = random_json_leaf(rng);
}

}  // namespace

TEST_CASE("random and edge 65-byte signatures are classified exactly and never crash") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0x4057) ^ 0x1);
  const Hash32 digest = keccak256(std::string_view{"hostile"});
  int accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    const Bytes blob = edgy_rsv(rng);
    auto sig = from_rsv(blob);
    const auto want = expected_rsv_error(blob);
    if (want) {
      REQUIRE_FALSE(sig.has_value());
      if (sig.error() != *want) {
        CAPTURE(to_hex(blob));
        CHECK(sig.error() == *want);
      }
      continue;
    }
    REQUIRE(sig.has_value());
    ++accepted;
    if (accepted % 8 != 0) continue;  // recovery is the slow part: sample it
    auto pub = recover_public_key(digest, *sig);
    if (!pub) CHECK(pub.error() == SignatureError::kRecoveryFailed);
  }
  CHECK(accepted > 1000);  // the generator does reach the valid region
}

TEST_CASE("mutated valid signatures never recover the original signer") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0x4057) ^ 0x2);
  for (int i = 0; i < 2000; ++i) {
    auto key = SecretKey::from_bytes(random_bytes(rng, 32));
    if (!key) continue;
    const Hash32 digest = keccak256(random_bytes(rng, 32));
    auto rsv = to_rsv(sign_hash(digest, *key));
    const std::size_t bit = pick(rng, 65 * 8);
    rsv[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    auto sig = from_rsv(rsv);
    if (!sig) {
      CHECK(sig.error() == *expected_rsv_error(rsv));
      continue;
    }
    auto who = recover_address(digest, *sig);
    if (who) CHECK(*who != address_of(*key));
  }
}

TEST_CASE("random address text is refused with the precise error, never crashing") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0x4057) ^ 0x3);
  int valid = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::string text = random_address_text(rng);
    auto parsed = parse_address(text);
    const auto want = expected_address_error(text);
    if (want) {
      REQUIRE_FALSE(parsed.has_value());
      if (parsed.error() != *want) {
        CAPTURE(text);
        CHECK(parsed.error() == *want);
      }
    } else {
      REQUIRE(parsed.has_value());
      ++valid;
    }
  }
  CHECK(valid > 0);
}

TEST_CASE("flipping the case of one letter of a checksummed address gives kBadChecksum") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0x4057) ^ 0x4);
  for (int i = 0; i < 20000; ++i) {
    Address a{};
    const Bytes b = random_bytes(rng, 20);
    std::copy(b.begin(), b.end(), a.begin());
    std::string text = to_checksum_address(a);
    std::vector<std::size_t> letters;
    for (std::size_t k = 2; k < text.size(); ++k) {
      if (std::isalpha(static_cast<unsigned char>(text[k]))) letters.push_back(k);
    }
    if (letters.size() < 2) continue;  // a flip could make it all-lower or all-upper
    const std::size_t k = letters[pick(rng, letters.size())];
    text[k] = static_cast<char>(text[k] ^ 0x20);
    const bool uniform_case = std::all_of(letters.begin(), letters.end(),
                                          [&](std::size_t p) { return std::islower(text[p]); }) ||
                              std::all_of(letters.begin(), letters.end(),
                                          [&](std::size_t p) { return std::isupper(text[p]); });
    auto parsed = parse_address(text);
    if (uniform_case) {
      CHECK(parsed.has_value());
    } else {
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error() == AddressError::kBadChecksum);
    }
  }
}

TEST_CASE("byte-mutated typed-data JSON text never crashes and errors are specific") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0x4057) ^ 0x5);
  const std::string base = kMailJson;
  REQUIRE(hash_typed_data(std::string_view{base}).has_value());
  int refused = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string text = base;
    const std::size_t edits = 1 + pick(rng, 4);
    for (std::size_t e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = pick(rng, text.size());
      switch (pick(rng, 4)) {
        case 0: text[at] = static_cast<char>(rng()); break;
        case 1: text.erase(at, 1 + pick(rng, 8)); break;
        case 2: text.insert(at, 1, "{}[]\",:0x-9aZ\\"[pick(rng, 14)]); break;
        default: text.resize(at); break;
      }
    }
    auto r = hash_typed_data(std::string_view{text});
    if (!r) {
      ++refused;
      CHECK(is_known(r.error().code));
      CHECK_FALSE(r.error().message().empty());
    }
  }
  CHECK(refused > 0);
}

TEST_CASE("structurally mutated typed data is refused with a specific error, never crashing") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0x4057) ^ 0x6);
  const auto base = nlohmann::json::parse(kMailJson);
  const auto base_hashes = hash_typed_data(base);
  REQUIRE(base_hashes.has_value());
  int refused = 0;
  for (int i = 0; i < 30000; ++i) {
    nlohmann::json j = base;
    const std::size_t edits = 1 + pick(rng, 3);
    for (std::size_t e = 0; e < edits; ++e) mutate_node(j, rng);
    auto r = hash_typed_data(j);
    if (!r) {
      ++refused;
      CHECK(is_known(r.error().code));
      CHECK_FALSE(r.error().where.empty());
    }
  }
  CHECK(refused > 1000);
}

TEST_CASE("deep nesting and long type chains end in kTooDeep or a clean refusal") {
  // 100 000 nested JSON arrays in the message.
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string text =
      R"({"types":{"M":[{"name":"v","type":"uint8[]"}]},"primaryType":"M","domain":{"name":"x"},)"
      R"("message":{"v":)" +
      deep + "}}";
  auto r = hash_typed_data(std::string_view{text});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Eip712ErrorCode::kBadValue);

  // A chain of 5 000 struct types T0 -> T1 -> ... and a value nested as deep.
  nlohmann::json types = nlohmann::json::object();
  const int chain = 5000;
  for (int k = 0; k < chain; ++k) {
    types["T" + std::to_string(k)] = nlohmann::json::array(
        {{{"name", "next"}, {"type", k + 1 < chain ? "T" + std::to_string(k + 1) : "uint8"}}});
  }
  nlohmann::json message = 1;
  for (int k = chain - 1; k >= 0; --k) message = nlohmann::json{{"next", message}};
  nlohmann::json typed{
      {"types", types}, {"primaryType", "T0"}, {"domain", {{"name", "x"}}}, {"message", message}};
  auto chained = hash_typed_data(typed);
  REQUIRE_FALSE(chained.has_value());
  CHECK(chained.error().code == Eip712ErrorCode::kTooDeep);

  // Array dimensions beyond the limit in a type name.
  std::string type = "uint8";
  for (int k = 0; k < 1000; ++k) type += "[]";
  Eip712Types t;
  REQUIRE(t.add({"A", {{"v", type}}}).has_value());
  auto encoded = t.encode_type("A");
  REQUIRE_FALSE(encoded.has_value());
  CHECK(encoded.error().code == Eip712ErrorCode::kBadTypeDefinition);
}
