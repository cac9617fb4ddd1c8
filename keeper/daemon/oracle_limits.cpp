#include "keeper/daemon/oracle_limits.hpp"

#include <utility>

#include "chain/abi.hpp"
#include "chain/abi_codec.hpp"
#include "chain/abi_type.hpp"
#include "chain/contract.hpp"
#include "keeper/core/reporter.hpp"

namespace varkeeper::keeper {

namespace {

// The decoded words of `signature(pid)` called on the oracle, as `types`; nullopt on failure.
std::optional<std::vector<chain::AbiValue>> call_view(chain::EthClient& eth,
                                                      const chain::Address& oracle,
                                                      const char* signature, const char* types,
                                                      std::uint64_t portfolio_id,
                                                      std::string& why) {
  const auto sig = chain::parse_abi_signature(signature);
  const auto data = chain::encode_call(*sig, {chain::AbiValue::from_uint(portfolio_id)});
  auto answer = eth.call({{}, oracle, *data, {}, {}});
  if (!answer) {
    why = std::string(signature) + ": " + answer.error().describe();
    return std::nullopt;
  }
  const auto type_list = chain::parse_abi_type_list(types);
  auto values = chain::abi_decode(*type_list, *answer);
  if (!values) {
    why = std::string(signature) + ": the answer does not decode as " + types;
    return std::nullopt;
  }
  return std::move(*values);
}

// The fields the change limit measures from (RiskOracle._checkHistory).
bool same_base(const OnchainReport& a, const OnchainReport& b) {
  return a.round == b.round && a.observed_at == b.observed_at &&
         a.value_at_risk == b.value_at_risk && a.expected_shortfall == b.expected_shortfall &&
         a.breaker_status == b.breaker_status;
}

}  // namespace

std::optional<ChangeLimit> read_change_limit(chain::EthClient& eth, const chain::Address& oracle,
                                             std::uint64_t portfolio_id, std::string& why) {
  const auto limits =
      call_view(eth, oracle, "limits(uint64)", "(uint32,uint32,uint64)", portfolio_id, why);
  if (!limits) {
    return std::nullopt;
  }
  const auto policy =
      call_view(eth, oracle, "changePolicy(uint64)", "(uint32,uint8)", portfolio_id, why);
  if (!policy) {
    return std::nullopt;
  }
  ChangeLimit out;
  out.max_change = static_cast<std::uint64_t>(*(*limits)[2].as_uint());
  out.period_s = static_cast<std::uint64_t>(*(*policy)[0].as_uint());
  out.breaker_widening = static_cast<std::uint64_t>(*(*policy)[1].as_uint());
  return out;
}

OracleSync::OracleSync(chain::EthClient& eth, const chain::Address& oracle, Pipeline& pipeline,
                       std::function<bool(std::uint64_t)> tx_open, std::uint64_t every_ticks)
    : eth_(eth),
      oracle_(oracle),
      pipeline_(pipeline),
      tx_open_(std::move(tx_open)),
      every_ticks_(every_ticks) {}

std::vector<std::string> OracleSync::start() { return read(/*at_start=*/true); }

std::vector<std::string> OracleSync::after_tick(const TickSummary& s) {
  // The reports sent this tick are the pipeline's base now (KeeperLoop marked them published)
  // until their transaction ends.
  for (const auto& r : s.submitted.reports) {
    base_[r.portfolio_id] = r;
    awaiting_[r.portfolio_id] = s.submitted.tx_id;
  }
  bool due =
      retry_ || !s.submitted.refused.empty() || (every_ticks_ != 0 && s.tick % every_ticks_ == 0);
  for (const auto& [pid, tx_id] : awaiting_) {
    due = due || !tx_open_(tx_id);
  }
  if (!due) {
    return {};
  }
  return read(/*at_start=*/false);
}

std::vector<std::string> OracleSync::read(bool at_start) {
  ++reads_;
  retry_ = false;
  std::vector<std::string> problems;
  const auto failed = [&](std::uint64_t pid, const std::string& what) {
    problems.push_back("portfolio " + std::to_string(pid) + ": " + what);
    retry_ = true;
  };
  for (const auto& p : pipeline_.config().portfolios) {
    std::string why;
    if (const auto limit = read_change_limit(eth_, oracle_, p.id, why)) {
      limits_[p.id] = *limit;
      pipeline_.set_change_limit(p.id, *limit);
    } else {
      failed(p.id, "change limit not read: " + why);
      if (at_start) {
        continue;
      }
    }
    // A report on its way stays the base until its transaction ends.
    if (const auto it = awaiting_.find(p.id); it != awaiting_.end()) {
      if (tx_open_(it->second)) {
        continue;
      }
      awaiting_.erase(it);
    }
    // The stored report is where the oracle measures the next change from (none yet: NoReport,
    // a revert; the base then stays what it is).
    auto data = eth_.call({{}, oracle_, latest_calldata(p.id), {}, {}});
    if (!data) {
      const bool reverted = data.error().node_error == chain::NodeError::kExecutionReverted ||
                            chain::revert_data_of(data.error()).has_value();
      if (!reverted) {
        failed(p.id, "latest() not read: " + data.error().describe());
      }
      continue;
    }
    const auto r = decode_accepted_report(*data);
    if (!r) {
      failed(p.id, "latest() does not decode as an AcceptedReport");
      continue;
    }
    const OnchainReport stored = onchain_report(p.id, *r);
    if (at_start) {
      pipeline_.restore_published(stored, static_cast<std::int64_t>(r->accepted_at));
    } else if (const auto it = base_.find(p.id);
               it == base_.end() || !same_base(it->second, stored)) {
      // A sent report that did not land, or one relayed by someone else: step from the oracle's.
      pipeline_.mark_published(stored, static_cast<std::int64_t>(r->accepted_at));
    }
    base_[p.id] = stored;
  }
  return problems;
}

std::optional<ChangeLimit> OracleSync::limit(std::uint64_t portfolio_id) const {
  const auto it = limits_.find(portfolio_id);
  return it == limits_.end() ? std::nullopt : std::optional<ChangeLimit>(it->second);
}

std::optional<OnchainReport> OracleSync::base(std::uint64_t portfolio_id) const {
  const auto it = base_.find(portfolio_id);
  return it == base_.end() ? std::nullopt : std::optional<OnchainReport>(it->second);
}

}  // namespace varkeeper::keeper
