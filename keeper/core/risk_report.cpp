#include "keeper/core/risk_report.hpp"

#include <stdexcept>

#include "chain/abi.hpp"
#include "chain/abi_type.hpp"
#include "chain/eip712.hpp"
#include "chain/keccak.hpp"

namespace varkeeper::keeper {

using chain::AbiValue;
using chain::Hash32;
using chain::U256;

namespace {

const chain::Eip712Types& report_types() {
  static const chain::Eip712Types types = [] {
    chain::Eip712Types t;
    auto added = t.add({"RiskReport",
                        {{"portfolioId", "uint64"},
                         {"round", "uint64"},
                         {"observedAt", "uint64"},
                         {"horizon", "uint32"},
                         {"confidence", "uint64"},
                         {"method", "uint8"},
                         {"breakerStatus", "uint8"},
                         {"portfolioValue", "uint96"},
                         {"valueAtRisk", "uint64"},
                         {"expectedShortfall", "uint64"},
                         {"configHash", "bytes32"}}});
    if (!added) {
      throw std::logic_error("RiskReport EIP-712 type: " + added.error().message());
    }
    return t;
  }();
  return types;
}

chain::Eip712Value to_eip712(const OnchainReport& r) {
  return chain::Eip712Value::Struct{
      {"portfolioId", U256(r.portfolio_id)},
      {"round", U256(r.round)},
      {"observedAt", U256(r.observed_at)},
      {"horizon", U256(r.horizon)},
      {"confidence", U256(r.confidence)},
      {"method", U256(r.method)},
      {"breakerStatus", U256(r.breaker_status)},
      {"portfolioValue", r.portfolio_value},
      {"valueAtRisk", U256(r.value_at_risk)},
      {"expectedShortfall", U256(r.expected_shortfall)},
      {"configHash", r.config_hash},
  };
}

AbiValue report_tuple(const OnchainReport& r) {
  return AbiValue::from_list({
      AbiValue::from_uint(r.portfolio_id),
      AbiValue::from_uint(r.round),
      AbiValue::from_uint(r.observed_at),
      AbiValue::from_uint(r.horizon),
      AbiValue::from_uint(r.confidence),
      AbiValue::from_uint(r.method),
      AbiValue::from_uint(r.breaker_status),
      AbiValue::from_uint(r.portfolio_value),
      AbiValue::from_uint(r.value_at_risk),
      AbiValue::from_uint(r.expected_shortfall),
      AbiValue::from_bytes(chain::Bytes(r.config_hash.begin(), r.config_hash.end())),
  });
}

AbiValue signature_tuple(const chain::Signature& s) {
  return AbiValue::from_list({AbiValue::from_uint(27u + s.y_parity),
                              AbiValue::from_bytes(chain::Bytes(s.r.begin(), s.r.end())),
                              AbiValue::from_bytes(chain::Bytes(s.s.begin(), s.s.end()))});
}

constexpr const char* kReportTuple =
    "(uint64,uint64,uint64,uint32,uint64,uint8,uint8,uint96,uint64,uint64,bytes32)";
constexpr const char* kSignatureTuple = "(uint8,bytes32,bytes32)";

chain::Bytes encode_or_throw(const std::string& signature, const std::vector<AbiValue>& args) {
  const auto sig = chain::parse_abi_signature(signature);
  if (!sig) {
    throw std::logic_error("bad ABI signature " + signature);
  }
  auto data = chain::encode_call(*sig, args);
  if (!data) {
    throw std::logic_error("cannot encode " + signature);
  }
  return std::move(*data);
}

}  // namespace

Hash32 report_domain_separator(const OracleDomain& domain) {
  return chain::domain_separator(
      {"varkeeper RiskOracle", "1", domain.chain_id, domain.verifying_contract, std::nullopt});
}

Hash32 report_struct_hash(const OnchainReport& report) {
  auto h = report_types().hash_struct("RiskReport", to_eip712(report));
  if (!h) {
    throw std::invalid_argument("report does not fit its EIP-712 type: " + h.error().message());
  }
  return *h;
}

Hash32 report_digest(const OracleDomain& domain, const OnchainReport& report) {
  return chain::eip712_digest(report_domain_separator(domain), report_struct_hash(report));
}

chain::Signature sign_report(const OracleDomain& domain, const OnchainReport& report,
                             const chain::SecretKey& key) {
  return chain::sign_hash(report_digest(domain, report), key);
}

chain::Bytes encode_report_words(const OnchainReport& report) {
  const auto type = chain::parse_abi_type(kReportTuple);
  auto out = chain::abi_encode({*type}, {report_tuple(report)});
  if (!out) {
    throw std::invalid_argument("report does not fit its ABI type");
  }
  return std::move(*out);
}

chain::Bytes submit_calldata(const OnchainReport& report,
                             const std::vector<chain::Signature>& signatures) {
  AbiValue::List sigs;
  for (const auto& s : signatures) {
    sigs.push_back(signature_tuple(s));
  }
  return encode_or_throw(std::string("submit(") + kReportTuple + "," + kSignatureTuple + "[])",
                         {report_tuple(report), AbiValue::from_list(std::move(sigs))});
}

chain::Bytes submit_batch_calldata(const std::vector<OnchainReport>& reports,
                                   const std::vector<std::vector<chain::Signature>>& signatures) {
  AbiValue::List rs;
  for (const auto& r : reports) {
    rs.push_back(report_tuple(r));
  }
  AbiValue::List ss;
  for (const auto& per : signatures) {
    AbiValue::List row;
    for (const auto& s : per) {
      row.push_back(signature_tuple(s));
    }
    ss.push_back(AbiValue::from_list(std::move(row)));
  }
  return encode_or_throw(
      std::string("submitBatch(") + kReportTuple + "[]," + kSignatureTuple + "[][])",
      {AbiValue::from_list(std::move(rs)), AbiValue::from_list(std::move(ss))});
}

}  // namespace varkeeper::keeper
