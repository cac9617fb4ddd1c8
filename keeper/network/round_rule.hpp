// The keeper network's agreement rules (issue 18), as pure functions: every honest keeper of a
// keeper set applies them to the same chain data and so computes the same report, signs the same
// EIP-712 digest and knows, without talking to anyone, who transmits a round and when a backup or
// the on-chain `propose` fallback takes over. docs/operations.md "Keeper network" states them
// for operators; tests/keeper/network_round_test.cpp pins them.
//
//   trigger block   B with B % round_blocks == 0 and B >= genesis_block; acted on once the head
//                   is at B + lag_blocks or later. Every read for B is pinned to B.
//   round           max(B, RiskOracle.latest(p).round at B + 1): the trigger block's number,
//                   so every trigger's report has a round of its own (a keeper never signs two
//                   different reports for one round, and a round that did not land never blocks
//                   the next); RiskOracle allows round jumps up to 2^32.
//   observedAt      timestamp(B) (the pipeline's rule: the tick's time when every asset held has
//                   a usable consensus at B).
//   MC seed         mc_seed(p, round): the first 8 bytes (big-endian) of
//                   keccak256("varkeeper.mc-seed.v1" || uint64_be(p) || uint64_be(round)),
//                   independent of thread count, host and start time.
//   quantisation    VaR and CVaR (WAD) to multiples of quantum_wad, the portfolio value (8
//                   decimals) to whole USD, each rounded toward the figure the oracle holds at B
//                   (half up when it holds none), so rounding never enlarges a step the change
//                   limit bounds; CVaR then lifted to at least the VaR.
//   transmitter     signers() at B sorted ascending, index (p + round) % n; a keeper's rank is
//                   its distance after the transmitter in that order (0 = transmitter).
//   backup          rank r > 0 submits at head >= B + r * backup_delay_blocks if the round has not
//                   landed and it holds a quorum of signatures.
//   propose         at head >= B + propose_after_blocks, the round not landed: every keeper calls
//                   RiskOracle.propose(report, own signature) once (the contract takes the median
//                   once quorum signers proposed).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "chain/address.hpp"
#include "chain/uint256.hpp"
#include "keeper/core/risk_report.hpp"

namespace varkeeper::keeper::network {

// [network] in the keeper config (keeper/config/config.hpp holds the validated copy).
struct RoundRule {
  std::uint64_t round_blocks = 5;
  std::uint64_t genesis_block = 0;
  std::uint64_t lag_blocks = 0;
  std::uint64_t quantum_wad = 1'000'000'000'000ULL;  // 1e12 WAD = 1e-6 of the value
  std::uint64_t backup_delay_blocks = 2;
  std::uint64_t propose_after_blocks = 4;
};

// Whether B is a trigger block.
[[nodiscard]] bool is_trigger(const RoundRule& rule, std::uint64_t block) noexcept;
// The newest trigger block the keeper may act on at head `head` (head - lag_blocks rounded down
// to a multiple of round_blocks), or nullopt before the first (genesis) trigger.
[[nodiscard]] std::optional<std::uint64_t> latest_trigger(const RoundRule& rule,
                                                          std::uint64_t head) noexcept;
// The first trigger block at or after genesis_block.
[[nodiscard]] std::uint64_t first_trigger(const RoundRule& rule) noexcept;

// The round of a report built at trigger block `trigger` when the oracle holds `latest_round`
// (0: no report).
[[nodiscard]] std::uint64_t round_at(std::uint64_t trigger, std::uint64_t latest_round) noexcept;

// The Monte Carlo seed of portfolio `portfolio_id`'s round `round`.
[[nodiscard]] std::uint64_t mc_seed(std::uint64_t portfolio_id, std::uint64_t round) noexcept;

// The report as every keeper publishes it: figures quantised (see above). `base` is the report
// the oracle holds at the trigger block, if any.
[[nodiscard]] OnchainReport quantise(const OnchainReport& report,
                                     const std::optional<OnchainReport>& base,
                                     std::uint64_t quantum_wad);
// One value rounded to a multiple of `quantum`, toward `base` when given (half up when not).
[[nodiscard]] chain::U256 quantise_value(const chain::U256& value,
                                         const std::optional<chain::U256>& base,
                                         const chain::U256& quantum);

// Position of `self` after the transmitter of (portfolio_id, round) in `signers` sorted
// ascending: 0 = transmitter, 1 = first backup, ...; nullopt when `self` is not a signer.
[[nodiscard]] std::optional<std::size_t> transmit_rank(std::vector<chain::Address> signers,
                                                       const chain::Address& self,
                                                       std::uint64_t portfolio_id,
                                                       std::uint64_t round);
// The transmitter's address (signers sorted ascending, index (portfolio_id + round) % n).
[[nodiscard]] std::optional<chain::Address> transmitter(std::vector<chain::Address> signers,
                                                        std::uint64_t portfolio_id,
                                                        std::uint64_t round);

// What a keeper of rank `rank` may do for a round triggered at `trigger` when the head is at
// `head`, given whether the round landed and whether it holds a quorum of signatures.
enum class TransmitStep { kWait, kSubmit, kPropose, kDone };
struct TransmitState {
  bool landed = false;       // latest(p).round >= round
  bool have_quorum = false;  // signatures_for(p, round).size() >= quorum
  bool submitted = false;    // this keeper already sent submit() for it
  bool proposed = false;     // this keeper already sent propose() for it
};
[[nodiscard]] TransmitStep transmit_step(const RoundRule& rule, std::size_t rank,
                                         std::uint64_t trigger, std::uint64_t head,
                                         const TransmitState& state) noexcept;
// The first head block at which a keeper of rank `rank` may submit (trigger + rank * delay).
[[nodiscard]] std::uint64_t submit_due(const RoundRule& rule, std::size_t rank,
                                       std::uint64_t trigger) noexcept;

}  // namespace varkeeper::keeper::network
