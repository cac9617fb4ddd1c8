// `varkeeper oprisk --config FILE [--store FILE] [--json]`: the operational-risk report (issue 9).
#include <chrono>
#include <filesystem>
#include <iostream>

#include "keeper/cli/command.hpp"
#include "keeper/config/config.hpp"
#include "keeper/ops/oprisk_report.hpp"
#include "keeper/store/store.hpp"

namespace varkeeper::keeper::cli {
namespace {

struct OpriskOptions {
  std::string config;
  std::string store;
  bool json = false;
};

// NOLINTNEXTLINE(cert-err58-cpp): the lambda runs later, inside main's try
const RegisterCommand kRegister{
    55, [](CLI::App& app) {
      auto opts = std::make_shared<OpriskOptions>();
      auto* cmd = app.add_subcommand(
          "oprisk",
          "Operational risk: hybrid ARO, P(>=1 event/yr), SLE, ALE and the Monte Carlo "
          "annual loss per incident category ([oprisk] in the config)");
      cmd->add_option("--config", opts->config, "Keeper configuration with an [oprisk] section")
          ->required();
      cmd->add_option("--store", opts->store,
                      "Keeper store whose incident log supplies the internal ARO (default: the "
                      "config's store, if the file exists)");
      cmd->add_flag("--json", opts->json, "JSON output");
      cmd->callback([opts] {
        try {
          const Config config = load_config(opts->config);
          if (!config.oprisk) {
            throw UserError(opts->config +
                            ": no [oprisk] section (see config/oprisk.example.toml)");
          }
          std::string store_path = opts->store;
          if (store_path.empty() && std::filesystem::exists(config.keeper.store)) {
            store_path = config.keeper.store.string();
          }
          std::optional<std::map<std::string, std::uint64_t>> counts;
          if (!store_path.empty()) {
            if (!std::filesystem::exists(store_path)) {
              throw UserError(store_path + ": no such store file");
            }
            const auto store = KeeperStore::open(store_path);
            const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
            const auto window =
                static_cast<std::int64_t>(config.oprisk->observed_years * 365.25 * 86400.0);
            counts = store->incident_counts(now - window, now + 1);
          }
          const auto report = build_oprisk_report(*config.oprisk, counts);
          std::cout << (opts->json ? oprisk_report_json(report) + "\n"
                                   : format_oprisk_report(report));
        } catch (const ConfigError& e) {
          throw UserError(e.what());
        } catch (const StoreError& e) {
          throw UserError(e.what());
        } catch (const std::invalid_argument& e) {
          throw UserError(opts->config + ": [oprisk]: " + e.what());
        }
      });
    }};

}  // namespace
}  // namespace varkeeper::keeper::cli
