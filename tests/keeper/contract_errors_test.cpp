// Issue 19: every custom error of the bundled contracts decodes to its human form (WAD as
// percentages, times as UTC dates, USD answers as dollars, addresses checksummed, rounds as
// numbers), and a new error in an artifact without a form fails here.
#include "keeper/core/contract_errors.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "chain/abi.hpp"
#include "chain/address.hpp"
#include "chain/hex.hpp"
#include "keeper/deploy/deploy.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using chain::AbiInt;
using chain::AbiKind;
using chain::AbiValue;
using chain::U256;

namespace {

// The revert data a contract returns for `signature` with `args`.
chain::Bytes revert_data(const std::string& signature, const std::vector<AbiValue>& args) {
  const auto sig = chain::parse_abi_signature(signature);
  REQUIRE(sig);
  auto data = chain::encode_call(*sig, args);  // selector ++ enc(args), as for a call
  REQUIRE(data);
  return *data;
}

std::string decode(const std::string& signature, const std::vector<AbiValue>& args) {
  return keeper::describe_revert(revert_data(signature, args));
}

chain::Address address_from(const std::string& hex) {
  const auto bytes = chain::from_hex(hex);
  REQUIRE(bytes);
  REQUIRE(bytes->size() == 20);
  chain::Address a{};
  std::copy(bytes->begin(), bytes->end(), a.begin());
  return a;
}

// A value of `type` for a sample encoding: a distinct non-zero value per argument position.
AbiValue sample(const chain::AbiType& type, std::size_t position) {
  switch (type.kind) {
    case AbiKind::kUint: return AbiValue::from_uint(U256(100 + position));  // fits uint8
    case AbiKind::kInt: return AbiValue::from_int(-static_cast<std::int64_t>(position + 1));
    case AbiKind::kAddress: {
      chain::Address a{};
      a.back() = static_cast<std::uint8_t>(position + 1);
      return AbiValue::from_address(a);
    }
    case AbiKind::kBool: return AbiValue::from_bool(true);
    case AbiKind::kFixedBytes: return AbiValue::from_bytes(chain::Bytes(type.size, 0xab));
    case AbiKind::kBytes: return AbiValue::from_bytes(chain::Bytes{1, 2, 3});
    case AbiKind::kString: return AbiValue::from_string("sample");
    default: break;
  }
  FAIL("a custom error with an argument of kind ", static_cast<int>(type.kind),
       ": give the test a sample of it");
  return AbiValue::from_bool(false);
}

}  // namespace

TEST_CASE("every custom error of every bundled contract has a human form") {
  const auto artifacts = keeper::load_artifacts(test::artifacts_dir());
  REQUIRE(artifacts.size() >= 8);  // RiskOracle ... MockConstantProductAMM
  std::set<std::string> in_abis;
  std::size_t checked = 0;
  for (const auto& [contract, abi] : artifacts) {
    for (const auto& error : abi.error_signatures()) {
      const std::string signature = error.canonical();
      in_abis.insert(signature);
      std::vector<AbiValue> args;
      for (std::size_t i = 0; i < error.inputs.size(); ++i) {
        args.push_back(sample(error.inputs[i], i));
      }
      const auto data = revert_data(signature, args);
      const auto reason = chain::decode_revert(data, abi.error_signatures());
      REQUIRE(reason);
      const std::string raw = chain::describe(*reason);
      const std::string human = keeper::describe_revert(data);
      CAPTURE(contract);
      CAPTURE(signature);
      CAPTURE(human);
      // "Name: sentence", not the raw "Name(arg, ...)" a missing form falls back to.
      CHECK(human.rfind(error.name + ": ", 0) == 0);
      CHECK(human != raw);
      CHECK(human.size() > error.name.size() + 8);
      ++checked;
    }
  }
  CHECK(checked >= 100);  // 8 artifacts, shared errors counted per contract
  // No stale form: each one is an error some bundled contract can revert with.
  for (const auto& sig : keeper::human_error_signatures()) {
    CAPTURE(sig.canonical());
    CHECK(in_abis.count(sig.canonical()) == 1);
  }
  CHECK(keeper::human_error_signatures().size() == in_abis.size());
}

TEST_CASE("WAD fractions read as percentages: the rebalancer's InsideBand of issue 19") {
  CHECK(decode("InsideBand(uint64,uint64,uint64)",
               {AbiValue::from_uint(U256(114'532'657'858'049'100ULL)),
                AbiValue::from_uint(U256(50'000'000'000'000'000ULL)),
                AbiValue::from_uint(U256(250'000'000'000'000'000ULL))}) ==
        "InsideBand: VaR 11.45 % inside 5 %–25 %");
  CHECK(keeper::wad_percent(U256(0)) == "0 %");
  CHECK(keeper::wad_percent(U256(1'000'000'000'000'000'000ULL)) == "100 %");
  CHECK(keeper::wad_percent(U256(114'000'000'000'000'000ULL)) == "11.4 %");
  CHECK(keeper::wad_percent(U256(114'050'000'000'000'000ULL)) == "11.41 %");  // half up
  CHECK(keeper::wad_percent(U256(114'049'999'999'999'999ULL)) == "11.4 %");
  CHECK(keeper::wad_percent(U256(12'000'000'000'000ULL)) == "0.0012 %");  // not "0 %"
  CHECK(decode("VaRChangeTooLarge(uint64,uint64)",
               {AbiValue::from_uint(U256(100'000'000'000'000'000ULL)),
                AbiValue::from_uint(U256(163'050'295'045'940'800ULL))}) ==
        "VaRChangeTooLarge: VaR 10 % → 16.31 % exceeds the change limit");
}

TEST_CASE("timestamps read as UTC dates, durations in units") {
  // 1796685792 s after the epoch (the embedded run's SaleNotOver) is 2026-12-07 23:23:12 UTC.
  CHECK(decode("SaleNotOver(uint256)", {AbiValue::from_uint(U256(1'796'685'792ULL))}) ==
        "SaleNotOver: the sale closes 2026-12-07 23:23:12 UTC");
  CHECK(keeper::utc_time(U256(0)) == "never");
  CHECK(keeper::utc_time(U256(86'400)) == "1970-01-02 00:00:00 UTC");
  CHECK(keeper::utc_time(U256(253'402'300'800ULL)) == "253402300800 s");  // past 9999
  CHECK(decode("StaleReport(uint64,uint256,uint32)",
               {AbiValue::from_uint(U256(1'796'685'792ULL)),
                AbiValue::from_uint(U256(1'796'689'393ULL)), AbiValue::from_uint(U256(3600))}) ==
        "StaleReport: observed 2026-12-07 23:23:12 UTC, older than 1 h at the block's time "
        "2026-12-08 00:23:13 UTC");
  CHECK(keeper::duration(U256(0)) == "0 s");
  CHECK(keeper::duration(U256(45)) == "45 s");
  CHECK(keeper::duration(U256(905)) == "15 min 5 s");
  CHECK(keeper::duration(U256(5400)) == "1 h 30 min");
  CHECK(keeper::duration(U256(7 * 86400)) == "7 d");
  CHECK(keeper::duration(U256(2 * 86400 + 3 * 3600 + 59)) == "2 d 3 h");
}

TEST_CASE("USD answers with 8 decimals read as dollars") {
  CHECK(decode("InvalidPrice(int256)", {AbiValue::from_int(-100'000'000)}) ==
        "InvalidPrice: the feed's answer -$1.00 is not a usable price");
  CHECK(keeper::usd8(AbiInt::from_int64(6'014'549'000'000)) == "$60,145.49");
  CHECK(keeper::usd8(AbiInt::from_int64(6'014'549'500'000)) == "$60,145.50");  // half up
  CHECK(keeper::usd8(AbiInt::from_int64(0)) == "$0.00");
  CHECK(keeper::usd8(AbiInt::from_int64(99)) == "$0.00");
}

TEST_CASE("addresses read in their EIP-55 checksum form") {
  const auto signer = address_from("70997970c51812dc3a010c7d01b50e0d17dc79c8");
  CHECK(decode("UnauthorizedSigner(address)", {AbiValue::from_address(signer)}) ==
        "UnauthorizedSigner: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 is not one of the "
        "oracle's signers");
  CHECK(decode("ERC20InsufficientBalance(address,uint256,uint256)",
               {AbiValue::from_address(signer), AbiValue::from_uint(U256(1'500'000)),
                AbiValue::from_uint(U256(25'000'000'000ULL))}) ==
        "ERC20InsufficientBalance: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 holds 1,500,000, "
        "needs 25,000,000,000 (token base units)");
}

TEST_CASE("rounds and epochs read as numbers, a phased round with its phase") {
  CHECK(decode("NoReport(uint64)", {AbiValue::from_uint(U256(1))}) ==
        "NoReport: portfolio 1 has no report yet");
  CHECK(decode("RoundNotIncreasing(uint64,uint64)",
               {AbiValue::from_uint(U256(7)), AbiValue::from_uint(U256(9))}) ==
        "RoundNotIncreasing: round 7 is not after the latest round 9");
  const U256 phased = (U256(2) << 64) + 5;  // Chainlink proxy round: phase 2, aggregator round 5
  CHECK(decode("SettlementAvailable(uint80)", {AbiValue::from_uint(phased)}) ==
        "SettlementAvailable: round 36893488147419103237 (phase 2, round 5) can settle the "
        "epoch; no refund");
  CHECK(decode("NoDataPresent(uint80)", {AbiValue::from_uint(U256(12))}) ==
        "NoDataPresent: no data for round 12");
}

TEST_CASE("reverts without a human form keep their decoded or raw form") {
  // Error(string), Panic(uint256), and a selector no bundled contract has.
  CHECK(keeper::describe_revert(revert_data("Error(string)", {AbiValue::from_string("nope")})) ==
        "Error(\"nope\")");
  CHECK(keeper::describe_revert(revert_data("Panic(uint256)", {AbiValue::from_uint(U256(0x11))})) ==
        "Panic(0x11: arithmetic overflow or underflow)");
  const auto foreign = revert_data("Foreign(uint256)", {AbiValue::from_uint(U256(5))});
  CHECK(keeper::describe_revert(foreign).rfind("unknown error selector 0x", 0) == 0);
  // ... unless the caller knows it: then by name with its raw arguments.
  const auto sig = chain::parse_abi_signature("Foreign(uint256)");
  REQUIRE(sig);
  CHECK(keeper::describe_revert(foreign, std::vector<chain::AbiSignature>{*sig}) == "Foreign(5)");
  CHECK(keeper::describe_revert(chain::Bytes{}) == "reverted without data");
  CHECK(keeper::describe_revert(chain::Bytes{1, 2}).rfind("undecodable revert data 0x0102", 0) ==
        0);
}
