// RiskOracle v2's change limit (contracts/src/RiskOracle.sol `_checkHistory`), once for every
// keeper mode: the in-memory oracle of the simulator applies it, and the pipeline steps its
// published figures within it, so a report the oracle would refuse for the change limit
// (VaRChangeTooLarge / CVaRChangeTooLarge) is never built.
//
// The rule: after a stored figure `prev` observed `elapsed` seconds earlier, `next` is refused when
//   |next - prev| * WAD * period > maxVaRChange * min(elapsed, period) * widening * prev
// (widening = breakerWidening while the report's breaker status is not normal, else 1; a zero
// previous figure is not limited; maxVaRChange = 0 disables the limit). Integer arithmetic in 256
// bits, as the contract's uint256.
#pragma once

#include <cstdint>

namespace varkeeper::keeper {

struct ChangeLimit {
  std::uint64_t max_change = 0;        // maxVaRChange: WAD relative change per period; 0 = none
  std::uint64_t period_s = 3600;       // changePolicy().changePeriod (DEFAULT_CHANGE_PERIOD)
  std::uint64_t breaker_widening = 4;  // changePolicy().breakerWidening (DEFAULT_BREAKER_WIDENING)
  friend bool operator==(const ChangeLimit&, const ChangeLimit&) = default;
};

// True when the oracle accepts `next` (WAD) after `prev` (WAD) `elapsed_s` seconds of observation
// time later, for a report whose breaker status is normal (`breaker_normal`) or not.
[[nodiscard]] bool within_change_limit(const ChangeLimit& limit, std::uint64_t prev,
                                       std::uint64_t next, std::uint64_t elapsed_s,
                                       bool breaker_normal) noexcept;

// The figure (WAD) nearest `target` that the oracle accepts after `prev`: `target` itself when it
// is within reach, else prev moved by the largest allowed change towards it, less a margin of
// 1024 wei + 1e-9 of prev so that the figure survives the keeper's WAD -> double -> WAD round
// trip (keeper/units: a few wei at most) and still passes within_change_limit.
[[nodiscard]] std::uint64_t step_within_limit(const ChangeLimit& limit, std::uint64_t prev,
                                              std::uint64_t target, std::uint64_t elapsed_s,
                                              bool breaker_normal);

// The number of reports, one every `interval_s` (>= 1 s) of observation time, that take a figure
// from `from` to `to` (WAD) under `limit` with the breaker status given: 0 when from == to, 1 when
// `to` is within reach of the first report; 1'000'000 when the steps make no progress. Counts
// with step_within_limit, so it is what the keeper does.
[[nodiscard]] std::uint64_t steps_to_reach(const ChangeLimit& limit, std::uint64_t from,
                                           std::uint64_t to, std::uint64_t interval_s,
                                           bool breaker_normal);

}  // namespace varkeeper::keeper
