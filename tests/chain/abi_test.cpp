// Solidity ABI: the worked examples of the "Contract ABI Specification" (docs.soliditylang.org,
// abi-spec), selectors, revert data, events, type/value parsing and must-fail decodes.
#include "chain/abi.hpp"

#include <doctest/doctest.h>

#include <string>

#include "chain/hex.hpp"
#include "chain/keccak.hpp"

using namespace varkeeper::chain;

namespace {

// Hex with optional whitespace/newlines between words, as the spec prints it.
Bytes hex(std::string_view text) {
  std::string compact;
  for (char c : text) {
    if (c != ' ' && c != '\n') compact += c;
  }
  auto bytes = from_hex(compact);
  REQUIRE(bytes.has_value());
  return *bytes;
}

AbiSignature sig(std::string_view text) {
  auto parsed = parse_abi_signature(text);
  REQUIRE_MESSAGE(parsed.has_value(), text);
  return *parsed;
}

AbiType type(std::string_view text) {
  auto parsed = parse_abi_type(text);
  REQUIRE_MESSAGE(parsed.has_value(), text);
  return *parsed;
}

AbiValue u(std::uint64_t v) { return AbiValue::from_uint(U256(v)); }
AbiValue i(std::int64_t v) { return AbiValue::from_int(v); }
AbiValue s(std::string v) { return AbiValue::from_string(std::move(v)); }
AbiValue b(std::string_view text) { return AbiValue::from_bytes(Bytes(text.begin(), text.end())); }
AbiValue list(AbiValue::List v) { return AbiValue::from_list(std::move(v)); }

std::string selector_hex(std::string_view signature) {
  auto selector = function_selector(signature);
  REQUIRE(selector.has_value());
  return to_hex(*selector);
}

struct SpecExample {
  const char* signature;
  std::vector<AbiValue> args;
  const char* calldata;
};

// Every example of the specification's "Examples" and "Use of Dynamic Types" sections.
std::vector<SpecExample> spec_examples() {
  return {
      {"baz(uint32,bool)",
       {u(69), AbiValue::from_bool(true)},
       "0xcdcd77c0"
       "0000000000000000000000000000000000000000000000000000000000000045"
       "0000000000000000000000000000000000000000000000000000000000000001"},
      {"bar(bytes3[2])",
       {list({b("abc"), b("def")})},
       "0xfce353f6"
       "6162630000000000000000000000000000000000000000000000000000000000"
       "6465660000000000000000000000000000000000000000000000000000000000"},
      {"sam(bytes,bool,uint[])",
       {b("dave"), AbiValue::from_bool(true), list({u(1), u(2), u(3)})},
       "0xa5643bf2"
       "0000000000000000000000000000000000000000000000000000000000000060"
       "0000000000000000000000000000000000000000000000000000000000000001"
       "00000000000000000000000000000000000000000000000000000000000000a0"
       "0000000000000000000000000000000000000000000000000000000000000004"
       "6461766500000000000000000000000000000000000000000000000000000000"
       "0000000000000000000000000000000000000000000000000000000000000003"
       "0000000000000000000000000000000000000000000000000000000000000001"
       "0000000000000000000000000000000000000000000000000000000000000002"
       "0000000000000000000000000000000000000000000000000000000000000003"},
      {"f(uint,uint32[],bytes10,bytes)",
       {u(0x123), list({u(0x456), u(0x789)}), b("1234567890"), b("Hello, world!")},
       "0x8be65246"
       "0000000000000000000000000000000000000000000000000000000000000123"
       "0000000000000000000000000000000000000000000000000000000000000080"
       "3132333435363738393000000000000000000000000000000000000000000000"
       "00000000000000000000000000000000000000000000000000000000000000e0"
       "0000000000000000000000000000000000000000000000000000000000000002"
       "0000000000000000000000000000000000000000000000000000000000000456"
       "0000000000000000000000000000000000000000000000000000000000000789"
       "000000000000000000000000000000000000000000000000000000000000000d"
       "48656c6c6f2c20776f726c642100000000000000000000000000000000000000"},
      {"g(uint[][],string[])",
       {list({list({u(1), u(2)}), list({u(3)})}), list({s("one"), s("two"), s("three")})},
       "0x2289b18c"
       "0000000000000000000000000000000000000000000000000000000000000040"
       "0000000000000000000000000000000000000000000000000000000000000140"
       "0000000000000000000000000000000000000000000000000000000000000002"
       "0000000000000000000000000000000000000000000000000000000000000040"
       "00000000000000000000000000000000000000000000000000000000000000a0"
       "0000000000000000000000000000000000000000000000000000000000000002"
       "0000000000000000000000000000000000000000000000000000000000000001"
       "0000000000000000000000000000000000000000000000000000000000000002"
       "0000000000000000000000000000000000000000000000000000000000000001"
       "0000000000000000000000000000000000000000000000000000000000000003"
       "0000000000000000000000000000000000000000000000000000000000000003"
       "0000000000000000000000000000000000000000000000000000000000000060"
       "00000000000000000000000000000000000000000000000000000000000000a0"
       "00000000000000000000000000000000000000000000000000000000000000e0"
       "0000000000000000000000000000000000000000000000000000000000000003"
       "6f6e650000000000000000000000000000000000000000000000000000000000"
       "0000000000000000000000000000000000000000000000000000000000000003"
       "74776f0000000000000000000000000000000000000000000000000000000000"
       "0000000000000000000000000000000000000000000000000000000000000005"
       "7468726565000000000000000000000000000000000000000000000000000000"},
  };
}

}  // namespace

TEST_CASE("the specification examples encode to the published calldata byte for byte") {
  for (const auto& example : spec_examples()) {
    CAPTURE(example.signature);
    auto encoded = encode_call(sig(example.signature), example.args);
    REQUIRE(encoded.has_value());
    CHECK(to_hex(*encoded) == example.calldata);
  }
}

TEST_CASE("the specification examples decode back to their values") {
  for (const auto& example : spec_examples()) {
    CAPTURE(example.signature);
    auto decoded = decode_call(sig(example.signature), hex(example.calldata));
    REQUIRE(decoded.has_value());
    CHECK(*decoded == example.args);
  }
}

TEST_CASE("baz returning false is the single zero word of the specification") {
  auto out = abi_encode({abi_bool()}, {AbiValue::from_bool(false)});
  REQUIRE(out.has_value());
  CHECK(to_hex(*out) == "0x" + std::string(64, '0'));
}

TEST_CASE("function selectors match the published values") {
  struct Case {
    const char* signature;
    const char* selector;
  };
  const Case cases[] = {
      {"transfer(address,uint256)", "0xa9059cbb"},  // ERC-20
      {"approve(address,uint256)", "0x095ea7b3"},   // ERC-20
      {"balanceOf(address)", "0x70a08231"},         // ERC-20
      {"baz(uint32,bool)", "0xcdcd77c0"},           // ABI spec
      {"bar(bytes3[2])", "0xfce353f6"},             // ABI spec
      {"sam(bytes,bool,uint256[])", "0xa5643bf2"},  // ABI spec
      {"sam(bytes,bool,uint[])", "0xa5643bf2"},     // "uint" canonicalises to uint256
      {"f(uint256,uint32[],bytes10,bytes)", "0x8be65246"},
      {"g(uint256[][],string[])", "0x2289b18c"},
      {"Error(string)", "0x08c379a0"},                         // Solidity revert reason
      {"Panic(uint256)", "0x4e487b71"},                        // Solidity panic
      {"transfer(address to, uint256 amount)", "0xa9059cbb"},  // names are not part of it
  };
  for (const auto& c : cases) {
    CAPTURE(c.signature);
    CHECK(selector_hex(c.signature) == c.selector);
  }
  CHECK(to_hex(kErrorSelector) == "0x08c379a0");
  CHECK(to_hex(kPanicSelector) == "0x4e487b71");
}

TEST_CASE("canonical names follow the specification") {
  struct Case {
    const char* text;
    const char* canonical;
    bool dynamic;
    std::size_t head;
  };
  const Case cases[] = {
      {"uint", "uint256", false, 32},
      {"int", "int256", false, 32},
      {"uint8", "uint8", false, 32},
      {"bytes32", "bytes32", false, 32},
      {"address[2]", "address[2]", false, 64},
      {"bytes3[2][3]", "bytes3[2][3]", false, 192},
      {"string[2]", "string[2]", true, 32},
      {"(uint,address[2],(bytes,string)[])", "(uint256,address[2],(bytes,string)[])", true, 32},
      {"(uint8,(bool,int16)[2])", "(uint8,(bool,int16)[2])", false, 160},
      {"uint256[][]", "uint256[][]", true, 32},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const AbiType t = type(c.text);
    CHECK(canonical_name(t) == c.canonical);
    CHECK(is_dynamic(t) == c.dynamic);
    CHECK(head_size(t) == c.head);
  }
  // Array suffixes apply left to right: uint8[2][] is a dynamic array of uint8[2].
  const AbiType t = type("uint8[2][]");
  CHECK(t.kind == AbiKind::kArray);
  CHECK(t.components[0] == abi_fixed_array(abi_uint(8), 2));
}

TEST_CASE("malformed type strings are refused with the specific error and position") {
  struct Case {
    const char* text;
    AbiTypeError code;
    std::size_t position;
  };
  const Case cases[] = {
      {"", AbiTypeError::kEmpty, 0},
      {"uint7", AbiTypeError::kBadIntegerWidth, 0},
      {"uint264", AbiTypeError::kBadIntegerWidth, 0},
      {"int0", AbiTypeError::kBadIntegerWidth, 0},
      {"uint08", AbiTypeError::kBadIntegerWidth, 0},
      {"bytes0", AbiTypeError::kBadFixedBytesWidth, 0},
      {"bytes33", AbiTypeError::kBadFixedBytesWidth, 0},
      {"byte", AbiTypeError::kUnknownType, 0},
      {"uint256x", AbiTypeError::kUnknownType, 0},
      {"fixed128x18", AbiTypeError::kUnsupportedType, 0},
      {"function", AbiTypeError::kUnsupportedType, 0},
      {"uint256[0]", AbiTypeError::kBadArrayLength, 8},
      {"uint256[01]", AbiTypeError::kBadArrayLength, 8},
      {"uint256[x]", AbiTypeError::kBadArrayLength, 8},
      {"uint256[2", AbiTypeError::kBadArrayLength, 7},
      {"(uint256,()", AbiTypeError::kEmptyTuple, 9},
      {"(uint256,bool", AbiTypeError::kUnbalancedParenthesis, 0},
      {"uint256)", AbiTypeError::kUnbalancedParenthesis, 7},
      {"(uint256 bool)", AbiTypeError::kMissingComma, 8},
      {"(uint256,)", AbiTypeError::kEmpty, 9},
      {"uint256 ", AbiTypeError::kTrailingCharacters, 7},
      {"uint256[1000][100000]", AbiTypeError::kTooLarge, 13},
      {"Uint256", AbiTypeError::kUnknownType, 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto parsed = parse_abi_type(c.text);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().code == c.code);
    CHECK(parsed.error().position == c.position);
  }
  // Nesting deeper than kAbiMaxDepth.
  std::string deep(40, '(');
  deep += "uint8";
  deep += std::string(40, ')');
  auto parsed = parse_abi_type(deep);
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().code == AbiTypeError::kTooDeep);
  std::string deep_array = "uint8";
  for (int k = 0; k < 40; ++k) deep_array += "[]";
  CHECK(parse_abi_type(deep_array).error().code == AbiTypeError::kTooDeep);
}

TEST_CASE("signatures parse names, parameter names and the indexed modifier") {
  const AbiSignature transfer =
      sig("Transfer(address indexed from, address indexed to, uint256 value)");
  CHECK(transfer.name == "Transfer");
  CHECK(transfer.canonical() == "Transfer(address,address,uint256)");
  CHECK(transfer.indexed == std::vector<bool>{true, true, false});
  CHECK(sig("f()").inputs.empty());
  CHECK(sig("f((uint256,bytes)[],string)").canonical() == "f((uint256,bytes)[],string)");

  struct Case {
    const char* text;
    AbiTypeError code;
    std::size_t position;
  };
  const Case cases[] = {
      {"(uint256)", AbiTypeError::kBadName, 0},
      {"1f(uint256)", AbiTypeError::kBadName, 0},
      {"transfer", AbiTypeError::kMissingParenthesis, 8},
      {"transfer[address]", AbiTypeError::kMissingParenthesis, 8},
      {"transfer(address,uint256", AbiTypeError::kUnbalancedParenthesis, 8},
      {"transfer(address,uint256))", AbiTypeError::kTrailingCharacters, 25},
      {"transfer(address a b)", AbiTypeError::kBadModifier, 19},
      {"transfer(adress,uint256)", AbiTypeError::kUnknownType, 9},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto parsed = parse_abi_signature(c.text);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().code == c.code);
    CHECK(parsed.error().position == c.position);
  }
}

TEST_CASE("negative integers are sign-extended two's complement and range-checked") {
  // Spec: int<M> is padded with 0xff bytes for negative X.
  auto minus_one = abi_encode({abi_int(8)}, {i(-1)});
  REQUIRE(minus_one.has_value());
  CHECK(to_hex(*minus_one) == "0x" + std::string(64, 'f'));
  auto min8 = abi_encode({abi_int(8)}, {i(-128)});
  REQUIRE(min8.has_value());
  CHECK(to_hex(*min8) == "0x" + std::string(62, 'f') + "80");
  auto decoded = abi_decode({abi_int(8)}, *min8);
  REQUIRE(decoded.has_value());
  CHECK((*decoded)[0] == i(-128));

  // int256 minimum: -2^255 = 0x80 00..00.
  const AbiValue int256_min = AbiValue::from_int(AbiInt{true, U256(1) << 255});
  auto min256 = abi_encode({abi_int(256)}, {int256_min});
  REQUIRE(min256.has_value());
  CHECK(to_hex(*min256) == "0x80" + std::string(62, '0'));
  CHECK((*abi_decode({abi_int(256)}, *min256))[0] == int256_min);
  // -0 is 0.
  CHECK(AbiValue::from_int(AbiInt{true, 0}) == i(0));
}

TEST_CASE("encode refuses values that do not fit their type, naming where") {
  struct Case {
    const char* types;
    std::vector<AbiValue> values;
    AbiEncodeError code;
    const char* path;
  };
  const AbiValue two_pow_160 = AbiValue::from_uint(U256(1) << 160);
  const Case cases[] = {
      {"uint8", {u(256)}, AbiEncodeError::kUintOutOfRange, "[0]"},
      {"uint160", {two_pow_160}, AbiEncodeError::kUintOutOfRange, "[0]"},
      {"int8", {i(128)}, AbiEncodeError::kIntOutOfRange, "[0]"},
      {"int8", {i(-129)}, AbiEncodeError::kIntOutOfRange, "[0]"},
      {"bytes3", {b("ab")}, AbiEncodeError::kFixedBytesWrongLength, "[0]"},
      {"uint256[2]", {list({u(1), u(2), u(3)})}, AbiEncodeError::kWrongElementCount, "[0]"},
      {"(uint256,bool),uint8", {list({u(1)}), u(1)}, AbiEncodeError::kWrongElementCount, "[0]"},
      {"uint256", {s("1")}, AbiEncodeError::kWrongValueKind, "[0]"},
      {"uint256,(bool,uint8[])",
       {u(1), list({AbiValue::from_bool(true), list({u(1), u(300)})})},
       AbiEncodeError::kUintOutOfRange,
       "[1][1][1]"},
      {"uint256", {u(1), u(2)}, AbiEncodeError::kWrongArgumentCount, ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.types);
    auto types = parse_abi_type_list(c.types);
    REQUIRE(types.has_value());
    auto r = abi_encode(*types, c.values);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == c.code);
    CHECK(r.error().path == c.path);
  }
}

TEST_CASE("Error(string) revert data decodes to its reason") {
  // The revert data example of the Solidity documentation (control structures, "revert"),
  // identical to `cast calldata "Error(string)" "Not enough Ether provided."`.
  const Bytes data =
      hex("0x08c379a0"
          "0000000000000000000000000000000000000000000000000000000000000020"
          "000000000000000000000000000000000000000000000000000000000000001a"
          "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000");
  auto reason = decode_revert(data);
  REQUIRE(reason.has_value());
  CHECK(reason->kind == RevertKind::kError);
  CHECK(reason->message == "Not enough Ether provided.");
  CHECK(describe(*reason) == "Error(\"Not enough Ether provided.\")");
}

TEST_CASE("Panic(uint256) revert data decodes to its code and meaning") {
  // Produced by cast 1.7.1: `cast calldata "Panic(uint256)" 0x11` and `... 0x32`.
  struct Case {
    const char* data;
    unsigned code;
    const char* meaning;
  };
  const Case cases[] = {
      {"0x4e487b710000000000000000000000000000000000000000000000000000000000000011", 0x11,
       "arithmetic overflow or underflow"},
      {"0x4e487b710000000000000000000000000000000000000000000000000000000000000032", 0x32,
       "array index out of bounds"},
  };
  for (const auto& c : cases) {
    auto reason = decode_revert(hex(c.data));
    REQUIRE(reason.has_value());
    CHECK(reason->kind == RevertKind::kPanic);
    CHECK(reason->panic_code == c.code);
    CHECK(panic_code_meaning(reason->panic_code) == std::string_view(c.meaning));
  }
  // The codes listed in the Solidity documentation ("Panic via assert and Error via require").
  for (unsigned code : {0x00u, 0x01u, 0x11u, 0x12u, 0x21u, 0x22u, 0x31u, 0x32u, 0x41u, 0x51u}) {
    CAPTURE(code);
    CHECK(panic_code_meaning(U256(code)) != std::string_view("unknown panic code"));
  }
  CHECK(panic_code_meaning(U256(0x13)) == std::string_view("unknown panic code"));
  CHECK(describe(*decode_revert(hex(cases[0].data))) ==
        "Panic(0x11: arithmetic overflow or underflow)");
}

TEST_CASE("custom errors decode by their selector, unknown selectors are reported as such") {
  // The specification's "Errors" example; data from
  // `cast calldata "InsufficientBalance(uint256,uint256)" 100 250` (selector 0xcf479181).
  const Bytes data =
      hex("0xcf479181"
          "0000000000000000000000000000000000000000000000000000000000000064"
          "00000000000000000000000000000000000000000000000000000000000000fa");
  const std::vector<AbiSignature> errors = {
      sig("Unauthorized()"), sig("InsufficientBalance(uint256 available, uint256 required)")};
  auto reason = decode_revert(data, errors);
  REQUIRE(reason.has_value());
  CHECK(reason->kind == RevertKind::kCustom);
  CHECK(reason->error_signature == "InsufficientBalance(uint256,uint256)");
  CHECK(reason->args == std::vector<AbiValue>{u(100), u(250)});
  CHECK(describe(*reason) == "InsufficientBalance(100, 250)");

  auto unknown = decode_revert(data);
  REQUIRE(unknown.has_value());
  CHECK(unknown->kind == RevertKind::kUnknownSelector);
  CHECK(to_hex(unknown->selector) == "0xcf479181");
  CHECK(describe(*unknown) == "unknown error selector 0xcf479181");

  auto empty = decode_revert({});
  REQUIRE(empty.has_value());
  CHECK(empty->kind == RevertKind::kEmpty);

  auto short_data = decode_revert(hex("0x08c379"));
  REQUIRE_FALSE(short_data.has_value());
  CHECK(short_data.error().code == AbiDecodeError::kMissingSelector);

  // Error(string) whose string length runs past the data: offset reported from the selector.
  auto bad =
      decode_revert(hex("0x08c379a0"
                        "0000000000000000000000000000000000000000000000000000000000000020"
                        "00000000000000000000000000000000000000000000000000000000000000ff"
                        "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000"));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == AbiDecodeFailure{AbiDecodeError::kLengthOutOfBounds, 36});
}

TEST_CASE("event topic0 and indexed static arguments follow the specification") {
  const AbiSignature transfer =
      sig("Transfer(address indexed from, address indexed to, uint256 value)");
  // The ERC-20 Transfer topic (EIP-20 / every block explorer).
  CHECK(to_hex(event_topic0(transfer)) ==
        "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
  Address from{};
  Address to{};
  from.fill(0x11);
  to.fill(0x22);
  auto log =
      encode_event(transfer, {AbiValue::from_address(from), AbiValue::from_address(to), u(1000)});
  REQUIRE(log.has_value());
  REQUIRE(log->topics.size() == 3);
  // Indexed value types are their 32-byte encoding: the address left-padded with zeros.
  CHECK(to_hex(log->topics[1]) == "0x000000000000000000000000" + std::string(40, '1'));
  CHECK(to_hex(log->topics[2]) == "0x000000000000000000000000" + std::string(40, '2'));
  CHECK(to_hex(log->data) == "0x" + std::string(61, '0') + "3e8");
  auto decoded = decode_event(transfer, log->topics, log->data);
  REQUIRE(decoded.has_value());
  CHECK((*decoded)[0] == AbiValue::from_address(from));
  CHECK((*decoded)[2] == u(1000));

  // Indexed string: keccak256 of the raw contents, no length or padding.
  const AbiSignature named = sig("Named(string indexed name, uint256[] indexed xs)");
  auto named_log = encode_event(named, {s("abc"), list({u(1), u(2)})});
  REQUIRE(named_log.has_value());
  CHECK(to_hex(named_log->topics[1]) ==
        "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");  // keccak("abc")
  // Indexed array: keccak256 of its elements' words, without the length.
  CHECK(named_log->topics[2] ==
        keccak256(hex("0x0000000000000000000000000000000000000000000000000000000000000001"
                      "0000000000000000000000000000000000000000000000000000000000000002")));

  std::vector<Hash32> wrong = log->topics;
  wrong[0] = event_topic0(named);
  CHECK(decode_event(transfer, wrong, log->data).error().code == AbiDecodeError::kTopicMismatch);
  wrong.pop_back();
  CHECK(decode_event(transfer, wrong, log->data).error().code ==
        AbiDecodeError::kTopicCountMismatch);
}

TEST_CASE("hostile encodings are refused with the specific error and offset") {
  // Each case mutates the specification's g(uint256[][],string[]) encoding (without selector)
  // or builds a small input, and names the rule it breaks.
  const std::string g = std::string(spec_examples()[4].calldata).substr(10);
  auto word_at = [&](std::string base, std::size_t index, std::string_view word) {
    base.replace(index * 64, 64, word);
    return base;
  };
  auto w = [](std::string_view tail) {
    return std::string(64 - tail.size(), '0') + std::string(tail);
  };
  struct Case {
    const char* what;
    const char* types;
    std::string data;
    AbiDecodeError code;
    std::size_t offset;
  };
  const std::string zero = w("");
  const Case cases[] = {
      {"truncated head", "uint256,uint256", w("1"), AbiDecodeError::kTruncated, 0},
      {"truncated word", "uint256", w("1").substr(0, 62), AbiDecodeError::kTruncated, 0},
      {"offset beyond the end", "uint256[][],string[]", word_at(g, 0, w("1000")),
       AbiDecodeError::kOffsetOutOfBounds, 0},
      {"offset of 2^255", "uint256[][],string[]", word_at(g, 0, "8" + w("").substr(1)),
       AbiDecodeError::kOffsetOutOfBounds, 0},
      {"offset into the head", "uint256[][],string[]", word_at(g, 0, w("20")),
       AbiDecodeError::kOffsetIntoHead, 0},
      {"second root array overlapping the first", "uint256[][],string[]", word_at(g, 1, w("60")),
       AbiDecodeError::kOverlappingData, 32},
      {"gap before the second root array", "uint256[][],string[]", word_at(g, 1, w("160")),
       AbiDecodeError::kNonCanonicalOffset, 32},
      {"inner offset overlapping its sibling", "uint256[][],string[]", word_at(g, 4, w("40")),
       AbiDecodeError::kOverlappingData, 128},
      {"array length larger than the input", "uint256[][],string[]", word_at(g, 2, w("ffff")),
       AbiDecodeError::kLengthOutOfBounds, 64},
      {"array length of 2^64", "uint256[]", w("20") + w("10000000000000000"),
       AbiDecodeError::kLengthOutOfBounds, 32},
      {"string length past the end", "uint256[][],string[]", word_at(g, 18, w("41")),
       AbiDecodeError::kLengthOutOfBounds, 576},
      {"string padding missing", "string", w("20") + w("3") + "6f6e65", AbiDecodeError::kTruncated,
       64},
      {"string padding not zero", "uint256[][],string[]",
       word_at(g, 19, "746872656501" + std::string(52, '0')), AbiDecodeError::kNonZeroPadding, 613},
      {"bytes3 padding not zero", "bytes3", "616263" + std::string(56, '0') + "01",
       AbiDecodeError::kNonZeroPadding, 31},
      {"uint8 with high bits", "uint8", w("100"), AbiDecodeError::kDirtyHighBits, 0},
      {"int8 not sign-extended", "int8", w("80"), AbiDecodeError::kBadSignExtension, 0},
      {"int8 negative with a zero byte above", "int8", "00" + std::string(60, 'f') + "80",
       AbiDecodeError::kBadSignExtension, 0},
      {"bool of 2", "bool", w("2"), AbiDecodeError::kBadBool, 0},
      {"address with dirty upper bytes", "address", "01" + w("").substr(2),
       AbiDecodeError::kDirtyAddress, 0},
      {"trailing bytes", "uint256", w("1") + "00", AbiDecodeError::kTrailingBytes, 32},
      {"trailing word after the dynamic data", "uint256[][],string[]", g + zero,
       AbiDecodeError::kTrailingBytes, 640},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto types = parse_abi_type_list(c.types);
    REQUIRE(types.has_value());
    auto decoded = abi_decode(*types, hex("0x" + c.data));
    REQUIRE_FALSE(decoded.has_value());
    CHECK(decoded.error().code == c.code);
    CHECK(decoded.error().offset == c.offset);
  }
  // The unmodified encoding decodes, and trailing bytes are allowed when asked for.
  auto types = parse_abi_type_list("uint256[][],string[]");
  CHECK(abi_decode(*types, hex("0x" + g)).has_value());
  CHECK(abi_decode(*types, hex("0x" + g + zero), {.allow_trailing_bytes = true}).has_value());
}

TEST_CASE("calldata with a wrong or missing selector is refused") {
  const AbiSignature baz = sig("baz(uint32,bool)");
  CHECK(decode_call(baz, hex("0xcdcd77")).error().code == AbiDecodeError::kMissingSelector);
  CHECK(decode_call(baz, hex("0xa9059cbb")).error().code == AbiDecodeError::kSelectorMismatch);
  // An error inside the arguments is reported at its offset in the calldata.
  const Bytes bad =
      hex("0xcdcd77c0"
          "0000000000000000000000000000000000000000000000000000000000000045"
          "0000000000000000000000000000000000000000000000000000000000000002");
  CHECK(decode_call(baz, bad).error() == AbiDecodeFailure{AbiDecodeError::kBadBool, 36});
  // uint32 with bits above 32 set.
  const Bytes wide =
      hex("0xcdcd77c0"
          "0000000000000000000000000000000000000000000000000000000100000045"
          "0000000000000000000000000000000000000000000000000000000000000001");
  CHECK(decode_call(baz, wide).error() == AbiDecodeFailure{AbiDecodeError::kDirtyHighBits, 4});
}

TEST_CASE("values parse from CLI text with range checks") {
  auto value = [](std::string_view t, std::string_view text) {
    return parse_abi_value(type(t), text);
  };
  CHECK(*value("uint256", "123") == u(123));
  CHECK(*value("uint256", "0x7b") == u(123));
  CHECK(*value("int8", "-128") == i(-128));
  CHECK(*value("bool", "true") == AbiValue::from_bool(true));
  CHECK(*value("bytes3", "0x616263") == b("abc"));
  CHECK(*value("string", " spaced, text ") == s(" spaced, text "));
  CHECK(*value("uint256[]", "[1, 2,3]") == list({u(1), u(2), u(3)}));
  CHECK(*value("(bytes,string)[]", "[(0x1234, hello world), (0x, \"a,b\")]") ==
        list({list({AbiValue::from_bytes({0x12, 0x34}), s("hello world")}),
              list({AbiValue::from_bytes({}), s("a,b")})}));
  auto address = value("address", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");  // EIP-55
  REQUIRE(address.has_value());
  CHECK(to_hex(*address->as_address()) == "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");

  struct Case {
    const char* type;
    std::string text;
    AbiValueError code;
  };
  const Case cases[] = {
      {"uint8", "256", AbiValueError::kOutOfRange},
      {"uint8", "-1", AbiValueError::kNegativeUnsigned},
      {"int8", "-129", AbiValueError::kOutOfRange},
      {"int8", "128", AbiValueError::kOutOfRange},
      {"uint256", "12a", AbiValueError::kBadInteger},
      {"uint256", "", AbiValueError::kBadInteger},
      {"uint256", "0x1" + std::string(64, '0'), AbiValueError::kOutOfRange},
      {"bytes3", "0x6162", AbiValueError::kWrongLength},
      {"bytes", "616263", AbiValueError::kBadHex},
      {"bytes", "0x616", AbiValueError::kBadHex},
      {"address", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", AbiValueError::kBadAddress},
      {"address", "0x1234", AbiValueError::kBadAddress},
      {"bool", "yes", AbiValueError::kBadBool},
      {"uint256[]", "1,2", AbiValueError::kExpectedBracket},
      {"uint256[2]", "[1,2,3]", AbiValueError::kWrongElementCount},
      {"uint256[2]", "[1]", AbiValueError::kWrongElementCount},
      {"(uint256,bool)", "[1,true]", AbiValueError::kExpectedParenthesis},
      {"string[]", "[\"abc]", AbiValueError::kUnterminatedString},
      {"uint256[]", "[1] x", AbiValueError::kTrailingCharacters},
  };
  for (const auto& c : cases) {
    CAPTURE(c.type);
    CAPTURE(c.text);
    auto r = value(c.type, c.text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == c.code);
  }
  CHECK(format_abi_value(type("(bytes,string)[]"), *value("(bytes,string)[]", "[(0x1234,hi)]")) ==
        "[(0x1234, \"hi\")]");
}

TEST_CASE("revert data returned by anvil for a solc-compiled contract decodes to its reason") {
  // Real revert data: this contract compiled by solc-js 0.8.37, deployed on anvil 1.7.1 and
  // called with `cast call` (the "data" field of each execution-reverted error):
  //   contract R {
  //     error InsufficientBalance(uint256 available, uint256 required);
  //     function req() external pure { require(false, "not authorized"); }
  //     function div(uint256 a) external pure returns (uint256) { return 1 / a; }      // a = 0
  //     function custom() external pure { revert InsufficientBalance(1, 2); }
  //     function idx(uint256 i) external pure returns (uint256) {                     // i = 5
  //       uint256[] memory a = new uint256[](1); return a[i]; }
  //     function sub(uint256 a) external pure returns (uint256) { return a - 1; }      // a = 0
  //     function bare() external pure { revert(); }
  //   }
  struct Case {
    const char* call;
    const char* data;
    const char* described;
  };
  const Case cases[] = {
      {"req()",
       "0x08c379a0"
       "0000000000000000000000000000000000000000000000000000000000000020"
       "000000000000000000000000000000000000000000000000000000000000000e"
       "6e6f7420617574686f72697a6564000000000000000000000000000000000000",
       "Error(\"not authorized\")"},
      {"div(0)", "0x4e487b710000000000000000000000000000000000000000000000000000000000000012",
       "Panic(0x12: division or modulo by zero)"},
      {"custom()",
       "0xcf479181"
       "0000000000000000000000000000000000000000000000000000000000000001"
       "0000000000000000000000000000000000000000000000000000000000000002",
       "InsufficientBalance(1, 2)"},
      {"idx(5)", "0x4e487b710000000000000000000000000000000000000000000000000000000000000032",
       "Panic(0x32: array index out of bounds)"},
      {"sub(0)", "0x4e487b710000000000000000000000000000000000000000000000000000000000000011",
       "Panic(0x11: arithmetic overflow or underflow)"},
      {"bare()", "0x", "reverted without data"},
  };
  const std::vector<AbiSignature> errors = {sig("InsufficientBalance(uint256,uint256)")};
  for (const auto& c : cases) {
    CAPTURE(c.call);
    auto reason = decode_revert(hex(c.data), errors);
    REQUIRE(reason.has_value());
    CHECK(describe(*reason) == c.described);
  }
}
