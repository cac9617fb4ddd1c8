// 20-byte Ethereum addresses: derivation from a public key and EIP-55 checksum text.
#pragma once

#include <string>
#include <string_view>

#include "chain/bytes.hpp"
#include "chain/expected.hpp"

namespace varkeeper::chain {

using Address = FixedBytes<20>;

// Uncompressed public key without the 0x04 prefix: X || Y, 64 bytes.
using PublicKey = FixedBytes<64>;

enum class AddressError {
  kBadHex,       // not 40 hex digits (with or without 0x)
  kWrongLength,  // not 20 bytes
  kBadChecksum,  // mixed case that is not the EIP-55 checksum
};

[[nodiscard]] std::string_view to_string(AddressError e) noexcept;

// keccak256(X || Y)[12:] (Yellow Paper, eq. 284).
[[nodiscard]] Address address_from_public_key(const PublicKey& key) noexcept;

// EIP-55 mixed-case checksum form, "0x"-prefixed.
[[nodiscard]] std::string to_checksum_address(const Address& address);

// Accepts all-lower or all-upper hex (no checksum to check) or a mixed-case string that must
// be the exact EIP-55 checksum.
[[nodiscard]] Expected<Address, AddressError> parse_address(std::string_view text) noexcept;

}  // namespace varkeeper::chain
