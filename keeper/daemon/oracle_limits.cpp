#include "keeper/daemon/oracle_limits.hpp"

#include "chain/abi.hpp"
#include "chain/abi_codec.hpp"
#include "chain/abi_type.hpp"
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

std::vector<std::string> load_change_limits(chain::EthClient& eth, const chain::Address& oracle,
                                            Pipeline& pipeline) {
  std::vector<std::string> problems;
  for (const auto& p : pipeline.config().portfolios) {
    std::string why;
    const auto limit = read_change_limit(eth, oracle, p.id, why);
    if (!limit) {
      problems.push_back("portfolio " + std::to_string(p.id) + ": change limit not read: " + why);
      continue;
    }
    pipeline.set_change_limit(p.id, *limit);
    // The stored report is where the oracle measures the next change from (none yet: NoReport).
    auto data = eth.call({{}, oracle, latest_calldata(p.id), {}, {}});
    if (!data) {
      continue;
    }
    if (const auto r = decode_accepted_report(*data)) {
      OnchainReport stored;
      stored.portfolio_id = p.id;
      stored.round = r->round;
      stored.observed_at = r->observed_at;
      stored.value_at_risk = r->value_at_risk;
      stored.expected_shortfall = r->expected_shortfall;
      stored.breaker_status = r->breaker_status;
      pipeline.restore_published(stored, static_cast<std::int64_t>(r->accepted_at));
    }
  }
  return problems;
}

}  // namespace varkeeper::keeper
