#include "keeper/daemon/chainlink_source.hpp"

#include <cmath>
#include <stdexcept>

#include "chain/hex.hpp"
#include "chain/uint256.hpp"
#include "keeper/core/units.hpp"

namespace varkeeper::keeper {

using chain::Json;
using chain::U256;

namespace {
// AggregatorV3Interface selectors: keccak256 of the signature, first 4 bytes.
constexpr const char* kDecimals = "0x313ce567";         // decimals()
constexpr const char* kLatestRoundData = "0xfeaf968c";  // latestRoundData()
constexpr const char* kGetRoundData = "0x9a6fc8f5";     // getRoundData(uint80)

U256 word(chain::ByteView data, std::size_t i) {
  return *chain::u256_from_be(data.subspan(32 * i, 32));
}

chain::RpcRequest eth_call(const chain::Address& to, const std::string& data, const Json& tag) {
  return {"eth_call", Json::array({{{"to", chain::to_hex(to)}, {"data", data}}, tag})};
}
}  // namespace

std::optional<risk::RoundData> decode_round_data(chain::ByteView data, int decimals) {
  if (data.size() != 160 || decimals < 0 || decimals > 36) {
    return std::nullopt;
  }
  const U256 round = word(data, 0);
  const U256 answer = word(data, 1);
  const U256 started = word(data, 2);
  const U256 updated = word(data, 3);
  const U256 answered = word(data, 4);
  const U256 limit80 = (U256(1) << 80) - 1;
  const U256 limit63 = (U256(1) << 63) - 1;
  if (round > limit80 || answered > limit80 || started > limit63 || updated > limit63) {
    return std::nullopt;
  }
  risk::RoundData r;
  const auto split = [](const U256& id) {
    return risk::RoundId{static_cast<std::uint16_t>(id >> 64),
                         static_cast<std::uint64_t>(id & U256(0xFFFFFFFFFFFFFFFFULL))};
  };
  r.round_id = split(round);
  r.answered_in_round = split(answered);
  r.started_at = static_cast<std::int64_t>(started);
  r.updated_at = static_cast<std::int64_t>(updated);
  // int256 two's complement: a negative answer stays negative (the checks refuse it).
  const bool negative = (answer >> 255) != 0;
  const U256 magnitude = negative ? U256(~answer + 1) : answer;
  const double scaled = from_fixed(magnitude, decimals);
  r.answer = negative ? -scaled : scaled;
  return r;
}

ChainlinkSource::ChainlinkSource(chain::EthClient& eth, std::vector<FeedRef> feeds)
    : eth_(eth), feeds_(std::move(feeds)) {}

void ChainlinkSource::init() {
  std::vector<chain::RpcRequest> calls;
  for (const auto& f : feeds_) {
    calls.push_back(eth_call(f.aggregator, kDecimals, "latest"));
  }
  const auto results = eth_.pool().batch(calls);
  decimals_.clear();
  for (std::size_t i = 0; i < feeds_.size(); ++i) {
    const auto& f = feeds_[i];
    const std::string name =
        f.asset + "/" + f.source + " at " + chain::to_checksum_address(f.aggregator);
    const auto& r = results[i];
    if (!r) {
      throw std::runtime_error("price feed " + name +
                               ": decimals() failed: " + r.error().describe());
    }
    auto bytes = chain::decode_data(*r, "decimals");
    if (!bytes || bytes->empty()) {
      auto code = eth_.code(f.aggregator);
      if (code && code->empty()) {
        throw std::runtime_error("price feed " + name + " has no contract code on this chain");
      }
      throw std::runtime_error("price feed " + name + " does not answer decimals()");
    }
    if (bytes->size() != 32) {
      throw std::runtime_error("price feed " + name + ": malformed decimals()");
    }
    const U256 d = word(*bytes, 0);
    if (d > 36) {
      throw std::runtime_error("price feed " + name + ": decimals " + d.str() + " out of range");
    }
    decimals_.push_back(static_cast<int>(d));
  }
}

FeedPoll ChainlinkSource::poll(std::optional<std::uint64_t> block) {
  FeedPoll out;
  if (!block) {
    auto head = eth_.block_number();
    if (!head) {
      out.failures.push_back("block number: " + head.error().describe());
      return out;
    }
    block = *head;
  }
  out.block = *block;
  const Json tag = chain::u256_to_quantity(U256(*block));
  std::vector<chain::RpcRequest> calls;
  for (const auto& f : feeds_) {
    calls.push_back(eth_call(f.aggregator, kLatestRoundData, tag));
  }
  std::vector<chain::RpcResult> results;
  if (agree_quorum_ >= 2) {
    // The block itself must agree too (compared by hash): a node on another fork answers the
    // same height from another state.
    calls.push_back({"eth_getBlockByNumber", Json::array({tag, false})});
    auto agreed = eth_.pool().agreeing_batch(calls, agree_quorum_);
    if (!agreed) {
      out.disagreement = agreed.error().kind == chain::RpcErrorKind::kDisagreement;
      out.failures.push_back("price reads from " + std::to_string(agree_quorum_) +
                             " endpoints: " + agreed.error().describe());
      return out;
    }
    results = std::move(*agreed);
    results.pop_back();
  } else {
    results = eth_.pool().batch(calls);
  }
  for (std::size_t i = 0; i < feeds_.size(); ++i) {
    const auto& f = feeds_[i];
    const auto& r = results[i];
    if (!r) {
      out.failures.push_back(f.asset + "/" + f.source + ": " + r.error().describe());
      continue;
    }
    auto bytes = chain::decode_data(*r, "latestRoundData");
    std::optional<risk::RoundData> round;
    if (bytes) {
      round = decode_round_data(*bytes, decimals_.at(i));
    }
    if (!round) {
      out.failures.push_back(f.asset + "/" + f.source + ": malformed latestRoundData answer");
      continue;
    }
    out.readings.push_back({f.asset, f.source, *round, true});
  }
  return out;
}

std::vector<std::pair<std::int64_t, double>> ChainlinkSource::walk_back(std::size_t feed_index,
                                                                        std::size_t max_rounds) {
  std::vector<std::pair<std::int64_t, double>> out;
  const auto& f = feeds_.at(feed_index);
  auto latest = eth_.call({{}, f.aggregator, *chain::from_hex(kLatestRoundData), {}, {}});
  if (!latest) {
    return out;
  }
  const auto top = decode_round_data(*latest, decimals_.at(feed_index));
  if (!top) {
    return out;
  }
  const U256 top_id = (U256(top->round_id.phase) << 64) | top->round_id.aggregator_round;
  std::size_t done = 0;
  while (done < max_rounds) {
    std::vector<chain::RpcRequest> calls;
    for (std::size_t k = 0; k < 100 && done + k < max_rounds; ++k) {
      const U256 id = top_id - (done + k);
      if (id == 0 || (id & U256(0xFFFFFFFFFFFFFFFFULL)) == 0) {
        break;  // phase start
      }
      chain::Bytes data = *chain::from_hex(kGetRoundData);
      const auto w = chain::u256_to_be32(id);
      data.insert(data.end(), w.begin(), w.end());
      calls.push_back(eth_call(f.aggregator, chain::to_hex(data), "latest"));
    }
    if (calls.empty()) {
      break;
    }
    const auto results = eth_.pool().batch(calls);
    bool stop = false;
    for (const auto& r : results) {
      auto bytes = r ? chain::decode_data(*r, "getRoundData")
                     : chain::RpcExpected<chain::Bytes>(chain::Bytes{});
      const auto round = bytes ? decode_round_data(*bytes, decimals_.at(feed_index)) : std::nullopt;
      if (!round || round->updated_at == 0 || !(round->answer > 0.0)) {
        stop = true;
        break;
      }
      out.emplace_back(round->updated_at, round->answer);
      ++done;
    }
    if (stop) {
      break;
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace varkeeper::keeper
