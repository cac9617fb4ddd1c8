#include "chain/hex.hpp"

namespace varkeeper::chain {

std::string_view to_string(HexError e) noexcept {
  switch (e) {
    case HexError::kMissingPrefix: return "missing 0x prefix";
    case HexError::kOddLength: return "odd number of hex digits";
    case HexError::kBadDigit: return "invalid hex digit";
    case HexError::kWrongLength: return "wrong length";
  }
  return "unknown hex error";
}

namespace {
constexpr int digit_value(char c) noexcept {
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
}  // namespace

Expected<Bytes, HexError> from_hex(std::string_view text, HexPrefix prefix) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  } else if (prefix == HexPrefix::kRequired) {
    return unexpected(HexError::kMissingPrefix);
  }
  if (text.size() % 2 != 0) {
    return unexpected(HexError::kOddLength);
  }
  Bytes out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = digit_value(text[2 * i]);
    const int lo = digit_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return unexpected(HexError::kBadDigit);
    }
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

std::string to_hex(ByteView bytes, bool prefix) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2 + 2);
  if (prefix) {
    out += "0x";
  }
  for (const std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

}  // namespace varkeeper::chain
