#include "keeper/selfcheck.hpp"

#include <functional>

#include "chain/hex.hpp"
#include "chain/keccak.hpp"

namespace varkeeper::keeper {

namespace {
SelfCheckResult expect_equal(std::string name, const std::string& got, const std::string& want) {
  SelfCheckResult r{std::move(name), got == want, {}};
  if (!r.passed) r.detail = "expected " + want + ", got " + got;
  return r;
}
}  // namespace

std::vector<SelfCheckResult> run_self_checks() {
  using chain::keccak256;
  using chain::to_hex;
  std::vector<SelfCheckResult> out;
  // Keccak-256 of "" and "abc" (Keccak team's known answers; SHA3-256 would differ).
  out.push_back(expect_equal("keccak256(\"\")", to_hex(keccak256(std::string_view{})),
                             "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"));
  out.push_back(expect_equal("keccak256(\"abc\")", to_hex(keccak256(std::string_view{"abc"})),
                             "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"));
  return out;
}

}  // namespace varkeeper::keeper
