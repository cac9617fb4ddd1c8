// `varkeeper config check FILE [--keys]`: load and validate a keeper configuration
// (keeper/config.hpp) and print a short summary, or the one sentence saying what is wrong (exit
// code 2).
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chain/secp256k1.hpp"
#include "keeper/cli/command.hpp"
#include "keeper/config/config.hpp"
#include "keeper/config/config_online.hpp"

namespace varkeeper::keeper::cli {
namespace {

struct ConfigOptions {
  std::string file;
  bool keys = false;
  bool online = false;
};

void run_check(const ConfigOptions& options) {
  try {
    const Config config = load_config(options.file);
    // Decrypting proves every password; only the (public) addresses are printed. Keys are loaded
    // before anything is printed, so a failure prints nothing but its sentence.
    std::optional<LoadedKeys> keys;
    if (options.keys) {
      keys = load_keys(config);
    }
    std::vector<std::string> online;
    if (options.online) {
      online = check_online(config);
    }
    std::cout << "config: " << options.file << '\n' << summarize(config);
    if (keys) {
      for (std::size_t i = 0; i < keys->signers.size(); ++i) {
        std::cout << "signer " << i << ": "
                  << chain::to_checksum_address(chain::address_of(keys->signers[i])) << '\n';
      }
      std::cout << "sender: " << chain::to_checksum_address(chain::address_of(*keys->sender))
                << '\n';
    }
    for (const auto& line : online) {
      std::cout << line << '\n';
    }
    std::cout << "config ok\n";
  } catch (const ConfigError& e) {
    throw UserError(e.what());
  }
}

// NOLINTNEXTLINE(cert-err58-cpp): the lambda runs later, inside main's try
const RegisterCommand kRegister{
    15, [](CLI::App& app) {
      auto options = std::make_shared<ConfigOptions>();
      auto* config = app.add_subcommand("config", "Validate keeper configuration files (TOML)");
      config->require_subcommand(1);
      auto* check = config->add_subcommand(
          "check",
          "Load and validate FILE (every key, types and ranges, URLs, EIP-55 addresses, that key "
          "and data files exist); print a summary and \"config ok\", or one sentence naming the "
          "file, the key and the problem (exit code 2)");
      check->add_option("file", options->file, "The configuration file (see docs/config.md)")
          ->required()
          ->type_name("FILE");
      check->add_flag("--keys", options->keys,
                      "Also decrypt every keystore with its configured password_file or "
                      "password_env, and print the signer and sender addresses");
      check->add_flag("--online", options->online,
                      "Also ask every RPC endpoint for its chain id, and the chain for code at "
                      "every contract and aggregator address and for each feed's decimals()");
      check->callback([options] { run_check(*options); });
    }};

}  // namespace
}  // namespace varkeeper::keeper::cli
