// Ethereum transactions: legacy (with EIP-155 replay protection) and EIP-1559 (type 2, EIP-2718
// envelope). Encoding of the signing payload, signing, raw signed bytes, the transaction hash,
// and a strict decoder of raw bytes with sender recovery.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "chain/address.hpp"
#include "chain/bytes.hpp"
#include "chain/expected.hpp"
#include "chain/rlp.hpp"
#include "chain/secp256k1.hpp"
#include "chain/secret_key.hpp"
#include "chain/uint256.hpp"

namespace varkeeper::chain {

// EIP-2930 access list entry: an address and the storage slots the transaction will touch.
struct AccessListEntry {
  Address address{};
  std::vector<Hash32> storage_keys;
  friend bool operator==(const AccessListEntry&, const AccessListEntry&) = default;
};
using AccessList = std::vector<AccessListEntry>;

// Pre-EIP-2718 transaction. With a chain id it is signed per EIP-155 (v = chain_id * 2 + 35 + y);
// without one it is an unprotected Homestead transaction (v = 27 + y), decoded but never signed.
struct LegacyTransaction {
  std::uint64_t nonce = 0;
  U256 gas_price = 0;
  std::uint64_t gas_limit = 0;
  std::optional<Address> to;  // empty: contract creation
  U256 value = 0;
  Bytes data;
  std::optional<std::uint64_t> chain_id;
  friend bool operator==(const LegacyTransaction&, const LegacyTransaction&) = default;
};

// EIP-1559 fee-market transaction, EIP-2718 type 0x02.
struct Eip1559Transaction {
  std::uint64_t chain_id = 1;
  std::uint64_t nonce = 0;
  U256 max_priority_fee_per_gas = 0;
  U256 max_fee_per_gas = 0;
  std::uint64_t gas_limit = 0;
  std::optional<Address> to;  // empty: contract creation
  U256 value = 0;
  Bytes data;
  AccessList access_list;
  friend bool operator==(const Eip1559Transaction&, const Eip1559Transaction&) = default;
};

using Transaction = std::variant<LegacyTransaction, Eip1559Transaction>;

struct SignedTransaction {
  Transaction tx;
  Signature signature;  // y_parity 0/1; a legacy v is derived from it and the chain id
  friend bool operator==(const SignedTransaction&, const SignedTransaction&) = default;
};

inline constexpr std::uint8_t kEip1559TxType = 0x02;

// The bytes whose Keccak-256 is signed: legacy RLP([nonce, gasPrice, gas, to, value, data] and,
// per EIP-155, chainId, 0, 0); type 2: 0x02 || RLP([chainId, nonce, maxPriorityFeePerGas,
// maxFeePerGas, gas, to, value, data, accessList]) (EIP-1559).
[[nodiscard]] Bytes encode_unsigned(const Transaction& tx);
[[nodiscard]] Hash32 signing_hash(const Transaction& tx);

// Signs with RFC 6979 nonces (low-s). A legacy transaction without a chain id is signed as a
// pre-EIP-155 transaction; callers that broadcast should always set one.
[[nodiscard]] SignedTransaction sign_transaction(Transaction tx, const SecretKey& key);

// The raw signed bytes (eth_sendRawTransaction): legacy RLP list, or 0x02 || RLP(...).
[[nodiscard]] Bytes encode_signed(const SignedTransaction& stx);
// Keccak-256 of the raw signed bytes.
[[nodiscard]] Hash32 transaction_hash(const SignedTransaction& stx);

// The legacy `v` value: 27 + y, or chain_id * 2 + 35 + y (EIP-155).
[[nodiscard]] U256 legacy_v(const LegacyTransaction& tx, std::uint8_t y_parity);

enum class TxError {
  kEmpty,             // no bytes
  kUnsupportedType,   // an EIP-2718 type other than 0x02 (0x01, 0x03, ...), or a reserved byte
  kRlp,               // malformed RLP: see TxDecodeError::rlp
  kWrongFieldCount,   // not 9 (legacy) or 12 (type 2) fields
  kBadToLength,       // `to` neither empty nor 20 bytes
  kBadAccessList,     // an access list entry not [address(20), [key(32), ...]]
  kBadV,              // legacy v not 27, 28 or >= 35 (EIP-155); type 2 y_parity not 0 or 1
  kChainIdOverflow,   // an EIP-155 chain id above 2^64 - 1
  kInvalidSignature,  // r or s zero or not below the group order
  kHighS,             // s above n/2 (EIP-2)
};

struct TxDecodeError {
  TxError code = TxError::kEmpty;
  std::optional<RlpError> rlp;  // set when code == kRlp
  friend bool operator==(const TxDecodeError&, const TxDecodeError&) = default;
};

[[nodiscard]] std::string_view to_string(TxError e) noexcept;
// One sentence for a user: "malformed transaction RLP: RLP length has a leading zero byte".
[[nodiscard]] std::string describe(const TxDecodeError& e);

// Strictly decodes raw signed bytes: canonical RLP, canonical integers, no trailing bytes, the
// signature in range and low-s. An accepted input re-encodes to exactly the same bytes.
[[nodiscard]] Expected<SignedTransaction, TxDecodeError> decode_transaction(ByteView raw);

// The sender: the address whose key produced the signature over signing_hash(tx).
[[nodiscard]] Expected<Address, SignatureError> recover_sender(const SignedTransaction& stx);

}  // namespace varkeeper::chain
