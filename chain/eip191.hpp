// EIP-191 version 0x45 ("personal_sign", eth_sign): the digest of a message prefixed with
// "\x19Ethereum Signed Message:\n" and its decimal byte length, and signing with it.
#pragma once

#include <string_view>

#include "chain/address.hpp"
#include "chain/bytes.hpp"
#include "chain/expected.hpp"
#include "chain/secp256k1.hpp"
#include "chain/secret_key.hpp"

namespace varkeeper::chain {

// keccak256("\x19Ethereum Signed Message:\n" || len(message) in decimal || message).
[[nodiscard]] Hash32 personal_message_hash(ByteView message);
[[nodiscard]] inline Hash32 personal_message_hash(std::string_view message) {
  return personal_message_hash(as_bytes(message));
}

// sign_hash(personal_message_hash(message), key): what `cast wallet sign <msg>` and
// eth_sign/personal_sign produce (as 65 bytes via to_rsv, v = 27/28).
[[nodiscard]] Signature personal_sign(ByteView message, const SecretKey& key);
[[nodiscard]] inline Signature personal_sign(std::string_view message, const SecretKey& key) {
  return personal_sign(as_bytes(message), key);
}

// The address that signed `message` with `sig` (EIP-2 rules of recover_address apply).
[[nodiscard]] Expected<Address, SignatureError> recover_personal_signer(ByteView message,
                                                                        const Signature& sig);

}  // namespace varkeeper::chain
