#include "chain/abi_value.hpp"

#include <utility>

#include "chain/hex.hpp"

namespace varkeeper::chain {

AbiInt AbiInt::from_int64(std::int64_t v) {
  AbiInt out;
  out.negative = v < 0;
  // Negate in unsigned arithmetic so that INT64_MIN has a magnitude too.
  const auto u = static_cast<std::uint64_t>(v);
  out.magnitude = out.negative ? U256(~u + 1) : U256(u);
  return out;
}

std::string_view to_string(AbiValueError e) noexcept {
  switch (e) {
    case AbiValueError::kBadInteger: return "not a decimal or 0x-hex integer";
    case AbiValueError::kNegativeUnsigned: return "negative value for an unsigned integer";
    case AbiValueError::kOutOfRange: return "integer out of range for its type";
    case AbiValueError::kBadHex: return "not 0x-prefixed hex with an even number of digits";
    case AbiValueError::kWrongLength: return "wrong number of bytes for bytes<M>";
    case AbiValueError::kBadAddress: return "not a 20-byte address with a valid EIP-55 checksum";
    case AbiValueError::kBadBool: return "a bool must be true or false";
    case AbiValueError::kExpectedBracket: return "an array value must be written [a,b,...]";
    case AbiValueError::kExpectedParenthesis: return "a tuple value must be written (a,b,...)";
    case AbiValueError::kWrongElementCount: return "wrong number of elements";
    case AbiValueError::kUnterminatedString: return "unterminated quoted string";
    case AbiValueError::kTrailingCharacters: return "unexpected characters after the value";
    case AbiValueError::kTooDeep: return "values are nested too deeply";
  }
  return "unknown ABI value error";
}

namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

class ValueParser {
 public:
  explicit ValueParser(std::string_view text) : text_(text) {}

  // Parses a value; `top` means the whole remaining text is the value (strings are taken
  // verbatim there).
  Expected<AbiValue, AbiValueParseError> parse(const AbiType& type, bool top, std::size_t depth) {
    if (depth > kAbiMaxDepth) {
      return fail(AbiValueError::kTooDeep, pos_);
    }
    switch (type.kind) {
      case AbiKind::kArray:
      case AbiKind::kFixedArray: return parse_list(type, '[', ']', depth);
      case AbiKind::kTuple: return parse_list(type, '(', ')', depth);
      case AbiKind::kString: return parse_string(top);
      default: break;
    }
    skip_space();
    const std::size_t start = pos_;
    const std::string_view token = top ? trim(text_.substr(pos_)) : scalar_token();
    pos_ = top ? text_.size() : pos_;
    return parse_scalar(type, token, start);
  }

  [[nodiscard]] bool at_end() {
    skip_space();
    return pos_ >= text_.size();
  }
  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }

  static Unexpected<AbiValueParseError> fail(AbiValueError code, std::size_t at) {
    return unexpected(AbiValueParseError{code, at});
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && is_space(text_[pos_])) {
      ++pos_;
    }
  }

  // A scalar inside a list ends at ',' or the closing bracket.
  std::string_view scalar_token() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != ']' && text_[pos_] != ')') {
      ++pos_;
    }
    return trim(text_.substr(start, pos_ - start));
  }

  Expected<AbiValue, AbiValueParseError> parse_string(bool top) {
    if (top) {
      std::string s(text_.substr(pos_));
      pos_ = text_.size();
      return AbiValue::from_string(std::move(s));
    }
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      const std::size_t open = pos_++;
      std::string s;
      while (pos_ < text_.size() && text_[pos_] != '"') {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) {
          ++pos_;
        }
        s += text_[pos_++];
      }
      if (pos_ >= text_.size()) {
        return fail(AbiValueError::kUnterminatedString, open);
      }
      ++pos_;
      return AbiValue::from_string(std::move(s));
    }
    return AbiValue::from_string(std::string(scalar_token()));
  }

  Expected<AbiValue, AbiValueParseError> parse_list(const AbiType& type, char open, char close,
                                                    std::size_t depth) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != open) {
      return fail(
          open == '[' ? AbiValueError::kExpectedBracket : AbiValueError::kExpectedParenthesis,
          pos_);
    }
    const std::size_t open_pos = pos_++;
    AbiValue::List items;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == close) {
      ++pos_;
    } else {
      while (true) {
        const AbiType* element = nullptr;
        if (type.kind == AbiKind::kTuple) {
          if (items.size() >= type.components.size()) {
            return fail(AbiValueError::kWrongElementCount, pos_);
          }
          element = &type.components[items.size()];
        } else {
          if (type.kind == AbiKind::kFixedArray && items.size() >= type.size) {
            return fail(AbiValueError::kWrongElementCount, pos_);
          }
          element = &type.components.front();
        }
        auto item = parse(*element, false, depth + 1);
        if (!item) {
          return item;
        }
        items.push_back(std::move(*item));
        skip_space();
        if (pos_ >= text_.size()) {
          return fail(
              open == '[' ? AbiValueError::kExpectedBracket : AbiValueError::kExpectedParenthesis,
              open_pos);
        }
        if (text_[pos_] == close) {
          ++pos_;
          break;
        }
        if (text_[pos_] != ',') {
          return fail(AbiValueError::kTrailingCharacters, pos_);
        }
        ++pos_;
      }
    }
    const std::size_t want = type.kind == AbiKind::kTuple        ? type.components.size()
                             : type.kind == AbiKind::kFixedArray ? type.size
                                                                 : items.size();
    if (items.size() != want) {
      return fail(AbiValueError::kWrongElementCount, open_pos);
    }
    return AbiValue::from_list(std::move(items));
  }

  static Expected<AbiValue, AbiValueParseError> parse_scalar(const AbiType& type,
                                                             std::string_view token,
                                                             std::size_t at) {
    switch (type.kind) {
      case AbiKind::kBool:
        if (token == "true") {
          return AbiValue::from_bool(true);
        }
        if (token == "false") {
          return AbiValue::from_bool(false);
        }
        return fail(AbiValueError::kBadBool, at);
      case AbiKind::kAddress: {
        auto address = parse_address(token);
        if (!address) {
          return fail(AbiValueError::kBadAddress, at);
        }
        return AbiValue::from_address(*address);
      }
      case AbiKind::kBytes:
      case AbiKind::kFixedBytes: {
        auto bytes = from_hex(token, HexPrefix::kRequired);
        if (!bytes) {
          return fail(AbiValueError::kBadHex, at);
        }
        if (type.kind == AbiKind::kFixedBytes && bytes->size() != type.size) {
          return fail(AbiValueError::kWrongLength, at);
        }
        return AbiValue::from_bytes(std::move(*bytes));
      }
      case AbiKind::kUint:
      case AbiKind::kInt: {
        const bool negative = !token.empty() && token.front() == '-';
        const std::string_view digits = negative ? token.substr(1) : token;
        if (digits.empty() || digits.front() == '+' || digits.front() == '-') {
          return fail(AbiValueError::kBadInteger, at);
        }
        auto magnitude = u256_from_string(digits);
        if (!magnitude) {
          return fail(magnitude.error() == UintError::kTooLong ? AbiValueError::kOutOfRange
                                                               : AbiValueError::kBadInteger,
                      at);
        }
        const std::size_t bits = type.size;
        if (type.kind == AbiKind::kUint) {
          if (negative && *magnitude != 0) {
            return fail(AbiValueError::kNegativeUnsigned, at);
          }
          if (bits < 256 && (*magnitude >> bits) != 0) {
            return fail(AbiValueError::kOutOfRange, at);
          }
          return AbiValue::from_uint(*magnitude);
        }
        // int<M>: -2^(M-1) <= v <= 2^(M-1) - 1.
        const U256 limit = U256(1) << (bits - 1);
        if (negative ? *magnitude > limit : *magnitude >= limit) {
          return fail(AbiValueError::kOutOfRange, at);
        }
        return AbiValue::from_int(AbiInt{negative && *magnitude != 0, *magnitude});
      }
      default: break;
    }
    return fail(AbiValueError::kTrailingCharacters, at);
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

Expected<AbiValue, AbiValueParseError> parse_abi_value(const AbiType& type, std::string_view text) {
  ValueParser parser(text);
  auto value = parser.parse(type, true, 0);
  if (!value) {
    return value;
  }
  if (!parser.at_end()) {
    return ValueParser::fail(AbiValueError::kTrailingCharacters, parser.pos());
  }
  return value;
}

namespace {
std::string format_value(const AbiType* type, const AbiValue& value, bool nested) {
  struct Visitor {
    const AbiType* type;
    bool nested;
    std::string operator()(const U256& v) const { return u256_to_decimal(v); }
    std::string operator()(const AbiInt& v) const {
      return (v.negative && v.magnitude != 0 ? "-" : "") + u256_to_decimal(v.magnitude);
    }
    std::string operator()(const Address& v) const { return to_checksum_address(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const Bytes& v) const { return to_hex(v); }
    std::string operator()(const std::string& v) const { return nested ? quote(v) : v; }
    std::string operator()(const AbiValue::List& v) const {
      const bool tuple = type != nullptr && type->kind == AbiKind::kTuple;
      const bool array =
          type != nullptr && (type->kind == AbiKind::kArray || type->kind == AbiKind::kFixedArray);
      std::string out = tuple ? "(" : "[";
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i != 0) {
          out += ", ";
        }
        const AbiType* element = nullptr;
        if (array) {
          element = &type->components.front();
        }
        if (tuple && i < type->components.size()) {
          element = &type->components[i];
        }
        out += format_value(element, v[i], true);
      }
      return out + (tuple ? ")" : "]");
    }
  };
  return std::visit(Visitor{type, nested}, value.data);
}
}  // namespace

std::string format_abi_value(const AbiType& type, const AbiValue& value) {
  return format_value(&type, value, false);
}

}  // namespace varkeeper::chain
