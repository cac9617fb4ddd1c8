// The message keepers of one network exchange (issue 18): one keeper's signed RiskOracle report
// for (portfolio, round), as a flat JSON object whose values are all strings:
//
//   {"version":"1","portfolioId":"1","round":"7","observedAt":"1765000000","horizon":"86400",
//    "confidence":"990000000000000000","method":"0","breakerStatus":"0",
//    "portfolioValue":"1234500000000","valueAtRisk":"...","expectedShortfall":"...",
//    "configHash":"0x<64 hex>","triggerBlock":"120","signer":"0x<40 hex>",
//    "signature":"0x<r 64 hex><s 64 hex><v 27|28 as 2 hex>"}
//
// Integers are decimal without sign or leading zeros, within the report field's Solidity width
// (uint64, uint32, uint8, uint96); hex is lower or upper case, "0x"-prefixed. The decoder is
// strict: at most kMaxPeerMessageBytes, a single JSON object, exactly these keys (no unknown, no
// missing, no duplicate key), string values without escapes, nothing after the object.
//
// A message authenticates itself: the decoder recovers the signer from the EIP-712 digest of the
// report (report_digest, keeper/core/risk_report.hpp) and refuses a high-s or invalid signature
// and one that does not recover to the "signer" the message names. Whether that signer is a peer
// we trust, and an on-chain signer, is the SignatureBook's question, not the codec's.
// "triggerBlock" is not signed (it is not in the report): informational only.
//
// Nothing in keeper/network signs: no function here takes a key. The caller signs its own report
// (sign_report) and builds its PeerReport from it; peers' signatures are only verified and kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "chain/address.hpp"
#include "chain/expected.hpp"
#include "chain/secp256k1.hpp"
#include "keeper/core/risk_report.hpp"

namespace varkeeper::keeper::network {

inline constexpr std::size_t kMaxPeerMessageBytes = 4096;

struct PeerReport {
  OnchainReport report;
  chain::Signature signature;
  std::uint64_t trigger_block = 0;
  // Recovered from the signature on decode; never trusted from the wire.
  chain::Address signer{};
  friend bool operator==(const PeerReport&, const PeerReport&) = default;
};

[[nodiscard]] std::string encode_peer_report(const PeerReport& message);

// The message, with `signer` recovered from its signature over report_digest(domain, report);
// or one sentence saying what is wrong (which field, why).
[[nodiscard]] chain::Expected<PeerReport, std::string> decode_peer_report(
    std::string_view body, const OracleDomain& domain);

}  // namespace varkeeper::keeper::network
