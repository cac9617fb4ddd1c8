// Contract bindings from a compiler's JSON ABI ("Contract ABI Specification", section "JSON"):
// a Foundry artifact ({"abi": [...], "bytecode": {"object": "0x..."}, "deployedBytecode": {...,
// "immutableReferences": {...}}}) or a bare ABI array becomes a ContractAbi that finds functions,
// events and custom errors by name (or, for overloads, by full signature), encodes calls and
// constructor arguments, decodes return values, logs and revert data into the contract's own
// custom errors. Loading never throws: a malformed artifact is an ArtifactFailure that names the
// JSON location ("abi[3].inputs[0].type") and what was wrong there.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chain/abi.hpp"
#include "chain/bytes.hpp"
#include "chain/expected.hpp"

namespace varkeeper::chain {

// One parameter of a function, event, error or constructor.
struct AbiParam {
  std::string name;           // may be empty (unnamed return values)
  AbiType type;               // tuples resolved from "components"
  bool indexed = false;       // events only
  std::string internal_type;  // solc's "internalType" ("struct RiskReport"), informational
};

struct AbiFunction {
  std::string name;
  std::vector<AbiParam> inputs;
  std::vector<AbiParam> outputs;
  std::string state_mutability;  // "pure", "view", "nonpayable", "payable"
  AbiSignature signature;        // name + input types
  Selector selector{};

  [[nodiscard]] bool is_view() const noexcept {
    return state_mutability == "view" || state_mutability == "pure";
  }
  [[nodiscard]] std::vector<AbiType> output_types() const;
};

struct AbiEvent {
  std::string name;
  std::vector<AbiParam> inputs;
  bool anonymous = false;
  AbiSignature signature;  // with `indexed` flags
  Hash32 topic0{};
};

struct AbiError {
  std::string name;
  std::vector<AbiParam> inputs;
  AbiSignature signature;
  Selector selector{};
};

// What is wrong with an artifact.
enum class ArtifactError {
  kUnreadableFile,          // the file cannot be opened or read
  kNotJson,                 // not valid JSON
  kNotArtifact,             // neither an ABI array nor an object with an "abi" member
  kAbiNotArray,             // "abi" is not an array
  kEntryNotObject,          // an ABI entry that is not an object
  kMissingField,            // a required member ("type", "name", "inputs", "components") is absent
  kWrongFieldType,          // a member of the wrong JSON type (e.g. "inputs" not an array)
  kUnknownEntryType,        // "type" other than function/constructor/event/error/fallback/receive
  kBadName,                 // a function/event/error name that is not an identifier
  kBadParamType,            // a parameter type the ABI type parser refuses
  kTooDeep,                 // tuple components nested deeper than kAbiMaxDepth
  kDuplicateSignature,      // the same function/event/error signature twice
  kDuplicateConstructor,    // more than one constructor entry
  kBadBytecode,             // bytecode that is not 0x-prefixed even-length hex
  kUnlinkedBytecode,        // library placeholders ("__$...$__") not linked
  kBadImmutableReferences,  // immutableReferences malformed or outside the deployed code
};

[[nodiscard]] std::string_view to_string(ArtifactError e) noexcept;

struct ArtifactFailure {
  ArtifactError code = ArtifactError::kNotJson;
  std::string where;   // JSON location, e.g. "abi[12].inputs[1].type", or the file
  std::string detail;  // e.g. the type parser's error and position, the JSON parser's message
  // One sentence: "abi[12].inputs[1].type: bad parameter type (unknown type at 4)".
  [[nodiscard]] std::string describe() const;
};

// What went wrong using a binding.
enum class BindingError {
  kUnknownFunction,  // no function with that name or signature
  kUnknownEvent,
  kUnknownError,
  kAmbiguousName,      // an overloaded name: give the full signature "f(uint256)"
  kBadSignature,       // a lookup text with "(" that does not parse as a signature
  kNoBytecode,         // deploy_data on a bare ABI or an abstract contract
  kEncodeFailed,       // the values do not fit the parameter types (see `encode`)
  kDecodeFailed,       // return data / log / revert data not a strict encoding (see `decode`)
  kUnknownEventTopic,  // a log whose topic0 is none of this contract's events (or no topics)
};

[[nodiscard]] std::string_view to_string(BindingError e) noexcept;

struct BindingFailure {
  BindingError code = BindingError::kUnknownFunction;
  std::string subject;  // the name or signature looked up, or the function being used
  std::optional<AbiEncodeFailure> encode;
  std::optional<AbiDecodeFailure> decode;
  [[nodiscard]] std::string describe() const;
};

template <class T>
using BindingExpected = Expected<T, BindingFailure>;

struct DecodedLog {
  const AbiEvent* event = nullptr;
  std::vector<AbiValue> args;  // declaration order (see decode_event for indexed dynamic ones)
};

// A [start, start + length) range of the deployed code that the constructor fills in (an
// immutable variable), so it differs between deployments.
struct CodeRange {
  std::size_t start = 0;
  std::size_t length = 0;
};

class ContractAbi {
 public:
  // An artifact object or a bare ABI array.
  [[nodiscard]] static Expected<ContractAbi, ArtifactFailure> from_json_text(std::string_view text);
  // Reads `file`; failures name the file in `where`.
  [[nodiscard]] static Expected<ContractAbi, ArtifactFailure> load(
      const std::filesystem::path& file);

  [[nodiscard]] const std::vector<AbiFunction>& functions() const noexcept { return functions_; }
  [[nodiscard]] const std::vector<AbiEvent>& events() const noexcept { return events_; }
  [[nodiscard]] const std::vector<AbiError>& errors() const noexcept { return errors_; }
  [[nodiscard]] const std::vector<AbiParam>& constructor_inputs() const noexcept {
    return constructor_inputs_;
  }
  // The contract's custom errors as signatures (for chain::decode_revert).
  [[nodiscard]] const std::vector<AbiSignature>& error_signatures() const noexcept {
    return error_signatures_;
  }

  // By name ("latest") when the name is not overloaded, or by signature ("latest(uint64)",
  // parameter names and spaces tolerated, "uint" canonicalised).
  [[nodiscard]] BindingExpected<const AbiFunction*> function(std::string_view name) const;
  [[nodiscard]] BindingExpected<const AbiEvent*> event(std::string_view name) const;
  [[nodiscard]] BindingExpected<const AbiError*> error(std::string_view name) const;
  [[nodiscard]] const AbiFunction* function_by_selector(const Selector& selector) const noexcept;

  // selector ++ enc(args).
  [[nodiscard]] BindingExpected<Bytes> encode_call(std::string_view function,
                                                   const std::vector<AbiValue>& args) const;
  // The return values of `function` from eth_call's answer (strict decoding).
  [[nodiscard]] BindingExpected<std::vector<AbiValue>> decode_result(std::string_view function,
                                                                     ByteView data) const;
  // A log of one of this contract's (non-anonymous) events, found by topic0.
  [[nodiscard]] BindingExpected<DecodedLog> decode_log(std::span<const Hash32> topics,
                                                       ByteView data) const;
  // Revert data: Error(string), Panic(uint256), one of this contract's custom errors (by name in
  // `error_signature` and `describe`), or an unknown selector.
  [[nodiscard]] Expected<RevertReason, AbiDecodeFailure> decode_revert(ByteView data) const;

  // Creation code ++ enc(constructor args): the data of a contract-creation transaction.
  [[nodiscard]] BindingExpected<Bytes> deploy_data(const std::vector<AbiValue>& args) const;

  [[nodiscard]] bool has_bytecode() const noexcept { return !bytecode_.empty(); }
  [[nodiscard]] const Bytes& bytecode() const noexcept { return bytecode_; }
  [[nodiscard]] const Bytes& deployed_bytecode() const noexcept { return deployed_bytecode_; }
  [[nodiscard]] const std::vector<CodeRange>& immutable_ranges() const noexcept {
    return immutable_ranges_;
  }
  // True when `code` (eth_getCode) is this artifact's deployed bytecode, except inside the
  // immutable ranges. False when the artifact carries no deployed bytecode.
  [[nodiscard]] bool deployed_code_matches(ByteView code) const noexcept;

 private:
  std::vector<AbiFunction> functions_;
  std::vector<AbiEvent> events_;
  std::vector<AbiError> errors_;
  std::vector<AbiSignature> error_signatures_;
  std::vector<AbiParam> constructor_inputs_;
  Bytes bytecode_;
  Bytes deployed_bytecode_;
  std::vector<CodeRange> immutable_ranges_;

  friend class ContractAbiParser;
};

}  // namespace varkeeper::chain
