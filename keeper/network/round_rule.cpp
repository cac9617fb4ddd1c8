#include "keeper/network/round_rule.hpp"

#include <algorithm>
#include <string_view>

#include "chain/bytes.hpp"
#include "chain/keccak.hpp"

namespace varkeeper::keeper::network {

bool is_trigger(const RoundRule& rule, std::uint64_t block) noexcept {
  return rule.round_blocks > 0 && block % rule.round_blocks == 0 && block >= rule.genesis_block;
}

std::uint64_t first_trigger(const RoundRule& rule) noexcept {
  const std::uint64_t n = std::max<std::uint64_t>(rule.round_blocks, 1);
  return (rule.genesis_block + n - 1) / n * n;
}

std::optional<std::uint64_t> latest_trigger(const RoundRule& rule, std::uint64_t head) noexcept {
  if (head < rule.lag_blocks) {
    return std::nullopt;
  }
  const std::uint64_t n = std::max<std::uint64_t>(rule.round_blocks, 1);
  const std::uint64_t b = (head - rule.lag_blocks) / n * n;
  if (b < first_trigger(rule)) {
    return std::nullopt;
  }
  return b;
}

std::uint64_t round_at(std::uint64_t trigger, std::uint64_t latest_round) noexcept {
  return std::max(trigger, latest_round + 1);
}

std::uint64_t mc_seed(std::uint64_t portfolio_id, std::uint64_t round) noexcept {
  constexpr std::string_view kTag = "varkeeper.mc-seed.v1";
  chain::Bytes data(kTag.begin(), kTag.end());
  for (const std::uint64_t v : {portfolio_id, round}) {
    for (int i = 7; i >= 0; --i) {
      data.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
  }
  const chain::Hash32 h = chain::keccak256(data);
  std::uint64_t seed = 0;
  for (int i = 0; i < 8; ++i) {
    seed = (seed << 8) | h[static_cast<std::size_t>(i)];
  }
  return seed;
}

chain::U256 quantise_value(const chain::U256& value, const std::optional<chain::U256>& base,
                           const chain::U256& quantum) {
  if (quantum <= 1) {
    return value;
  }
  const chain::U256 down = value / quantum * quantum;
  if (down == value) {
    return value;
  }
  const chain::U256 up = down + quantum;
  if (base) {
    // Toward the figure the oracle holds: never a larger step than the one computed.
    return *base > value ? up : down;
  }
  return value - down >= quantum - (value - down) ? up : down;  // half up
}

OnchainReport quantise(const OnchainReport& report, const std::optional<OnchainReport>& base,
                       std::uint64_t quantum_wad) {
  OnchainReport out = report;
  const chain::U256 q(quantum_wad);
  const auto base_of = [&](auto field) -> std::optional<chain::U256> {
    if (!base) {
      return std::nullopt;
    }
    return chain::U256((*base).*field);
  };
  const chain::U256 wad_cap(1'000'000'000'000'000'000ULL);
  const auto fraction = [&](std::uint64_t v, const std::optional<chain::U256>& b) {
    chain::U256 r = quantise_value(chain::U256(v), b, q);
    if (r > wad_cap) {
      r = wad_cap / q * q;  // a whole loss stays within the contract's WAD bound
    }
    return static_cast<std::uint64_t>(r);
  };
  out.value_at_risk = fraction(report.value_at_risk, base_of(&OnchainReport::value_at_risk));
  out.expected_shortfall =
      fraction(report.expected_shortfall, base_of(&OnchainReport::expected_shortfall));
  out.expected_shortfall = std::max(out.expected_shortfall, out.value_at_risk);
  const chain::U256 usd(100'000'000ULL);
  std::optional<chain::U256> value_base;
  if (base) {
    value_base = base->portfolio_value;
  }
  out.portfolio_value = quantise_value(report.portfolio_value, value_base, usd);
  if (out.portfolio_value >= (chain::U256(1) << 96)) {
    out.portfolio_value = report.portfolio_value / usd * usd;  // uint96 on chain
  }
  return out;
}

namespace {
std::optional<std::size_t> index_of(std::vector<chain::Address>& signers,
                                    const chain::Address& who) {
  std::sort(signers.begin(), signers.end());
  signers.erase(std::unique(signers.begin(), signers.end()), signers.end());
  const auto it = std::find(signers.begin(), signers.end(), who);
  if (it == signers.end()) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(it - signers.begin());
}
}  // namespace

std::optional<chain::Address> transmitter(std::vector<chain::Address> signers,
                                          std::uint64_t portfolio_id, std::uint64_t round) {
  std::sort(signers.begin(), signers.end());
  signers.erase(std::unique(signers.begin(), signers.end()), signers.end());
  if (signers.empty()) {
    return std::nullopt;
  }
  return signers[(portfolio_id + round) % signers.size()];
}

std::optional<std::size_t> transmit_rank(std::vector<chain::Address> signers,
                                         const chain::Address& self, std::uint64_t portfolio_id,
                                         std::uint64_t round) {
  const auto mine = index_of(signers, self);
  if (!mine) {
    return std::nullopt;
  }
  const std::size_t n = signers.size();
  const std::size_t t = (portfolio_id + round) % n;
  return (*mine + n - t) % n;
}

std::uint64_t submit_due(const RoundRule& rule, std::size_t rank, std::uint64_t trigger) noexcept {
  return trigger + rank * rule.backup_delay_blocks;
}

TransmitStep transmit_step(const RoundRule& rule, std::size_t rank, std::uint64_t trigger,
                           std::uint64_t head, const TransmitState& state) noexcept {
  if (state.landed) {
    return TransmitStep::kDone;
  }
  if (state.have_quorum && !state.submitted && head >= submit_due(rule, rank, trigger)) {
    return TransmitStep::kSubmit;
  }
  if (!state.proposed && head >= trigger + rule.propose_after_blocks) {
    return TransmitStep::kPropose;
  }
  return TransmitStep::kWait;
}

}  // namespace varkeeper::keeper::network
