#include "chain/transaction.hpp"

#include <limits>

#include "chain/keccak.hpp"

namespace varkeeper::chain {

std::string_view to_string(TxError e) noexcept {
  switch (e) {
    case TxError::kEmpty: return "empty transaction bytes";
    case TxError::kUnsupportedType: return "unsupported transaction type";
    case TxError::kRlp: return "malformed transaction RLP";
    case TxError::kWrongFieldCount: return "wrong number of transaction fields";
    case TxError::kBadToLength: return "transaction 'to' is neither empty nor 20 bytes";
    case TxError::kBadAccessList: return "malformed access list";
    case TxError::kBadV: return "invalid signature v / y parity";
    case TxError::kChainIdOverflow: return "EIP-155 chain id exceeds 64 bits";
    case TxError::kInvalidSignature: return "signature r or s out of range";
    case TxError::kHighS: return "signature s above n/2 (EIP-2)";
  }
  return "unknown transaction error";
}

std::string describe(const TxDecodeError& e) {
  std::string text(to_string(e.code));
  if (e.rlp) {
    text += ": ";
    text += to_string(*e.rlp);
  }
  return text;
}

namespace {

// SEC 2, section 2.4.1: the secp256k1 group order n (function-local: no static-init order).
const U256& group_order() {
  static const U256 n{"0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"};
  return n;
}

// Rough upper bound of an encoding, so one allocation usually suffices.
std::size_t size_hint(const Transaction& tx) {
  return std::visit([](const auto& t) { return 160 + t.data.size(); }, tx) +
         (std::holds_alternative<Eip1559Transaction>(tx)
              ? std::get<Eip1559Transaction>(tx).access_list.size() * 64
              : 0);
}

void add_to(RlpEncoder& enc, const std::optional<Address>& to) {
  if (to) {
    enc.add_fixed(*to);
  } else {
    enc.add_bytes({});  // contract creation: the empty string
  }
}

void add_access_list(RlpEncoder& enc, const AccessList& list) {
  const auto outer = enc.begin_list();
  for (const auto& entry : list) {
    const auto pair = enc.begin_list();
    enc.add_fixed(entry.address);
    const auto keys = enc.begin_list();
    for (const auto& key : entry.storage_keys) {
      enc.add_fixed(key);
    }
    enc.end_list(keys);
    enc.end_list(pair);
  }
  enc.end_list(outer);
}

// The fields every form shares, in order, without the list header.
void add_fields(RlpEncoder& enc, const LegacyTransaction& t) {
  enc.add_uint(t.nonce);
  enc.add_u256(t.gas_price);
  enc.add_uint(t.gas_limit);
  add_to(enc, t.to);
  enc.add_u256(t.value);
  enc.add_bytes(t.data);
}

void add_fields(RlpEncoder& enc, const Eip1559Transaction& t) {
  enc.add_uint(t.chain_id);
  enc.add_uint(t.nonce);
  enc.add_u256(t.max_priority_fee_per_gas);
  enc.add_u256(t.max_fee_per_gas);
  enc.add_uint(t.gas_limit);
  add_to(enc, t.to);
  enc.add_u256(t.value);
  enc.add_bytes(t.data);
  add_access_list(enc, t.access_list);
}

// Signature values are scalars: big-endian without leading zeros.
void add_word(RlpEncoder& enc, const Hash32& word) {
  std::size_t first = 0;
  while (first < word.size() && word[first] == 0) {
    ++first;
  }
  enc.add_bytes(ByteView(word).subspan(first));
}

// Encodes `tx`, with `sig` appended (signed form) or the signing-payload fields (unsigned).
Bytes encode(const Transaction& tx, const Signature* sig) {
  Bytes out;
  out.reserve(size_hint(tx));
  RlpEncoder enc(out);
  if (const auto* legacy = std::get_if<LegacyTransaction>(&tx)) {
    const auto list = enc.begin_list();
    add_fields(enc, *legacy);
    if (sig != nullptr) {
      enc.add_u256(legacy_v(*legacy, sig->y_parity));
      add_word(enc, sig->r);
      add_word(enc, sig->s);
    } else if (legacy->chain_id) {
      // EIP-155: hash nine elements, with v replaced by CHAIN_ID, r = 0 and s = 0.
      enc.add_uint(*legacy->chain_id);
      enc.add_uint(0);
      enc.add_uint(0);
    }
    enc.end_list(list);
    return out;
  }
  const auto& t = std::get<Eip1559Transaction>(tx);
  out.push_back(kEip1559TxType);  // EIP-2718: TransactionType || TransactionPayload
  const auto list = enc.begin_list();
  add_fields(enc, t);
  if (sig != nullptr) {
    enc.add_uint(sig->y_parity);
    add_word(enc, sig->r);
    add_word(enc, sig->s);
  }
  enc.end_list(list);
  return out;
}

}  // namespace

U256 legacy_v(const LegacyTransaction& tx, std::uint8_t y_parity) {
  if (!tx.chain_id) {
    return U256(27 + y_parity);
  }
  return U256(*tx.chain_id) * 2 + 35 + y_parity;  // EIP-155
}

Bytes encode_unsigned(const Transaction& tx) { return encode(tx, nullptr); }

Hash32 signing_hash(const Transaction& tx) { return keccak256(encode_unsigned(tx)); }

SignedTransaction sign_transaction(Transaction tx, const SecretKey& key) {
  const Signature sig = sign_hash(signing_hash(tx), key);
  return SignedTransaction{std::move(tx), sig};
}

Bytes encode_signed(const SignedTransaction& stx) { return encode(stx.tx, &stx.signature); }

Hash32 transaction_hash(const SignedTransaction& stx) { return keccak256(encode_signed(stx)); }

Expected<Address, SignatureError> recover_sender(const SignedTransaction& stx) {
  return recover_address(signing_hash(stx.tx), stx.signature);
}

// ---------------------------------------------------------------------------------------------
// Decoding

namespace {

Unexpected<TxDecodeError> fail(const TxDecodeError& e) { return unexpected(e); }
Unexpected<TxDecodeError> fail(TxError code) { return unexpected(TxDecodeError{code, {}}); }
Unexpected<TxDecodeError> fail(RlpError rlp) {
  return unexpected(TxDecodeError{TxError::kRlp, rlp});
}

// Unwraps an RLP result or returns its error from the enclosing function.
#define VK_TRY(var, expr)                               \
  auto var##_result = (expr);                           \
  if (!var##_result) return fail(var##_result.error()); \
  auto var = std::move(*var##_result)  // NOLINT(bugprone-macro-parentheses): declares var

Expected<std::optional<Address>, TxDecodeError> read_to(RlpListReader& r) {
  auto item = r.next();
  if (!item) {
    return fail(item.error());
  }
  auto bytes = rlp_bytes(*item);
  if (!bytes) {
    return fail(bytes.error());
  }
  if (bytes->empty()) {
    return std::optional<Address>{};
  }
  if (bytes->size() != 20) {
    return fail(TxError::kBadToLength);
  }
  Address a{};
  for (std::size_t i = 0; i < 20; ++i) {
    a[i] = (*bytes)[i];
  }
  return std::optional<Address>{a};
}

Expected<AccessList, TxDecodeError> read_access_list(RlpListReader& r) {
  auto outer = r.next_list();
  if (!outer) {
    if (outer.error() == RlpError::kUnexpectedString) {
      return fail(TxError::kBadAccessList);
    }
    return fail(outer.error());
  }
  AccessList list;
  while (!outer->at_end()) {
    auto entry = outer->next_list();
    if (!entry) {
      if (entry.error() == RlpError::kUnexpectedString) {
        return fail(TxError::kBadAccessList);
      }
      return fail(entry.error());
    }
    AccessListEntry e;
    auto address = entry->next_fixed<20>();
    if (!address) {
      if (address.error() == RlpError::kUnexpectedList ||
          address.error() == RlpError::kUnexpectedLength ||
          address.error() == RlpError::kListEnded) {
        return fail(TxError::kBadAccessList);
      }
      return fail(address.error());
    }
    e.address = *address;
    auto keys = entry->next_list();
    if (!keys) {
      if (keys.error() == RlpError::kUnexpectedString || keys.error() == RlpError::kListEnded) {
        return fail(TxError::kBadAccessList);
      }
      return fail(keys.error());
    }
    while (!keys->at_end()) {
      auto key = keys->next_fixed<32>();
      if (!key) {
        if (key.error() == RlpError::kUnexpectedList ||
            key.error() == RlpError::kUnexpectedLength) {
          return fail(TxError::kBadAccessList);
        }
        return fail(key.error());
      }
      e.storage_keys.push_back(*key);
    }
    if (!entry->at_end()) {
      // Check the extra element is well-formed RLP before naming the shape error.
      auto extra = entry->next();
      if (!extra) {
        return fail(extra.error());
      }
      return fail(TxError::kBadAccessList);
    }
    list.push_back(std::move(e));
  }
  return list;
}

// Checks r and s (Yellow Paper appendix F; EIP-2 low s) and stores them as 32-byte words.
Expected<Signature, TxDecodeError> make_signature(const U256& r, const U256& s,
                                                  std::uint8_t y_parity) {
  const U256& n = group_order();
  if (r == 0 || r >= n || s == 0 || s >= n) {
    return fail(TxError::kInvalidSignature);
  }
  if (s > (n >> 1)) {
    return fail(TxError::kHighS);
  }
  return Signature{u256_to_be32(r), u256_to_be32(s), y_parity};
}

Expected<RlpListReader, TxDecodeError> open_fields(ByteView payload, std::size_t want) {
  auto list = RlpListReader::decode(payload);
  if (!list) {
    return fail(list.error());
  }
  auto n = list->count();
  if (!n) {
    return fail(n.error());
  }
  if (*n != want) {
    return fail(TxError::kWrongFieldCount);
  }
  return *list;  // RlpListReader is a trivially copyable view
}

Expected<SignedTransaction, TxDecodeError> decode_legacy(ByteView raw) {
  VK_TRY(r, open_fields(raw, 9));
  LegacyTransaction t;
  VK_TRY(nonce, r.next_u64());
  VK_TRY(gas_price, r.next_u256());
  VK_TRY(gas_limit, r.next_u64());
  VK_TRY(to, read_to(r));
  VK_TRY(value, r.next_u256());
  VK_TRY(data, r.next_bytes());
  VK_TRY(v, r.next_u256());
  VK_TRY(sig_r, r.next_u256());
  VK_TRY(sig_s, r.next_u256());
  t.nonce = nonce;
  t.gas_price = gas_price;
  t.gas_limit = gas_limit;
  t.to = to;
  t.value = value;
  t.data.assign(data.begin(), data.end());

  std::uint8_t y_parity = 0;
  if (v == 27 || v == 28) {
    y_parity = static_cast<std::uint8_t>(v - 27);  // Homestead, no replay protection
  } else if (v >= 35) {
    // EIP-155: v = CHAIN_ID * 2 + 35 + y.
    const U256 chain = (v - 35) / 2;
    if (chain > std::numeric_limits<std::uint64_t>::max()) {
      return fail(TxError::kChainIdOverflow);
    }
    t.chain_id = static_cast<std::uint64_t>(chain);
    y_parity = static_cast<std::uint8_t>((v - 35) % 2);
  } else {
    return fail(TxError::kBadV);
  }
  VK_TRY(sig, make_signature(sig_r, sig_s, y_parity));
  return SignedTransaction{std::move(t), sig};
}

Expected<SignedTransaction, TxDecodeError> decode_eip1559(ByteView payload) {
  VK_TRY(r, open_fields(payload, 12));
  Eip1559Transaction t;
  VK_TRY(chain_id, r.next_u64());
  VK_TRY(nonce, r.next_u64());
  VK_TRY(tip, r.next_u256());
  VK_TRY(fee_cap, r.next_u256());
  VK_TRY(gas_limit, r.next_u64());
  VK_TRY(to, read_to(r));
  VK_TRY(value, r.next_u256());
  VK_TRY(data, r.next_bytes());
  VK_TRY(access_list, read_access_list(r));
  VK_TRY(y_parity, r.next_u64());
  VK_TRY(sig_r, r.next_u256());
  VK_TRY(sig_s, r.next_u256());
  if (y_parity > 1) {
    return fail(TxError::kBadV);
  }
  t.chain_id = chain_id;
  t.nonce = nonce;
  t.max_priority_fee_per_gas = tip;
  t.max_fee_per_gas = fee_cap;
  t.gas_limit = gas_limit;
  t.to = to;
  t.value = value;
  t.data.assign(data.begin(), data.end());
  t.access_list = std::move(access_list);
  VK_TRY(sig, make_signature(sig_r, sig_s, static_cast<std::uint8_t>(y_parity)));
  return SignedTransaction{std::move(t), sig};
}

#undef VK_TRY

}  // namespace

Expected<SignedTransaction, TxDecodeError> decode_transaction(ByteView raw) {
  if (raw.empty()) {
    return fail(TxError::kEmpty);
  }
  // EIP-2718: a first byte in [0, 0x7f] is a transaction type; a legacy transaction is an RLP
  // list (first byte >= 0xc0). A first byte in [0x80, 0xbf] is an RLP string: not a transaction.
  if (raw[0] >= 0x80) {
    return decode_legacy(raw);
  }
  if (raw[0] != kEip1559TxType) {
    return fail(TxError::kUnsupportedType);
  }
  return decode_eip1559(raw.subspan(1));
}

}  // namespace varkeeper::chain
