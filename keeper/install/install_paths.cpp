#include "keeper/install/install_paths.hpp"

#include <cstdlib>
#include <system_error>
#include <vector>

namespace varkeeper::keeper {

namespace {

std::vector<std::filesystem::path> candidates() {
  std::vector<std::filesystem::path> out;
  if (const char* home = std::getenv("VARKEEPER_HOME"); home != nullptr && *home != '\0') {
    out.emplace_back(home);
    return out;  // an explicit home is the only place looked at
  }
  if (const auto dir = executable_dir()) {
    out.push_back(dir->parent_path() / "share" / "varkeeper");  // installed
    out.push_back(*dir / "share" / "varkeeper");                // build tree
  }
  return out;
}

}  // namespace

std::optional<std::filesystem::path> executable_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return std::nullopt;
  }
  return exe.parent_path();
}

std::optional<std::filesystem::path> share_dir() {
  for (const auto& c : candidates()) {
    std::error_code ec;
    if (std::filesystem::is_directory(c, ec)) {
      return c;
    }
  }
  return std::nullopt;
}

std::optional<std::filesystem::path> bundled(const std::filesystem::path& relative) {
  const auto dir = share_dir();
  if (!dir) {
    return std::nullopt;
  }
  std::error_code ec;
  auto p = *dir / relative;
  if (!std::filesystem::exists(p, ec)) {
    return std::nullopt;
  }
  return p;
}

std::string share_dir_candidates() {
  std::string out;
  for (const auto& c : candidates()) {
    out += (out.empty() ? "" : ", ") + c.string();
  }
  return out.empty() ? std::string("no place (the executable's directory is unknown)") : out;
}

}  // namespace varkeeper::keeper
