#include "chain/secp256k1.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace varkeeper::chain {

namespace {

// SEC 2, section 2.4.1: the group order n, and n/2 (EIP-2: s must not exceed it), big-endian.
constexpr Hash32 kGroupOrder = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
constexpr Hash32 kHalfOrder = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
                               0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

// Big-endian comparison of two 32-byte words (public values only: r, s).
int compare(const Hash32& a, const Hash32& b) noexcept {
  return std::memcmp(a.data(), b.data(), a.size());
}

bool is_zero(const Hash32& a) noexcept {
  for (const auto b : a) {
    if (b != 0) {
      return false;
    }
  }
  return true;
}

struct ContextDeleter {
  void operator()(secp256k1_context* ctx) const noexcept { secp256k1_context_destroy(ctx); }
};

// One libsecp256k1 context for the process, created on first use and randomized with a seed
// from the OS CSPRNG (blinding against side channels, secp256k1.h: secp256k1_context_randomize).
// After construction it is only used through const pointers, which libsecp256k1 allows from
// many threads at once.
class Context {
 public:
  Context() : ctx_(secp256k1_context_create(SECP256K1_CONTEXT_NONE)) {
    if (!ctx_) {
      std::abort();  // allocation failure at start-up: nothing sensible to sign with
    }
    unsigned char seed[32];
    if (RAND_bytes(seed, sizeof seed) != 1) {
      std::abort();  // no CSPRNG: refuse to run blind
    }
    const int ok = secp256k1_context_randomize(ctx_.get(), seed);
    OPENSSL_cleanse(seed, sizeof seed);
    if (ok != 1) {
      std::abort();
    }
  }
  [[nodiscard]] const secp256k1_context* get() const noexcept { return ctx_.get(); }

 private:
  std::unique_ptr<secp256k1_context, ContextDeleter> ctx_;
};

const secp256k1_context* context() noexcept {
  static const Context instance;
  return instance.get();
}

// Checks r, s and the recovery id the way Ethereum does (EIP-2, Yellow Paper appendix F).
Expected<void, SignatureError> validate(const Signature& sig) noexcept {
  if (sig.y_parity > 1) {
    return unexpected(SignatureError::kBadRecoveryId);
  }
  if (is_zero(sig.r) || compare(sig.r, kGroupOrder) >= 0) {
    return unexpected(SignatureError::kInvalidRS);
  }
  if (is_zero(sig.s) || compare(sig.s, kGroupOrder) >= 0) {
    return unexpected(SignatureError::kInvalidRS);
  }
  if (compare(sig.s, kHalfOrder) > 0) {
    return unexpected(SignatureError::kHighS);
  }
  return {};
}

}  // namespace

std::string_view to_string(SignatureError e) noexcept {
  switch (e) {
    case SignatureError::kBadRecoveryId: return "signature recovery id (v) is not 0/1 or 27/28";
    case SignatureError::kInvalidRS: return "signature r or s is zero or not below the group order";
    case SignatureError::kHighS:
      return "signature s is above n/2 (malleable form, refused by EIP-2)";
    case SignatureError::kRecoveryFailed: return "no public key recovers from this signature";
    case SignatureError::kWrongLength: return "an r||s||v signature is 65 bytes";
  }
  return "unknown signature error";
}

Signature sign_hash(const Hash32& digest, const SecretKey& key) noexcept {
  secp256k1_ecdsa_recoverable_signature raw;
  // nullptr nonce function: libsecp256k1's RFC 6979 HMAC-SHA256 nonces (deterministic).
  const int ok = secp256k1_ecdsa_sign_recoverable(context(), &raw, digest.data(),
                                                  key.reveal().data(), nullptr, nullptr);
  // SecretKey guarantees 0 < key < n, and RFC 6979 never fails to find a nonce in practice.
  if (ok != 1) {
    std::abort();
  }
  unsigned char compact[64];
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(context(), compact, &recid, &raw);
  Signature sig;
  std::memcpy(sig.r.data(), compact, 32);
  std::memcpy(sig.s.data(), compact + 32, 32);
  sig.y_parity = static_cast<std::uint8_t>(recid);
  // libsecp256k1 signs in lower-S form (secp256k1.h, secp256k1_ecdsa_sign) and with r < n
  // the recovery id is 0 or 1 except with negligible probability (r >= p - n).
  if (sig.y_parity > 1 || compare(sig.s, kHalfOrder) > 0) {
    std::abort();
  }
  return sig;
}

Expected<PublicKey, SignatureError> recover_public_key(const Hash32& digest,
                                                       const Signature& sig) noexcept {
  if (auto v = validate(sig); !v) {
    return unexpected(v.error());
  }
  unsigned char compact[64];
  std::memcpy(compact, sig.r.data(), 32);
  std::memcpy(compact + 32, sig.s.data(), 32);
  secp256k1_ecdsa_recoverable_signature raw;
  if (secp256k1_ecdsa_recoverable_signature_parse_compact(context(), &raw, compact, sig.y_parity) !=
      1) {
    return unexpected(SignatureError::kInvalidRS);
  }
  secp256k1_pubkey pubkey;
  if (secp256k1_ecdsa_recover(context(), &pubkey, &raw, digest.data()) != 1) {
    return unexpected(SignatureError::kRecoveryFailed);
  }
  unsigned char uncompressed[65];
  std::size_t len = sizeof uncompressed;
  secp256k1_ec_pubkey_serialize(context(), uncompressed, &len, &pubkey, SECP256K1_EC_UNCOMPRESSED);
  PublicKey out{};
  std::memcpy(out.data(), uncompressed + 1, 64);  // drop the 0x04 SEC 1 prefix
  return out;
}

Expected<Address, SignatureError> recover_address(const Hash32& digest,
                                                  const Signature& sig) noexcept {
  auto key = recover_public_key(digest, sig);
  if (!key) {
    return unexpected(key.error());
  }
  return address_from_public_key(*key);
}

PublicKey public_key_of(const SecretKey& key) noexcept {
  secp256k1_pubkey pubkey;
  if (secp256k1_ec_pubkey_create(context(), &pubkey, key.reveal().data()) != 1) {
    std::abort();
  }
  unsigned char uncompressed[65];
  std::size_t len = sizeof uncompressed;
  secp256k1_ec_pubkey_serialize(context(), uncompressed, &len, &pubkey, SECP256K1_EC_UNCOMPRESSED);
  PublicKey out{};
  std::memcpy(out.data(), uncompressed + 1, 64);
  return out;
}

Address address_of(const SecretKey& key) noexcept {
  return address_from_public_key(public_key_of(key));
}

FixedBytes<65> to_rsv(const Signature& sig) noexcept {
  FixedBytes<65> out{};
  std::memcpy(out.data(), sig.r.data(), 32);
  std::memcpy(out.data() + 32, sig.s.data(), 32);
  out[64] = static_cast<std::uint8_t>(27 + sig.y_parity);
  return out;
}

Expected<Signature, SignatureError> from_rsv(ByteView rsv) noexcept {
  if (rsv.size() != 65) {
    return unexpected(SignatureError::kWrongLength);
  }
  Signature sig;
  std::memcpy(sig.r.data(), rsv.data(), 32);
  std::memcpy(sig.s.data(), rsv.data() + 32, 32);
  // Yellow Paper v is 27/28; many signers (and EIP-2098 style tooling) write the bare parity.
  const std::uint8_t v = rsv[64];
  if (v == 27 || v == 28) {
    sig.y_parity = static_cast<std::uint8_t>(v - 27);
  } else if (v == 0 || v == 1) {
    sig.y_parity = v;
  } else {
    return unexpected(SignatureError::kBadRecoveryId);
  }
  if (auto ok = validate(sig); !ok) {
    return unexpected(ok.error());
  }
  return sig;
}

}  // namespace varkeeper::chain
