#include "chain/eip191.hpp"

#include <string>

#include "chain/keccak.hpp"

namespace varkeeper::chain {

Hash32 personal_message_hash(ByteView message) {
  // EIP-191: 0x19 <0x45 (E)> <"thereum Signed Message:\n" + len(message)> <message>.
  const std::string prefix =
      "\x19"
      "Ethereum Signed Message:\n" +
      std::to_string(message.size());
  Bytes buffer;
  buffer.reserve(prefix.size() + message.size());
  append(buffer, as_bytes(prefix));
  append(buffer, message);
  return keccak256(buffer);
}

Signature personal_sign(ByteView message, const SecretKey& key) {
  return sign_hash(personal_message_hash(message), key);
}

Expected<Address, SignatureError> recover_personal_signer(ByteView message, const Signature& sig) {
  return recover_address(personal_message_hash(message), sig);
}

}  // namespace varkeeper::chain
