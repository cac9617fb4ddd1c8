// A Chainlink-style price feed emulated from a price path, for the studies and the dry-run
// simulator: a new round when the price moved more than `deviation` from the last answer or
// `heartbeat_s` elapsed (data.chain.link's trigger parameters); a frozen feed (halted or
// abandoned) opens none. Rounds count from 1000 in phase 1, as a long-running aggregator's do.
#pragma once

#include <cstdint>

#include "risk/price_checks.hpp"

namespace varkeeper::risk {

struct FeedEmulator {
  double deviation = 0.005;
  std::int64_t heartbeat_s = 3600;
  RoundData current{};
  bool started = false;

  // The feed's latest round after the price `price` at time `t` (seconds).
  RoundData poll(std::int64_t t, double price, bool frozen) noexcept;
};

}  // namespace varkeeper::risk
