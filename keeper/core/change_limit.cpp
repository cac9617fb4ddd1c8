#include "keeper/core/change_limit.hpp"

#include <algorithm>

#include "chain/uint256.hpp"
#include "keeper/core/units.hpp"

namespace varkeeper::keeper {

namespace {

// allowance = maxVaRChange * min(elapsed, period) (x widening while not normal), and the scale
// WAD * period it is compared against (RiskOracle._checkHistory).
struct Allowance {
  chain::U256 allowance;
  chain::U256 scale;
};

Allowance allowance_of(const ChangeLimit& limit, std::uint64_t elapsed_s, bool breaker_normal) {
  const std::uint64_t period = limit.period_s == 0 ? 3600 : limit.period_s;
  chain::U256 allowance = chain::U256(limit.max_change) * std::min(elapsed_s, period);
  if (!breaker_normal) {
    allowance *= std::max<std::uint64_t>(limit.breaker_widening, 1);
  }
  return {allowance, chain::U256(kWad) * period};
}

}  // namespace

bool within_change_limit(const ChangeLimit& limit, std::uint64_t prev, std::uint64_t next,
                         std::uint64_t elapsed_s, bool breaker_normal) noexcept {
  if (limit.max_change == 0 || prev == 0) {
    return true;
  }
  const auto [allowance, scale] = allowance_of(limit, elapsed_s, breaker_normal);
  const std::uint64_t diff = next > prev ? next - prev : prev - next;
  return chain::U256(diff) * scale <= allowance * prev;
}

std::uint64_t step_within_limit(const ChangeLimit& limit, std::uint64_t prev, std::uint64_t target,
                                std::uint64_t elapsed_s, bool breaker_normal) {
  if (within_change_limit(limit, prev, target, elapsed_s, breaker_normal)) {
    return target;
  }
  const auto [allowance, scale] = allowance_of(limit, elapsed_s, breaker_normal);
  // The largest |next - prev| the contract accepts: floor(allowance * prev / scale).
  const chain::U256 reach = allowance * prev / scale;
  const chain::U256 margin = chain::U256(1024) + prev / 1'000'000'000;
  const std::uint64_t step = reach > margin ? static_cast<std::uint64_t>(reach - margin) : 0;
  if (target > prev) {
    return prev + std::min(step, target - prev);
  }
  return prev - std::min(step, prev - target);
}

std::uint64_t steps_to_reach(const ChangeLimit& limit, std::uint64_t from, std::uint64_t to,
                             std::uint64_t interval_s, bool breaker_normal) {
  std::uint64_t n = 0;
  std::uint64_t at = from;
  // Bounded: a move that makes no progress (a zero step) would never arrive.
  while (at != to && n < 1'000'000) {
    const std::uint64_t next =
        step_within_limit(limit, at, to, std::max<std::uint64_t>(interval_s, 1), breaker_normal);
    if (next == at) {
      return 1'000'000;
    }
    ++n;
    at = next;
  }
  return n;
}

}  // namespace varkeeper::keeper
