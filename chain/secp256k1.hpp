// secp256k1 signing and recovery (libsecp256k1 with its recovery module): deterministic
// RFC 6979 nonces, low-s signatures (EIP-2), public-key recovery.
#pragma once

#include "chain/address.hpp"
#include "chain/bytes.hpp"
#include "chain/expected.hpp"
#include "chain/secret_key.hpp"

namespace varkeeper::chain {

// r, s as 32-byte big-endian words; y_parity is the recovery id (0 or 1).
struct Signature {
  Hash32 r{};
  Hash32 s{};
  std::uint8_t y_parity = 0;
  friend bool operator==(const Signature&, const Signature&) = default;
};

enum class SignatureError {
  kBadRecoveryId,   // y_parity not 0 or 1 (or v not 27/28 / EIP-155 form)
  kInvalidRS,       // r or s zero or not below the group order
  kHighS,           // s above n/2 (malleable; refused per EIP-2)
  kRecoveryFailed,  // no public key recovers from this signature and digest
  kWrongLength,     // a 65-byte r||s||v blob of another size
};

[[nodiscard]] std::string_view to_string(SignatureError e) noexcept;

// Signs a 32-byte digest. Always low-s; deterministic for the same key and digest.
[[nodiscard]] Signature sign_hash(const Hash32& digest, const SecretKey& key) noexcept;

// Recovers the signer's public key; refuses high-s and invalid r, s.
[[nodiscard]] Expected<PublicKey, SignatureError> recover_public_key(const Hash32& digest,
                                                                     const Signature& sig) noexcept;
[[nodiscard]] Expected<Address, SignatureError> recover_address(const Hash32& digest,
                                                                const Signature& sig) noexcept;

[[nodiscard]] PublicKey public_key_of(const SecretKey& key) noexcept;
[[nodiscard]] Address address_of(const SecretKey& key) noexcept;

// The 65-byte r || s || v form used by eth_sign, EIP-712 tooling and Solidity's ECDSA (v = 27+y).
[[nodiscard]] FixedBytes<65> to_rsv(const Signature& sig) noexcept;
// Accepts v = 27/28 or the bare parity 0/1; refuses invalid r, s and high s (EIP-2) up front.
[[nodiscard]] Expected<Signature, SignatureError> from_rsv(ByteView rsv) noexcept;

}  // namespace varkeeper::chain
