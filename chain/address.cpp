#include "chain/address.hpp"

#include "chain/keccak.hpp"

namespace varkeeper::chain {

namespace {

constexpr char kLowerDigits[] = "0123456789abcdef";

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// EIP-55: the checksum is keccak256 of the lower-case hex text (ASCII, no "0x"); the i-th
// letter is upper-case when the i-th nibble of that hash is >= 8.
std::string checksum_digits(const Address& address) {
  std::string lower(40, '0');
  for (std::size_t i = 0; i < 20; ++i) {
    lower[2 * i] = kLowerDigits[address[i] >> 4];
    lower[2 * i + 1] = kLowerDigits[address[i] & 0x0f];
  }
  const Hash32 hash = keccak256(std::string_view{lower});
  for (std::size_t i = 0; i < 40; ++i) {
    const int nibble = (i % 2 == 0) ? (hash[i / 2] >> 4) : (hash[i / 2] & 0x0f);
    if (lower[i] >= 'a' && nibble >= 8) {
      lower[i] = static_cast<char>(lower[i] - 'a' + 'A');
    }
  }
  return lower;
}

}  // namespace

std::string_view to_string(AddressError e) noexcept {
  switch (e) {
    case AddressError::kBadHex: return "address is not hexadecimal (40 digits, optional 0x)";
    case AddressError::kWrongLength: return "address is not 20 bytes (40 hex digits)";
    case AddressError::kBadChecksum:
      return "address has mixed case that is not its EIP-55 checksum";
  }
  return "unknown address error";
}

Address address_from_public_key(const PublicKey& key) noexcept {
  const Hash32 hash = keccak256(ByteView{key});
  Address out{};
  for (std::size_t i = 0; i < 20; ++i) {
    out[i] = hash[12 + i];
  }
  return out;
}

std::string to_checksum_address(const Address& address) { return "0x" + checksum_digits(address); }

Expected<Address, AddressError> parse_address(std::string_view text) noexcept {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  bool has_lower = false;
  bool has_upper = false;
  for (const char c : text) {
    if (hex_value(c) < 0) {
      return unexpected(AddressError::kBadHex);
    }
    has_lower |= (c >= 'a' && c <= 'f');
    has_upper |= (c >= 'A' && c <= 'F');
  }
  if (text.size() % 2 != 0) {
    return unexpected(AddressError::kBadHex);
  }
  if (text.size() != 40) {
    return unexpected(AddressError::kWrongLength);
  }
  Address out{};
  for (std::size_t i = 0; i < 20; ++i) {
    out[i] = static_cast<std::uint8_t>(hex_value(text[2 * i]) << 4 | hex_value(text[2 * i + 1]));
  }
  // EIP-55: all-lower or all-upper text carries no checksum; mixed case must be exact.
  if (has_lower && has_upper) {
    try {
      if (checksum_digits(out) != text) {
        return unexpected(AddressError::kBadChecksum);
      }
    } catch (...) {  // allocation failure while checking: refuse rather than accept unchecked
      return unexpected(AddressError::kBadChecksum);
    }
  }
  return out;
}

}  // namespace varkeeper::chain
