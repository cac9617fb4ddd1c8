#include "chain/keccak.hpp"

#include <crypto++/keccak.h>

namespace varkeeper::chain {

Hash32 keccak256(ByteView data) noexcept {
  // Crypto++'s Keccak_256 is the pre-standard Keccak (pad 0x01), which Ethereum uses;
  // SHA3_256 (pad 0x06) would give different digests.
  CryptoPP::Keccak_256 hash;
  hash.Update(data.data(), data.size());
  Hash32 out{};
  hash.Final(out.data());
  return out;
}

}  // namespace varkeeper::chain
