// varkeeper: a keeper daemon for DeFi risk oracles.
#include <algorithm>
#include <iostream>

#include "keeper/cli/command.hpp"

namespace {

int run(int argc, char** argv) {
  using varkeeper::keeper::cli::CommandRegistry;
  CLI::App app{"varkeeper " VARKEEPER_VERSION
               " - computes portfolio VaR/CVaR from on-chain price oracles and publishes signed "
               "risk reports to its Solidity contracts",
               "varkeeper"};
  app.set_version_flag("--version", "varkeeper " VARKEEPER_VERSION);
  app.require_subcommand(1);
  auto& entries = CommandRegistry::entries();
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, registrar] : entries) {
    registrar(app);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything runs inside the try, the set-up of the commands included: no exception ends the
  // program without a message (bugprone-exception-escape).
  try {
    return run(argc, argv);
  } catch (const varkeeper::keeper::cli::UserError& e) {
    std::cerr << "varkeeper: " << e.what() << '\n';
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "varkeeper: internal error: " << e.what() << '\n';
    return 70;  // EX_SOFTWARE
  } catch (...) {
    std::cerr << "varkeeper: internal error: unknown exception\n";
    return 70;  // EX_SOFTWARE
  }
}
