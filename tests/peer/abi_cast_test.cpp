// Differential test of the ABI codec against cast (Foundry, the npm-installed binary):
// seeded random values for a few fixed signatures and for random signatures are encoded by both
// and compared byte for byte, cast's encoding is decoded back to the same values, our encoding is
// decoded by cast (`cast decode-calldata --json`) to the same values, and `cast sig` agrees with
// our selectors.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chain/abi.hpp"
#include "chain/hex.hpp"
#include "tests/support/abi_random.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using varkeeper::test::AbiRandom;
using varkeeper::test::run_process;

namespace {

const std::string kCast = VARKEEPER_CAST;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string join(const std::vector<std::string>& parts, const char* open, const char* close) {
  std::string out = open;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i != 0) out += ", ";
    out += parts[i];
  }
  return out + close;
}

// The argument syntax of `cast calldata` / `cast abi-encode`.
std::string cast_arg(const AbiType& type, const AbiValue& value, bool nested) {
  switch (type.kind) {
    case AbiKind::kUint: return u256_to_decimal(*value.as_uint());
    case AbiKind::kInt: {
      const AbiInt& v = *value.as_int();
      return (v.negative ? "-" : "") + u256_to_decimal(v.magnitude);
    }
    case AbiKind::kAddress: return to_hex(*value.as_address());
    case AbiKind::kBool: return *value.as_bool() ? "true" : "false";
    case AbiKind::kFixedBytes:
    case AbiKind::kBytes: return to_hex(*value.as_bytes());
    case AbiKind::kString: return nested ? "\"" + *value.as_string() + "\"" : *value.as_string();
    default: break;
  }
  std::vector<std::string> parts;
  const auto& items = *value.as_list();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const AbiType& t = type.kind == AbiKind::kTuple ? type.components[i] : type.components[0];
    parts.push_back(cast_arg(t, items[i], true));
  }
  return type.kind == AbiKind::kTuple ? join(parts, "(", ")") : join(parts, "[", "]");
}

// Our values in the shape of `cast ... --json` output, after normalise() below.
nlohmann::json expected_json(const AbiType& type, const AbiValue& value) {
  switch (type.kind) {
    case AbiKind::kUint: return u256_to_decimal(*value.as_uint());
    case AbiKind::kInt: {
      const AbiInt& v = *value.as_int();
      return (v.negative && v.magnitude != 0 ? "-" : "") + u256_to_decimal(v.magnitude);
    }
    case AbiKind::kAddress: return to_hex(*value.as_address());
    case AbiKind::kBool: return *value.as_bool();
    case AbiKind::kFixedBytes:
    case AbiKind::kBytes: return to_hex(*value.as_bytes());
    case AbiKind::kString: return *value.as_string();
    default: break;
  }
  nlohmann::json out = nlohmann::json::array();
  const auto& items = *value.as_list();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const AbiType& t = type.kind == AbiKind::kTuple ? type.components[i] : type.components[0];
    out.push_back(expected_json(t, items[i]));
  }
  return out;
}

// cast prints integers that fit 64 bits as JSON numbers and larger ones as strings, and
// addresses in EIP-55 case: map numbers to decimal strings and 20-byte hex to lower case.
nlohmann::json normalise(const nlohmann::json& j) {
  if (j.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : j) out.push_back(normalise(e));
    return out;
  }
  if (j.is_number_unsigned()) return std::to_string(j.get<std::uint64_t>());
  if (j.is_number_integer()) return std::to_string(j.get<std::int64_t>());
  if (j.is_string()) {
    std::string s = j.get<std::string>();
    if (s.size() == 42 && s.starts_with("0x") && from_hex(s).has_value()) {
      for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
  }
  return j;
}

std::vector<std::string> fixed_signatures() {
  return {
      "transfer(address,uint256)",
      "f(int8,int256,uint64,bool,bytes32)",
      "g(bytes,string,int256[],uint8[3])",
      "h((uint8,bytes)[],string[2],int16)",
      "k(bytes7,(int256,(string,address[])[]),uint256[][])",
      "m(string[][],(bool,bytes)[2],int40[])",
  };
}

std::string random_name(AbiRandom& r) {
  static const std::string first = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
  static const std::string rest = first + "0123456789";
  std::string name(1, first[r.below(first.size())]);
  const std::size_t n = r.below(12);
  for (std::size_t i = 0; i < n; ++i) name += rest[r.below(rest.size())];
  return name;
}

AbiSignature random_signature(AbiRandom& r, int depth) {
  AbiSignature sig;
  sig.name = random_name(r);
  const std::size_t n = 1 + r.below(4);
  for (std::size_t i = 0; i < n; ++i) {
    sig.inputs.push_back(r.type(depth));
    sig.indexed.push_back(false);
  }
  return sig;
}

}  // namespace

TEST_CASE("ABI calldata matches cast byte for byte and round-trips both ways") {
  varkeeper::test::require_tool(kCast);
  AbiRandom r(varkeeper::test::test_seed(0xab1c0dec));
  const auto fixed = fixed_signatures();
  constexpr int kCases = 240;
  int compared = 0;
  for (int n = 0; n < kCases; ++n) {
    AbiSignature sig;
    if (n < 180) {
      auto parsed = parse_abi_signature(fixed[static_cast<std::size_t>(n) % fixed.size()]);
      REQUIRE(parsed.has_value());
      sig = *parsed;
    } else {
      sig = random_signature(r, 3);
    }
    std::vector<AbiValue> values;
    std::vector<std::string> argv = {kCast, "calldata", sig.canonical(), "--"};
    for (const auto& t : sig.inputs) {
      values.push_back(r.value(t));
      // cast trims spaces around a bare string argument (a CLI convention, not the ABI):
      // keep such spaces to strings inside arrays and tuples, where cast takes them quoted.
      if (t.kind == AbiKind::kString) {
        std::string& text = std::get<std::string>(values.back().data);
        while (!text.empty() && text.back() == ' ') text.pop_back();
        while (!text.empty() && text.front() == ' ') text.erase(text.begin());
      }
      argv.push_back(cast_arg(t, values.back(), false));
    }
    std::string shown = sig.canonical();
    for (std::size_t i = 4; i < argv.size(); ++i) shown += " '" + argv[i] + "'";
    INFO("case " << n << ": " << shown);

    // The CLI value parser reads cast's argument syntax back to the same values.
    for (std::size_t i = 0; i < values.size(); ++i) {
      auto parsed = parse_abi_value(sig.inputs[i], argv[4 + i]);
      REQUIRE_MESSAGE(parsed.has_value(), "argument " << i);
      CHECK(*parsed == values[i]);
    }

    auto ours = encode_call(sig, values);
    REQUIRE(ours.has_value());
    const auto cast = run_process(argv);
    REQUIRE_MESSAGE(cast.exit_code == 0, cast.err);
    const std::string cast_hex = trim(cast.out);
    CHECK(to_hex(*ours) == cast_hex);

    // cast's encoding decodes back to our values.
    auto cast_bytes = from_hex(cast_hex);
    REQUIRE(cast_bytes.has_value());
    auto decoded = decode_call(sig, *cast_bytes);
    REQUIRE_MESSAGE(decoded.has_value(), to_string(decoded.error().code));
    CHECK(*decoded == values);

    // cast decodes our encoding to the same values.
    const auto back =
        run_process({kCast, "decode-calldata", "--json", sig.canonical(), to_hex(*ours)});
    REQUIRE_MESSAGE(back.exit_code == 0, back.err);
    nlohmann::json want = nlohmann::json::array();
    for (std::size_t i = 0; i < values.size(); ++i) {
      want.push_back(expected_json(sig.inputs[i], values[i]));
    }
    CHECK(normalise(nlohmann::json::parse(back.out)) == want);

    // Every fourth case also through `cast abi-encode` (no selector).
    if (n % 4 == 0) {
      std::vector<std::string> enc = {kCast, "abi-encode", sig.canonical(), "--"};
      enc.insert(enc.end(), argv.begin() + 4, argv.end());
      const auto cast_enc = run_process(enc);
      REQUIRE_MESSAGE(cast_enc.exit_code == 0, cast_enc.err);
      auto plain = abi_encode(sig.inputs, values);
      REQUIRE(plain.has_value());
      CHECK(to_hex(*plain) == trim(cast_enc.out));
    }
    ++compared;
  }
  CHECK(compared == kCases);
}

TEST_CASE("function selectors of random signatures match cast sig") {
  varkeeper::test::require_tool(kCast);
  AbiRandom r(varkeeper::test::test_seed(0xab1c0dec) ^ 0x5157);
  for (int n = 0; n < 120; ++n) {
    const AbiSignature sig = random_signature(r, 3);
    INFO("signature " << sig.canonical());
    const auto cast = run_process({kCast, "sig", sig.canonical()});
    REQUIRE_MESSAGE(cast.exit_code == 0, cast.err);
    CHECK(to_hex(selector_of(sig)) == trim(cast.out));
    // Parsing the canonical text gives the same selector.
    auto parsed = function_selector(sig.canonical());
    REQUIRE(parsed.has_value());
    CHECK(*parsed == selector_of(sig));
  }
}

TEST_CASE("event topic0 of random event signatures matches cast sig-event") {
  varkeeper::test::require_tool(kCast);
  AbiRandom r(varkeeper::test::test_seed(0xab1c0dec) ^ 0xe7e);
  for (int n = 0; n < 40; ++n) {
    AbiSignature event = random_signature(r, 2);
    // Written with "indexed" on some parameters, which is not part of the hashed signature.
    std::string text = event.name + "(";
    for (std::size_t i = 0; i < event.inputs.size(); ++i) {
      if (i != 0) text += ",";
      text += canonical_name(event.inputs[i]);
      if (r.coin()) text += " indexed";
      text += " p" + std::to_string(i);
    }
    text += ")";
    INFO("event " << text);
    auto parsed = parse_abi_signature(text);
    REQUIRE(parsed.has_value());
    const auto cast = run_process({kCast, "sig-event", text});
    REQUIRE_MESSAGE(cast.exit_code == 0, cast.err);
    CHECK(to_hex(event_topic0(*parsed)) == trim(cast.out));
  }
}

TEST_CASE("varkeeper abi calldata, selector and revert agree with cast") {
  varkeeper::test::require_tool(kCast);
  const std::string binary = VARKEEPER_BINARY;
  AbiRandom r(varkeeper::test::test_seed(0xab1c0dec) ^ 0xc11);
  const auto fixed = fixed_signatures();
  for (int n = 0; n < 24; ++n) {
    const AbiSignature sig =
        *parse_abi_signature(fixed[static_cast<std::size_t>(n) % fixed.size()]);
    std::vector<std::string> args;
    for (const auto& t : sig.inputs) {
      AbiValue v = r.value(t);
      if (t.kind == AbiKind::kString) v = AbiValue::from_string("top level text");
      args.push_back(cast_arg(t, v, false));
    }
    std::vector<std::string> ours = {binary, "abi", "calldata", sig.canonical(), "--"};
    std::vector<std::string> theirs = {kCast, "calldata", sig.canonical(), "--"};
    ours.insert(ours.end(), args.begin(), args.end());
    theirs.insert(theirs.end(), args.begin(), args.end());
    const auto a = run_process(ours);
    const auto b = run_process(theirs);
    INFO("case " << n << ": " << sig.canonical());
    REQUIRE_MESSAGE(a.exit_code == 0, a.err);
    REQUIRE_MESSAGE(b.exit_code == 0, b.err);
    CHECK(trim(a.out) == trim(b.out));

    const auto sel = run_process({binary, "abi", "selector", sig.canonical()});
    const auto cast_sel = run_process({kCast, "sig", sig.canonical()});
    CHECK(trim(sel.out) == trim(cast_sel.out));
  }
  // Revert data produced by cast explained by varkeeper.
  const auto error_data = run_process({kCast, "calldata", "Error(string)", "not authorized"});
  REQUIRE(error_data.exit_code == 0);
  const auto explained = run_process({binary, "abi", "revert", trim(error_data.out)});
  CHECK(trim(explained.out) == "Error(\"not authorized\")");
  const auto panic_data = run_process({kCast, "calldata", "Panic(uint256)", "0x12"});
  REQUIRE(panic_data.exit_code == 0);
  const auto panic = run_process({binary, "abi", "revert", trim(panic_data.out)});
  CHECK(trim(panic.out) == "Panic(0x12: division or modulo by zero)");
  // A malformed argument is one clear sentence and a non-zero exit.
  const auto bad = run_process({binary, "abi", "calldata", "f(uint8)", "256"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("argument 1 (uint8) '256': integer out of range") != std::string::npos);
}
