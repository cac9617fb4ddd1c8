#include "chain/abi.hpp"

#include <algorithm>
#include <utility>

#include "chain/hex.hpp"
#include "chain/keccak.hpp"

namespace varkeeper::chain {

namespace {

Selector first_four(const Hash32& h) { return {h[0], h[1], h[2], h[3]}; }

bool is_value_type(const AbiType& type) noexcept {
  switch (type.kind) {
    case AbiKind::kUint:
    case AbiKind::kInt:
    case AbiKind::kAddress:
    case AbiKind::kBool:
    case AbiKind::kFixedBytes: return true;
    default: return false;
  }
}

AbiDecodeFailure shifted(AbiDecodeFailure f, std::size_t by) {
  f.offset += by;
  return f;
}

// "Encoding of Indexed Event Parameters": value types as their 32-byte word; bytes and string
// as their raw contents (padded to 32 bytes when inside an array or struct); arrays and structs
// as the concatenation of their elements' encodings, without any length prefix.
Expected<void, AbiEncodeFailure> in_place(const AbiType& type, const AbiValue& value, bool nested,
                                          Bytes& out) {
  if (is_value_type(type)) {
    auto word = abi_encode({type}, {value});
    if (!word) {
      return unexpected(word.error());
    }
    append(out, *word);
    return {};
  }
  if (type.kind == AbiKind::kBytes || type.kind == AbiKind::kString) {
    ByteView content;
    if (type.kind == AbiKind::kBytes) {
      if (value.as_bytes() == nullptr) {
        return unexpected(AbiEncodeFailure{AbiEncodeError::kWrongValueKind, {}});
      }
      content = *value.as_bytes();
    } else {
      if (value.as_string() == nullptr) {
        return unexpected(AbiEncodeFailure{AbiEncodeError::kWrongValueKind, {}});
      }
      content = as_bytes(*value.as_string());
    }
    append(out, content);
    if (nested) {
      out.insert(out.end(), (32 - content.size() % 32) % 32, 0);
    }
    return {};
  }
  const AbiValue::List* list = value.as_list();
  if (list == nullptr) {
    return unexpected(AbiEncodeFailure{AbiEncodeError::kWrongValueKind, {}});
  }
  if ((type.kind == AbiKind::kTuple && list->size() != type.components.size()) ||
      (type.kind == AbiKind::kFixedArray && list->size() != type.size)) {
    return unexpected(AbiEncodeFailure{AbiEncodeError::kWrongElementCount, {}});
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    const AbiType& t = type.kind == AbiKind::kTuple ? type.components[i] : type.components[0];
    if (auto r = in_place(t, (*list)[i], true, out); !r) {
      return r;
    }
  }
  return {};
}

}  // namespace

Selector selector_of(const AbiSignature& signature) {
  return first_four(keccak256(signature.canonical()));
}

Expected<Selector, AbiTypeParseError> function_selector(std::string_view signature) {
  auto parsed = parse_abi_signature(signature);
  if (!parsed) {
    return unexpected(parsed.error());
  }
  return selector_of(*parsed);
}

Expected<Bytes, AbiEncodeFailure> encode_call(const AbiSignature& function,
                                              const std::vector<AbiValue>& args) {
  auto body = abi_encode(function.inputs, args);
  if (!body) {
    return body;
  }
  const Selector selector = selector_of(function);
  Bytes out(selector.begin(), selector.end());
  append(out, *body);
  return out;
}

Expected<std::vector<AbiValue>, AbiDecodeFailure> decode_call(const AbiSignature& function,
                                                              ByteView calldata) {
  if (calldata.size() < 4) {
    return unexpected(AbiDecodeFailure{AbiDecodeError::kMissingSelector, 0});
  }
  if (!std::equal(calldata.begin(), calldata.begin() + 4, selector_of(function).begin())) {
    return unexpected(AbiDecodeFailure{AbiDecodeError::kSelectorMismatch, 0});
  }
  auto args = abi_decode(function.inputs, calldata.subspan(4));
  if (!args) {
    return unexpected(shifted(args.error(), 4));
  }
  return args;
}

Hash32 event_topic0(const AbiSignature& event) { return keccak256(event.canonical()); }

Expected<Hash32, AbiEncodeFailure> indexed_topic(const AbiType& type, const AbiValue& value) {
  Bytes encoded;
  if (auto r = in_place(type, value, false, encoded); !r) {
    return unexpected(r.error());
  }
  if (is_value_type(type)) {
    Hash32 word{};
    std::copy(encoded.begin(), encoded.end(), word.begin());
    return word;
  }
  return keccak256(ByteView(encoded));
}

Expected<AbiLog, AbiEncodeFailure> encode_event(const AbiSignature& event,
                                                const std::vector<AbiValue>& args, bool anonymous) {
  if (args.size() != event.inputs.size()) {
    return unexpected(AbiEncodeFailure{AbiEncodeError::kWrongArgumentCount, {}});
  }
  AbiLog log;
  if (!anonymous) {
    log.topics.push_back(event_topic0(event));
  }
  std::vector<AbiType> data_types;
  std::vector<AbiValue> data_values;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const bool indexed = i < event.indexed.size() && event.indexed[i];
    if (!indexed) {
      data_types.push_back(event.inputs[i]);
      data_values.push_back(args[i]);
      continue;
    }
    auto topic = indexed_topic(event.inputs[i], args[i]);
    if (!topic) {
      auto failure = topic.error();
      failure.path = "[" + std::to_string(i) + "]" + failure.path;
      return unexpected(std::move(failure));
    }
    log.topics.push_back(*topic);
  }
  auto data = abi_encode(data_types, data_values);
  if (!data) {
    return unexpected(data.error());
  }
  log.data = std::move(*data);
  return log;
}

Expected<std::vector<AbiValue>, AbiDecodeFailure> decode_event(const AbiSignature& event,
                                                               std::span<const Hash32> topics,
                                                               ByteView data, bool anonymous) {
  std::size_t want = anonymous ? 0 : 1;
  std::vector<AbiType> data_types;
  for (std::size_t i = 0; i < event.inputs.size(); ++i) {
    if (i < event.indexed.size() && event.indexed[i]) {
      ++want;
    } else {
      data_types.push_back(event.inputs[i]);
    }
  }
  if (topics.size() != want) {
    return unexpected(AbiDecodeFailure{AbiDecodeError::kTopicCountMismatch, 0});
  }
  if (!anonymous && topics[0] != event_topic0(event)) {
    return unexpected(AbiDecodeFailure{AbiDecodeError::kTopicMismatch, 0});
  }
  auto non_indexed = abi_decode(data_types, data);
  if (!non_indexed) {
    return unexpected(non_indexed.error());
  }
  std::vector<AbiValue> out;
  std::size_t next_topic = anonymous ? 0 : 1;
  std::size_t next_data = 0;
  for (std::size_t i = 0; i < event.inputs.size(); ++i) {
    if (!(i < event.indexed.size() && event.indexed[i])) {
      out.push_back(std::move((*non_indexed)[next_data++]));
      continue;
    }
    const Hash32& topic = topics[next_topic++];
    if (!is_value_type(event.inputs[i])) {
      out.push_back(AbiValue::from_bytes(Bytes(topic.begin(), topic.end())));
      continue;
    }
    auto value = abi_decode_word(event.inputs[i], topic);
    if (!value) {
      return unexpected(value.error());
    }
    out.push_back(std::move(*value));
  }
  return out;
}

Expected<RevertReason, AbiDecodeFailure> decode_revert(
    ByteView data, std::span<const AbiSignature> custom_errors) {
  RevertReason reason;
  if (data.empty()) {
    return reason;
  }
  if (data.size() < 4) {
    return unexpected(AbiDecodeFailure{AbiDecodeError::kMissingSelector, 0});
  }
  std::copy(data.begin(), data.begin() + 4, reason.selector.begin());
  const ByteView payload = data.subspan(4);
  if (reason.selector == kErrorSelector) {
    auto args = abi_decode({abi_string()}, payload);
    if (!args) {
      return unexpected(shifted(args.error(), 4));
    }
    reason.kind = RevertKind::kError;
    reason.message = *(*args)[0].as_string();
    return reason;
  }
  if (reason.selector == kPanicSelector) {
    auto args = abi_decode({abi_uint(256)}, payload);
    if (!args) {
      return unexpected(shifted(args.error(), 4));
    }
    reason.kind = RevertKind::kPanic;
    reason.panic_code = *(*args)[0].as_uint();
    return reason;
  }
  for (const auto& error : custom_errors) {
    if (selector_of(error) != reason.selector) {
      continue;
    }
    auto args = abi_decode(error.inputs, payload);
    if (!args) {
      return unexpected(shifted(args.error(), 4));
    }
    reason.kind = RevertKind::kCustom;
    reason.error_signature = error.canonical();
    reason.args = std::move(*args);
    return reason;
  }
  reason.kind = RevertKind::kUnknownSelector;
  return reason;
}

std::string_view panic_code_meaning(const U256& code) {
  if (code > 0xff) {
    return "unknown panic code";
  }
  switch (static_cast<unsigned>(code)) {
    case 0x00: return "generic compiler inserted panic";
    case 0x01: return "assertion failed";
    case 0x11: return "arithmetic overflow or underflow";
    case 0x12: return "division or modulo by zero";
    case 0x21: return "conversion to an enum out of range";
    case 0x22: return "incorrectly encoded storage byte array";
    case 0x31: return "pop on an empty array";
    case 0x32: return "array index out of bounds";
    case 0x41: return "out of memory (allocation too large)";
    case 0x51: return "call to a zero-initialized internal function";
    default: return "unknown panic code";
  }
}

std::string describe(const RevertReason& reason) {
  switch (reason.kind) {
    case RevertKind::kEmpty: return "reverted without data";
    case RevertKind::kError: return "Error(\"" + reason.message + "\")";
    case RevertKind::kPanic:
      return "Panic(" + u256_to_quantity(reason.panic_code) + ": " +
             std::string(panic_code_meaning(reason.panic_code)) + ")";
    case RevertKind::kCustom: {
      auto parsed = parse_abi_signature(reason.error_signature);
      std::string out = reason.error_signature.substr(0, reason.error_signature.find('('));
      if (!parsed) {
        return out + "(...)";
      }
      return out + format_abi_value(abi_tuple(parsed->inputs), AbiValue::from_list(reason.args));
    }
    case RevertKind::kUnknownSelector: return "unknown error selector " + to_hex(reason.selector);
  }
  return "unknown revert";
}

}  // namespace varkeeper::chain
