// Where the files varkeeper ships with live: the contract artifacts, the example configurations,
// the scenario library, the bundled price histories and the anvil binary. Nothing here is a path
// compiled into the binary: everything is found relative to the running executable, so an
// installed tree (`cmake --install build --prefix P`) works wherever P is moved.
//
//   $VARKEEPER_HOME                      when set: the share directory itself
//   <dir of varkeeper>/../share/varkeeper an installed tree (P/bin/varkeeper, P/share/varkeeper)
//   <dir of varkeeper>/share/varkeeper    the build tree (CMake links it to the sources)
//
// Inside the share directory: config/ (example configs, data/, scenarios/), contracts/ (forge
// artifacts) and tools/anvil. `$VARKEEPER_ANVIL` overrides the anvil binary on its own.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace varkeeper::keeper {

// The directory of the running executable (/proc/self/exe), if the system can tell.
[[nodiscard]] std::optional<std::filesystem::path> executable_dir();

// The share directory by the rule above, or nullopt when none exists.
[[nodiscard]] std::optional<std::filesystem::path> share_dir();

// share_dir() / relative, or nullopt when there is no share directory or nothing at that path.
[[nodiscard]] std::optional<std::filesystem::path> bundled(const std::filesystem::path& relative);

// Where share_dir() looked, for error messages ("looked in A, B").
[[nodiscard]] std::string share_dir_candidates();

}  // namespace varkeeper::keeper
