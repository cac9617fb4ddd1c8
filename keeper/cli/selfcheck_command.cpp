// `varkeeper selfcheck`: known-answer checks of hashing, encoding and signing.
#include <iostream>

#include "keeper/cli/command.hpp"
#include "keeper/ops/selfcheck.hpp"

namespace varkeeper::keeper::cli {
namespace {

// NOLINTNEXTLINE(cert-err58-cpp): the lambda runs later, inside main's try
const RegisterCommand kRegister{
    90, [](CLI::App& app) {
      auto* cmd = app.add_subcommand(
          "selfcheck", "Run known-answer checks of Keccak, RLP, ABI, signing and EIP-712");
      cmd->callback([] {
        int failed = 0;
        for (const auto& r : run_self_checks()) {
          std::cout << (r.passed ? "ok    " : "FAIL  ") << r.name;
          if (!r.passed) {
            std::cout << ": " << r.detail;
          }
          std::cout << '\n';
          failed += r.passed ? 0 : 1;
        }
        if (failed > 0) {
          throw UserError(std::to_string(failed) + " self-check(s) failed", 1);
        }
        std::cout << "selfcheck: all passed\n";
      });
    }};

}  // namespace
}  // namespace varkeeper::keeper::cli
