// The bundled contracts' custom errors in human form (issue 19): a refusal reads
//   InsideBand: VaR 11.45 % inside 5 %–25 %
// instead of InsideBand(114532657858049100, 50000000000000000, 250000000000000000). Every custom
// error of every bundled contract's ABI (contracts/src/*.sol, the artifacts in
// share/varkeeper/contracts) has a form here; tests/keeper/contract_errors_test.cpp enumerates the
// artifacts' errors and fails on one without a form, so a new error cannot slip in unexplained.
//
// Units: WAD fractions (1e18 = 100 %) as percentages, Unix times as UTC dates, Chainlink USD
// answers (8 decimals) as dollars, seconds as durations, addresses in their EIP-55 checksum form,
// rounds and epochs as numbers; token amounts as integers of the token's base unit (the token's
// decimals are not known to the decoder).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "chain/abi.hpp"

namespace varkeeper::keeper {

// The signatures of every custom error with a human form (canonical, e.g.
// "InsideBand(uint64,uint64,uint64)"), to decode revert data with.
[[nodiscard]] std::span<const chain::AbiSignature> human_error_signatures();

// The human form of a decoded custom error, e.g. "TooSoon: observed 2026-12-07 23:22:20 UTC,
// earliest 2026-12-07 23:23:20 UTC"; nullopt when the reason is not a custom error with a form
// (Error(string), Panic, an unknown selector, a custom error of someone else's contract).
[[nodiscard]] std::optional<std::string> human_error(const chain::RevertReason& reason);

// Revert data in one line: the human form when the error has one; else chain::describe's form
// (decoded with `extra` signatures too); else the data in hex.
[[nodiscard]] std::string describe_revert(chain::ByteView data,
                                          std::span<const chain::AbiSignature> extra = {});

// The formatting kinds, also used by the keeper's tick line.
// A WAD fraction as a percentage: at most two decimals, trailing zeros dropped ("11.45 %",
// "5 %"); a non-zero value under 0.01 % with two significant digits ("0.0012 %").
[[nodiscard]] std::string wad_percent(const chain::U256& wad);
// A Unix time as "2026-12-07 23:22:20 UTC" (0: "never"; past year 9999: the number of seconds).
[[nodiscard]] std::string utc_time(const chain::U256& seconds);
// A Chainlink USD answer with 8 decimals as dollars: "$60,145.49", "-$1.00".
[[nodiscard]] std::string usd8(const chain::AbiInt& answer);
// Seconds as a duration: "45 s", "15 min", "1 h 30 min", "7 d", "2 d 3 h".
[[nodiscard]] std::string duration(const chain::U256& seconds);
// A Chainlink round id: its number, with phase and aggregator round when it has a phase
// ("36893488147419103237 (phase 2, round 5)").
[[nodiscard]] std::string round_id(const chain::U256& id);

}  // namespace varkeeper::keeper
