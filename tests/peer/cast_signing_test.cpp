// Differential tests of keccak, addresses, secp256k1 signing, EIP-191 and EIP-712 against the
// npm-installed `cast` (Foundry 1.7.1, alloy underneath): the same seeded random inputs go to
// both, and the outputs must be byte-identical. RFC 6979 makes signatures deterministic, so an
// equal signature from the same key also proves an equal digest.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "chain/address.hpp"
#include "chain/eip191.hpp"
#include "chain/eip712.hpp"
#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "chain/secp256k1.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using varkeeper::test::run_process;

namespace {

constexpr int kCases = 200;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Runs cast with `args`, requires success, returns its trimmed stdout.
std::string cast(const std::vector<std::string>& args) {
  std::vector<std::string> argv{VARKEEPER_CAST};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = run_process(argv);
  INFO("cast stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return trim(r.out);
}

Bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

SecretKey random_key(std::mt19937_64& rng) {
  for (;;) {
    auto key = SecretKey::from_bytes(random_bytes(rng, 32));
    if (key) return *key;
  }
}

std::string key_hex(const SecretKey& key) { return to_hex(key.reveal()); }

std::size_t pick(std::mt19937_64& rng, std::size_t n) {
  return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}

struct CastFixture {
  CastFixture() { varkeeper::test::require_tool(VARKEEPER_CAST); }
};

// ---- random typed data ---------------------------------------------------------------------

// Random identifiers: upper-case first letter for types (mixed case after, so sorting by name
// is exercised), lower-case for members.
std::string random_name(std::mt19937_64& rng, bool type_name) {
  static const std::string kLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string s(1, type_name ? static_cast<char>('A' + pick(rng, 26))
                             : static_cast<char>('a' + pick(rng, 26)));
  const std::size_t len = pick(rng, 6);
  for (std::size_t i = 0; i < len; ++i) s += kLetters[pick(rng, kLetters.size())];
  return s;
}

std::string random_text(std::mt19937_64& rng, std::size_t max_len) {
  static const std::vector<std::string> kPieces = {"a",
                                                   "b",
                                                   "Z",
                                                   "0",
                                                   "9",
                                                   " ",
                                                   "!",
                                                   "\"",
                                                   "\\",
                                                   "{",
                                                   "}",
                                                   ",",
                                                   ":",
                                                   "\xc3\xa9",
                                                   "\xe4\xb8\xad",
                                                   "\xf0\x9f\x98\x80"};
  std::string s;
  const std::size_t len = pick(rng, max_len + 1);
  for (std::size_t i = 0; i < len; ++i) s += kPieces[pick(rng, kPieces.size())];
  return s;
}

class RandomTypedData {
 public:
  explicit RandomTypedData(std::mt19937_64& r) : rng(r) {}
  std::mt19937_64& rng;
  nlohmann::json types = nlohmann::json::object();
  std::vector<std::string> struct_names;  // index i may reference only j > i (no cycles)

  std::string atomic_type() {
    switch (pick(rng, 8)) {
      case 0: return "uint" + std::to_string(8 * (1 + pick(rng, 32)));
      case 1: return "int" + std::to_string(8 * (1 + pick(rng, 32)));
      case 2: return "bool";
      case 3: return "address";
      case 4: return "bytes" + std::to_string(1 + pick(rng, 32));
      case 5: return "bytes";
      case 6: return "string";
      default: return pick(rng, 2) ? "uint256" : "int256";
    }
  }

  std::string member_type(std::size_t owner) {
    std::string base;
    if (owner + 1 < struct_names.size() && pick(rng, 3) == 0) {
      base = struct_names[owner + 1 + pick(rng, struct_names.size() - owner - 1)];
    } else {
      base = atomic_type();
    }
    const std::size_t dims = pick(rng, 5) == 0 ? 2 : (pick(rng, 3) == 0 ? 1 : 0);
    for (std::size_t d = 0; d < dims; ++d) {
      base += pick(rng, 2) ? "[]" : "[" + std::to_string(1 + pick(rng, 3)) + "]";
    }
    return base;
  }

  nlohmann::json integer_value(bool is_signed, unsigned bits) {
    // In range by construction: |value| < 2^(bits-1) (signed) or < 2^bits (unsigned), plus
    // the signed minimum -2^(bits-1) now and then.
    const unsigned value_bits = static_cast<unsigned>(pick(rng, is_signed ? bits : bits + 1));
    U256 mag = 0;
    for (int i = 0; i < 4; ++i) mag = (mag << 64) | U256(rng());
    if (value_bits < 256) mag &= (U256(1) << value_bits) - 1;
    bool negative = is_signed && pick(rng, 2) == 1;
    if (is_signed && pick(rng, 10) == 0) {
      negative = true;
      mag = U256(1) << (bits - 1);
    }
    const bool small = mag < (U256(1) << 53);
    switch (pick(rng, 3)) {
      case 0:
        if (small) {
          const auto v = static_cast<std::int64_t>(static_cast<std::uint64_t>(mag));
          return negative ? nlohmann::json(-v) : nlohmann::json(v);
        }
        [[fallthrough]];
      case 1: return (negative ? "-" : "") + u256_to_decimal(mag);
      default:
        if (negative) return "-" + u256_to_decimal(mag);
        return u256_to_quantity(mag);
    }
  }

  nlohmann::json value(const std::string& type) {
    if (type.back() == ']') {
      const auto open = type.rfind('[');
      const std::string element = type.substr(0, open);
      const std::string dim = type.substr(open + 1, type.size() - open - 2);
      const std::size_t n = dim.empty() ? pick(rng, 4) : std::stoul(dim);
      nlohmann::json arr = nlohmann::json::array();
      for (std::size_t i = 0; i < n; ++i) arr.push_back(value(element));
      return arr;
    }
    if (types.contains(type)) return struct_value(type);
    if (type == "bool") return pick(rng, 2) == 1;
    if (type == "address") {
      Address a{};
      const Bytes b = random_bytes(rng, 20);
      std::copy(b.begin(), b.end(), a.begin());
      return pick(rng, 2) ? to_checksum_address(a) : to_hex(a);
    }
    if (type == "string") return random_text(rng, 12);
    if (type == "bytes") return to_hex(random_bytes(rng, pick(rng, 70)));
    if (type.starts_with("bytes")) return to_hex(random_bytes(rng, std::stoul(type.substr(5))));
    if (type.starts_with("uint")) return integer_value(false, std::stoul(type.substr(4)));
    return integer_value(true, std::stoul(type.substr(3)));
  }

  nlohmann::json struct_value(const std::string& name) {
    nlohmann::json obj = nlohmann::json::object();
    for (const auto& m : types[name]) obj[m["name"].get<std::string>()] = value(m["type"]);
    return obj;
  }

  nlohmann::json make() {
    const std::size_t n_structs = 1 + pick(rng, 4);
    while (struct_names.size() < n_structs) {
      const std::string name = random_name(rng, true);
      if (std::find(struct_names.begin(), struct_names.end(), name) == struct_names.end() &&
          name != "EIP712Domain") {
        struct_names.push_back(name);
      }
    }
    // Define from the last (leaf) to the first (primary) so every reference already exists.
    for (std::size_t i = n_structs; i-- > 0;) {
      nlohmann::json members = nlohmann::json::array();
      std::vector<std::string> used;
      const std::size_t n_members = pick(rng, 6) + (i == 0 ? 1 : 0);
      while (used.size() < n_members) {
        const std::string m = random_name(rng, false);
        if (std::find(used.begin(), used.end(), m) != used.end()) continue;
        used.push_back(m);
        members.push_back({{"name", m}, {"type", member_type(i)}});
      }
      types[struct_names[i]] = members;
    }
    // The domain: a random non-empty subset of the EIP's fields, in the EIP's order.
    nlohmann::json domain = nlohmann::json::object();
    nlohmann::json domain_type = nlohmann::json::array();
    const std::pair<const char*, const char*> fields[] = {{"name", "string"},
                                                          {"version", "string"},
                                                          {"chainId", "uint256"},
                                                          {"verifyingContract", "address"},
                                                          {"salt", "bytes32"}};
    while (domain_type.empty()) {
      for (const auto& [field, type] : fields) {
        if (pick(rng, 3) == 0) continue;
        domain[field] = value(type);
        domain_type.push_back({{"name", field}, {"type", type}});
      }
    }
    nlohmann::json out;
    out["types"] = types;
    if (pick(rng, 2)) out["types"]["EIP712Domain"] = domain_type;
    out["primaryType"] = struct_names[0];
    out["domain"] = domain;
    out["message"] = struct_value(struct_names[0]);
    return out;
  }
};

}  // namespace

TEST_CASE_FIXTURE(CastFixture, "keccak256 of random bytes equals cast keccak") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0xca57) ^ 0x1);
  for (int i = 0; i < kCases; ++i) {
    const Bytes data = random_bytes(rng, pick(rng, 300));
    const std::string hex = to_hex(data);
    CAPTURE(hex);
    CHECK(cast({"keccak", hex}) == to_hex(keccak256(data)));
  }
}

TEST_CASE_FIXTURE(CastFixture, "the checksummed address of a random private key equals cast's") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0xca57) ^ 0x2);
  for (int i = 0; i < kCases; ++i) {
    const SecretKey key = random_key(rng);
    CAPTURE(i);
    CHECK(cast({"wallet", "address", "--private-key", key_hex(key)}) ==
          to_checksum_address(address_of(key)));
  }
}

TEST_CASE_FIXTURE(CastFixture, "signing a random digest equals cast wallet sign --no-hash") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0xca57) ^ 0x3);
  for (int i = 0; i < kCases; ++i) {
    const SecretKey key = random_key(rng);
    Hash32 digest{};
    const Bytes b = random_bytes(rng, 32);
    std::copy(b.begin(), b.end(), digest.begin());
    CAPTURE(to_hex(digest));
    const Signature sig = sign_hash(digest, key);
    CHECK(cast({"wallet", "sign", "--no-hash", "--private-key", key_hex(key), to_hex(digest)}) ==
          to_hex(to_rsv(sig)));
  }
}

TEST_CASE_FIXTURE(CastFixture, "EIP-191 hashes and signatures of random messages equal cast's") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0xca57) ^ 0x4);
  for (int i = 0; i < kCases; ++i) {
    const SecretKey key = random_key(rng);
    // Text (never starting with "0x" or "-", which cast would read as hex or an option), or
    // bytes given to cast as 0x hex (cast decodes them before hashing).
    std::string arg;
    Bytes message;
    if (pick(rng, 2) == 0) {
      arg = "m" + random_text(rng, 40);
      message.assign(arg.begin(), arg.end());
    } else {
      message = random_bytes(rng, 1 + pick(rng, 80));
      arg = to_hex(message);
    }
    CAPTURE(arg);
    const Signature sig = personal_sign(message, key);
    CHECK(cast({"wallet", "sign", "--private-key", key_hex(key), arg}) == to_hex(to_rsv(sig)));
    // `cast hash-message` hashes its argument as text even when it starts with 0x (unlike
    // `cast wallet sign`), so compare it with the hash of the text.
    if (i % 4 == 0) CHECK(cast({"hash-message", arg}) == to_hex(personal_message_hash(arg)));
    auto signer = recover_personal_signer(message, sig);
    REQUIRE(signer.has_value());
    CHECK(*signer == address_of(key));
  }
}

TEST_CASE_FIXTURE(CastFixture,
                  "EIP-712 signatures of random typed data equal cast wallet sign --data") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0xca57) ^ 0x5);
  const auto dir =
      std::filesystem::temp_directory_path() / ("varkeeper-eip712-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "typed.json";
  int compared = 0;
  for (int i = 0; i < kCases; ++i) {
    const SecretKey key = random_key(rng);
    RandomTypedData gen(rng);
    const nlohmann::json typed = gen.make();
    const std::string text = typed.dump();
    CAPTURE(text);
    {
      std::ofstream out(file, std::ios::trunc);
      out << text;
    }
    auto hashes = hash_typed_data(std::string_view{text});
    if (!hashes) FAIL("varkeeper refused it: " << hashes.error().message());
    const Signature sig = sign_hash(hashes->digest, key);
    CHECK(cast({"wallet", "sign", "--private-key", key_hex(key), "--data", "--from-file",
                file.string()}) == to_hex(to_rsv(sig)));
    ++compared;
  }
  std::filesystem::remove_all(dir);
  CHECK(compared == kCases);
}
