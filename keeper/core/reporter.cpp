#include "keeper/core/reporter.hpp"

#include "chain/abi.hpp"
#include "chain/abi_codec.hpp"
#include "chain/abi_type.hpp"
#include "chain/contract.hpp"
#include "chain/hex.hpp"
#include "keeper/core/contract_errors.hpp"

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

void Reporter::track_in_flight(std::uint64_t portfolio_id, std::uint64_t tx_id) {
  carrying_[portfolio_id] = tx_id;
}

std::optional<std::uint64_t> Reporter::in_flight(std::uint64_t portfolio_id) const {
  const auto it = carrying_.find(portfolio_id);
  if (it == carrying_.end()) {
    return std::nullopt;
  }
  const auto rec = tx_.get(it->second);
  if (!rec) {
    return std::nullopt;
  }
  switch (rec->state) {
    case chain::TxState::kUnstarted:
    case chain::TxState::kInProgress:
    case chain::TxState::kUnconfirmed:
    case chain::TxState::kConfirmedMissingReceipt: return it->second;
    case chain::TxState::kConfirmed:
    case chain::TxState::kFinalized:
    case chain::TxState::kFatal: break;
  }
  return std::nullopt;
}

std::optional<OnchainReport> Reporter::waiting(std::uint64_t portfolio_id) const {
  const auto it = waiting_.find(portfolio_id);
  if (it == waiting_.end()) {
    return std::nullopt;
  }
  return it->second.report;
}

OnchainReport onchain_report(std::uint64_t portfolio_id, const AcceptedReport& r) {
  OnchainReport out;
  out.portfolio_id = portfolio_id;
  out.round = r.round;
  out.observed_at = r.observed_at;
  out.horizon = r.horizon;
  out.confidence = r.confidence;
  out.method = r.method;
  out.breaker_status = r.breaker_status;
  out.portfolio_value = r.portfolio_value;
  out.value_at_risk = r.value_at_risk;
  out.expected_shortfall = r.expected_shortfall;
  out.config_hash = r.config_hash;
  return out;
}

namespace {
std::string describe_refusal(const chain::RpcError& e) {
  // The oracle's custom error in human form (issue 19), e.g. "TooSoon: observed 2026-12-07
  // 23:23:12 UTC, earliest accepted 2026-12-07 23:24:12 UTC".
  if (const auto data = chain::revert_data_of(e)) {
    return "reverted: " + describe_revert(*data);
  }
  std::string out = e.describe();
  if (e.data.is_string()) {
    out += " data " + e.data.get<std::string>();
  }
  return out;
}
}  // namespace

bool is_revert(const chain::RpcError& e) {
  return e.kind == chain::RpcErrorKind::kRpcError &&
         (e.node_error == chain::NodeError::kExecutionReverted || chain::revert_data_of(e));
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
    if (const auto held = waiting_.find(u.portfolio_id); held != waiting_.end()) {
      out.superseded.push_back(
          {held->second.report, "superseded by round " + std::to_string(report.round)});
      waiting_.erase(held);
    }
    if (in_flight(u.portfolio_id)) {
      // One report transaction per portfolio in flight: this one waits, its round reserved.
      last_round_[u.portfolio_id] = report.round;
      out.waiting.push_back(report);
      waiting_[u.portfolio_id] = Held{report, std::move(per)};
      continue;
    }
    out.reports.push_back(report);
    sigs.push_back(std::move(per));
  }
  // Held reports whose portfolio is free again: simulated alone first (a newer round may have
  // landed, the report may be too old now), then sent with this tick's.
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (in_flight(it->first)) {
      ++it;
      continue;
    }
    const auto& held = it->second;
    auto sim = eth_.call({tx_.sender(),
                          options_.risk_oracle,
                          submit_calldata(held.report, held.signatures),
                          {},
                          {}});
    if (!sim && !is_revert(sim.error())) {
      ++it;  // no answer: simulated again next tick
      continue;
    }
    if (!sim) {
      out.dropped.push_back({held.report, "would revert: " + describe_refusal(sim.error())});
    } else {
      out.reports.push_back(held.report);
      out.were_waiting.push_back(held.report);
      sigs.push_back(held.signatures);
    }
    it = waiting_.erase(it);
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
    out.refused = describe_refusal(simulated.error());
    // Held reports passed alone: they wait again (their rows are stored).
    for (std::size_t i = 0; i < out.reports.size(); ++i) {
      for (const auto& w : out.were_waiting) {
        if (w.portfolio_id == out.reports[i].portfolio_id && w.round == out.reports[i].round) {
          waiting_[w.portfolio_id] = Held{w, sigs[i]};
        }
      }
    }
    out.were_waiting.clear();
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
    last_round_[r.portfolio_id] = std::max(last_round_[r.portfolio_id], r.round);
    last_observed_[r.portfolio_id] = std::max(last_observed_[r.portfolio_id], r.observed_at);
    carrying_[r.portfolio_id] = out.tx_id;
  }
  return out;
}

}  // namespace varkeeper::keeper
