// Prices from Chainlink-compatible aggregators (AggregatorV3Interface): every feed read in one
// batched JSON-RPC request pinned to one block, so all prices of a tick are from the same state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chain/address.hpp"
#include "chain/eth_client.hpp"
#include "keeper/core/pipeline.hpp"

namespace varkeeper::keeper {

struct FeedRef {
  std::string asset;
  std::string source;
  chain::Address aggregator{};
};

struct FeedPoll {
  std::vector<PriceReading> readings;  // one per feed that answered sensibly
  std::vector<std::string> failures;   // one sentence per feed that did not
  std::uint64_t block = 0;
  // The endpoints asked to agree (ChainlinkSource::require_agreement) gave different answers:
  // a lying or forked endpoint. No reading is returned from such a poll.
  bool disagreement = false;
};

// Decodes latestRoundData()/getRoundData() return data (5 words: uint80 roundId, int256 answer,
// uint256 startedAt, uint256 updatedAt, uint80 answeredInRound), scaling the answer by `decimals`.
// Strict: wrong length, a roundId above 80 bits or timestamps above 2^63 are refused.
[[nodiscard]] std::optional<risk::RoundData> decode_round_data(chain::ByteView data, int decimals);

class ChainlinkSource {
 public:
  ChainlinkSource(chain::EthClient& eth, std::vector<FeedRef> feeds);

  // Reads each feed's decimals (one batch). Throws std::runtime_error with one sentence naming
  // the feed when an address has no code or does not answer decimals().
  void init();

  // One batched, block-pinned poll of latestRoundData() of every feed.
  [[nodiscard]] FeedPoll poll(std::optional<std::uint64_t> block = std::nullopt);

  // chain.agree_reads (issue 15, defect 3): from now on each poll is read from `quorum`
  // endpoints, the pinned block's hash with it, and every answer must agree; otherwise the poll
  // has no readings and `disagreement` set. 0 or 1: one endpoint (the default).
  void require_agreement(std::size_t quorum) noexcept { agree_quorum_ = quorum; }

  // Walks rounds backwards from the latest with getRoundData (batched) to bootstrap history:
  // up to `max_rounds` (time, price) pairs, oldest first. Stops at the first missing round.
  [[nodiscard]] std::vector<std::pair<std::int64_t, double>> walk_back(std::size_t feed_index,
                                                                       std::size_t max_rounds);

  [[nodiscard]] const std::vector<FeedRef>& feeds() const noexcept { return feeds_; }
  [[nodiscard]] int decimals(std::size_t i) const { return decimals_.at(i); }

 private:
  chain::EthClient& eth_;
  std::vector<FeedRef> feeds_;
  std::vector<int> decimals_;
  std::size_t agree_quorum_ = 0;
};

}  // namespace varkeeper::keeper
