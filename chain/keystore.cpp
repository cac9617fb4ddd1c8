#include "chain/keystore.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <crypto++/aes.h>
#include <crypto++/modes.h>
#include <crypto++/pwdbased.h>
#include <crypto++/scrypt.h>
#include <crypto++/sha.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <new>

#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "chain/secp256k1.hpp"

namespace varkeeper::chain {

std::string_view to_string(KeystoreError e) noexcept {
  switch (e) {
    case KeystoreError::kTooLarge: return "the keystore is larger than 64 KiB";
    case KeystoreError::kMalformedJson: return "the keystore is not a JSON object";
    case KeystoreError::kMissingField: return "the keystore lacks a required field";
    case KeystoreError::kWrongType: return "a keystore field has the wrong JSON type";
    case KeystoreError::kUnsupportedVersion: return "the keystore is not version 3";
    case KeystoreError::kUnsupportedKdf: return "the keystore KDF is neither scrypt nor pbkdf2";
    case KeystoreError::kUnsupportedPrf: return "the keystore pbkdf2 PRF is not hmac-sha256";
    case KeystoreError::kUnsupportedCipher: return "the keystore cipher is not aes-128-ctr";
    case KeystoreError::kBadHex: return "a keystore field is not valid hex";
    case KeystoreError::kBadParameter: return "a keystore parameter is out of range";
    case KeystoreError::kCostLimitExceeded:
      return "the keystore KDF parameters ask for more memory or work than varkeeper allows";
    case KeystoreError::kWrongPassword: return "wrong password (the keystore MAC does not match)";
    case KeystoreError::kInvalidKey: return "the decrypted key is not a valid secp256k1 key";
    case KeystoreError::kAddressMismatch:
      return "the keystore address field does not match the decrypted key";
    case KeystoreError::kKdfFailed: return "the key derivation failed (out of memory)";
    case KeystoreError::kRandomFailure: return "the random number generator failed";
  }
  return "unknown keystore error";
}

std::string to_string(const KeystoreFailure& failure) {
  std::string out;
  const std::string field{failure.field};
  switch (failure.error) {
    case KeystoreError::kMissingField: out = "keystore field " + field + " is missing"; break;
    case KeystoreError::kWrongType: out = "keystore field " + field + " has the wrong type"; break;
    case KeystoreError::kBadHex: out = "keystore field " + field + " is not valid hex"; break;
    case KeystoreError::kBadParameter: out = "keystore field " + field + " is out of range"; break;
    case KeystoreError::kCostLimitExceeded:
      out = "keystore field " + field + " asks for more memory or work than varkeeper allows";
      break;
    case KeystoreError::kUnsupportedVersion:
    case KeystoreError::kUnsupportedKdf:
    case KeystoreError::kUnsupportedPrf:
    case KeystoreError::kUnsupportedCipher:
      out = std::string{to_string(failure.error)};
      if (!failure.field.empty()) {
        out += " (field " + field + ")";
      }
      break;
    default: out = std::string{to_string(failure.error)}; break;
  }
  if (!failure.detail.empty()) {
    out += ": ";
    out += failure.detail;
  }
  return out;
}

namespace {

using nlohmann::json;

// Zeroes a buffer when the scope ends, on every path.
class Wipe {
 public:
  Wipe(void* data, std::size_t size) noexcept : data_(data), size_(size) {}
  Wipe(const Wipe&) = delete;
  Wipe& operator=(const Wipe&) = delete;
  ~Wipe() { OPENSSL_cleanse(data_, size_); }

 private:
  void* data_;
  std::size_t size_;
};

Unexpected<KeystoreFailure> fail(KeystoreError e, std::string_view field = {},
                                 std::string_view detail = {}) noexcept {
  return unexpected(KeystoreFailure{e, field, detail});
}

// The field readers below may throw std::bad_alloc (JSON keys, hex buffers); the public entry
// points catch it.

// The member `key` of `obj`, or nullptr.
const json* member(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

Expected<const json*, KeystoreFailure> object_field(const json& obj, const char* key,
                                                    std::string_view path) {
  const json* v = member(obj, key);
  if (v == nullptr) {
    return fail(KeystoreError::kMissingField, path);
  }
  if (!v->is_object()) {
    return fail(KeystoreError::kWrongType, path, "must be a JSON object");
  }
  return v;
}

Expected<std::string_view, KeystoreFailure> string_field(const json& obj, const char* key,
                                                         std::string_view path) {
  const json* v = member(obj, key);
  if (v == nullptr) {
    return fail(KeystoreError::kMissingField, path);
  }
  if (!v->is_string()) {
    return fail(KeystoreError::kWrongType, path, "must be a JSON string");
  }
  return std::string_view{v->get_ref<const std::string&>()};
}

// A JSON integer >= 1. Go's encoding/json (geth) refuses fractions and exponents for int fields,
// and so do we; nlohmann parses anything beyond 64 bits as a float, refused the same way.
Expected<std::uint64_t, KeystoreFailure> count_field(const json& obj, const char* key,
                                                     std::string_view path) {
  const json* v = member(obj, key);
  if (v == nullptr) {
    return fail(KeystoreError::kMissingField, path);
  }
  if (v->is_number_unsigned()) {
    const auto value = v->get<std::uint64_t>();
    if (value == 0) {
      return fail(KeystoreError::kBadParameter, path, "must be at least 1");
    }
    return value;
  }
  if (v->is_number_integer()) {
    return fail(KeystoreError::kBadParameter, path, "must be positive");
  }
  return fail(KeystoreError::kWrongType, path, "must be a JSON integer below 2^64");
}

Expected<Bytes, KeystoreFailure> hex_field(const json& obj, const char* key,
                                           std::string_view path) {
  auto text = string_field(obj, key, path);
  if (!text) {
    return unexpected(text.error());
  }
  // Bounded by kMaxKeystoreSize, so the allocation below is small.
  auto bytes = from_hex(*text, HexPrefix::kOptional);
  if (!bytes) {
    return fail(KeystoreError::kBadHex, path, to_string(bytes.error()));
  }
  return std::move(*bytes);
}

template <std::size_t N>
Expected<FixedBytes<N>, KeystoreFailure> fixed_hex_field(const json& obj, const char* key,
                                                         std::string_view path,
                                                         std::string_view size_rule) {
  auto bytes = hex_field(obj, key, path);
  if (!bytes) {
    return unexpected(bytes.error());
  }
  if (bytes->size() != N) {
    return fail(KeystoreError::kBadParameter, path, size_rule);
  }
  FixedBytes<N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

constexpr bool is_power_of_two(std::uint64_t v) noexcept { return v != 0 && (v & (v - 1)) == 0; }

// The checks shared by parsing and encryption, so that everything we write we can read back.
Expected<void, KeystoreFailure> check_kdf(const KdfParams& kdf, std::uint64_t dklen,
                                          std::size_t salt_size) {
  if (const auto* s = std::get_if<ScryptParams>(&kdf)) {
    // RFC 7914 §2: N is a power of two greater than 1; r, p positive.
    if (s->n < 2 || !is_power_of_two(s->n)) {
      return fail(KeystoreError::kBadParameter, "crypto.kdfparams.n",
                  "n must be a power of two greater than 1");
    }
    if (s->r == 0) {
      return fail(KeystoreError::kBadParameter, "crypto.kdfparams.r", "must be >= 1");
    }
    if (s->p == 0) {
      return fail(KeystoreError::kBadParameter, "crypto.kdfparams.p", "must be >= 1");
    }
    // Memory 128·r·N bytes; written as divisions so no product can overflow.
    if (s->r > kMaxScryptMemory / 128 || s->n > kMaxScryptMemory / 128 / s->r) {
      return fail(KeystoreError::kCostLimitExceeded, "crypto.kdfparams",
                  "scrypt memory 128*n*r is limited to 512 MiB");
    }
    if (s->p > kMaxScryptWork / (s->n * s->r)) {
      return fail(KeystoreError::kCostLimitExceeded, "crypto.kdfparams",
                  "scrypt work n*r*p is limited to 2^22");
    }
  } else {
    const auto& p = std::get<Pbkdf2Params>(kdf);
    if (p.c == 0) {
      return fail(KeystoreError::kBadParameter, "crypto.kdfparams.c", "must be >= 1");
    }
    if (p.c > kMaxPbkdf2Iterations) {
      return fail(KeystoreError::kCostLimitExceeded, "crypto.kdfparams.c",
                  "pbkdf2 iterations are limited to 2^22");
    }
  }
  if (dklen < kMinDerivedKeyLength || dklen > kMaxDerivedKeyLength) {
    return fail(KeystoreError::kBadParameter, "crypto.kdfparams.dklen",
                "dklen must be between 32 and 64");
  }
  if (salt_size == 0 || salt_size > kMaxSaltSize) {
    return fail(KeystoreError::kBadParameter, "crypto.kdfparams.salt",
                "the salt must be 1 to 1024 bytes");
  }
  return {};
}

// Version first, so a v1 or v4 file is told apart from a damaged v3 one.
Expected<void, KeystoreFailure> parse_version(const json& doc) {
  const json* version = member(doc, "version");
  if (version == nullptr) {
    return fail(KeystoreError::kMissingField, "version");
  }
  if (!version->is_number_unsigned() && !version->is_number_integer()) {
    return fail(KeystoreError::kWrongType, "version", "must be the JSON integer 3");
  }
  if (!version->is_number_unsigned() || version->get<std::uint64_t>() != 3) {
    return fail(KeystoreError::kUnsupportedVersion, "version");
  }
  return {};
}

// crypto.cipher, crypto.cipherparams.iv and crypto.ciphertext.
Expected<void, KeystoreFailure> parse_cipher(const json& crypto, Keystore& ks) {
  auto cipher = string_field(crypto, "cipher", "crypto.cipher");
  if (!cipher) {
    return unexpected(cipher.error());
  }
  if (*cipher != "aes-128-ctr") {
    return fail(KeystoreError::kUnsupportedCipher, "crypto.cipher");
  }

  auto cipherparams = object_field(crypto, "cipherparams", "crypto.cipherparams");
  if (!cipherparams) {
    return unexpected(cipherparams.error());
  }
  auto iv = fixed_hex_field<16>(**cipherparams, "iv", "crypto.cipherparams.iv",
                                "the AES-128-CTR iv must be 16 bytes");
  if (!iv) {
    return unexpected(iv.error());
  }
  ks.iv = *iv;

  auto ciphertext = hex_field(crypto, "ciphertext", "crypto.ciphertext");
  if (!ciphertext) {
    return unexpected(ciphertext.error());
  }
  if (ciphertext->empty() || ciphertext->size() > 32) {
    return fail(KeystoreError::kBadParameter, "crypto.ciphertext",
                "the encrypted key must be 1 to 32 bytes");
  }
  ks.ciphertext = std::move(*ciphertext);
  return {};
}

// crypto.kdf and crypto.kdfparams (scrypt n, r, p or PBKDF2 prf, c; then dklen and salt), within
// the limits of check_kdf.
Expected<void, KeystoreFailure> parse_kdf(const json& crypto, Keystore& ks) {
  auto kdf = string_field(crypto, "kdf", "crypto.kdf");
  if (!kdf) {
    return unexpected(kdf.error());
  }
  const bool scrypt = *kdf == "scrypt";
  if (!scrypt && *kdf != "pbkdf2") {
    return fail(KeystoreError::kUnsupportedKdf, "crypto.kdf");
  }

  auto kdfparams = object_field(crypto, "kdfparams", "crypto.kdfparams");
  if (!kdfparams) {
    return unexpected(kdfparams.error());
  }
  const json& params = **kdfparams;
  if (scrypt) {
    ScryptParams s;
    auto n = count_field(params, "n", "crypto.kdfparams.n");
    if (!n) {
      return unexpected(n.error());
    }
    auto r = count_field(params, "r", "crypto.kdfparams.r");
    if (!r) {
      return unexpected(r.error());
    }
    auto p = count_field(params, "p", "crypto.kdfparams.p");
    if (!p) {
      return unexpected(p.error());
    }
    s.n = *n;
    s.r = *r;
    s.p = *p;
    ks.kdf = s;
  } else {
    auto prf = string_field(params, "prf", "crypto.kdfparams.prf");
    if (!prf) {
      return unexpected(prf.error());
    }
    if (*prf != "hmac-sha256") {
      return fail(KeystoreError::kUnsupportedPrf, "crypto.kdfparams.prf");
    }
    auto c = count_field(params, "c", "crypto.kdfparams.c");
    if (!c) {
      return unexpected(c.error());
    }
    ks.kdf = Pbkdf2Params{*c};
  }
  auto dklen = count_field(params, "dklen", "crypto.kdfparams.dklen");
  if (!dklen) {
    return unexpected(dklen.error());
  }
  ks.dklen = *dklen;
  auto salt = hex_field(params, "salt", "crypto.kdfparams.salt");
  if (!salt) {
    return unexpected(salt.error());
  }
  ks.salt = std::move(*salt);
  return check_kdf(ks.kdf, ks.dklen, ks.salt.size());
}

Expected<Keystore, KeystoreFailure> parse_document(const json& doc) {
  if (!doc.is_object()) {
    return fail(KeystoreError::kMalformedJson, {}, "the top level must be an object");
  }
  Keystore ks;
  if (auto ok = parse_version(doc); !ok) {
    return unexpected(ok.error());
  }

  // geth reads "crypto" case-insensitively; files written by old Mist/ethereumjs use "Crypto".
  const json* crypto = member(doc, "crypto");
  if (crypto == nullptr) {
    crypto = member(doc, "Crypto");
  }
  if (crypto == nullptr) {
    return fail(KeystoreError::kMissingField, "crypto");
  }
  if (!crypto->is_object()) {
    return fail(KeystoreError::kWrongType, "crypto", "must be a JSON object");
  }
  if (auto ok = parse_cipher(*crypto, ks); !ok) {
    return unexpected(ok.error());
  }
  if (auto ok = parse_kdf(*crypto, ks); !ok) {
    return unexpected(ok.error());
  }

  auto mac = fixed_hex_field<32>(*crypto, "mac", "crypto.mac", "the MAC must be 32 bytes");
  if (!mac) {
    return unexpected(mac.error());
  }
  ks.mac = *mac;

  // Optional; geth, eth-account and ethers write it, cast does not.
  if (member(doc, "address") != nullptr) {
    auto address = fixed_hex_field<20>(doc, "address", "address", "an address is 20 bytes");
    if (!address) {
      return unexpected(address.error());
    }
    ks.address = *address;
  }
  return ks;
}

// Fills `derived` (dklen bytes) from the password. Crypto++ implements both KDFs; its Scrypt
// accepts every parameter set the limits let through (OpenSSL's EVP_PBE_scrypt refuses e.g.
// n=2^18 with r=1 and memory above 32 MiB by default).
Expected<void, KeystoreFailure> derive_key(const Keystore& ks, std::string_view password,
                                           Bytes& derived) noexcept {
  try {
    const auto* secret = reinterpret_cast<const CryptoPP::byte*>(password.data());
    if (const auto* s = std::get_if<ScryptParams>(&ks.kdf)) {
      CryptoPP::Scrypt kdf;
      kdf.DeriveKey(derived.data(), derived.size(), secret, password.size(), ks.salt.data(),
                    ks.salt.size(), s->n, s->r, s->p);
    } else {
      const auto& p = std::get<Pbkdf2Params>(ks.kdf);
      CryptoPP::PKCS5_PBKDF2_HMAC<CryptoPP::SHA256> kdf;
      kdf.DeriveKey(derived.data(), derived.size(), 0, secret, password.size(), ks.salt.data(),
                    ks.salt.size(), static_cast<unsigned int>(p.c), 0.0);
    }
  } catch (...) {
    // std::bad_alloc, or a Crypto++ parameter exception the checks above should have prevented.
    return fail(KeystoreError::kKdfFailed);
  }
  return {};
}

// keccak256(derived[16..32] || ciphertext) — Web3 Secret Storage Definition, "MAC".
Hash32 compute_mac(const Bytes& derived, ByteView ciphertext) {
  Bytes input(16 + ciphertext.size());
  std::copy(derived.begin() + 16, derived.begin() + 32, input.begin());
  std::copy(ciphertext.begin(), ciphertext.end(), input.begin() + 16);
  const Hash32 mac = keccak256(input);
  OPENSSL_cleanse(input.data(), input.size());
  return mac;
}

void aes_128_ctr(const Bytes& derived, const FixedBytes<16>& iv, ByteView in, std::uint8_t* out) {
  // Crypto++'s CTR mode increments the whole 16-byte block big-endian, like Go's cipher.NewCTR.
  CryptoPP::CTR_Mode<CryptoPP::AES>::Encryption aes;
  aes.SetKeyWithIV(derived.data(), 16, iv.data(), iv.size());
  aes.ProcessData(out, in.data(), in.size());
}

std::string format_uuid(const FixedBytes<16>& id) {
  const std::string hex = to_hex(id, false);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace

Expected<Keystore, KeystoreFailure> parse_keystore(std::string_view text) noexcept {
  if (text.size() > kMaxKeystoreSize) {
    return fail(KeystoreError::kTooLarge);
  }
  try {
    const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      return fail(KeystoreError::kMalformedJson, {}, "not valid JSON");
    }
    return parse_document(doc);
  } catch (...) {
    // Only std::bad_alloc can get here (the parser does not throw when told not to).
    return fail(KeystoreError::kMalformedJson, {}, "the parser ran out of memory");
  }
}

Expected<SecretKey, KeystoreFailure> decrypt_keystore(const Keystore& ks,
                                                      std::string_view password) noexcept {
  try {
    // A Keystore can be built by hand: check it as parse_keystore would.
    if (auto ok = check_kdf(ks.kdf, ks.dklen, ks.salt.size()); !ok) {
      return unexpected(ok.error());
    }
    if (ks.ciphertext.empty() || ks.ciphertext.size() > 32) {
      return fail(KeystoreError::kBadParameter, "crypto.ciphertext",
                  "the encrypted key must be 1 to 32 bytes");
    }
    Bytes derived(ks.dklen);
    const Wipe wipe_derived(derived.data(), derived.size());
    if (auto ok = derive_key(ks, password, derived); !ok) {
      return unexpected(ok.error());
    }

    const Hash32 mac = compute_mac(derived, ks.ciphertext);
    // Constant time, and before any decryption (the spec's order).
    if (CRYPTO_memcmp(mac.data(), ks.mac.data(), mac.size()) != 0) {
      return fail(KeystoreError::kWrongPassword);
    }

    // Keys shorter than 32 bytes are big-endian integers with leading zeros dropped (old geth);
    // geth's ToECDSAUnsafe reads them the same way.
    FixedBytes<32> plain{};
    const Wipe wipe_plain(plain.data(), plain.size());
    aes_128_ctr(derived, ks.iv, ks.ciphertext, plain.data() + (32 - ks.ciphertext.size()));
    auto key = SecretKey::from_bytes(plain);
    if (!key) {
      return fail(KeystoreError::kInvalidKey);
    }

    if (ks.address && address_of(*key) != *ks.address) {
      return fail(KeystoreError::kAddressMismatch, "address");
    }
    return *key;
  } catch (...) {
    return fail(KeystoreError::kKdfFailed);  // std::bad_alloc
  }
}

Expected<SecretKey, KeystoreFailure> decrypt_keystore(std::string_view json,
                                                      std::string_view password) noexcept {
  auto ks = parse_keystore(json);
  if (!ks) {
    return unexpected(ks.error());
  }
  return decrypt_keystore(*ks, password);
}

Expected<std::string, KeystoreFailure> encrypt_keystore_with(const SecretKey& key,
                                                             std::string_view password,
                                                             const KdfParams& kdf,
                                                             const KeystoreNonces& nonces) {
  Keystore ks;
  ks.kdf = kdf;
  ks.salt = nonces.salt;
  ks.dklen = 32;
  ks.iv = nonces.iv;
  if (auto ok = check_kdf(ks.kdf, ks.dklen, ks.salt.size()); !ok) {
    return unexpected(ok.error());
  }

  Bytes derived(ks.dklen);
  const Wipe wipe_derived(derived.data(), derived.size());
  if (auto ok = derive_key(ks, password, derived); !ok) {
    return unexpected(ok.error());
  }
  ks.ciphertext.resize(32);
  aes_128_ctr(derived, ks.iv, key.reveal(), ks.ciphertext.data());
  ks.mac = compute_mac(derived, ks.ciphertext);

  json kdfparams{{"dklen", ks.dklen}, {"salt", to_hex(ks.salt, false)}};
  std::string kdf_name;
  if (const auto* s = std::get_if<ScryptParams>(&kdf)) {
    kdf_name = "scrypt";
    kdfparams["n"] = s->n;
    kdfparams["r"] = s->r;
    kdfparams["p"] = s->p;
  } else {
    kdf_name = "pbkdf2";
    kdfparams["c"] = std::get<Pbkdf2Params>(kdf).c;
    kdfparams["prf"] = "hmac-sha256";
  }
  // geth's encryptedKeyJSONV3 layout (keys in the same, alphabetical, order).
  const json doc{
      {"address", to_hex(address_of(key), false)},
      {"crypto",
       {{"cipher", "aes-128-ctr"},
        {"ciphertext", to_hex(ks.ciphertext, false)},
        {"cipherparams", {{"iv", to_hex(ks.iv, false)}}},
        {"kdf", kdf_name},
        {"kdfparams", kdfparams},
        {"mac", to_hex(ks.mac, false)}}},
      {"id", format_uuid(nonces.id)},
      {"version", 3},
  };
  return doc.dump();
}

Expected<std::string, KeystoreFailure> encrypt_keystore(const SecretKey& key,
                                                        std::string_view password,
                                                        const KdfParams& kdf) {
  KeystoreNonces nonces;
  nonces.salt.resize(32);
  if (RAND_bytes(nonces.salt.data(), static_cast<int>(nonces.salt.size())) != 1 ||
      RAND_bytes(nonces.iv.data(), static_cast<int>(nonces.iv.size())) != 1 ||
      RAND_bytes(nonces.id.data(), static_cast<int>(nonces.id.size())) != 1) {
    return fail(KeystoreError::kRandomFailure);
  }
  // RFC 4122 §4.4: version 4 (random) and the variant bits.
  nonces.id[6] = static_cast<std::uint8_t>((nonces.id[6] & 0x0f) | 0x40);
  nonces.id[8] = static_cast<std::uint8_t>((nonces.id[8] & 0x3f) | 0x80);
  return encrypt_keystore_with(key, password, kdf, nonces);
}

}  // namespace varkeeper::chain
