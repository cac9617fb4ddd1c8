// Ethereum keystore files, version 3 (the "Web3 Secret Storage Definition"): a secp256k1 key
// encrypted with AES-128-CTR under a key derived from a password by scrypt or PBKDF2-HMAC-SHA256,
// authenticated by MAC = keccak256(derived_key[16..32] || ciphertext).
//
// Files from go-ethereum, cast (eth-keystore-rs), eth-account and ethers all load here. A keystore
// is untrusted input: parse_keystore() never throws and bounds every cost parameter (see the
// limits below) before any work is done, so a hostile file cannot make us allocate gigabytes or
// spin the CPU for minutes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "chain/address.hpp"
#include "chain/bytes.hpp"
#include "chain/expected.hpp"
#include "chain/secret_key.hpp"

namespace varkeeper::chain {

enum class KeystoreError {
  kTooLarge,            // the text is longer than kMaxKeystoreSize
  kMalformedJson,       // not JSON, or the top level is not an object
  kMissingField,        // a required field is absent
  kWrongType,           // a field has the wrong JSON type (e.g. "n": "8192", or n = 8192.5)
  kUnsupportedVersion,  // "version" is not 3
  kUnsupportedKdf,      // "kdf" is not "scrypt" or "pbkdf2"
  kUnsupportedPrf,      // the pbkdf2 "prf" is not "hmac-sha256"
  kUnsupportedCipher,   // "cipher" is not "aes-128-ctr"
  kBadHex,              // salt, iv, ciphertext, mac or address is not hex
  kBadParameter,       // a value outside its valid range (n not a power of two, iv not 16 bytes...)
  kCostLimitExceeded,  // a KDF parameter asks for more memory or work than varkeeper allows
  kWrongPassword,      // the MAC does not match: wrong password (or a corrupted file)
  kInvalidKey,         // the decrypted key is zero or not below the secp256k1 group order
  kAddressMismatch,    // the file's "address" is not the address of the decrypted key
  kKdfFailed,          // the key derivation itself failed (out of memory)
  kRandomFailure,      // encryption only: the CSPRNG could not supply salt, iv or id
};

// One sentence, without the field.
[[nodiscard]] std::string_view to_string(KeystoreError e) noexcept;

// What was wrong and where. `field` is the JSON path ("crypto.kdfparams.n"), empty when the error
// concerns the whole file; `detail` names the rule that failed. Both point to static text and never
// contain key material or the password.
struct KeystoreFailure {
  KeystoreError error;
  std::string_view field{};
  std::string_view detail{};
  friend bool operator==(const KeystoreFailure& a, KeystoreError b) noexcept {
    return a.error == b;
  }
};

// One sentence naming the field and the rule, e.g. "keystore field crypto.kdfparams.n is out of
// range: n must be a power of two greater than 1".
[[nodiscard]] std::string to_string(const KeystoreFailure& failure);

// --- Safety limits (checked before any derivation) -------------------------------------------
// The largest files real tools write: geth StandardScrypt (n=2^18, r=8, p=1: 256 MiB, 2^21 block
// mixes), eth-account (same), geth LightScrypt (n=2^12, r=8, p=6), cast (n=2^13, r=8, p=1), the
// go-ethereum/ethereum tests vector (n=2^18, r=1, p=8), PBKDF2 c=262144 (web3.js, the spec's
// vector). The limits leave 2x (scrypt) and 16x (PBKDF2) headroom above those, while a hostile
// file is refused at once instead of asking for terabytes or hours.
inline constexpr std::size_t kMaxKeystoreSize = std::size_t{64} * 1024;  // real files are < 1 KiB
// scrypt memory is 128 * r * n bytes (the V array, RFC 7914 §5): at most 512 MiB.
inline constexpr std::uint64_t kMaxScryptMemory = 512ull * 1024 * 1024;
// scrypt work is n * r * p BlockMix rounds of 128 bytes each: at most 2^22 (2x geth's standard
// parameters). Measured on the 2-core development machine: standard 0.94 s CPU / 274 MiB peak,
// the limit n=2^19 r=8 p=1 1.9 s CPU / 530 MiB peak.
inline constexpr std::uint64_t kMaxScryptWork = 1ull << 22;
// PBKDF2 iterations: at most 2^22 (16x the common 262144; 0.68 s CPU on the same machine).
inline constexpr std::uint64_t kMaxPbkdf2Iterations = 1ull << 22;
// dklen: at least 32 (16 bytes AES key + 16 bytes MAC key), at most 64 (all writers use 32; a
// larger dklen multiplies the PBKDF2 cost).
inline constexpr std::uint64_t kMinDerivedKeyLength = 32;
inline constexpr std::uint64_t kMaxDerivedKeyLength = 64;
inline constexpr std::size_t kMaxSaltSize = 1024;

// --- Parameters ------------------------------------------------------------------------------
struct ScryptParams {
  std::uint64_t n = 1u << 18;  // CPU/memory cost, a power of two > 1
  std::uint64_t r = 8;         // block size
  std::uint64_t p = 1;         // parallelization
  friend bool operator==(const ScryptParams&, const ScryptParams&) = default;
};
struct Pbkdf2Params {
  std::uint64_t c = 262144;  // iterations of HMAC-SHA256
  friend bool operator==(const Pbkdf2Params&, const Pbkdf2Params&) = default;
};
using KdfParams = std::variant<ScryptParams, Pbkdf2Params>;

// go-ethereum accounts/keystore: StandardScryptN/P (the default) and LightScryptN/P (tests, or
// machines with little memory).
inline constexpr ScryptParams kStandardScrypt{1u << 18, 8, 1};
inline constexpr ScryptParams kLightScrypt{1u << 12, 8, 6};

// A parsed, validated (not yet decrypted) keystore.
struct Keystore {
  KdfParams kdf;
  Bytes salt;
  std::uint64_t dklen = 32;
  FixedBytes<16> iv{};
  Bytes ciphertext;  // 1..32 bytes: old geth versions wrote keys with leading zero bytes dropped
  Hash32 mac{};
  std::optional<Address> address;  // the optional "address" field
};

// Parses and validates a keystore v3 JSON text. Accepts "crypto" or "Crypto" (as geth does) and
// hex with or without 0x.
[[nodiscard]] Expected<Keystore, KeystoreFailure> parse_keystore(std::string_view json) noexcept;

// Derives the key, checks the MAC in constant time (wrong password -> kWrongPassword), decrypts,
// and checks the decrypted key against the "address" field when there is one.
[[nodiscard]] Expected<SecretKey, KeystoreFailure> decrypt_keystore(
    const Keystore& keystore, std::string_view password) noexcept;
[[nodiscard]] Expected<SecretKey, KeystoreFailure> decrypt_keystore(
    std::string_view json, std::string_view password) noexcept;

// Writes a standard v3 keystore: random 32-byte salt, 16-byte iv and a UUID v4 id from OpenSSL's
// CSPRNG, dklen 32, the lower-case address without 0x (as geth writes it).
[[nodiscard]] Expected<std::string, KeystoreFailure> encrypt_keystore(
    const SecretKey& key, std::string_view password, const KdfParams& kdf = kStandardScrypt);

// The same with caller-chosen salt, iv and id: for reproducing published vectors in tests only.
// Never reuse a salt or iv for real keys.
struct KeystoreNonces {
  Bytes salt;
  FixedBytes<16> iv{};
  FixedBytes<16> id{};  // UUID bytes
};
[[nodiscard]] Expected<std::string, KeystoreFailure> encrypt_keystore_with(
    const SecretKey& key, std::string_view password, const KdfParams& kdf,
    const KeystoreNonces& nonces);

}  // namespace varkeeper::chain
