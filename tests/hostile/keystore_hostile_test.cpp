// Hostile keystore files: structured field mutations (removed fields, wrong types, huge or
// negative numbers, bad hex), byte-level mutations of valid files and random bytes. parse_keystore
// and decrypt_keystore must never crash, must answer with a precise error, and must never accept
// parameters beyond the documented limits (so no file can make us allocate gigabytes or run a
// multi-second KDF).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "chain/hex.hpp"
#include "chain/keystore.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using varkeeper::test::read_file;

namespace {

json load_json(const std::string& name) {
  return json::parse(read_file(std::string(VARKEEPER_DATA_DIR) + "/keystore/" + name));
}

// Cheap, valid bases: geth's very-light scrypt file (password ""), and pbkdf2 / scrypt files we
// write with tiny costs (password "pw").
std::vector<std::pair<json, std::string>> bases() {
  std::vector<std::pair<json, std::string>> out;
  out.emplace_back(load_json("geth_very_light_scrypt.json"), "");
  const auto key =
      SecretKey::from_hex("7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d");
  REQUIRE(key.has_value());
  for (const KdfParams& kdf : {KdfParams{Pbkdf2Params{1}}, KdfParams{ScryptParams{2, 1, 1}}}) {
    auto text = encrypt_keystore(*key, "pw", kdf);
    REQUIRE(text.has_value());
    out.emplace_back(json::parse(*text), "pw");
  }
  return out;
}

bool parse_error_is_precise(const KeystoreFailure& f) {
  switch (f.error) {
    case KeystoreError::kTooLarge:
    case KeystoreError::kMalformedJson: return f.field.empty();
    case KeystoreError::kMissingField:
    case KeystoreError::kWrongType:
    case KeystoreError::kUnsupportedVersion:
    case KeystoreError::kUnsupportedKdf:
    case KeystoreError::kUnsupportedPrf:
    case KeystoreError::kUnsupportedCipher:
    case KeystoreError::kBadHex:
    case KeystoreError::kBadParameter:
    case KeystoreError::kCostLimitExceeded: return !f.field.empty();
    default: return false;  // decryption-stage errors cannot come out of parsing
  }
}

// Everything parse_keystore accepts is within the limits.
void check_within_limits(const Keystore& ks) {
  if (const auto* s = std::get_if<ScryptParams>(&ks.kdf)) {
    REQUIRE(s->n >= 2);
    REQUIRE((s->n & (s->n - 1)) == 0);
    REQUIRE(s->r >= 1);
    REQUIRE(s->p >= 1);
    REQUIRE(s->r <= kMaxScryptMemory / 128);
    REQUIRE(s->n <= kMaxScryptMemory / 128 / s->r);   // 128*n*r <= 512 MiB
    REQUIRE(s->p <= kMaxScryptWork / (s->n * s->r));  // n*r*p <= 2^22
  } else {
    const auto& p = std::get<Pbkdf2Params>(ks.kdf);
    REQUIRE(p.c >= 1);
    REQUIRE(p.c <= kMaxPbkdf2Iterations);
  }
  REQUIRE(ks.dklen >= kMinDerivedKeyLength);
  REQUIRE(ks.dklen <= kMaxDerivedKeyLength);
  REQUIRE(!ks.salt.empty());
  REQUIRE(ks.salt.size() <= kMaxSaltSize);
  REQUIRE(!ks.ciphertext.empty());
  REQUIRE(ks.ciphertext.size() <= 32);
}

// Work units of a parsed keystore, to decide whether decrypting it is cheap enough for a loop.
std::uint64_t work_of(const Keystore& ks) {
  if (const auto* s = std::get_if<ScryptParams>(&ks.kdf)) return s->n * s->r * s->p;
  return std::get<Pbkdf2Params>(ks.kdf).c;
}

struct Stats {
  std::size_t inputs = 0;
  std::size_t accepted = 0;
  std::size_t decrypted = 0;
  double max_seconds = 0;
};

// Parses (and, when cheap, decrypts) one input, checking every answer is precise.
void exercise(const std::string& text, const std::string& password, Stats& stats) {
  const auto start = Clock::now();
  ++stats.inputs;
  auto ks = parse_keystore(text);
  if (!ks) {
    const std::string shown = text.substr(0, 300);
    const std::string message = to_string(ks.error());
    CAPTURE(shown);
    CAPTURE(message);
    REQUIRE(parse_error_is_precise(ks.error()));
    REQUIRE_FALSE(to_string(ks.error()).empty());
  } else {
    ++stats.accepted;
    check_within_limits(*ks);
    if (work_of(*ks) <= 4096) {
      ++stats.decrypted;
      auto key = decrypt_keystore(*ks, password);
      if (!key) {
        const auto e = key.error().error;
        const std::string message = to_string(key.error());
        CAPTURE(message);
        REQUIRE((e == KeystoreError::kWrongPassword || e == KeystoreError::kInvalidKey ||
                 e == KeystoreError::kAddressMismatch));
      }
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  stats.max_seconds = std::max(stats.max_seconds, seconds);
}

// A random JSON value of a random type, biased toward the values that break parsers.
json random_value(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> kind(0, 13);
  switch (kind(rng)) {
    case 0: return nullptr;
    case 1: return rng() % 2 == 0;
    case 2: return static_cast<std::int64_t>(rng());  // negative half the time
    case 3: return 1ull << (rng() % 64);              // powers of two up to 2^63
    case 4: return ~0ull;
    case 5: return static_cast<double>(rng() % 100000) / 7.0;
    case 6: return 1e300;
    case 7: return std::string(rng() % 80, "0123456789abcdefx"[rng() % 17]);
    case 8: {
      Bytes b(rng() % 48);
      for (auto& x : b) x = static_cast<std::uint8_t>(rng());
      return to_hex(b, rng() % 2 == 0);
    }
    case 9: return json::array({1, "a"});
    case 10: return json::object();
    case 11: return "scrypt";
    case 12: return "hmac-sha256";
    default: return static_cast<std::uint64_t>(rng() % 70);
  }
}

// Every (object, key) pair in the document, depth first.
void collect_paths(json& node, std::vector<std::pair<json*, std::string>>& out) {
  if (!node.is_object()) return;
  for (auto& [k, v] : node.items()) {
    out.emplace_back(&node, k);
    collect_paths(v, out);
  }
}

}  // namespace

TEST_CASE("structurally mutated keystores are refused precisely and never exceed the limits") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0x6b657973746f7265ull));
  const auto base_docs = bases();
  Stats stats;
  for (int i = 0; i < 20000; ++i) {
    const auto& [base, password] = base_docs[static_cast<std::size_t>(i) % base_docs.size()];
    json doc = base;
    const int mutations = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < mutations; ++m) {
      std::vector<std::pair<json*, std::string>> paths;
      collect_paths(doc, paths);
      if (paths.empty()) break;
      auto& [parent, key] = paths[rng() % paths.size()];
      switch (rng() % 4) {
        case 0: parent->erase(key); break;
        case 1: (*parent)[key] = random_value(rng); break;
        case 2: (*parent)[key] = 1ull << (rng() % 64); break;
        default: (*parent)[key + (rng() % 2 ? "x" : "")] = random_value(rng); break;
      }
    }
    exercise(doc.dump(), password, stats);
  }
  std::cerr << "keystore structured mutations: " << stats.inputs << " inputs, " << stats.accepted
            << " accepted, " << stats.decrypted << " decrypted, slowest " << stats.max_seconds * 1e3
            << " ms\n";
  CHECK(stats.max_seconds < 2.0);
}

TEST_CASE("byte-mutated and random keystore texts never crash and are refused precisely") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0x6b657973746f7265ull) + 1);
  const auto base_docs = bases();
  Stats stats;
  for (int i = 0; i < 60000; ++i) {
    const auto& [base, password] = base_docs[static_cast<std::size_t>(i) % base_docs.size()];
    std::string text = base.dump(static_cast<int>(rng() % 3) - 1);
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = rng() % text.size();
      switch (rng() % 5) {
        case 0: text[at] = static_cast<char>(rng()); break;
        case 1: text.insert(at, 1, "{}[],:\"0x9\\ "[rng() % 12]); break;
        case 2: text.erase(at, 1 + rng() % 8); break;
        case 3: text.resize(at); break;
        default: text[at] = "0123456789abcdef"[rng() % 16]; break;  // stays hex: MAC must catch it
      }
    }
    exercise(text, password, stats);
  }
  for (int i = 0; i < 10000; ++i) {
    std::string text(rng() % 600, '\0');
    for (auto& c : text) c = static_cast<char>(rng());
    if (rng() % 2 == 0 && !text.empty()) text[0] = '{';
    exercise(text, "pw", stats);
  }
  std::cerr << "keystore byte mutations: " << stats.inputs << " inputs, " << stats.accepted
            << " accepted, " << stats.decrypted << " decrypted, slowest " << stats.max_seconds * 1e3
            << " ms\n";
  CHECK(stats.max_seconds < 2.0);
}

TEST_CASE("absurd KDF parameters are refused in well under a second, before any allocation") {
  json doc = bases()[0].first;
  const std::vector<json> hostile = {
      {{"n", 1ull << 62}, {"r", 1ull << 62}, {"p", 1ull << 62}},  // terabytes and years
      {{"n", 1ull << 32}, {"r", 8}, {"p", 1}},                    // 512 GiB
      {{"n", 1u << 20}, {"r", 1u << 20}, {"p", 1}},               // 128 TiB
      {{"n", 2}, {"r", 1}, {"p", 1ull << 40}},                    // 2^41 block mixes
      {{"n", 1u << 19}, {"r", 8}, {"p", 1u << 30}},               // r*p beyond RFC 7914
  };
  for (const auto& params : hostile) {
    CAPTURE(params.dump());
    json d = doc;
    for (const auto& [k, v] : params.items()) d["crypto"]["kdfparams"][k] = v;
    const auto start = Clock::now();
    auto key = decrypt_keystore(d.dump(), "");
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().error == KeystoreError::kCostLimitExceeded);
    CHECK(seconds < 0.1);
  }
  json p = bases()[1].first;
  p["crypto"]["kdfparams"]["c"] = 1ull << 40;  // 10^12 HMAC iterations
  auto key = decrypt_keystore(p.dump(), "pw");
  REQUIRE_FALSE(key.has_value());
  CHECK(key.error().error == KeystoreError::kCostLimitExceeded);
}

TEST_CASE("deeply nested and oversized JSON is refused without exhausting the stack") {
  const std::size_t depth = kMaxKeystoreSize / 2 - 1;
  std::string nested = std::string(depth, '[') + std::string(depth, ']');
  auto ks = parse_keystore(nested);
  REQUIRE_FALSE(ks.has_value());
  CHECK(ks.error().error == KeystoreError::kMalformedJson);
  std::string objects;
  for (std::size_t i = 0; objects.size() + 8 < kMaxKeystoreSize; ++i) objects += "{\"a\":";
  ks = parse_keystore(objects);
  REQUIRE_FALSE(ks.has_value());
  CHECK(ks.error().error == KeystoreError::kMalformedJson);
  ks = parse_keystore(std::string(kMaxKeystoreSize + 1, ' '));
  REQUIRE_FALSE(ks.has_value());
  CHECK(ks.error().error == KeystoreError::kTooLarge);
}
