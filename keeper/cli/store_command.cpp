// `varkeeper store check FILE [--json]`: opens the keeper's store (migrating an older schema),
// runs SQLite's full integrity check and prints what the store holds. Exit codes: 0 ok, 1 the
// integrity check found damage, 2 the file is missing, not a varkeeper store, corrupt or newer.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "keeper/cli/command.hpp"
#include "keeper/store/store.hpp"

namespace varkeeper::keeper::cli {
namespace {

struct StoreCheckOptions {
  std::string file;
  bool json = false;
};

void run_store_check(const StoreCheckOptions& o) {
  std::error_code ec;
  if (!std::filesystem::exists(o.file, ec)) {
    // Opening would create an empty store: a check never does.
    throw UserError("store file " + o.file + " does not exist");
  }
  std::unique_ptr<KeeperStore> store;
  std::string integrity;
  KeeperStore::Summary s;
  try {
    store = KeeperStore::open(o.file);
    integrity = store->integrity_check();
    s = store->summary();
  } catch (const StoreError& e) {
    throw UserError(e.what());
  }
  const bool ok = integrity == "ok";
  if (o.json) {
    nlohmann::json j = {
        {"store", o.file},
        {"schema_version", s.schema_version},
        {"integrity", integrity},
        {"transactions", s.transactions},
        {"open_transactions", s.open_transactions},
        {"reports", s.reports_by_state},
        {"price_observations", s.price_observations},
        {"closes", s.closes},
        {"incidents", s.incidents},
        {"meta_entries", s.meta_entries},
    };
    std::cout << j.dump(2) << '\n';
  } else {
    std::cout << "store:        " << o.file << '\n'
              << "schema:       version " << s.schema_version << '\n'
              << "integrity:    " << integrity << '\n'
              << "transactions: " << s.transactions << " (" << s.open_transactions << " open)\n"
              << "reports:      " << s.reports_by_state["accepted"] << " accepted, "
              << s.reports_by_state["pending"] << " pending, " << s.reports_by_state["refused"]
              << " refused\n"
              << "prices:       " << s.price_observations << " observations, " << s.closes
              << " closes\n"
              << "incidents:    " << s.incidents << '\n'
              << "meta:         " << s.meta_entries << " entries\n";
  }
  if (!ok) {
    throw UserError(
        "store file " + o.file + " failed its integrity check; restore it from a backup", 1);
  }
}

// NOLINTNEXTLINE(cert-err58-cpp): the lambda runs later, inside main's try
const RegisterCommand kRegister{
    80, [](CLI::App& app) {
      auto* store = app.add_subcommand("store", "Inspect the keeper's SQLite store");
      store->require_subcommand(1);
      auto options = std::make_shared<StoreCheckOptions>();
      auto* check = store->add_subcommand("check",
                                          "Open the store (migrating an older schema), run "
                                          "SQLite's integrity check and print what it "
                                          "holds");
      check->add_option("file", options->file, "The store file (the config's store path)")
          ->required();
      check->add_flag("--json", options->json, "Print the summary as JSON");
      check->callback([options] { run_store_check(*options); });
    }};

}  // namespace
}  // namespace varkeeper::keeper::cli
