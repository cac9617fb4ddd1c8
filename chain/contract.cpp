#include "chain/contract.hpp"

#include "chain/hex.hpp"

namespace varkeeper::chain {

std::optional<Bytes> revert_data_of(const RpcError& error) {
  if (error.kind != RpcErrorKind::kRpcError) {
    return std::nullopt;
  }
  const auto from_text = [](const std::string& text) -> std::optional<Bytes> {
    // "Reverted 0x..." (nethermind) or plain "0x...".
    const auto pos = text.find("0x");
    if (pos == std::string::npos) {
      return std::nullopt;
    }
    auto bytes = from_hex(std::string_view(text).substr(pos), HexPrefix::kRequired);
    if (!bytes) {
      return std::nullopt;
    }
    return std::move(*bytes);
  };
  if (error.data.is_string()) {
    return from_text(error.data.get<std::string>());
  }
  if (error.data.is_object() && error.data.contains("data") && error.data["data"].is_string()) {
    return from_text(error.data["data"].get<std::string>());
  }
  // A revert without data still says "execution reverted": empty revert data.
  if (error.node_error == NodeError::kExecutionReverted) {
    return Bytes{};
  }
  return std::nullopt;
}

std::string ContractCallError::describe() const {
  const std::string who = context.empty() ? std::string("call") : context;
  switch (kind) {
    case ContractCallErrorKind::kBinding:
      return who + ": " + (binding ? binding->describe() : std::string("binding failed"));
    case ContractCallErrorKind::kRpc:
      return who + " failed: " + (rpc ? rpc->describe() : std::string("RPC failure"));
    case ContractCallErrorKind::kReverted:
      if (revert) {
        return who + " reverted: " + chain::describe(*revert);
      }
      return who + " reverted with undecodable data " + to_hex(revert_data);
  }
  return who + " failed";
}

Expected<std::vector<AbiValue>, ContractCallError> Contract::call(
    std::string_view function, const std::vector<AbiValue>& args, const BlockTag& block,
    const std::optional<Address>& from) const {
  ContractCallError err;
  err.context = (name_.empty() ? std::string("contract") : name_) + "." + std::string(function);
  auto data = abi_.encode_call(function, args);
  if (!data) {
    err.kind = ContractCallErrorKind::kBinding;
    err.binding = data.error();
    return unexpected(std::move(err));
  }
  CallRequest req;
  req.from = from;
  req.to = address_;
  req.data = std::move(*data);
  auto answer = eth_.call(req, block);
  if (!answer) {
    if (auto revert = revert_data_of(answer.error())) {
      err.kind = ContractCallErrorKind::kReverted;
      err.revert_data = *revert;
      if (auto reason = abi_.decode_revert(*revert)) {
        err.revert = std::move(*reason);
      }
      err.rpc = answer.error();
      return unexpected(std::move(err));
    }
    err.kind = ContractCallErrorKind::kRpc;
    err.rpc = answer.error();
    return unexpected(std::move(err));
  }
  auto values = abi_.decode_result(function, *answer);
  if (!values) {
    err.kind = ContractCallErrorKind::kBinding;
    err.binding = values.error();
    return unexpected(std::move(err));
  }
  return std::move(*values);
}

BindingExpected<TxRequest> Contract::transaction(std::string_view function,
                                                 const std::vector<AbiValue>& args, std::string key,
                                                 std::string label) const {
  auto data = abi_.encode_call(function, args);
  if (!data) {
    return unexpected(data.error());
  }
  TxRequest req;
  req.key = std::move(key);
  req.to = address_;
  req.data = std::move(*data);
  req.label = std::move(label);
  return req;
}

}  // namespace varkeeper::chain
