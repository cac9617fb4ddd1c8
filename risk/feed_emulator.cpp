#include "risk/feed_emulator.hpp"

#include <cmath>

namespace varkeeper::risk {

RoundData FeedEmulator::poll(std::int64_t t, double price, bool frozen) noexcept {
  const bool due = !started || std::fabs(price / current.answer - 1.0) > deviation ||
                   t - current.updated_at >= heartbeat_s;
  if (due && !frozen) {
    const RoundId next{1, started ? current.round_id.aggregator_round + 1 : 1000};
    current = RoundData{next, price, t, t, next};
    started = true;
  }
  return current;
}

}  // namespace varkeeper::risk
