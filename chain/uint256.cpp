#include "chain/uint256.hpp"

namespace varkeeper::chain {

std::string_view to_string(UintError e) noexcept {
  switch (e) {
    case UintError::kTooLong: return "value exceeds 256 bits";
    case UintError::kEmpty: return "no digits";
    case UintError::kBadDigit: return "invalid digit";
    case UintError::kLeadingZero: return "quantity has a leading zero";
    case UintError::kMissingPrefix: return "quantity lacks 0x prefix";
  }
  return "unknown integer error";
}

Expected<U256, UintError> u256_from_be(ByteView bytes) noexcept {
  if (bytes.size() > 32) {
    return unexpected(UintError::kTooLong);
  }
  U256 out = 0;
  for (const std::uint8_t b : bytes) {
    out = (out << 8) | b;
  }
  return out;
}

// U256 is an unchecked Boost type: its shifts, masks and the conversion of a value below 256 to a
// byte cannot throw; the throws clang-tidy finds are on Boost's checked-type paths.
// NOLINTNEXTLINE(bugprone-exception-escape): see above
Hash32 u256_to_be32(const U256& value) noexcept {
  Hash32 out{};
  U256 v = value;
  for (int i = 31; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
  return out;
}

Bytes u256_to_be_minimal(const U256& value) {
  const Hash32 word = u256_to_be32(value);
  std::size_t first = 0;
  while (first < word.size() && word[first] == 0) {
    ++first;
  }
  return Bytes(word.begin() + static_cast<std::ptrdiff_t>(first), word.end());
}

namespace {
int digit(char c, unsigned base) noexcept {
  int d = -1;
  if (c >= '0' && c <= '9') {
    d = c - '0';
  } else if (c >= 'a' && c <= 'f') {
    d = c - 'a' + 10;
  } else if (c >= 'A' && c <= 'F') {
    d = c - 'A' + 10;
  }
  return d >= 0 && static_cast<unsigned>(d) < base ? d : -1;
}

Expected<U256, UintError> parse_digits(std::string_view digits, unsigned base) noexcept {
  if (digits.empty()) {
    return unexpected(UintError::kEmpty);
  }
  // Accumulate in 512 bits so an overflow past 2^256-1 is detected, not wrapped.
  boost::multiprecision::uint512_t acc = 0;
  static const boost::multiprecision::uint512_t kMax =
      (boost::multiprecision::uint512_t(1) << 256) - 1;
  for (const char c : digits) {
    const int d = digit(c, base);
    if (d < 0) {
      return unexpected(UintError::kBadDigit);
    }
    acc = acc * base + static_cast<unsigned>(d);
    if (acc > kMax) {
      return unexpected(UintError::kTooLong);
    }
  }
  return static_cast<U256>(acc);
}
}  // namespace

Expected<U256, UintError> u256_from_quantity(std::string_view text) noexcept {
  if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return unexpected(UintError::kMissingPrefix);
  }
  text.remove_prefix(2);
  if (text.size() > 1 && text[0] == '0') {
    return unexpected(UintError::kLeadingZero);
  }
  return parse_digits(text, 16);
}

std::string u256_to_quantity(const U256& value) {
  if (value == 0) {
    return "0x0";
  }
  std::string s = value.str(0, std::ios_base::hex);
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  s.insert(0, "0x");
  return s;
}

Expected<U256, UintError> u256_from_string(std::string_view text) noexcept {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    return parse_digits(text.substr(2), 16);
  }
  return parse_digits(text, 10);
}

std::string u256_to_decimal(const U256& value) { return value.str(); }

}  // namespace varkeeper::chain
