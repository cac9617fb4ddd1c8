#include "chain/secret_key.hpp"

#include <openssl/crypto.h>

#include "chain/hex.hpp"

namespace varkeeper::chain {

namespace {

// SEC 2, section 2.4.1: the order n of the secp256k1 base point, big-endian.
constexpr FixedBytes<32> kGroupOrder = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

// Big-endian comparison without early exit on the key bytes (the key is secret).
bool is_valid_scalar(ByteView bytes) noexcept {
  unsigned char any_nonzero = 0;
  int less = 0;     // set once bytes < n is decided
  int decided = 0;  // set at the first differing byte
  for (std::size_t i = 0; i < 32; ++i) {
    any_nonzero |= bytes[i];
    const int lt = bytes[i] < kGroupOrder[i];
    const int gt = bytes[i] > kGroupOrder[i];
    less |= (!decided) & lt;
    decided |= lt | gt;
  }
  return any_nonzero != 0 && less != 0;
}

}  // namespace

Expected<SecretKey, KeyError> SecretKey::from_bytes(ByteView bytes) noexcept {
  if (bytes.size() != 32) {
    return unexpected(KeyError::kWrongLength);
  }
  if (!is_valid_scalar(bytes)) {
    return unexpected(KeyError::kOutOfRange);
  }
  FixedBytes<32> fixed{};
  for (std::size_t i = 0; i < 32; ++i) {
    fixed[i] = bytes[i];
  }
  SecretKey key(fixed);
  OPENSSL_cleanse(fixed.data(), fixed.size());
  return key;
}

Expected<SecretKey, KeyError> SecretKey::from_hex(std::string_view text) noexcept {
  try {
    auto bytes = chain::from_hex(text, HexPrefix::kOptional);
    if (!bytes) {
      return unexpected(KeyError::kBadHex);
    }
    auto key = from_bytes(*bytes);
    OPENSSL_cleanse(bytes->data(), bytes->size());
    return key;
  } catch (...) {  // allocation failure: report as unusable input rather than terminate
    return unexpected(KeyError::kBadHex);
  }
}

std::string_view to_string(KeyError e) noexcept {
  switch (e) {
    case KeyError::kWrongLength: return "a private key is 32 bytes";
    case KeyError::kOutOfRange: return "private key is zero or not below the secp256k1 group order";
    case KeyError::kBadHex: return "private key is not hexadecimal";
  }
  return "unknown private key error";
}

}  // namespace varkeeper::chain
