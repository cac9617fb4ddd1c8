// A secp256k1 private key that never leaves memory by accident: no printing, no implicit copies
// into strings, wiped on destruction.
#pragma once

#include <openssl/crypto.h>

#include <string_view>

#include "chain/bytes.hpp"
#include "chain/expected.hpp"

namespace varkeeper::chain {

enum class KeyError {
  kWrongLength,  // not 32 bytes
  kOutOfRange,   // zero, or not below the curve order
  kBadHex,       // not hex
};

[[nodiscard]] std::string_view to_string(KeyError e) noexcept;

class SecretKey {
 public:
  // Validates 0 < key < n (the secp256k1 group order).
  [[nodiscard]] static Expected<SecretKey, KeyError> from_bytes(ByteView bytes) noexcept;
  // Hex with or without 0x; the text is the caller's to wipe.
  [[nodiscard]] static Expected<SecretKey, KeyError> from_hex(std::string_view text) noexcept;

  SecretKey(const SecretKey&) = default;
  SecretKey& operator=(const SecretKey&) = default;
  ~SecretKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

  // The raw scalar, for the signer and keystore encryption only.
  [[nodiscard]] const FixedBytes<32>& reveal() const noexcept { return bytes_; }

 private:
  explicit SecretKey(const FixedBytes<32>& bytes) noexcept : bytes_(bytes) {}
  FixedBytes<32> bytes_{};
};

}  // namespace varkeeper::chain
