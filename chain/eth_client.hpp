// The typed Ethereum JSON-RPC facade over an EndpointPool: each method encodes its parameters
// and strictly decodes the answer (a malformed answer is an RpcError, never a crash).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "chain/address.hpp"
#include "chain/bytes.hpp"
#include "chain/endpoint_pool.hpp"
#include "chain/uint256.hpp"

namespace varkeeper::chain {

// "latest", "pending", "safe", "finalized", "earliest", or a block number.
struct BlockTag {
  std::variant<std::string, std::uint64_t> value = std::string("latest");
  static BlockTag latest() { return {std::string("latest")}; }
  static BlockTag pending() { return {std::string("pending")}; }
  static BlockTag finalized() { return {std::string("finalized")}; }
  static BlockTag number(std::uint64_t n) { return {n}; }
  [[nodiscard]] Json to_json() const;
};

struct BlockHeader {
  std::uint64_t number = 0;
  Hash32 hash{};
  Hash32 parent_hash{};
  std::uint64_t timestamp = 0;
  std::uint64_t gas_limit = 0;
  std::uint64_t gas_used = 0;
  std::optional<U256> base_fee_per_gas;
};

struct LogEntry {
  Address address{};
  std::vector<Hash32> topics;
  Bytes data;
  std::uint64_t block_number = 0;
  Hash32 block_hash{};
  Hash32 transaction_hash{};
  std::uint64_t log_index = 0;
  bool removed = false;
};

struct TransactionReceipt {
  Hash32 transaction_hash{};
  Hash32 block_hash{};
  std::uint64_t block_number = 0;
  bool success = false;  // status 1
  std::uint64_t gas_used = 0;
  U256 effective_gas_price = 0;
  std::optional<Address> contract_address;
  std::vector<LogEntry> logs;
};

struct FeeHistory {
  std::uint64_t oldest_block = 0;
  std::vector<U256> base_fee_per_gas;  // one more than blocks: includes the next block's
  std::vector<double> gas_used_ratio;
  std::vector<std::vector<U256>> reward;  // per block, per requested percentile
};

struct CallRequest {
  std::optional<Address> from;
  std::optional<Address> to;  // empty: contract creation (estimateGas)
  Bytes data;
  std::optional<U256> value;
  std::optional<std::uint64_t> gas;
  [[nodiscard]] Json to_json() const;
};

struct LogFilter {
  std::optional<std::uint64_t> from_block;
  std::optional<std::uint64_t> to_block;
  std::vector<Address> addresses;
  std::vector<std::optional<Hash32>> topics;  // position-wise; nullopt = any
};

template <class T>
using RpcExpected = Expected<T, RpcError>;

class EthClient {
 public:
  explicit EthClient(EndpointPool& pool) : pool_(pool) {}

  [[nodiscard]] RpcExpected<std::uint64_t> chain_id();
  [[nodiscard]] RpcExpected<std::uint64_t> block_number();
  [[nodiscard]] RpcExpected<std::optional<BlockHeader>> get_block(const BlockTag& tag);
  [[nodiscard]] RpcExpected<Bytes> call(const CallRequest& req,
                                        const BlockTag& tag = BlockTag::latest());
  [[nodiscard]] RpcExpected<std::uint64_t> estimate_gas(const CallRequest& req);
  [[nodiscard]] RpcExpected<FeeHistory> fee_history(std::uint64_t blocks, const BlockTag& newest,
                                                    const std::vector<double>& percentiles);
  [[nodiscard]] RpcExpected<std::uint64_t> transaction_count(const Address& who,
                                                             const BlockTag& tag);
  [[nodiscard]] RpcExpected<U256> balance(const Address& who,
                                          const BlockTag& tag = BlockTag::latest());
  [[nodiscard]] RpcExpected<Bytes> code(const Address& who,
                                        const BlockTag& tag = BlockTag::latest());
  // Broadcast to every endpoint; the hash is computed locally from the raw bytes.
  [[nodiscard]] RpcExpected<Hash32> send_raw_transaction(ByteView raw);
  [[nodiscard]] RpcExpected<std::optional<TransactionReceipt>> transaction_receipt(
      const Hash32& hash);
  [[nodiscard]] RpcExpected<std::vector<LogEntry>> get_logs(const LogFilter& filter);

  [[nodiscard]] EndpointPool& pool() noexcept { return pool_; }

 private:
  EndpointPool& pool_;
};

// Strict decoders of JSON-RPC values (exposed for tests).
[[nodiscard]] RpcExpected<std::uint64_t> decode_u64_quantity(const Json& v, std::string_view what);
[[nodiscard]] RpcExpected<U256> decode_quantity(const Json& v, std::string_view what);
[[nodiscard]] RpcExpected<Bytes> decode_data(const Json& v, std::string_view what);
[[nodiscard]] RpcExpected<Hash32> decode_hash(const Json& v, std::string_view what);
[[nodiscard]] RpcExpected<BlockHeader> decode_block_header(const Json& v);
[[nodiscard]] RpcExpected<TransactionReceipt> decode_receipt(const Json& v);
[[nodiscard]] RpcExpected<LogEntry> decode_log(const Json& v);

}  // namespace varkeeper::chain
