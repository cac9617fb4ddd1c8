// `varkeeper abi`: Solidity ABI helpers for operators (selectors, calldata, decoding, revert
// reasons), with the same value syntax as `cast` (see chain/abi_value.hpp).
#include <iostream>
#include <string>
#include <vector>

#include "chain/abi.hpp"
#include "chain/hex.hpp"
#include "keeper/cli/command.hpp"

namespace varkeeper::keeper::cli {
namespace {

std::string type_error(const std::string& what, std::string_view text,
                       const chain::AbiTypeParseError& e) {
  return what + " '" + std::string(text) + "': " + std::string(chain::to_string(e.code)) +
         " at character " + std::to_string(e.position);
}

chain::AbiSignature parse_signature(const std::string& text) {
  auto sig = chain::parse_abi_signature(text);
  if (!sig) {
    throw UserError(type_error("bad signature", text, sig.error()));
  }
  return *sig;
}

// "name(types)" or just "(types)" for encode/decode.
std::vector<chain::AbiType> parse_types(const std::string& text) {
  if (!text.empty() && text.front() == '(') {
    auto list = chain::parse_abi_type_list(text);
    if (!list) {
      throw UserError(type_error("bad type list", text, list.error()));
    }
    return *list;
  }
  return parse_signature(text).inputs;
}

std::vector<chain::AbiValue> parse_args(const std::vector<chain::AbiType>& types,
                                        const std::vector<std::string>& args) {
  if (args.size() != types.size()) {
    throw UserError("expected " + std::to_string(types.size()) + " argument(s), got " +
                    std::to_string(args.size()));
  }
  std::vector<chain::AbiValue> values;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto v = chain::parse_abi_value(types[i], args[i]);
    if (!v) {
      throw UserError("argument " + std::to_string(i + 1) + " (" + chain::canonical_name(types[i]) +
                      ") '" + args[i] + "': " + std::string(chain::to_string(v.error().code)) +
                      " at character " + std::to_string(v.error().position));
    }
    values.push_back(std::move(*v));
  }
  return values;
}

chain::Bytes parse_hex(const std::string& text) {
  auto bytes = chain::from_hex(text);
  if (!bytes) {
    throw UserError("bad hex data: " + std::string(chain::to_string(bytes.error())));
  }
  return *bytes;
}

std::string decode_error(const chain::AbiDecodeFailure& e) {
  return "cannot decode: " + std::string(chain::to_string(e.code)) + " at byte " +
         std::to_string(e.offset);
}

std::string encode_error(const chain::AbiEncodeFailure& e) {
  return "cannot encode argument " + e.path + ": " + std::string(chain::to_string(e.code));
}

// Parsed command-line state (one sub-command runs per process).
std::string sig_text;
std::vector<std::string> args;
std::string data_text;
bool with_selector = false;
std::vector<std::string> error_sigs;

// `calldata` and `encode` take "SIG [--] ARGS..." verbatim (prefix_command): CLI11 would
// otherwise split "[1,2]" itself and treat "-5" or "--x" as options.
void split_args(const CLI::App& cmd) {
  auto rest = cmd.remaining();
  if (!rest.empty() && rest.front() == "--") {
    rest.erase(rest.begin());
  }
  if (rest.empty()) {
    throw UserError("missing the signature");
  }
  sig_text = rest.front();
  rest.erase(rest.begin());
  if (!rest.empty() && rest.front() == "--") {
    rest.erase(rest.begin());
  }
  args = std::move(rest);
}

// NOLINTNEXTLINE(cert-err58-cpp): the lambda runs later, inside main's try
const RegisterCommand kRegister{
    60, [](CLI::App& app) {
      auto* abi = app.add_subcommand("abi", "Solidity ABI: selectors, calldata, decoding, reverts");
      abi->require_subcommand(1);

      auto* selector = abi->add_subcommand("selector", "Print the 4-byte selector of a signature");
      selector->add_option("signature", sig_text, "e.g. 'transfer(address,uint256)'")->required();
      selector->callback([] {
        const auto sig = parse_signature(sig_text);
        std::cout << chain::to_hex(chain::selector_of(sig)) << '\n';
      });

      auto* calldata = abi->add_subcommand("calldata", "Encode a call: selector + arguments");
      calldata->prefix_command();
      calldata->footer("Usage: SIGNATURE [--] ARGS... (one value per parameter, cast syntax)");
      calldata->callback([calldata] {
        split_args(*calldata);
        const auto sig = parse_signature(sig_text);
        auto out = chain::encode_call(sig, parse_args(sig.inputs, args));
        if (!out) {
          throw UserError(encode_error(out.error()));
        }
        std::cout << chain::to_hex(*out) << '\n';
      });

      auto* encode = abi->add_subcommand("encode", "ABI-encode arguments (no selector)");
      encode->prefix_command();
      encode->footer("Usage: SIGNATURE [--] ARGS... (one value per parameter, cast syntax)");
      encode->callback([encode] {
        split_args(*encode);
        const auto types = parse_types(sig_text);
        auto out = chain::abi_encode(types, parse_args(types, args));
        if (!out) {
          throw UserError(encode_error(out.error()));
        }
        std::cout << chain::to_hex(*out) << '\n';
      });

      auto* decode = abi->add_subcommand("decode", "Decode ABI data, one value per line (strict)");
      decode->add_option("signature", sig_text, "'f(uint256,string)' or '(uint256,string)'")
          ->required();
      decode->add_option("data", data_text, "0x-hex data")->required();
      decode->add_flag("--calldata", with_selector, "data starts with the function selector");
      decode->callback([] {
        const auto types = parse_types(sig_text);
        const auto data = parse_hex(data_text);
        auto values = with_selector ? chain::decode_call(parse_signature(sig_text), data)
                                    : chain::abi_decode(types, data);
        if (!values) {
          throw UserError(decode_error(values.error()));
        }
        for (std::size_t i = 0; i < values->size(); ++i) {
          std::cout << chain::format_abi_value(types[i], (*values)[i]) << '\n';
        }
      });

      auto* revert =
          abi->add_subcommand("revert", "Explain revert data (Error, Panic, custom errors)");
      revert->add_option("data", data_text, "0x-hex revert data")->required();
      revert->add_option("--error", error_sigs, "a custom error signature (repeatable)");
      revert->callback([] {
        std::vector<chain::AbiSignature> errors;
        errors.reserve(error_sigs.size());
        for (const auto& e : error_sigs) {
          errors.push_back(parse_signature(e));
        }
        auto reason = chain::decode_revert(parse_hex(data_text), errors);
        if (!reason) {
          throw UserError(decode_error(reason.error()));
        }
        std::cout << chain::describe(*reason) << '\n';
      });
    }};

}  // namespace
}  // namespace varkeeper::keeper::cli
