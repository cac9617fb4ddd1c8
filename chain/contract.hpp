// A contract deployed at an address, bound to its ABI and a chain client: view calls by function
// name with their results decoded, reverts decoded into the contract's own custom errors, and
// transactions to hand to the TxManager.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chain/contract_abi.hpp"
#include "chain/eth_client.hpp"
#include "chain/tx_store.hpp"

namespace varkeeper::chain {

// The revert data carried by a node's "execution reverted" error: `data` as a hex string (geth,
// anvil, erigon), or an object with a "data" member, or a "Reverted 0x..." string (nethermind).
// nullopt when the error carries none.
[[nodiscard]] std::optional<Bytes> revert_data_of(const RpcError& error);

enum class ContractCallErrorKind {
  kBinding,   // unknown function, arguments that do not fit, or an answer that does not decode
  kRpc,       // the node could not be asked (transport, timeout, ...) or refused otherwise
  kReverted,  // the call reverted; `revert` says why
};

struct ContractCallError {
  ContractCallErrorKind kind = ContractCallErrorKind::kRpc;
  std::optional<BindingFailure> binding;
  std::optional<RpcError> rpc;
  std::optional<RevertReason> revert;  // kReverted with decodable data
  Bytes revert_data;                   // kReverted: the raw bytes
  // One sentence, e.g. "RiskOracle.latest reverted: NoReport(99)".
  [[nodiscard]] std::string describe() const;
  std::string context;  // "RiskOracle.latest"
};

class Contract {
 public:
  // `abi` must outlive the Contract.
  Contract(EthClient& eth, const ContractAbi& abi, const Address& address, std::string name = {})
      : eth_(eth), abi_(abi), address_(address), name_(std::move(name)) {}

  [[nodiscard]] const Address& address() const noexcept { return address_; }
  [[nodiscard]] const ContractAbi& abi() const noexcept { return abi_; }

  // eth_call of `function` (name or signature) with `args`; the decoded return values.
  [[nodiscard]] Expected<std::vector<AbiValue>, ContractCallError> call(
      std::string_view function, const std::vector<AbiValue>& args = {},
      const BlockTag& block = BlockTag::latest(),
      const std::optional<Address>& from = std::nullopt) const;

  // A transaction calling `function` for the TxManager (gas estimated by the manager).
  [[nodiscard]] BindingExpected<TxRequest> transaction(std::string_view function,
                                                       const std::vector<AbiValue>& args,
                                                       std::string key, std::string label) const;

 private:
  EthClient& eth_;
  const ContractAbi& abi_;
  Address address_;
  std::string name_;
};

}  // namespace varkeeper::chain
