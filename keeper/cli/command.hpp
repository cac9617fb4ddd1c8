// Sub-commands of the `varkeeper` executable register themselves here, one file each
// (keeper/cli/<name>_command.cpp), so adding a command touches no shared file.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace varkeeper::keeper::cli {

// An error the user caused (bad input, wrong password, unreachable node): main prints its
// one-sentence message and exits with `exit_code`.
class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& message, int exit_code = 2)
      : std::runtime_error(message), exit_code_(exit_code) {}
  [[nodiscard]] int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

// Adds a sub-command to `app`; the callback it installs runs the command and may throw UserError.
// A plain function (a captureless lambda): converting one cannot throw, so the registrations below
// cannot throw during static initialisation (cert-err58-cpp).
using CommandRegistrar = void (*)(CLI::App& app);

struct CommandRegistry {
  static std::vector<std::pair<int, CommandRegistrar>>& entries() {
    static std::vector<std::pair<int, CommandRegistrar>> list;
    return list;
  }
};

// `static const RegisterCommand kRegister{order, [](CLI::App& app) { ... }};` in a command file;
// `order` fixes where the command appears in --help.
// noexcept: it runs during static initialisation, where an exception cannot be caught
// (cert-err58-cpp); a failure to allocate here ends the program either way. clang-tidy's
// cert-err58-cpp also looks inside the lambda, which runs later in main's try: hence the
// NOLINTNEXTLINE at each registration.
struct RegisterCommand {
  RegisterCommand(int order, CommandRegistrar registrar) noexcept {
    CommandRegistry::entries().emplace_back(order, registrar);
  }
};

}  // namespace varkeeper::keeper::cli
