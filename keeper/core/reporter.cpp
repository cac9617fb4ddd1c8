#include "keeper/core/reporter.hpp"

#include "chain/abi.hpp"
#include "chain/abi_codec.hpp"
#include "chain/abi_type.hpp"
#include "chain/hex.hpp"

namespace varkeeper::keeper {

using chain::U256;

chain::Bytes latest_calldata(std::uint64_t portfolio_id) {
  const auto sig = chain::parse_abi_signature("latest(uint64)");
  return *chain::encode_call(*sig, {chain::AbiValue::from_uint(portfolio_id)});
}

std::optional<AcceptedReport> decode_accepted_report(chain::ByteView data) {
  const auto type = chain::parse_abi_type(
      "(uint64,uint64,uint64,uint64,uint96,uint64,uint32,uint8,uint8,uint40,bytes32)");
  auto values = chain::abi_decode({*type}, data);
  if (!values) {
    return std::nullopt;
  }
  const auto& f = *(*values)[0].as_list();
  const auto u = [&](std::size_t i) { return *f[i].as_uint(); };
  AcceptedReport r;
  r.round = static_cast<std::uint64_t>(u(0));
  r.observed_at = static_cast<std::uint64_t>(u(1));
  r.value_at_risk = static_cast<std::uint64_t>(u(2));
  r.expected_shortfall = static_cast<std::uint64_t>(u(3));
  r.portfolio_value = u(4);
  r.confidence = static_cast<std::uint64_t>(u(5));
  r.horizon = static_cast<std::uint32_t>(u(6));
  r.method = static_cast<std::uint8_t>(u(7));
  r.breaker_status = static_cast<std::uint8_t>(u(8));
  r.accepted_at = static_cast<std::uint64_t>(u(9));
  const auto& h = *f[10].as_bytes();
  std::copy(h.begin(), h.end(), r.config_hash.begin());
  return r;
}

Reporter::Reporter(chain::EthClient& eth, chain::TxManager& tx,
                   std::vector<chain::SecretKey> signers,
                   std::map<std::uint64_t, PortfolioSpec> portfolios, ReporterOptions options)
    : eth_(eth),
      tx_(tx),
      signers_(std::move(signers)),
      portfolios_(std::move(portfolios)),
      options_(options),
      domain_{U256(options.chain_id), options.risk_oracle} {}

void Reporter::resume() {
  for (const auto& [pid, spec] : portfolios_) {
    auto data = eth_.call({{}, options_.risk_oracle, latest_calldata(pid), {}, {}});
    if (!data) {
      continue;  // NoReport(pid) reverts: no round yet
    }
    if (const auto r = decode_accepted_report(*data)) {
      last_round_[pid] = std::max(last_round_[pid], r->round);
      last_observed_[pid] = std::max(last_observed_[pid], r->observed_at);
    }
  }
}

std::uint64_t Reporter::next_round(std::uint64_t portfolio_id) const {
  const auto it = last_round_.find(portfolio_id);
  return it == last_round_.end() ? 1 : it->second + 1;
}

void Reporter::skip_rounds_through(std::uint64_t portfolio_id, std::uint64_t used) {
  auto& last = last_round_[portfolio_id];
  last = std::max(last, used);
}

chain::Expected<OnchainReport, ReportError> Reporter::build(const PortfolioUpdate& u) const {
  return build_report(portfolios_.at(u.portfolio_id), u, next_round(u.portfolio_id));
}

SubmittedReports Reporter::publish(const std::vector<PortfolioUpdate>& updates) {
  SubmittedReports out;
  std::vector<std::vector<chain::Signature>> sigs;
  for (const auto& u : updates) {
    if (u.publish == PublishReason::kNone || !u.has_estimate) {
      continue;
    }
    auto built = build(u);
    if (!built) {
      out.unbuilt.push_back(built.error().message);
      continue;
    }
    auto& report = *built;
    // RiskOracle refuses a round whose observation is not newer than the last (TooSoon): wait
    // for fresher prices instead of paying for a refusal.
    if (const auto it = last_observed_.find(u.portfolio_id);
        it != last_observed_.end() && report.observed_at <= it->second) {
      out.not_sent.push_back("p" + std::to_string(u.portfolio_id) + " " + to_string(u.publish) +
                             ": observedAt " + std::to_string(report.observed_at) +
                             " is not after the last report's " + std::to_string(it->second) +
                             " (RiskOracle would refuse it: TooSoon)");
      continue;
    }
    std::vector<chain::Signature> per;
    for (const auto& key : signers_) {
      per.push_back(sign_report(domain_, report, key));
    }
    out.reports.push_back(report);
    sigs.push_back(std::move(per));
  }
  if (out.reports.empty()) {
    return out;
  }
  const chain::Bytes data = out.reports.size() == 1 ? submit_calldata(out.reports[0], sigs[0])
                                                    : submit_batch_calldata(out.reports, sigs);
  // Simulate first: a refused report costs nothing and is reported with its custom error.
  chain::CallRequest sim{tx_.sender(), options_.risk_oracle, data, {}, {}};
  auto simulated = eth_.call(sim);
  if (!simulated) {
    const auto& e = simulated.error();
    out.refused = e.describe();
    if (e.data.is_string()) {
      out.refused += " data " + e.data.get<std::string>();
    }
    return out;
  }
  std::string key = "report";
  for (const auto& r : out.reports) {
    key += ":" + std::to_string(r.portfolio_id) + "." + std::to_string(r.round);
  }
  chain::TxRequest req;
  req.key = key;
  req.to = options_.risk_oracle;
  req.data = data;
  req.gas_limit = options_.gas_per_report == 0 ? 0 : options_.gas_per_report * out.reports.size();
  req.label = "report";
  out.tx_id = tx_.enqueue(req);
  for (const auto& r : out.reports) {
    last_round_[r.portfolio_id] = r.round;
    last_observed_[r.portfolio_id] = r.observed_at;
  }
  return out;
}

}  // namespace varkeeper::keeper
