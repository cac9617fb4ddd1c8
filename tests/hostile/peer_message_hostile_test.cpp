// Hostile peer messages (issue 18): what another keeper, or anyone who reaches the peer
// listener, can send. The decoder must refuse every malformed, oversized, duplicate-key,
// wrong-field-set, out-of-range or badly signed message with a sentence naming the problem, and
// random mutations of a valid message must never crash it (scripts/test.sh runs this under ASan)
// nor yield a report other than the one that was signed.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "chain/hex.hpp"
#include "chain/uint256.hpp"
#include "keeper/network/peer_message.hpp"
#include "tests/keeper/peer_fixture.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;
using namespace varkeeper::keeper::network;
namespace fx = varkeeper::test::peer;

namespace {

// SEC 2, 2.4.1: the secp256k1 group order.
const chain::U256 kN("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

const PeerReport& valid() {
  static const PeerReport m = fx::signed_by(fx::key(0x22), fx::report(7, 42), 1200);
  return m;
}

std::string valid_text() { return encode_peer_report(valid()); }

// The text with the value of `key` replaced by `raw` (raw JSON, quotes included if wanted).
std::string with_raw(const std::string& key, const std::string& raw) {
  std::string s = valid_text();
  const std::string pat = "\"" + key + "\":\"";
  const auto at = s.find(pat);
  REQUIRE(at != std::string::npos);
  const auto start = at + pat.size() - 1;  // the opening quote of the value
  const auto end = s.find('"', start + 1);
  return s.substr(0, start) + raw + s.substr(end + 1);
}
std::string with_value(const std::string& key, const std::string& value) {
  return with_raw(key, "\"" + value + "\"");
}

std::string refusal(const std::string& text) {
  auto r = decode_peer_report(text, fx::domain());
  if (r) {
    return "(accepted)";
  }
  return r.error();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The message with its signature replaced by the 65 bytes r || s || v.
std::string with_rsv(const chain::Hash32& r, const chain::Hash32& s, std::uint8_t v) {
  chain::Bytes b(r.begin(), r.end());
  b.insert(b.end(), s.begin(), s.end());
  b.push_back(v);
  return with_value("signature", chain::to_hex(b));
}

}  // namespace

TEST_CASE("the valid message is accepted (the baseline the refusals below differ from)") {
  CHECK(refusal(valid_text()) == "(accepted)");
  CHECK(refusal("  \n" + valid_text() + "\r\n\t ") == "(accepted)");  // JSON whitespace
}

TEST_CASE("text that is not one flat JSON object of strings is refused, naming the problem") {
  CHECK(contains(refusal(""), "not a JSON object"));
  CHECK(contains(refusal("[]"), "not a JSON object"));
  CHECK(contains(refusal("null"), "not a JSON object"));
  CHECK(contains(refusal("{}"), "empty object"));
  CHECK(contains(refusal("{"), "a key is not a JSON string"));
  CHECK(contains(refusal(valid_text() + "x"), "content after the object"));
  CHECK(contains(refusal(valid_text() + valid_text()), "content after the object"));
  const std::string t = valid_text();
  CHECK(contains(refusal(t.substr(0, t.size() - 1)), "expected ',' or '}'"));
  CHECK(contains(refusal(t.substr(0, t.size() - 10)), "unterminated"));  // inside the signature
  CHECK(contains(refusal(with_raw("round", "42")), "the value of \"round\" is not a JSON string"));
  CHECK(contains(refusal(with_raw("round", "{\"a\":\"b\"}")), "not a JSON string"));
  CHECK(contains(refusal(with_raw("round", "[\"42\"]")), "not a JSON string"));
  CHECK(contains(refusal(with_raw("round", "null")), "not a JSON string"));
  CHECK(contains(refusal(with_value("round", "4\\u0032")), "escapes are not allowed"));
  CHECK(contains(refusal(with_value("round", "4\t2")), "control or non-ASCII"));
  CHECK(contains(refusal(with_value("round",
                                    "4\xc3\xa9"
                                    "2")),
                 "control or non-ASCII"));
}

TEST_CASE("a duplicate, unknown or missing key is refused (exact field set)") {
  const std::string t = valid_text();
  const std::string body = t.substr(0, t.size() - 1);
  // A second "round" after the first: a lenient parser would take the last one.
  CHECK(refusal(body + ",\"round\":\"41\"}") == "duplicate key \"round\"");
  CHECK(refusal(body + ",\"signature\":\"0x00\"}") == "duplicate key \"signature\"");
  CHECK(refusal(body + ",\"extra\":\"1\"}") == "unknown key \"extra\"");
  CHECK(refusal(body + ",\"Round\":\"1\"}") == "unknown key \"Round\"");
  // Drop the trigger block pair.
  std::string missing = t;
  const auto at = missing.find(",\"triggerBlock\"");
  const auto end = missing.find(",\"signer\"");
  missing.erase(at, end - at);
  CHECK(refusal(missing) == "missing key \"triggerBlock\"");
  CHECK(contains(refusal(with_value("version", "2")), "\"version\" is \"2\""));
}

TEST_CASE("over 4096 bytes is refused before parsing; 4096 bytes of padded JSON is accepted") {
  const std::string t = valid_text();
  const std::string at_limit = t + std::string(kMaxPeerMessageBytes - t.size(), ' ');
  REQUIRE(at_limit.size() == kMaxPeerMessageBytes);
  CHECK(refusal(at_limit) == "(accepted)");
  CHECK(contains(refusal(at_limit + " "), "4097 bytes, over the 4096-byte limit"));
  CHECK(contains(refusal(std::string(1 << 20, '{')), "over the 4096-byte limit"));
}

TEST_CASE("integers outside their Solidity width, or not plain decimal, are refused") {
  const chain::U256 two96 = chain::U256(1) << 96;
  CHECK(contains(refusal(with_value("portfolioValue", chain::u256_to_decimal(two96))),
                 "\"portfolioValue\" is out of range for uint96"));
  CHECK(contains(refusal(with_value("method", "256")), "\"method\" is out of range for uint8"));
  CHECK(contains(refusal(with_value("breakerStatus", "300")), "out of range for uint8"));
  CHECK(contains(refusal(with_value("horizon", "4294967296")), "out of range for uint32"));
  CHECK(contains(refusal(with_value("round", "18446744073709551616")), "out of range for uint64"));
  CHECK(contains(refusal(with_value("triggerBlock", std::string(100, '9'))), "too long"));
  CHECK(contains(refusal(with_value("round", "042")), "leading zero"));
  CHECK(contains(refusal(with_value("round", "")), "\"round\" is empty"));
  CHECK(contains(refusal(with_value("round", "0x2a")), "leading zero"));
  for (const std::string bad : {"-1", "+1", "1e3", "x2a", "4 2", "42.0"}) {
    CAPTURE(bad);
    CHECK(contains(refusal(with_value("round", bad)), "not a decimal integer"));
  }
  // In range but not what was signed: the signature no longer recovers to the claimed signer.
  CHECK(contains(refusal(with_value("portfolioValue", chain::u256_to_decimal(two96 - 1))),
                 "not the claimed signer"));
  CHECK(contains(refusal(with_value("configHash", "0x1234")), "\"configHash\" is not 0x"));
  CHECK(contains(refusal(with_value("signer", "0x1234")), "\"signer\" is not 0x"));
}

TEST_CASE("high-s, zero, out-of-order and wrong-v signatures are refused") {
  const chain::Signature& sig = valid().signature;
  const std::uint8_t v = static_cast<std::uint8_t>(27 + sig.y_parity);
  const std::uint8_t flipped = static_cast<std::uint8_t>(28 - sig.y_parity);
  // The malleable twin (r, n - s, flipped v) recovers the same signer: refused by EIP-2.
  const chain::U256 s = *chain::u256_from_be(sig.s);
  const chain::Hash32 high_s = chain::u256_to_be32(kN - s);
  CHECK(contains(refusal(with_rsv(sig.r, high_s, flipped)), "above n/2"));
  CHECK(contains(refusal(with_rsv(chain::Hash32{}, sig.s, v)), "zero or not below"));
  CHECK(contains(refusal(with_rsv(chain::u256_to_be32(kN), sig.s, v)), "zero or not below"));
  CHECK(contains(refusal(with_rsv(sig.r, sig.s, sig.y_parity)), "not 27 or 28"));
  CHECK(contains(refusal(with_rsv(sig.r, sig.s, 29)), "not 27 or 28"));
  // The other parity recovers another key: not the claimed signer.
  CHECK(contains(refusal(with_rsv(sig.r, sig.s, flipped)), "not the claimed signer"));
  CHECK(contains(refusal(with_value("signature", "0x00")), "130 hex digits"));
  // Someone else's valid signature over the same report, claimed as the peer's.
  const PeerReport other = fx::signed_by(fx::key(0x44), valid().report);
  CHECK(contains(refusal(with_value("signature", chain::to_hex(chain::to_rsv(other.signature)))),
                 "not the claimed signer"));
}

TEST_CASE("random mutations of a valid message never crash and never yield another report") {
  const std::uint64_t seed = varkeeper::test::test_seed(0x9ee7);
  std::mt19937_64 rng(seed);
  const std::string base = valid_text();
  const std::string alphabet = "{}[]\":,\\ 0123456789abcdefxABCDEF-+.e\n\t";
  int accepted = 0;
  for (int i = 0; i < 20'000; ++i) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const std::size_t at = rng() % s.size();
      switch (rng() % 5) {
        case 0: s[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: s.erase(at, 1 + rng() % 8); break;
        case 2: s.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 3: s.resize(at); break;
        default: s[at] = static_cast<char>(rng()); break;
      }
    }
    auto r = decode_peer_report(s, fx::domain());
    if (r) {
      ++accepted;
      CAPTURE(s);
      CHECK(r->report == valid().report);
      CHECK(r->signature == valid().signature);
      CHECK(r->signer == valid().signer);
    } else {
      CHECK_FALSE(r.error().empty());
    }
  }
  MESSAGE("mutations accepted (whitespace, hex case or trigger block edits): " << accepted);
}
