#include "chain/abi_type.hpp"

#include <optional>
#include <utility>

namespace varkeeper::chain {

AbiType abi_uint(std::size_t bits) { return {AbiKind::kUint, bits, {}}; }
AbiType abi_int(std::size_t bits) { return {AbiKind::kInt, bits, {}}; }
AbiType abi_address() { return {AbiKind::kAddress, 0, {}}; }
AbiType abi_bool() { return {AbiKind::kBool, 0, {}}; }
AbiType abi_fixed_bytes(std::size_t n) { return {AbiKind::kFixedBytes, n, {}}; }
AbiType abi_bytes() { return {AbiKind::kBytes, 0, {}}; }
AbiType abi_string() { return {AbiKind::kString, 0, {}}; }
AbiType abi_array(AbiType element) { return {AbiKind::kArray, 0, {std::move(element)}}; }
AbiType abi_fixed_array(AbiType element, std::size_t length) {
  return {AbiKind::kFixedArray, length, {std::move(element)}};
}
AbiType abi_tuple(std::vector<AbiType> members) { return {AbiKind::kTuple, 0, std::move(members)}; }

bool is_dynamic(const AbiType& type) noexcept {
  switch (type.kind) {
    case AbiKind::kBytes:
    case AbiKind::kString:
    case AbiKind::kArray: return true;
    case AbiKind::kFixedArray: return is_dynamic(type.components.front());
    case AbiKind::kTuple:
      for (const auto& c : type.components) {
        if (is_dynamic(c)) {
          return true;
        }
      }
      return false;
    default: return false;
  }
}

std::size_t head_size(const AbiType& type) noexcept {
  if (is_dynamic(type)) {
    return 32;
  }
  switch (type.kind) {
    case AbiKind::kFixedArray: return type.size * head_size(type.components.front());
    case AbiKind::kTuple: {
      std::size_t total = 0;
      for (const auto& c : type.components) {
        total += head_size(c);
      }
      return total;
    }
    default: return 32;
  }
}

std::string canonical_list(const std::vector<AbiType>& types) {
  std::string out = "(";
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (i != 0) {
      out += ',';
    }
    out += canonical_name(types[i]);
  }
  out += ')';
  return out;
}

std::string canonical_name(const AbiType& type) {
  switch (type.kind) {
    case AbiKind::kUint: return "uint" + std::to_string(type.size);
    case AbiKind::kInt: return "int" + std::to_string(type.size);
    case AbiKind::kAddress: return "address";
    case AbiKind::kBool: return "bool";
    case AbiKind::kFixedBytes: return "bytes" + std::to_string(type.size);
    case AbiKind::kBytes: return "bytes";
    case AbiKind::kString: return "string";
    case AbiKind::kArray: return canonical_name(type.components.front()) + "[]";
    case AbiKind::kFixedArray:
      return canonical_name(type.components.front()) + "[" + std::to_string(type.size) + "]";
    case AbiKind::kTuple: return canonical_list(type.components);
  }
  return {};
}

std::string AbiSignature::canonical() const { return name + canonical_list(inputs); }

std::string_view to_string(AbiTypeError e) noexcept {
  switch (e) {
    case AbiTypeError::kEmpty: return "a type is missing";
    case AbiTypeError::kUnknownType: return "unknown ABI type";
    case AbiTypeError::kBadIntegerWidth: return "integer width must be 8..256 in steps of 8";
    case AbiTypeError::kBadFixedBytesWidth: return "bytes<M> width must be 1..32";
    case AbiTypeError::kUnsupportedType: return "fixed, ufixed and function are not supported";
    case AbiTypeError::kBadArrayLength: return "array length must be a positive decimal integer";
    case AbiTypeError::kEmptyTuple: return "an empty tuple cannot be a component";
    case AbiTypeError::kUnbalancedParenthesis: return "unbalanced parenthesis";
    case AbiTypeError::kMissingComma: return "types must be separated by a comma";
    case AbiTypeError::kTrailingCharacters: return "unexpected characters after the type";
    case AbiTypeError::kTooDeep: return "types are nested too deeply";
    case AbiTypeError::kTooLarge: return "static type is too large";
    case AbiTypeError::kBadName: return "signature name is not an identifier";
    case AbiTypeError::kMissingParenthesis: return "signature has no parenthesised argument list";
    case AbiTypeError::kBadModifier: return "unexpected word after a parameter type";
  }
  return "unknown ABI type error";
}

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ident_start(char c) noexcept { return is_alpha(c) || c == '_' || c == '$'; }
bool is_ident(char c) noexcept { return is_ident_start(c) || is_digit(c); }
bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Parses a decimal number without leading zeros, at most 9 digits (so it fits easily);
// returns false on anything else.
bool parse_small_decimal(std::string_view digits, std::size_t& out) noexcept {
  if (digits.empty() || digits.size() > 9 || (digits.size() > 1 && digits[0] == '0')) {
    return false;
  }
  out = 0;
  for (char c : digits) {
    if (!is_digit(c)) {
      return false;
    }
    out = out * 10 + static_cast<std::size_t>(c - '0');
  }
  return true;
}

class TypeParser {
 public:
  explicit TypeParser(std::string_view text) : text_(text) {}

  Expected<AbiType, AbiTypeParseError> parse_type(std::size_t depth) {
    if (depth > kAbiMaxDepth) {
      return fail(AbiTypeError::kTooDeep);
    }
    AbiType base;
    if (peek() == '(') {
      auto list = parse_tuple(depth + 1);
      if (!list) {
        return unexpected(list.error());
      }
      if (list->empty()) {
        return fail(AbiTypeError::kEmptyTuple, pos_ - 2);
      }
      base = abi_tuple(std::move(*list));
      if (auto e = check_size(base)) {
        return unexpected(*e);
      }
    } else {
      auto elementary = parse_elementary();
      if (!elementary) {
        return unexpected(elementary.error());
      }
      base = std::move(*elementary);
    }
    // Array suffixes apply left to right: "uint8[2][]" is a dynamic array of uint8[2].
    std::size_t suffixes = 0;
    while (peek() == '[') {
      if (depth + ++suffixes > kAbiMaxDepth) {
        return fail(AbiTypeError::kTooDeep);
      }
      const std::size_t open = pos_++;
      const std::size_t start = pos_;
      while (pos_ < text_.size() && text_[pos_] != ']') {
        ++pos_;
      }
      if (pos_ >= text_.size()) {
        return fail(AbiTypeError::kBadArrayLength, open);
      }
      const std::string_view digits = text_.substr(start, pos_ - start);
      ++pos_;  // ']'
      if (digits.empty()) {
        base = abi_array(std::move(base));
        continue;
      }
      std::size_t length = 0;
      if (!parse_small_decimal(digits, length) || length == 0) {
        return fail(AbiTypeError::kBadArrayLength, start);
      }
      base = abi_fixed_array(std::move(base), length);
      if (auto e = check_size(base, open)) {
        return unexpected(*e);
      }
    }
    return base;
  }

  // "(" [type ("," type)*] ")"; pos_ at "(".
  Expected<std::vector<AbiType>, AbiTypeParseError> parse_tuple(std::size_t depth) {
    if (depth > kAbiMaxDepth) {
      return fail(AbiTypeError::kTooDeep);
    }
    const std::size_t open = pos_++;
    std::vector<AbiType> members;
    if (peek() == ')') {
      ++pos_;
      return members;
    }
    while (true) {
      if (at_end()) {
        return fail(AbiTypeError::kUnbalancedParenthesis, open);
      }
      auto member = parse_type(depth);
      if (!member) {
        return unexpected(member.error());
      }
      members.push_back(std::move(*member));
      if (at_end()) {
        return fail(AbiTypeError::kUnbalancedParenthesis, open);
      }
      if (peek() == ')') {
        ++pos_;
        return members;
      }
      if (peek() != ',') {
        return fail(AbiTypeError::kMissingComma);
      }
      ++pos_;
    }
  }

  Expected<AbiType, AbiTypeParseError> parse_elementary() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && (is_alpha(text_[pos_]) || is_digit(text_[pos_]))) {
      ++pos_;
    }
    const std::string_view word = text_.substr(start, pos_ - start);
    if (word.empty()) {
      if (at_end() || peek() == ',' || peek() == ')') {
        return fail(AbiTypeError::kEmpty, start);
      }
      if (peek() == '[') {
        return fail(AbiTypeError::kEmpty, start);
      }
      return fail(AbiTypeError::kUnknownType, start);
    }
    if (word == "address") {
      return abi_address();
    }
    if (word == "bool") {
      return abi_bool();
    }
    if (word == "bytes") {
      return abi_bytes();
    }
    if (word == "string") {
      return abi_string();
    }
    if (word == "uint") {
      return abi_uint(256);
    }
    if (word == "int") {
      return abi_int(256);
    }
    if (word == "function" || word.starts_with("fixed") || word.starts_with("ufixed")) {
      return fail(AbiTypeError::kUnsupportedType, start);
    }
    auto width = [&](std::string_view prefix, std::size_t& out) {
      return word.starts_with(prefix) && parse_small_decimal(word.substr(prefix.size()), out);
    };
    std::size_t n = 0;
    if (word.starts_with("uint") || word.starts_with("int")) {
      const bool is_unsigned = word[0] == 'u';
      if (!width(is_unsigned ? "uint" : "int", n)) {
        // "uint8x", "int08": digits that do not form a width.
        const std::string_view rest = word.substr(is_unsigned ? 4 : 3);
        bool digits_only = !rest.empty();
        for (char c : rest) {
          digits_only = digits_only && is_digit(c);
        }
        return fail(digits_only ? AbiTypeError::kBadIntegerWidth : AbiTypeError::kUnknownType,
                    start);
      }
      if (n == 0 || n > 256 || n % 8 != 0) {
        return fail(AbiTypeError::kBadIntegerWidth, start);
      }
      return is_unsigned ? abi_uint(n) : abi_int(n);
    }
    if (word.starts_with("bytes")) {
      if (!width("bytes", n)) {
        const std::string_view rest = word.substr(5);
        bool digits_only = true;
        for (char c : rest) {
          digits_only = digits_only && is_digit(c);
        }
        return fail(digits_only ? AbiTypeError::kBadFixedBytesWidth : AbiTypeError::kUnknownType,
                    start);
      }
      if (n == 0 || n > 32) {
        return fail(AbiTypeError::kBadFixedBytesWidth, start);
      }
      return abi_fixed_bytes(n);
    }
    return fail(AbiTypeError::kUnknownType, start);
  }

  [[nodiscard]] bool at_end() const noexcept { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }
  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }
  void set_pos(std::size_t p) noexcept { pos_ = p; }
  [[nodiscard]] std::string_view text() const noexcept { return text_; }

  Unexpected<AbiTypeParseError> fail(AbiTypeError code) const { return fail(code, pos_); }
  static Unexpected<AbiTypeParseError> fail(AbiTypeError code, std::size_t at) {
    return unexpected(AbiTypeParseError{code, at});
  }

 private:
  // Static sizes are bounded so that head_size() cannot overflow and a decoder's loops are
  // bounded by the input anyway.
  std::optional<AbiTypeParseError> check_size(const AbiType& type, std::size_t at = 0) const {
    if (is_dynamic(type)) {
      // A dynamic T[k] still has k head slots of 32 bytes.
      if (type.kind == AbiKind::kFixedArray && type.size > kAbiMaxStaticSize / 32) {
        return AbiTypeParseError{AbiTypeError::kTooLarge, at};
      }
      return std::nullopt;
    }
    std::size_t total = 0;
    if (type.kind == AbiKind::kFixedArray) {
      const std::size_t element = head_size(type.components.front());
      if (type.size > kAbiMaxStaticSize / element) {
        return AbiTypeParseError{AbiTypeError::kTooLarge, at};
      }
      total = type.size * element;
    } else {
      for (const auto& c : type.components) {
        total += head_size(c);  // each <= max
      }
    }
    if (total > kAbiMaxStaticSize) {
      return AbiTypeParseError{AbiTypeError::kTooLarge, at};
    }
    return std::nullopt;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

Expected<AbiType, AbiTypeParseError> parse_abi_type(std::string_view text) {
  TypeParser parser(text);
  auto type = parser.parse_type(0);
  if (!type) {
    return type;
  }
  if (!parser.at_end()) {
    return unexpected(AbiTypeParseError{parser.peek() == ')' ? AbiTypeError::kUnbalancedParenthesis
                                                             : AbiTypeError::kTrailingCharacters,
                                        parser.pos()});
  }
  return type;
}

Expected<std::vector<AbiType>, AbiTypeParseError> parse_abi_type_list(std::string_view text) {
  if (text.empty()) {
    return std::vector<AbiType>{};
  }
  if (text.front() == '(') {
    TypeParser parser(text);
    auto list = parser.parse_tuple(1);
    if (!list) {
      return list;
    }
    if (parser.at_end()) {
      return list;
    }
    // "(a,b)[]" or "(a),(b)" is not a list: fall through to the bare-list form below.
  }
  // Bare list "t1,t2": parse as the members of a tuple.
  TypeParser parser(text);
  std::vector<AbiType> out;
  while (true) {
    auto type = parser.parse_type(1);
    if (!type) {
      return unexpected(type.error());
    }
    out.push_back(std::move(*type));
    if (parser.at_end()) {
      return out;
    }
    if (parser.peek() == ')') {
      return unexpected(AbiTypeParseError{AbiTypeError::kUnbalancedParenthesis, parser.pos()});
    }
    if (parser.peek() != ',') {
      return unexpected(AbiTypeParseError{AbiTypeError::kMissingComma, parser.pos()});
    }
    parser.set_pos(parser.pos() + 1);
  }
}

// Longer than 80 lines on purpose: one left-to-right pass over the signature grammar
// (name, "(", types, ")"), each step reporting the byte offset of its error; split, the
// parser state would have to travel between functions.
Expected<AbiSignature, AbiTypeParseError> parse_abi_signature(std::string_view text) {
  auto fail = [](AbiTypeError code, std::size_t at) {
    return unexpected(AbiTypeParseError{code, at});
  };
  std::size_t pos = 0;
  while (pos < text.size() && is_space(text[pos])) {
    ++pos;
  }
  const std::size_t name_start = pos;
  while (pos < text.size() && is_ident(text[pos])) {
    ++pos;
  }
  AbiSignature sig;
  sig.name = std::string(text.substr(name_start, pos - name_start));
  if (sig.name.empty() || !is_ident_start(sig.name[0])) {
    return fail(AbiTypeError::kBadName, name_start);
  }
  if (pos >= text.size() || text[pos] != '(') {
    return fail(AbiTypeError::kMissingParenthesis, pos);
  }
  const std::size_t open = pos++;
  TypeParser parser(text);
  auto skip_space = [&] {
    while (pos < text.size() && is_space(text[pos])) {
      ++pos;
    }
  };
  skip_space();
  if (pos < text.size() && text[pos] == ')') {
    ++pos;
  } else {
    while (true) {
      skip_space();
      parser.set_pos(pos);
      auto type = parser.parse_type(1);
      if (!type) {
        return unexpected(type.error());
      }
      pos = parser.pos();
      bool indexed = false;
      bool named = false;
      // Optional words after the type: "indexed" (events) and one parameter name.
      while (pos < text.size() && is_space(text[pos])) {
        skip_space();
        if (pos >= text.size() || text[pos] == ',' || text[pos] == ')') {
          break;
        }
        const std::size_t word_start = pos;
        if (!is_ident_start(text[pos])) {
          return fail(AbiTypeError::kBadModifier, pos);
        }
        while (pos < text.size() && is_ident(text[pos])) {
          ++pos;
        }
        const std::string_view word = text.substr(word_start, pos - word_start);
        if (word == "indexed" && !indexed && !named) {
          indexed = true;
        } else if (!named) {
          named = true;
        } else {
          return fail(AbiTypeError::kBadModifier, word_start);
        }
      }
      sig.inputs.push_back(std::move(*type));
      sig.indexed.push_back(indexed);
      if (pos >= text.size()) {
        return fail(AbiTypeError::kUnbalancedParenthesis, open);
      }
      if (text[pos] == ')') {
        ++pos;
        break;
      }
      if (text[pos] != ',') {
        return fail(is_ident(text[pos]) ? AbiTypeError::kBadModifier : AbiTypeError::kMissingComma,
                    pos);
      }
      ++pos;
    }
  }
  skip_space();
  if (pos != text.size()) {
    return fail(AbiTypeError::kTrailingCharacters, pos);
  }
  return sig;
}

}  // namespace varkeeper::chain
