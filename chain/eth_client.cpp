#include "chain/eth_client.hpp"

#include "chain/hex.hpp"
#include "chain/keccak.hpp"

namespace varkeeper::chain {

namespace {
RpcError malformed(std::string_view what, std::string_view why) {
  RpcError e;
  e.kind = RpcErrorKind::kMalformedResponse;
  e.message = std::string(what) + ": " + std::string(why);
  return e;
}

const Json* field(const Json& obj, std::string_view key) {
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

#define VK_TRY(var, expr)                           \
  auto var##_r = (expr);                            \
  if (!var##_r) return unexpected(var##_r.error()); \
  auto var = std::move(*var##_r)  // NOLINT(bugprone-macro-parentheses): declares var
}  // namespace

Json BlockTag::to_json() const {
  if (const auto* n = std::get_if<std::uint64_t>(&value)) {
    return u256_to_quantity(U256(*n));
  }
  return std::get<std::string>(value);
}

Json CallRequest::to_json() const {
  Json j = Json::object();
  if (from) {
    j["from"] = to_hex(*from);
  }
  if (to) {
    j["to"] = to_hex(*to);
  }
  j["data"] = to_hex(data);  // "data" is what anvil, geth and erigon all accept
  if (value) {
    j["value"] = u256_to_quantity(*value);
  }
  if (gas) {
    j["gas"] = u256_to_quantity(U256(*gas));
  }
  return j;
}

RpcExpected<U256> decode_quantity(const Json& v, std::string_view what) {
  if (!v.is_string()) {
    return unexpected(malformed(what, "not a hex quantity string"));
  }
  auto q = u256_from_quantity(v.get<std::string>());
  if (!q) {
    return unexpected(malformed(what, to_string(q.error())));
  }
  return *q;
}

RpcExpected<std::uint64_t> decode_u64_quantity(const Json& v, std::string_view what) {
  VK_TRY(q, decode_quantity(v, what));
  if (q > U256(std::numeric_limits<std::uint64_t>::max())) {
    return unexpected(malformed(what, "does not fit 64 bits"));
  }
  return static_cast<std::uint64_t>(q);
}

RpcExpected<Bytes> decode_data(const Json& v, std::string_view what) {
  if (!v.is_string()) {
    return unexpected(malformed(what, "not a hex data string"));
  }
  auto b = from_hex(v.get<std::string>(), HexPrefix::kRequired);
  if (!b) {
    return unexpected(malformed(what, to_string(b.error())));
  }
  return std::move(*b);
}

RpcExpected<Hash32> decode_hash(const Json& v, std::string_view what) {
  if (!v.is_string()) {
    return unexpected(malformed(what, "not a 32-byte hex string"));
  }
  auto h = from_hex_fixed<32>(v.get<std::string>(), HexPrefix::kRequired);
  if (!h) {
    return unexpected(malformed(what, to_string(h.error())));
  }
  return *h;
}

namespace {
RpcExpected<Address> decode_address(const Json& v, std::string_view what) {
  if (!v.is_string()) {
    return unexpected(malformed(what, "not an address string"));
  }
  auto a = from_hex_fixed<20>(v.get<std::string>(), HexPrefix::kRequired);
  if (!a) {
    return unexpected(malformed(what, to_string(a.error())));
  }
  return *a;
}

RpcExpected<const Json*> need(const Json& obj, std::string_view key, std::string_view what) {
  if (!obj.is_object()) {
    return unexpected(malformed(what, "not an object"));
  }
  const Json* f = field(obj, key);
  if (f == nullptr) {
    return unexpected(malformed(what, "missing field " + std::string(key)));
  }
  return f;
}
}  // namespace

RpcExpected<BlockHeader> decode_block_header(const Json& v) {
  BlockHeader h;
  VK_TRY(number, need(v, "number", "block"));
  VK_TRY(n, decode_u64_quantity(*number, "block.number"));
  h.number = n;
  VK_TRY(hash, need(v, "hash", "block"));
  VK_TRY(hh, decode_hash(*hash, "block.hash"));
  h.hash = hh;
  VK_TRY(parent, need(v, "parentHash", "block"));
  VK_TRY(ph, decode_hash(*parent, "block.parentHash"));
  h.parent_hash = ph;
  VK_TRY(ts, need(v, "timestamp", "block"));
  VK_TRY(t, decode_u64_quantity(*ts, "block.timestamp"));
  h.timestamp = t;
  VK_TRY(gl, need(v, "gasLimit", "block"));
  VK_TRY(gla, decode_u64_quantity(*gl, "block.gasLimit"));
  h.gas_limit = gla;
  VK_TRY(gu, need(v, "gasUsed", "block"));
  VK_TRY(gua, decode_u64_quantity(*gu, "block.gasUsed"));
  h.gas_used = gua;
  if (const Json* bf = field(v, "baseFeePerGas"); bf != nullptr && !bf->is_null()) {
    VK_TRY(b, decode_quantity(*bf, "block.baseFeePerGas"));
    h.base_fee_per_gas = b;
  }
  return h;
}

RpcExpected<LogEntry> decode_log(const Json& v) {
  LogEntry log;
  VK_TRY(addr, need(v, "address", "log"));
  VK_TRY(a, decode_address(*addr, "log.address"));
  log.address = a;
  VK_TRY(topics, need(v, "topics", "log"));
  if (!topics->is_array()) {
    return unexpected(malformed("log.topics", "not an array"));
  }
  for (const auto& t : *topics) {
    VK_TRY(h, decode_hash(t, "log.topics[]"));
    log.topics.push_back(h);
  }
  VK_TRY(data, need(v, "data", "log"));
  VK_TRY(d, decode_data(*data, "log.data"));
  log.data = std::move(d);
  if (const Json* bn = field(v, "blockNumber"); bn != nullptr && !bn->is_null()) {
    VK_TRY(n, decode_u64_quantity(*bn, "log.blockNumber"));
    log.block_number = n;
  }
  if (const Json* bh = field(v, "blockHash"); bh != nullptr && !bh->is_null()) {
    VK_TRY(h, decode_hash(*bh, "log.blockHash"));
    log.block_hash = h;
  }
  if (const Json* th = field(v, "transactionHash"); th != nullptr && !th->is_null()) {
    VK_TRY(h, decode_hash(*th, "log.transactionHash"));
    log.transaction_hash = h;
  }
  if (const Json* li = field(v, "logIndex"); li != nullptr && !li->is_null()) {
    VK_TRY(n, decode_u64_quantity(*li, "log.logIndex"));
    log.log_index = n;
  }
  if (const Json* rm = field(v, "removed"); rm != nullptr && rm->is_boolean()) {
    log.removed = rm->get<bool>();
  }
  return log;
}

RpcExpected<TransactionReceipt> decode_receipt(const Json& v) {
  TransactionReceipt r;
  VK_TRY(th, need(v, "transactionHash", "receipt"));
  VK_TRY(h, decode_hash(*th, "receipt.transactionHash"));
  r.transaction_hash = h;
  VK_TRY(bh, need(v, "blockHash", "receipt"));
  VK_TRY(b, decode_hash(*bh, "receipt.blockHash"));
  r.block_hash = b;
  VK_TRY(bn, need(v, "blockNumber", "receipt"));
  VK_TRY(n, decode_u64_quantity(*bn, "receipt.blockNumber"));
  r.block_number = n;
  VK_TRY(st, need(v, "status", "receipt"));
  VK_TRY(s, decode_u64_quantity(*st, "receipt.status"));
  if (s > 1) {
    return unexpected(malformed("receipt.status", "not 0 or 1"));
  }
  r.success = s == 1;
  VK_TRY(gu, need(v, "gasUsed", "receipt"));
  VK_TRY(g, decode_u64_quantity(*gu, "receipt.gasUsed"));
  r.gas_used = g;
  if (const Json* ep = field(v, "effectiveGasPrice"); ep != nullptr && !ep->is_null()) {
    VK_TRY(p, decode_quantity(*ep, "receipt.effectiveGasPrice"));
    r.effective_gas_price = p;
  }
  if (const Json* ca = field(v, "contractAddress"); ca != nullptr && !ca->is_null()) {
    VK_TRY(a, decode_address(*ca, "receipt.contractAddress"));
    r.contract_address = a;
  }
  if (const Json* logs = field(v, "logs"); logs != nullptr && logs->is_array()) {
    for (const auto& l : *logs) {
      VK_TRY(log, decode_log(l));
      r.logs.push_back(std::move(log));
    }
  }
  return r;
}

RpcExpected<std::uint64_t> EthClient::chain_id() {
  VK_TRY(v, pool_.call("eth_chainId"));
  return decode_u64_quantity(v, "eth_chainId");
}

RpcExpected<std::uint64_t> EthClient::block_number() {
  VK_TRY(v, pool_.call("eth_blockNumber"));
  return decode_u64_quantity(v, "eth_blockNumber");
}

RpcExpected<std::optional<BlockHeader>> EthClient::get_block(const BlockTag& tag) {
  VK_TRY(v, pool_.call("eth_getBlockByNumber", Json::array({tag.to_json(), false})));
  if (v.is_null()) {
    return std::optional<BlockHeader>{};
  }
  VK_TRY(h, decode_block_header(v));
  return std::optional<BlockHeader>(h);
}

RpcExpected<Bytes> EthClient::call(const CallRequest& req, const BlockTag& tag) {
  VK_TRY(v, pool_.call("eth_call", Json::array({req.to_json(), tag.to_json()})));
  return decode_data(v, "eth_call");
}

RpcExpected<std::uint64_t> EthClient::estimate_gas(const CallRequest& req) {
  VK_TRY(v, pool_.call("eth_estimateGas", Json::array({req.to_json()})));
  return decode_u64_quantity(v, "eth_estimateGas");
}

RpcExpected<FeeHistory> EthClient::fee_history(std::uint64_t blocks, const BlockTag& newest,
                                               const std::vector<double>& percentiles) {
  VK_TRY(v, pool_.call("eth_feeHistory", Json::array({u256_to_quantity(U256(blocks)),
                                                      newest.to_json(), percentiles})));
  FeeHistory out;
  VK_TRY(oldest, need(v, "oldestBlock", "feeHistory"));
  VK_TRY(o, decode_u64_quantity(*oldest, "feeHistory.oldestBlock"));
  out.oldest_block = o;
  VK_TRY(base, need(v, "baseFeePerGas", "feeHistory"));
  if (!base->is_array()) {
    return unexpected(malformed("feeHistory.baseFeePerGas", "not an array"));
  }
  for (const auto& b : *base) {
    VK_TRY(q, decode_quantity(b, "feeHistory.baseFeePerGas[]"));
    out.base_fee_per_gas.push_back(q);
  }
  if (const Json* ratio = field(v, "gasUsedRatio"); ratio != nullptr && ratio->is_array()) {
    for (const auto& r : *ratio) {
      if (!r.is_number()) {
        return unexpected(malformed("feeHistory.gasUsedRatio[]", "not a number"));
      }
      out.gas_used_ratio.push_back(r.get<double>());
    }
  }
  if (const Json* reward = field(v, "reward"); reward != nullptr && reward->is_array()) {
    for (const auto& row : *reward) {
      if (!row.is_array()) {
        return unexpected(malformed("feeHistory.reward[]", "not an array"));
      }
      std::vector<U256> values;
      for (const auto& x : row) {
        VK_TRY(q, decode_quantity(x, "feeHistory.reward[][]"));
        values.push_back(q);
      }
      out.reward.push_back(std::move(values));
    }
  }
  return out;
}

RpcExpected<std::uint64_t> EthClient::transaction_count(const Address& who, const BlockTag& tag) {
  VK_TRY(v, pool_.call("eth_getTransactionCount", Json::array({to_hex(who), tag.to_json()})));
  return decode_u64_quantity(v, "eth_getTransactionCount");
}

RpcExpected<U256> EthClient::balance(const Address& who, const BlockTag& tag) {
  VK_TRY(v, pool_.call("eth_getBalance", Json::array({to_hex(who), tag.to_json()})));
  return decode_quantity(v, "eth_getBalance");
}

RpcExpected<Bytes> EthClient::code(const Address& who, const BlockTag& tag) {
  VK_TRY(v, pool_.call("eth_getCode", Json::array({to_hex(who), tag.to_json()})));
  return decode_data(v, "eth_getCode");
}

RpcExpected<Hash32> EthClient::send_raw_transaction(ByteView raw) {
  const Hash32 local = keccak256(raw);
  VK_TRY(v, pool_.broadcast_raw_transaction(to_hex(raw)));
  if (!v.is_null()) {
    VK_TRY(h, decode_hash(v, "eth_sendRawTransaction"));
    if (h != local) {
      return unexpected(malformed("eth_sendRawTransaction", "node returned another hash"));
    }
  }
  return local;
}

RpcExpected<std::optional<TransactionReceipt>> EthClient::transaction_receipt(const Hash32& hash) {
  VK_TRY(v, pool_.call("eth_getTransactionReceipt", Json::array({to_hex(hash)})));
  if (v.is_null()) {
    return std::optional<TransactionReceipt>{};
  }
  VK_TRY(r, decode_receipt(v));
  return std::optional<TransactionReceipt>(std::move(r));
}

RpcExpected<std::vector<LogEntry>> EthClient::get_logs(const LogFilter& filter) {
  Json f = Json::object();
  if (filter.from_block) {
    f["fromBlock"] = u256_to_quantity(U256(*filter.from_block));
  }
  if (filter.to_block) {
    f["toBlock"] = u256_to_quantity(U256(*filter.to_block));
  }
  if (!filter.addresses.empty()) {
    Json a = Json::array();
    for (const auto& addr : filter.addresses) {
      a.push_back(to_hex(addr));
    }
    f["address"] = a;
  }
  if (!filter.topics.empty()) {
    Json t = Json::array();
    for (const auto& topic : filter.topics) {
      t.push_back(topic ? Json(to_hex(*topic)) : Json(nullptr));
    }
    f["topics"] = t;
  }
  VK_TRY(v, pool_.call("eth_getLogs", Json::array({f})));
  if (!v.is_array()) {
    return unexpected(malformed("eth_getLogs", "not an array"));
  }
  std::vector<LogEntry> out;
  for (const auto& l : v) {
    VK_TRY(log, decode_log(l));
    out.push_back(std::move(log));
  }
  return out;
}

}  // namespace varkeeper::chain
