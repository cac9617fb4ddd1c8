#include "chain/contract_abi.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "chain/hex.hpp"
#include "chain/keccak.hpp"

namespace varkeeper::chain {

using Json = nlohmann::json;

std::string_view to_string(ArtifactError e) noexcept {
  switch (e) {
    case ArtifactError::kUnreadableFile: return "cannot read the file";
    case ArtifactError::kNotJson: return "not valid JSON";
    case ArtifactError::kNotArtifact:
      return "neither an ABI array nor an artifact object with an \"abi\" member";
    case ArtifactError::kAbiNotArray: return "\"abi\" is not an array";
    case ArtifactError::kEntryNotObject: return "an ABI entry is not an object";
    case ArtifactError::kMissingField: return "a required member is missing";
    case ArtifactError::kWrongFieldType: return "a member has the wrong JSON type";
    case ArtifactError::kUnknownEntryType: return "unknown ABI entry type";
    case ArtifactError::kBadName: return "not a valid identifier";
    case ArtifactError::kBadParamType: return "bad parameter type";
    case ArtifactError::kTooDeep: return "tuple components nested too deeply";
    case ArtifactError::kDuplicateSignature: return "duplicate signature";
    case ArtifactError::kDuplicateConstructor: return "more than one constructor";
    case ArtifactError::kBadBytecode: return "bytecode is not 0x-prefixed hex";
    case ArtifactError::kUnlinkedBytecode: return "bytecode has unlinked library placeholders";
    case ArtifactError::kBadImmutableReferences: return "malformed immutableReferences";
  }
  return "unknown artifact error";
}

std::string ArtifactFailure::describe() const {
  std::string out = where.empty() ? std::string("artifact") : where;
  out += ": ";
  out += to_string(code);
  if (!detail.empty()) {
    out += " (" + detail + ")";
  }
  return out;
}

std::string_view to_string(BindingError e) noexcept {
  switch (e) {
    case BindingError::kUnknownFunction: return "no such function";
    case BindingError::kUnknownEvent: return "no such event";
    case BindingError::kUnknownError: return "no such custom error";
    case BindingError::kAmbiguousName: return "overloaded name; give the full signature";
    case BindingError::kBadSignature: return "not a valid signature";
    case BindingError::kNoBytecode: return "the artifact has no creation bytecode";
    case BindingError::kEncodeFailed: return "arguments do not match the parameter types";
    case BindingError::kDecodeFailed: return "data is not a strict ABI encoding";
    case BindingError::kUnknownEventTopic: return "log of an event this contract does not declare";
  }
  return "unknown binding error";
}

std::string BindingFailure::describe() const {
  std::string out = subject.empty() ? std::string(to_string(code))
                                    : subject + ": " + std::string(to_string(code));
  if (encode) {
    out += " (" + std::string(to_string(encode->code));
    if (!encode->path.empty()) {
      out += " at argument " + encode->path;
    }
    out += ")";
  }
  if (decode) {
    out += " (" + std::string(to_string(decode->code)) + " at byte " +
           std::to_string(decode->offset) + ")";
  }
  return out;
}

std::vector<AbiType> AbiFunction::output_types() const {
  std::vector<AbiType> out;
  out.reserve(outputs.size());
  for (const auto& p : outputs) {
    out.push_back(p.type);
  }
  return out;
}

namespace {

std::vector<AbiType> types_of(const std::vector<AbiParam>& params) {
  std::vector<AbiType> out;
  out.reserve(params.size());
  for (const auto& p : params) {
    out.push_back(p.type);
  }
  return out;
}

bool is_identifier(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  const auto head = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
  };
  if (!head(s[0])) {
    return false;
  }
  return std::all_of(s.begin() + 1, s.end(),
                     [&](char c) { return head(c) || (c >= '0' && c <= '9'); });
}

Unexpected<ArtifactFailure> fail(ArtifactError code, std::string where, std::string detail = {}) {
  return unexpected(ArtifactFailure{code, std::move(where), std::move(detail)});
}

}  // namespace

// Builds a ContractAbi from parsed JSON (a friend, so the parsed pieces go straight in).
class ContractAbiParser {
 public:
  // Longer than 80 lines (133, most of it braces from the lint pass): one walk over the ABI
  // entries with the duplicate sets it shares across entry kinds, then the bytecode. Splitting it
  // per entry kind (function, event, error, constructor) is the next step: see the session note.
  static Expected<ContractAbi, ArtifactFailure> parse(const Json& root) {
    ContractAbi abi;
    const Json* entries = nullptr;
    std::string prefix;
    if (root.is_array()) {
      entries = &root;
    } else if (root.is_object() && root.contains("abi")) {
      entries = &root["abi"];
      prefix = "abi";
      if (!entries->is_array()) {
        return fail(ArtifactError::kAbiNotArray, "abi");
      }
    } else {
      return fail(ArtifactError::kNotArtifact, "");
    }
    bool have_constructor = false;
    std::set<std::string> seen_functions;
    std::set<std::string> seen_events;
    std::set<std::string> seen_errors;
    for (std::size_t i = 0; i < entries->size(); ++i) {
      const Json& e = (*entries)[i];
      const std::string where = prefix + "[" + std::to_string(i) + "]";
      if (!e.is_object()) {
        return fail(ArtifactError::kEntryNotObject, where);
      }
      // Solidity >= 0.4: "type" may be omitted and then means "function".
      std::string type = "function";
      if (e.contains("type")) {
        if (!e["type"].is_string()) {
          return fail(ArtifactError::kWrongFieldType, where + ".type");
        }
        type = e["type"].get<std::string>();
      }
      if (type == "fallback" || type == "receive") {
        continue;
      }
      if (type != "function" && type != "constructor" && type != "event" && type != "error") {
        return fail(ArtifactError::kUnknownEntryType, where + ".type", type);
      }
      std::vector<AbiParam> inputs;
      if (auto r = params(e, "inputs", where, type == "event", false, inputs); !r) {
        return unexpected(r.error());
      }
      if (type == "constructor") {
        if (have_constructor) {
          return fail(ArtifactError::kDuplicateConstructor, where);
        }
        have_constructor = true;
        abi.constructor_inputs_ = std::move(inputs);
        continue;
      }
      if (!e.contains("name")) {
        return fail(ArtifactError::kMissingField, where + ".name");
      }
      if (!e["name"].is_string()) {
        return fail(ArtifactError::kWrongFieldType, where + ".name");
      }
      const std::string name = e["name"].get<std::string>();
      if (!is_identifier(name)) {
        return fail(ArtifactError::kBadName, where + ".name", name);
      }
      AbiSignature sig;
      sig.name = name;
      for (const auto& p : inputs) {
        sig.inputs.push_back(p.type);
        sig.indexed.push_back(p.indexed);
      }
      const std::string canonical = sig.canonical();
      if (type == "function") {
        if (!seen_functions.insert(canonical).second) {
          return fail(ArtifactError::kDuplicateSignature, where, canonical);
        }
        AbiFunction f;
        f.name = name;
        f.inputs = std::move(inputs);
        if (auto r = params(e, "outputs", where, false, true, f.outputs); !r) {
          return unexpected(r.error());
        }
        if (e.contains("stateMutability")) {
          if (!e["stateMutability"].is_string()) {
            return fail(ArtifactError::kWrongFieldType, where + ".stateMutability");
          }
          f.state_mutability = e["stateMutability"].get<std::string>();
        } else if (e.contains("constant") && e["constant"].is_boolean()) {
          // Pre-0.5 ABI JSON: "constant": true meant view.
          f.state_mutability = e["constant"].get<bool>() ? "view" : "nonpayable";
        } else {
          f.state_mutability = "nonpayable";
        }
        f.selector = selector_of(sig);
        f.signature = std::move(sig);
        abi.functions_.push_back(std::move(f));
      } else if (type == "event") {
        if (!seen_events.insert(canonical).second) {
          return fail(ArtifactError::kDuplicateSignature, where, canonical);
        }
        AbiEvent ev;
        ev.name = name;
        ev.inputs = std::move(inputs);
        if (e.contains("anonymous")) {
          if (!e["anonymous"].is_boolean()) {
            return fail(ArtifactError::kWrongFieldType, where + ".anonymous");
          }
          ev.anonymous = e["anonymous"].get<bool>();
        }
        ev.topic0 = event_topic0(sig);
        ev.signature = std::move(sig);
        abi.events_.push_back(std::move(ev));
      } else {
        if (!seen_errors.insert(canonical).second) {
          return fail(ArtifactError::kDuplicateSignature, where, canonical);
        }
        AbiError er;
        er.name = name;
        er.inputs = std::move(inputs);
        er.selector = selector_of(sig);
        abi.error_signatures_.push_back(sig);
        er.signature = std::move(sig);
        abi.errors_.push_back(std::move(er));
      }
    }
    if (root.is_object()) {
      if (auto r = code(root, "bytecode", abi.bytecode_); !r) {
        return unexpected(r.error());
      }
      if (auto r = code(root, "deployedBytecode", abi.deployed_bytecode_); !r) {
        return unexpected(r.error());
      }
      if (auto r = immutables(root, abi); !r) {
        return unexpected(r.error());
      }
    }
    return abi;
  }

 private:
  // The canonical type text of one parameter: "tuple[2]" with components becomes "(a,b)[2]".
  static Expected<std::string, ArtifactFailure> type_text(const Json& param,
                                                          const std::string& where,
                                                          std::size_t depth) {
    if (depth > kAbiMaxDepth) {
      return fail(ArtifactError::kTooDeep, where);
    }
    if (!param.is_object()) {
      return fail(ArtifactError::kEntryNotObject, where);
    }
    if (!param.contains("type")) {
      return fail(ArtifactError::kMissingField, where + ".type");
    }
    if (!param["type"].is_string()) {
      return fail(ArtifactError::kWrongFieldType, where + ".type");
    }
    const std::string type = param["type"].get<std::string>();
    if (type.rfind("tuple", 0) != 0) {
      // Checked here, leaf by leaf, so the error names the component that is wrong.
      if (auto t = parse_abi_type(type); !t) {
        return fail(ArtifactError::kBadParamType, where + ".type",
                    type + ": " + std::string(to_string(t.error().code)) + " at " +
                        std::to_string(t.error().position));
      }
      return type;
    }
    const std::string suffix = type.substr(5);
    if (!suffix.empty() && suffix.front() != '[') {
      return fail(ArtifactError::kBadParamType, where + ".type", type);
    }
    if (!param.contains("components")) {
      return fail(ArtifactError::kMissingField, where + ".components");
    }
    const Json& comps = param["components"];
    if (!comps.is_array()) {
      return fail(ArtifactError::kWrongFieldType, where + ".components");
    }
    std::string out = "(";
    for (std::size_t i = 0; i < comps.size(); ++i) {
      auto inner = type_text(comps[i], where + ".components[" + std::to_string(i) + "]", depth + 1);
      if (!inner) {
        return inner;
      }
      if (i > 0) {
        out += ',';
      }
      out += *inner;
    }
    out += ')';
    return out + suffix;
  }

  static Expected<void, ArtifactFailure> params(const Json& entry, const char* member,
                                                const std::string& where, bool event, bool optional,
                                                std::vector<AbiParam>& out) {
    const std::string at = where + "." + member;
    if (!entry.contains(member)) {
      // Outputs may be omitted; inputs of an entry without parameters are usually "[]".
      if (optional || std::string_view(member) == "inputs") {
        return {};
      }
      return fail(ArtifactError::kMissingField, at);
    }
    const Json& list = entry[member];
    if (!list.is_array()) {
      return fail(ArtifactError::kWrongFieldType, at);
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string pw = at + "[" + std::to_string(i) + "]";
      auto text = type_text(list[i], pw, 0);
      if (!text) {
        return unexpected(text.error());
      }
      auto type = parse_abi_type(*text);
      if (!type) {
        return fail(ArtifactError::kBadParamType, pw + ".type",
                    *text + ": " + std::string(to_string(type.error().code)) + " at " +
                        std::to_string(type.error().position));
      }
      AbiParam p;
      p.type = std::move(*type);
      const Json& pj = list[i];
      if (pj.contains("name")) {
        if (!pj["name"].is_string()) {
          return fail(ArtifactError::kWrongFieldType, pw + ".name");
        }
        p.name = pj["name"].get<std::string>();
      }
      if (pj.contains("internalType") && pj["internalType"].is_string()) {
        p.internal_type = pj["internalType"].get<std::string>();
      }
      if (event && pj.contains("indexed")) {
        if (!pj["indexed"].is_boolean()) {
          return fail(ArtifactError::kWrongFieldType, pw + ".indexed");
        }
        p.indexed = pj["indexed"].get<bool>();
      }
      out.push_back(std::move(p));
    }
    return {};
  }

  // "bytecode": {"object": "0x..."} (Foundry, solc standard JSON) or "bytecode": "0x..."
  // (Hardhat). Absent or "0x" means no code (an interface or abstract contract).
  static Expected<void, ArtifactFailure> code(const Json& root, const char* member, Bytes& out) {
    if (!root.contains(member)) {
      return {};
    }
    const Json* v = &root[member];
    std::string at = member;
    if (v->is_object()) {
      if (!v->contains("object")) {
        return {};
      }
      v = &(*v)["object"];
      at += ".object";
    }
    if (!v->is_string()) {
      return fail(ArtifactError::kWrongFieldType, at);
    }
    const std::string text = v->get<std::string>();
    if (text.find("__") != std::string::npos) {
      return fail(ArtifactError::kUnlinkedBytecode, at);
    }
    auto bytes = from_hex(text, HexPrefix::kOptional);
    if (!bytes) {
      return fail(ArtifactError::kBadBytecode, at, std::string(to_string(bytes.error())));
    }
    out = std::move(*bytes);
    return {};
  }

  // deployedBytecode.immutableReferences: {"<ast id>": [{"start": s, "length": n}, ...], ...}.
  static Expected<void, ArtifactFailure> immutables(const Json& root, ContractAbi& abi) {
    if (!root.contains("deployedBytecode") || !root["deployedBytecode"].is_object()) {
      return {};
    }
    const Json& db = root["deployedBytecode"];
    if (!db.contains("immutableReferences")) {
      return {};
    }
    const Json& refs = db["immutableReferences"];
    const std::string at = "deployedBytecode.immutableReferences";
    if (!refs.is_object()) {
      return fail(ArtifactError::kBadImmutableReferences, at);
    }
    for (const auto& [id, list] : refs.items()) {
      std::string where = at;
      where.append(".").append(id);
      if (!list.is_array()) {
        return fail(ArtifactError::kBadImmutableReferences, where);
      }
      for (const auto& r : list) {
        if (!r.is_object() || !r.contains("start") || !r.contains("length") ||
            !r["start"].is_number_unsigned() || !r["length"].is_number_unsigned()) {
          return fail(ArtifactError::kBadImmutableReferences, where);
        }
        const auto start = r["start"].get<std::uint64_t>();
        const auto length = r["length"].get<std::uint64_t>();
        const auto size = abi.deployed_bytecode_.size();
        if (start > size || length > size - start) {
          return fail(ArtifactError::kBadImmutableReferences, where,
                      "range " + std::to_string(start) + "+" + std::to_string(length) +
                          " outside " + std::to_string(size) + " bytes of code");
        }
        abi.immutable_ranges_.push_back(
            {static_cast<std::size_t>(start), static_cast<std::size_t>(length)});
      }
    }
    std::sort(abi.immutable_ranges_.begin(), abi.immutable_ranges_.end(),
              [](const CodeRange& a, const CodeRange& b) { return a.start < b.start; });
    return {};
  }
};

Expected<ContractAbi, ArtifactFailure> ContractAbi::from_json_text(std::string_view text) {
  Json root = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return fail(ArtifactError::kNotJson, "");
  }
  return ContractAbiParser::parse(root);
}

Expected<ContractAbi, ArtifactFailure> ContractAbi::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return fail(ArtifactError::kUnreadableFile, file.string());
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return fail(ArtifactError::kUnreadableFile, file.string());
  }
  auto abi = from_json_text(buf.str());
  if (!abi) {
    ArtifactFailure f = abi.error();
    f.where = f.where.empty() ? file.string() : file.string() + ": " + f.where;
    return unexpected(std::move(f));
  }
  return abi;
}

namespace {

// Finds `text` (a bare name, or a signature compared canonically) among `items`.
template <class T>
BindingExpected<const T*> find_by_name(const std::vector<T>& items, std::string_view text,
                                       BindingError not_found) {
  const std::string subject(text);
  if (text.find('(') != std::string_view::npos) {
    auto sig = parse_abi_signature(text);
    if (!sig) {
      return unexpected(BindingFailure{BindingError::kBadSignature, subject, {}, {}});
    }
    const std::string canonical = sig->canonical();
    for (const auto& item : items) {
      if (item.signature.canonical() == canonical) {
        return &item;
      }
    }
    return unexpected(BindingFailure{not_found, subject, {}, {}});
  }
  const T* found = nullptr;
  for (const auto& item : items) {
    if (item.name != text) {
      continue;
    }
    if (found != nullptr) {
      return unexpected(BindingFailure{BindingError::kAmbiguousName, subject, {}, {}});
    }
    found = &item;
  }
  if (found == nullptr) {
    return unexpected(BindingFailure{not_found, subject, {}, {}});
  }
  return found;
}

}  // namespace

BindingExpected<const AbiFunction*> ContractAbi::function(std::string_view name) const {
  return find_by_name(functions_, name, BindingError::kUnknownFunction);
}

BindingExpected<const AbiEvent*> ContractAbi::event(std::string_view name) const {
  return find_by_name(events_, name, BindingError::kUnknownEvent);
}

BindingExpected<const AbiError*> ContractAbi::error(std::string_view name) const {
  return find_by_name(errors_, name, BindingError::kUnknownError);
}

const AbiFunction* ContractAbi::function_by_selector(const Selector& selector) const noexcept {
  for (const auto& f : functions_) {
    if (f.selector == selector) {
      return &f;
    }
  }
  return nullptr;
}

BindingExpected<Bytes> ContractAbi::encode_call(std::string_view function_name,
                                                const std::vector<AbiValue>& args) const {
  auto f = function(function_name);
  if (!f) {
    return unexpected(f.error());
  }
  auto data = chain::encode_call((*f)->signature, args);
  if (!data) {
    return unexpected(
        BindingFailure{BindingError::kEncodeFailed, (*f)->signature.canonical(), data.error(), {}});
  }
  return std::move(*data);
}

BindingExpected<std::vector<AbiValue>> ContractAbi::decode_result(std::string_view function_name,
                                                                  ByteView data) const {
  auto f = function(function_name);
  if (!f) {
    return unexpected(f.error());
  }
  auto values = abi_decode((*f)->output_types(), data);
  if (!values) {
    return unexpected(BindingFailure{
        BindingError::kDecodeFailed, (*f)->signature.canonical(), {}, values.error()});
  }
  return std::move(*values);
}

BindingExpected<DecodedLog> ContractAbi::decode_log(std::span<const Hash32> topics,
                                                    ByteView data) const {
  if (topics.empty()) {
    return unexpected(
        BindingFailure{BindingError::kUnknownEventTopic, "log without topics", {}, {}});
  }
  for (const auto& ev : events_) {
    if (ev.anonymous || ev.topic0 != topics[0]) {
      continue;
    }
    auto args = decode_event(ev.signature, topics, data, false);
    if (!args) {
      return unexpected(
          BindingFailure{BindingError::kDecodeFailed, ev.signature.canonical(), {}, args.error()});
    }
    return DecodedLog{&ev, std::move(*args)};
  }
  return unexpected(BindingFailure{BindingError::kUnknownEventTopic, to_hex(topics[0]), {}, {}});
}

Expected<RevertReason, AbiDecodeFailure> ContractAbi::decode_revert(ByteView data) const {
  return chain::decode_revert(data, error_signatures_);
}

BindingExpected<Bytes> ContractAbi::deploy_data(const std::vector<AbiValue>& args) const {
  if (bytecode_.empty()) {
    return unexpected(BindingFailure{BindingError::kNoBytecode, "constructor", {}, {}});
  }
  auto encoded = abi_encode(types_of(constructor_inputs_), args);
  if (!encoded) {
    AbiSignature ctor;
    ctor.name = "constructor";
    ctor.inputs = types_of(constructor_inputs_);
    return unexpected(
        BindingFailure{BindingError::kEncodeFailed, ctor.canonical(), encoded.error(), {}});
  }
  Bytes out = bytecode_;
  append(out, *encoded);
  return out;
}

bool ContractAbi::deployed_code_matches(ByteView code) const noexcept {
  if (deployed_bytecode_.empty() || code.size() != deployed_bytecode_.size()) {
    return false;
  }
  std::size_t pos = 0;
  // Ranges are sorted by start; they do not overlap in solc output, but tolerate it.
  for (const auto& r : immutable_ranges_) {
    if (r.start > pos &&
        !std::equal(code.begin() + static_cast<std::ptrdiff_t>(pos),
                    code.begin() + static_cast<std::ptrdiff_t>(r.start),
                    deployed_bytecode_.begin() + static_cast<std::ptrdiff_t>(pos))) {
      return false;
    }
    pos = std::max(pos, r.start + r.length);
  }
  return std::equal(code.begin() + static_cast<std::ptrdiff_t>(pos), code.end(),
                    deployed_bytecode_.begin() + static_cast<std::ptrdiff_t>(pos));
}

}  // namespace varkeeper::chain
