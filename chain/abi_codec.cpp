#include "chain/abi_codec.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <utility>

#include "chain/uint256.hpp"

namespace varkeeper::chain {

std::string_view to_string(AbiEncodeError e) noexcept {
  switch (e) {
    case AbiEncodeError::kWrongArgumentCount: return "wrong number of arguments";
    case AbiEncodeError::kWrongValueKind: return "value does not match its ABI type";
    case AbiEncodeError::kUintOutOfRange: return "value too large for its uint type";
    case AbiEncodeError::kIntOutOfRange: return "value out of range for its int type";
    case AbiEncodeError::kFixedBytesWrongLength: return "wrong number of bytes for bytes<M>";
    case AbiEncodeError::kWrongElementCount: return "wrong number of elements";
  }
  return "unknown ABI encode error";
}

std::string_view to_string(AbiDecodeError e) noexcept {
  switch (e) {
    case AbiDecodeError::kTruncated: return "input is truncated";
    case AbiDecodeError::kOffsetOutOfBounds: return "offset points outside the input";
    case AbiDecodeError::kOffsetIntoHead: return "offset points into the head";
    case AbiDecodeError::kOverlappingData: return "offset overlaps earlier data";
    case AbiDecodeError::kNonCanonicalOffset: return "offset leaves a gap (not strict encoding)";
    case AbiDecodeError::kLengthOutOfBounds: return "length exceeds the remaining input";
    case AbiDecodeError::kNonZeroPadding: return "padding bytes are not zero";
    case AbiDecodeError::kDirtyHighBits: return "uint has bits set above its width";
    case AbiDecodeError::kBadSignExtension: return "int is not sign-extended";
    case AbiDecodeError::kBadBool: return "bool is neither 0 nor 1";
    case AbiDecodeError::kDirtyAddress: return "address has non-zero upper bytes";
    case AbiDecodeError::kTrailingBytes: return "trailing bytes after the encoding";
    case AbiDecodeError::kMissingSelector: return "data is shorter than a 4-byte selector";
    case AbiDecodeError::kSelectorMismatch: return "selector does not match the signature";
    case AbiDecodeError::kTopicCountMismatch: return "wrong number of log topics";
    case AbiDecodeError::kTopicMismatch: return "topic0 does not match the event signature";
  }
  return "unknown ABI decode error";
}

namespace {

constexpr std::size_t kWord = 32;

std::size_t padded_size(std::size_t n) noexcept { return (n + kWord - 1) / kWord * kWord; }

void append_word(Bytes& out, const U256& v) {
  const Hash32 word = u256_to_be32(v);
  out.insert(out.end(), word.begin(), word.end());
}

// ---------------------------------------------------------------------------------------------
// Encoding

class Encoder {
 public:
  using Result = Expected<void, AbiEncodeFailure>;

  // enc((X(1),...,X(k))) = head(X(1)) ... head(X(k)) tail(X(1)) ... tail(X(k)); a dynamic
  // element's head is the offset of its tail from the start of this encoding.
  Result encode_sequence(std::size_t count, const std::function<const AbiType&(std::size_t)>& type,
                         const AbiValue::List& values, Bytes& out, std::string& path) {
    std::size_t heads_size = 0;
    for (std::size_t i = 0; i < count; ++i) {
      heads_size += head_size(type(i));
    }
    Bytes heads;
    Bytes tails;
    heads.reserve(heads_size);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t mark = path.size();
      path += '[' + std::to_string(i) + ']';
      const AbiType& t = type(i);
      if (is_dynamic(t)) {
        append_word(heads, U256(heads_size + tails.size()));
        if (auto r = encode_value(t, values[i], tails, path); !r) {
          return r;
        }
      } else {
        if (auto r = encode_value(t, values[i], heads, path); !r) {
          return r;
        }
      }
      path.resize(mark);
    }
    append(out, heads);
    append(out, tails);
    return {};
  }

  Result encode_value(const AbiType& type, const AbiValue& value, Bytes& out, std::string& path) {
    switch (type.kind) {
      case AbiKind::kUint: {
        const U256* v = value.as_uint();
        if (v == nullptr) {
          return fail(AbiEncodeError::kWrongValueKind, path);
        }
        if (type.size < 256 && (*v >> type.size) != 0) {
          return fail(AbiEncodeError::kUintOutOfRange, path);
        }
        append_word(out, *v);
        return {};
      }
      case AbiKind::kInt: {
        const AbiInt* v = value.as_int();
        if (v == nullptr) {
          return fail(AbiEncodeError::kWrongValueKind, path);
        }
        const U256 limit = U256(1) << (type.size - 1);
        const bool negative = v->negative && v->magnitude != 0;
        if (negative ? v->magnitude > limit : v->magnitude >= limit) {
          return fail(AbiEncodeError::kIntOutOfRange, path);
        }
        // Two's complement over 256 bits is the sign extension the spec asks for.
        append_word(out, negative ? U256(0) - v->magnitude : v->magnitude);
        return {};
      }
      case AbiKind::kAddress: {
        const Address* v = value.as_address();
        if (v == nullptr) {
          return fail(AbiEncodeError::kWrongValueKind, path);
        }
        out.insert(out.end(), 12, 0);
        out.insert(out.end(), v->begin(), v->end());
        return {};
      }
      case AbiKind::kBool: {
        const bool* v = value.as_bool();
        if (v == nullptr) {
          return fail(AbiEncodeError::kWrongValueKind, path);
        }
        out.insert(out.end(), 31, 0);
        out.push_back(*v ? 1 : 0);
        return {};
      }
      case AbiKind::kFixedBytes: {
        const Bytes* v = value.as_bytes();
        if (v == nullptr) {
          return fail(AbiEncodeError::kWrongValueKind, path);
        }
        if (v->size() != type.size) {
          return fail(AbiEncodeError::kFixedBytesWrongLength, path);
        }
        append(out, *v);
        out.insert(out.end(), kWord - v->size(), 0);
        return {};
      }
      case AbiKind::kBytes:
      case AbiKind::kString: {
        ByteView content;
        if (type.kind == AbiKind::kBytes) {
          const Bytes* v = value.as_bytes();
          if (v == nullptr) {
            return fail(AbiEncodeError::kWrongValueKind, path);
          }
          content = *v;
        } else {
          const std::string* v = value.as_string();
          if (v == nullptr) {
            return fail(AbiEncodeError::kWrongValueKind, path);
          }
          content = chain::as_bytes(*v);
        }
        append_word(out, U256(content.size()));
        append(out, content);
        out.insert(out.end(), padded_size(content.size()) - content.size(), 0);
        return {};
      }
      case AbiKind::kArray:
      case AbiKind::kFixedArray:
      case AbiKind::kTuple: {
        const AbiValue::List* list = value.as_list();
        if (list == nullptr) {
          return fail(AbiEncodeError::kWrongValueKind, path);
        }
        if (type.kind == AbiKind::kArray) {
          append_word(out, U256(list->size()));
          return encode_sequence(
              list->size(), [&](std::size_t) -> const AbiType& { return type.components[0]; },
              *list, out, path);
        }
        const std::size_t want = type.kind == AbiKind::kTuple ? type.components.size() : type.size;
        if (list->size() != want) {
          return fail(AbiEncodeError::kWrongElementCount, path);
        }
        if (type.kind == AbiKind::kFixedArray) {
          return encode_sequence(
              want, [&](std::size_t) -> const AbiType& { return type.components[0]; }, *list, out,
              path);
        }
        return encode_sequence(
            want, [&](std::size_t i) -> const AbiType& { return type.components[i]; }, *list, out,
            path);
      }
    }
    return fail(AbiEncodeError::kWrongValueKind, path);
  }

 private:
  static Unexpected<AbiEncodeFailure> fail(AbiEncodeError code, const std::string& path) {
    return unexpected(AbiEncodeFailure{code, path});
  }
};

// ---------------------------------------------------------------------------------------------
// Decoding

class Decoder {
 public:
  explicit Decoder(ByteView data) : data_(data) {}

  template <class T>
  using Result = Expected<T, AbiDecodeFailure>;

  // Decodes `count` values laid out as a tuple starting at `base`; returns the end of the
  // sequence's encoding (head plus all tails).
  Result<std::size_t> decode_sequence(std::size_t base, std::size_t count,
                                      const std::function<const AbiType&(std::size_t)>& type,
                                      AbiValue::List& out) {
    // The caller guarantees count * head size fits in what remains, or checks it here.
    std::size_t heads_size = 0;
    for (std::size_t i = 0; i < count; ++i) {
      heads_size += head_size(type(i));
      if (heads_size > data_.size() - base) {
        return fail(AbiDecodeError::kTruncated, base);
      }
    }
    out.reserve(count);
    std::size_t head = base;
    std::size_t tail_end = base + heads_size;  // where the next dynamic tail must start
    for (std::size_t i = 0; i < count; ++i) {
      const AbiType& t = type(i);
      if (!is_dynamic(t)) {
        auto value = decode_value(t, head);
        if (!value) {
          return unexpected(value.error());
        }
        out.push_back(std::move(value->first));
        head += head_size(t);
        continue;
      }
      // Offsets are measured from the start of this tuple's encoding (`base`).
      auto offset = read_size(head, AbiDecodeError::kOffsetOutOfBounds);
      if (!offset) {
        return unexpected(offset.error());
      }
      if (*offset >= data_.size() - base) {
        return fail(AbiDecodeError::kOffsetOutOfBounds, head);
      }
      const std::size_t target = base + *offset;
      if (*offset < heads_size) {
        return fail(AbiDecodeError::kOffsetIntoHead, head);
      }
      if (target < tail_end) {
        return fail(AbiDecodeError::kOverlappingData, head);
      }
      if (target > tail_end) {
        return fail(AbiDecodeError::kNonCanonicalOffset, head);
      }
      auto value = decode_value(t, target);
      if (!value) {
        return unexpected(value.error());
      }
      out.push_back(std::move(value->first));
      tail_end = value->second;
      head += kWord;
    }
    return tail_end;
  }

  // Decodes one value whose encoding starts at `pos`; returns it with the end of its encoding.
  // Longer than 80 lines on purpose: one case per ABI kind, side by side as in the Solidity ABI
  // specification's encoding table, each bounds-checked against the input.
  Result<std::pair<AbiValue, std::size_t>> decode_value(const AbiType& type, std::size_t pos) {
    switch (type.kind) {
      case AbiKind::kUint:
      case AbiKind::kInt:
      case AbiKind::kAddress:
      case AbiKind::kBool:
      case AbiKind::kFixedBytes: {
        if (data_.size() - pos < kWord) {
          return fail(AbiDecodeError::kTruncated, pos);
        }
        auto value = decode_word(type, data_.subspan(pos, kWord), pos);
        if (!value) {
          return unexpected(value.error());
        }
        return std::pair{std::move(*value), pos + kWord};
      }
      case AbiKind::kBytes:
      case AbiKind::kString: {
        auto length = read_size(pos, AbiDecodeError::kLengthOutOfBounds);
        if (!length) {
          return unexpected(length.error());
        }
        const std::size_t start = pos + kWord;
        if (*length > data_.size() - start) {
          return fail(AbiDecodeError::kLengthOutOfBounds, pos);
        }
        const std::size_t padded = padded_size(*length);
        if (padded > data_.size() - start) {
          return fail(AbiDecodeError::kTruncated, start);
        }
        for (std::size_t i = start + *length; i < start + padded; ++i) {
          if (data_[i] != 0) {
            return fail(AbiDecodeError::kNonZeroPadding, i);
          }
        }
        const auto content = data_.subspan(start, *length);
        AbiValue value = type.kind == AbiKind::kBytes
                             ? AbiValue::from_bytes(Bytes(content.begin(), content.end()))
                             : AbiValue::from_string(std::string(content.begin(), content.end()));
        return std::pair{std::move(value), start + padded};
      }
      case AbiKind::kArray: {
        auto length = read_size(pos, AbiDecodeError::kLengthOutOfBounds);
        if (!length) {
          return unexpected(length.error());
        }
        const std::size_t start = pos + kWord;
        const AbiType& element = type.components.front();
        // Every element takes at least its head slot: reject a count the input cannot hold
        // before reserving anything.
        if (*length > (data_.size() - start) / head_size(element)) {
          return fail(AbiDecodeError::kLengthOutOfBounds, pos);
        }
        AbiValue::List items;
        auto end = decode_sequence(
            start, *length, [&](std::size_t) -> const AbiType& { return element; }, items);
        if (!end) {
          return unexpected(end.error());
        }
        return std::pair{AbiValue::from_list(std::move(items)), *end};
      }
      case AbiKind::kFixedArray: {
        AbiValue::List items;
        const AbiType& element = type.components.front();
        auto end = decode_sequence(
            pos, type.size, [&](std::size_t) -> const AbiType& { return element; }, items);
        if (!end) {
          return unexpected(end.error());
        }
        return std::pair{AbiValue::from_list(std::move(items)), *end};
      }
      case AbiKind::kTuple: {
        AbiValue::List items;
        auto end = decode_sequence(
            pos, type.components.size(),
            [&](std::size_t i) -> const AbiType& { return type.components[i]; }, items);
        if (!end) {
          return unexpected(end.error());
        }
        return std::pair{AbiValue::from_list(std::move(items)), *end};
      }
    }
    return fail(AbiDecodeError::kTruncated, pos);
  }

  // A static elementary value from one 32-byte word; `at` is its offset for error reports.
  static Result<AbiValue> decode_word(const AbiType& type, ByteView word, std::size_t at) {
    auto zero_prefix = [&](std::size_t n) {
      return std::all_of(word.begin(), word.begin() + static_cast<std::ptrdiff_t>(n),
                         [](std::uint8_t b) { return b == 0; });
    };
    switch (type.kind) {
      case AbiKind::kUint: {
        if (!zero_prefix(kWord - type.size / 8)) {
          return fail(AbiDecodeError::kDirtyHighBits, at);
        }
        return AbiValue::from_uint(*u256_from_be(word));
      }
      case AbiKind::kInt: {
        // The value's top byte decides the sign; every byte above it must repeat the sign.
        const std::size_t first = kWord - type.size / 8;
        const std::uint8_t fill = (word[first] & 0x80) != 0 ? 0xff : 0x00;
        for (std::size_t i = 0; i < first; ++i) {
          if (word[i] != fill) {
            return fail(AbiDecodeError::kBadSignExtension, at);
          }
        }
        const U256 raw = *u256_from_be(word);
        if (word[0] & 0x80) {
          return AbiValue::from_int(AbiInt{true, U256(0) - raw});
        }
        return AbiValue::from_int(AbiInt{false, raw});
      }
      case AbiKind::kAddress: {
        if (!zero_prefix(12)) {
          return fail(AbiDecodeError::kDirtyAddress, at);
        }
        Address address{};
        std::copy(word.begin() + 12, word.end(), address.begin());
        return AbiValue::from_address(address);
      }
      case AbiKind::kBool: {
        if (!zero_prefix(31) || word[31] > 1) {
          return fail(AbiDecodeError::kBadBool, at);
        }
        return AbiValue::from_bool(word[31] == 1);
      }
      case AbiKind::kFixedBytes: {
        for (std::size_t i = type.size; i < kWord; ++i) {
          if (word[i] != 0) {
            return fail(AbiDecodeError::kNonZeroPadding, at + i);
          }
        }
        return AbiValue::from_bytes(Bytes(word.begin(), word.begin() + type.size));
      }
      default: break;
    }
    return fail(AbiDecodeError::kTruncated, at);
  }

 private:
  // A length or offset word; anything that does not fit the input is reported as `too_big`.
  Result<std::size_t> read_size(std::size_t pos, AbiDecodeError too_big) const {
    if (data_.size() - pos < kWord) {
      return fail(AbiDecodeError::kTruncated, pos);
    }
    for (std::size_t i = 0; i < kWord - 8; ++i) {
      if (data_[pos + i] != 0) {
        return fail(too_big, pos);
      }
    }
    std::uint64_t v = 0;
    for (std::size_t i = kWord - 8; i < kWord; ++i) {
      v = (v << 8) | data_[pos + i];
    }
    if (v > data_.size()) {
      return fail(too_big, pos);
    }
    return static_cast<std::size_t>(v);
  }

  static Unexpected<AbiDecodeFailure> fail(AbiDecodeError code, std::size_t at) {
    return unexpected(AbiDecodeFailure{code, at});
  }

  ByteView data_;
};

}  // namespace

Expected<Bytes, AbiEncodeFailure> abi_encode(const std::vector<AbiType>& types,
                                             const std::vector<AbiValue>& values) {
  if (types.size() != values.size()) {
    return unexpected(AbiEncodeFailure{AbiEncodeError::kWrongArgumentCount, {}});
  }
  Bytes out;
  std::string path;
  Encoder encoder;
  auto r = encoder.encode_sequence(
      types.size(), [&](std::size_t i) -> const AbiType& { return types[i]; }, values, out, path);
  if (!r) {
    return unexpected(r.error());
  }
  return out;
}

Expected<std::vector<AbiValue>, AbiDecodeFailure> abi_decode(const std::vector<AbiType>& types,
                                                             ByteView data,
                                                             AbiDecodeOptions options) {
  Decoder decoder(data);
  AbiValue::List values;
  auto end = decoder.decode_sequence(
      0, types.size(), [&](std::size_t i) -> const AbiType& { return types[i]; }, values);
  if (!end) {
    return unexpected(end.error());
  }
  if (*end != data.size() && !options.allow_trailing_bytes) {
    return unexpected(AbiDecodeFailure{AbiDecodeError::kTrailingBytes, *end});
  }
  return values;
}

Expected<AbiValue, AbiDecodeFailure> abi_decode_word(const AbiType& type, ByteView word) {
  if (word.size() != kWord || is_dynamic(type) || type.kind == AbiKind::kTuple ||
      type.kind == AbiKind::kFixedArray) {
    return unexpected(AbiDecodeFailure{
        word.size() < kWord ? AbiDecodeError::kTruncated : AbiDecodeError::kTrailingBytes, 0});
  }
  return Decoder::decode_word(type, word, 0);
}

}  // namespace varkeeper::chain
