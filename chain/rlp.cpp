#include "chain/rlp.hpp"

#include <limits>
#include <vector>

namespace varkeeper::chain {

std::string_view to_string(RlpError e) noexcept {
  switch (e) {
    case RlpError::kInputTooShort: return "input ends inside an RLP header";
    case RlpError::kLeadingZero: return "RLP length has a leading zero byte";
    case RlpError::kNonCanonicalSize: return "RLP size is not in its shortest form";
    case RlpError::kOverlongLength: return "RLP length runs past the end of the input";
    case RlpError::kLengthOverflow: return "RLP length overflows size_t";
    case RlpError::kTrailingBytes: return "bytes follow the RLP item";
    case RlpError::kUnexpectedList: return "RLP list where a string was expected";
    case RlpError::kUnexpectedString: return "RLP string where a list was expected";
    case RlpError::kLeadingZeroInScalar: return "RLP integer has a leading zero byte";
    case RlpError::kScalarOverflow: return "RLP integer too wide for its type";
    case RlpError::kUnexpectedLength: return "RLP string has the wrong fixed length";
    case RlpError::kListEnded: return "RLP list has fewer elements than expected";
  }
  return "unknown RLP error";
}

// ---------------------------------------------------------------------------------------------
// Encoding (Yellow Paper, appendix B, eqs. 180-186)

namespace {

constexpr std::uint8_t kShortString = 0x80;  // 0x80 + len, len < 56
constexpr std::uint8_t kLongString = 0xb7;   // 0xb7 + len(len), then len
constexpr std::uint8_t kShortList = 0xc0;    // 0xc0 + len, len < 56
constexpr std::uint8_t kLongList = 0xf7;     // 0xf7 + len(len), then len
constexpr std::size_t kShortLimit = 56;

std::size_t be_size(std::uint64_t v) noexcept {
  std::size_t n = 0;
  for (; v != 0; v >>= 8) {
    ++n;
  }
  return n;
}

void put_be(std::uint8_t* dst, std::uint64_t v, std::size_t n) noexcept {
  for (std::size_t i = n; i > 0; --i, v >>= 8) {
    dst[i - 1] = static_cast<std::uint8_t>(v & 0xff);
  }
}

void append_header(Bytes& out, std::uint8_t short_base, std::uint8_t long_base, std::size_t len) {
  if (len < kShortLimit) {
    out.push_back(static_cast<std::uint8_t>(short_base + len));
    return;
  }
  const std::size_t n = be_size(len);
  const std::size_t at = out.size();
  out.resize(at + 1 + n);
  out[at] = static_cast<std::uint8_t>(long_base + n);
  put_be(out.data() + at + 1, len, n);
}

}  // namespace

std::size_t rlp_header_size(std::size_t payload_size) noexcept {
  return payload_size < kShortLimit ? 1 : 1 + be_size(payload_size);
}

void RlpEncoder::add_bytes(ByteView bytes) {
  // A single byte below 0x80 is its own encoding.
  if (bytes.size() == 1 && bytes[0] < kShortString) {
    out_.push_back(bytes[0]);
    return;
  }
  append_header(out_, kShortString, kLongString, bytes.size());
  append(out_, bytes);
}

void RlpEncoder::add_uint(std::uint64_t value) {
  std::uint8_t buf[8];
  const std::size_t n = be_size(value);
  put_be(buf, value, n);
  add_bytes(ByteView(buf, n));
}

void RlpEncoder::add_u256(const U256& value) {
  if (value <= std::numeric_limits<std::uint64_t>::max()) {
    add_uint(static_cast<std::uint64_t>(value));
    return;
  }
  const Hash32 word = u256_to_be32(value);
  std::size_t first = 0;
  while (word[first] == 0) {
    ++first;  // value > 2^64, so a non-zero byte exists
  }
  add_bytes(ByteView(word).subspan(first));
}

RlpEncoder::ListMark RlpEncoder::begin_list() {
  const ListMark mark{out_.size()};
  out_.push_back(0);  // patched by end_list
  return mark;
}

void RlpEncoder::end_list(ListMark mark) {
  const std::size_t len = out_.size() - mark.offset - 1;
  if (len < kShortLimit) {
    out_[mark.offset] = static_cast<std::uint8_t>(kShortList + len);
    return;
  }
  const std::size_t n = be_size(len);
  out_[mark.offset] = static_cast<std::uint8_t>(kLongList + n);
  const auto pos = out_.begin() + static_cast<std::ptrdiff_t>(mark.offset + 1);
  out_.insert(pos, n, 0);
  put_be(out_.data() + mark.offset + 1, len, n);
}

Bytes rlp_encode_bytes(ByteView bytes) {
  Bytes out;
  out.reserve(bytes.size() + 9);
  RlpEncoder(out).add_bytes(bytes);
  return out;
}

Bytes rlp_encode_u256(const U256& value) {
  Bytes out;
  out.reserve(33);
  RlpEncoder(out).add_u256(value);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding

namespace {

struct Header {
  bool is_list = false;
  std::size_t header_size = 0;
  std::size_t payload_size = 0;
};

// Parses the header at the front of `in` and checks that the payload fits inside `in`.
Expected<Header, RlpError> read_header(ByteView in) noexcept {
  if (in.empty()) {
    return unexpected(RlpError::kInputTooShort);
  }
  const std::uint8_t b = in[0];
  if (b < kShortString) {
    return Header{false, 0, 1};  // a single byte is its own payload
  }

  const bool is_list = b >= kShortList;
  const std::uint8_t short_base = is_list ? kShortList : kShortString;
  const std::uint8_t long_base = is_list ? kLongList : kLongString;
  const std::size_t avail = in.size() - 1;

  if (b <= long_base) {  // short form: length in the tag
    const std::size_t len = b - short_base;
    if (len > avail) {
      return unexpected(RlpError::kOverlongLength);
    }
    // A single byte below 0x80 must be encoded as itself, not as 0x81XX.
    if (!is_list && len == 1 && in[1] < kShortString) {
      return unexpected(RlpError::kNonCanonicalSize);
    }
    return Header{is_list, 1, len};
  }

  // Long form: the tag gives the length of the big-endian length (1..8 bytes).
  const std::size_t len_of_len = b - long_base;
  if (len_of_len > avail) {
    return unexpected(RlpError::kInputTooShort);
  }
  if (in[1] == 0) {
    return unexpected(RlpError::kLeadingZero);
  }
  std::uint64_t len = 0;
  for (std::size_t i = 1; i <= len_of_len; ++i) {
    len = (len << 8) | in[i];
  }
  const std::size_t header_size = 1 + len_of_len;
  if (len > std::numeric_limits<std::size_t>::max() - header_size) {
    return unexpected(RlpError::kLengthOverflow);
  }
  if (len < kShortLimit) {
    return unexpected(RlpError::kNonCanonicalSize);
  }
  if (len > avail - len_of_len) {
    return unexpected(RlpError::kOverlongLength);
  }
  return Header{is_list, header_size, static_cast<std::size_t>(len)};
}

}  // namespace

// NOLINTBEGIN(bugprone-exception-escape): the only throw clang-tidy finds in these is
// std::get in Expected's accessors (bad_variant_access), reached only after has_value().
Expected<RlpItem, RlpError> rlp_read_item(ByteView& input) noexcept {
  auto h = read_header(input);
  if (!h) {
    return unexpected(h.error());
  }
  const std::size_t total = h->header_size + h->payload_size;
  RlpItem item{h->is_list, input.subspan(h->header_size, h->payload_size), input.first(total)};
  input = input.subspan(total);
  return item;
}

Expected<RlpItem, RlpError> rlp_decode_item(ByteView input) noexcept {
  auto item = rlp_read_item(input);
  if (!item) {
    return item;
  }
  if (!input.empty()) {
    return unexpected(RlpError::kTrailingBytes);
  }
  return item;
}
// NOLINTEND(bugprone-exception-escape)

Expected<void, RlpError> rlp_validate(ByteView input) {
  auto top = rlp_decode_item(input);
  if (!top) {
    return unexpected(top.error());
  }
  if (!top->is_list) {
    return {};
  }
  // Walk the tree in encoding order, keeping the end offsets of the open lists.
  std::vector<std::size_t> ends{input.size()};
  std::size_t pos = top->encoded.size() - top->payload.size();
  while (!ends.empty()) {
    if (pos == ends.back()) {
      ends.pop_back();
      continue;
    }
    auto h = read_header(input.subspan(pos, ends.back() - pos));
    if (!h) {
      return unexpected(h.error());
    }
    pos += h->header_size;
    if (h->is_list) {
      ends.push_back(pos + h->payload_size);
    } else {
      pos += h->payload_size;
    }
  }
  return {};
}

Expected<ByteView, RlpError> rlp_bytes(const RlpItem& item) noexcept {
  if (item.is_list) {
    return unexpected(RlpError::kUnexpectedList);
  }
  return item.payload;
}

Expected<U256, RlpError> rlp_u256(const RlpItem& item) noexcept {
  if (item.is_list) {
    return unexpected(RlpError::kUnexpectedList);
  }
  const ByteView p = item.payload;
  if (!p.empty() && p[0] == 0) {
    return unexpected(RlpError::kLeadingZeroInScalar);
  }
  if (p.size() > 32) {
    return unexpected(RlpError::kScalarOverflow);
  }
  U256 out = 0;
  for (const std::uint8_t b : p) {
    out = (out << 8) | b;
  }
  return out;
}

Expected<std::uint64_t, RlpError> rlp_u64(const RlpItem& item) noexcept {
  if (item.is_list) {
    return unexpected(RlpError::kUnexpectedList);
  }
  const ByteView p = item.payload;
  if (!p.empty() && p[0] == 0) {
    return unexpected(RlpError::kLeadingZeroInScalar);
  }
  if (p.size() > 8) {
    return unexpected(RlpError::kScalarOverflow);
  }
  std::uint64_t out = 0;
  for (const std::uint8_t b : p) {
    out = (out << 8) | b;
  }
  return out;
}

Expected<RlpListReader, RlpError> RlpListReader::open(const RlpItem& item) noexcept {
  if (!item.is_list) {
    return unexpected(RlpError::kUnexpectedString);
  }
  return RlpListReader(item.payload);
}

// NOLINTBEGIN(bugprone-exception-escape): the only throw clang-tidy finds in these is
// std::get in Expected's accessors (bad_variant_access), reached only after has_value().
Expected<RlpListReader, RlpError> RlpListReader::decode(ByteView input) noexcept {
  auto item = rlp_decode_item(input);
  if (!item) {
    return unexpected(item.error());
  }
  return open(*item);
}

Expected<std::size_t, RlpError> RlpListReader::count() const noexcept {
  ByteView rest = rest_;
  std::size_t n = 0;
  while (!rest.empty()) {
    auto item = rlp_read_item(rest);
    if (!item) {
      return unexpected(item.error());
    }
    ++n;
  }
  return n;
}

Expected<RlpItem, RlpError> RlpListReader::next() noexcept {
  if (rest_.empty()) {
    return unexpected(RlpError::kListEnded);
  }
  return rlp_read_item(rest_);
}

Expected<ByteView, RlpError> RlpListReader::next_bytes() noexcept {
  auto item = next();
  if (!item) {
    return unexpected(item.error());
  }
  return rlp_bytes(*item);
}

Expected<U256, RlpError> RlpListReader::next_u256() noexcept {
  auto item = next();
  if (!item) {
    return unexpected(item.error());
  }
  return rlp_u256(*item);
}

Expected<std::uint64_t, RlpError> RlpListReader::next_u64() noexcept {
  auto item = next();
  if (!item) {
    return unexpected(item.error());
  }
  return rlp_u64(*item);
}

Expected<RlpListReader, RlpError> RlpListReader::next_list() noexcept {
  auto item = next();
  if (!item) {
    return unexpected(item.error());
  }
  return open(*item);
}
// NOLINTEND(bugprone-exception-escape)

}  // namespace varkeeper::chain
