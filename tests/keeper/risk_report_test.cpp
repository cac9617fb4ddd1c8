#include "keeper/core/risk_report.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "keeper/core/units.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

namespace {
nlohmann::json golden() {
  return nlohmann::json::parse(
      varkeeper::test::read_file(std::string(VARKEEPER_DATA_DIR) + "/risk_report_eip712.json"));
}
std::uint64_t u64(const nlohmann::json& v) { return std::stoull(v.get<std::string>()); }
}  // namespace

TEST_CASE("the keeper's report digest and signature equal the golden vector (cast-computed)") {
  const auto g = golden();
  const auto& r = g["report"];
  OnchainReport report;
  report.portfolio_id = u64(r["portfolioId"]);
  report.round = u64(r["round"]);
  report.observed_at = u64(r["observedAt"]);
  report.horizon = static_cast<std::uint32_t>(u64(r["horizon"]));
  report.confidence = u64(r["confidence"]);
  report.method = static_cast<std::uint8_t>(u64(r["method"]));
  report.breaker_status = static_cast<std::uint8_t>(u64(r["breakerStatus"]));
  report.portfolio_value = chain::U256(r["portfolioValue"].get<std::string>());
  report.value_at_risk = u64(r["valueAtRisk"]);
  report.expected_shortfall = u64(r["expectedShortfall"]);
  report.config_hash = *chain::from_hex_fixed<32>(r["configHash"].get<std::string>());

  CHECK(chain::to_hex(chain::keccak256(std::string_view(kRiskReportType))) == g["type_hash"]);
  OracleDomain domain{31337,
                      *chain::parse_address(g["domain"]["verifyingContract"].get<std::string>())};
  CHECK(chain::to_hex(report_domain_separator(domain)) == g["domain"]["separator"]);
  CHECK(chain::to_hex(report_struct_hash(report)) == g["struct_hash"]);
  CHECK(chain::to_hex(report_digest(domain, report)) == g["digest"]);
  const auto key = *chain::SecretKey::from_hex(g["private_key"].get<std::string>());
  const auto sig = sign_report(domain, report, key);
  CHECK(chain::to_hex(sig.r) == g["signature"]["r"]);
  CHECK(chain::to_hex(sig.s) == g["signature"]["s"]);
  CHECK(27 + sig.y_parity == g["signature"]["v"].get<int>());

  // The figures of the golden report are what units.cpp makes of the documented doubles.
  CHECK(to_wad(0.99) == report.confidence);
  CHECK(to_wad(0.052) == report.value_at_risk);
  CHECK(to_wad(0.0713) == report.expected_shortfall);
  CHECK(to_fixed(12'500'000.0, 8) == report.portfolio_value);
}

TEST_CASE(
    "WAD and fixed-point conversions round at the edges and refuse what cannot be represented") {
  CHECK(to_wad(0.0) == 0);
  CHECK(to_wad(1.0) == kWad);
  CHECK(to_wad(1e-18) == 1);
  CHECK(to_wad(4e-19) == 0);  // 0.4 wei rounds down
  CHECK(to_wad(5e-19) == 1);  // half up
  CHECK(to_wad(6e-19) == 1);
  CHECK(to_wad(0.123456789012345678) == 123456789012345680ULL);  // prints as 0.12345678901234568
  CHECK_THROWS_AS((void)to_wad(-0.01), UnitError);
  CHECK_THROWS_AS((void)to_wad(1.0000001), UnitError);
  CHECK_THROWS_AS((void)to_wad(std::nan("")), UnitError);
  CHECK_THROWS_AS((void)to_wad(INFINITY), UnitError);
  CHECK(to_fixed(0.0, 8) == 0);
  CHECK(to_fixed(1e-9, 8) == 0);
  CHECK(to_fixed(5e-9, 8) == 1);
  CHECK(to_fixed(6e-9, 8) == 1);
  CHECK(to_fixed(1234.56789012, 8) == chain::U256(123456789012ULL));
  CHECK_THROWS_AS((void)to_fixed(-1.0, 8), UnitError);
  CHECK_THROWS_AS((void)to_fixed(8e20, 8), UnitError);  // above uint96 at 8 decimals
  CHECK(to_fixed(7.9e20, 8) > chain::U256(0));
  CHECK(from_fixed(chain::U256(123456789012ULL), 8) == doctest::Approx(1234.56789012));
  CHECK(from_wad(to_wad(0.052)) == doctest::Approx(0.052).epsilon(1e-15));
}
