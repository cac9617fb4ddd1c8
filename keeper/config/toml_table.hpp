// The one TOML table reader (https://toml.io/en/v1.0.0) of keeper configs (keeper/config) and
// scenario files (keeper/sim/scenario): every table declares the keys it may hold, and every
// problem is one TomlError sentence naming the file, the line and the key path, e.g.
//   config.toml:63: breaker.breaker.var_jump_factor: must be > 1, got 0.5
//   config.toml:4: unknown key 'portfoilos' at the top level (did you mean 'portfolios'?)
//   config.toml:12:5: parse error: ...
// Keys and values echoed from the file are escaped (\xNN) so a message stays on one line. The
// line is the key's (or, for a key left out, its table's); a message about the top level, which
// has no line of its own, names the file only.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chain/address.hpp"

namespace varkeeper::keeper {

class TomlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "%.15g": the shortest text that round-trips the numbers a config holds.
[[nodiscard]] std::string format_number(double x);

// "a string (\"abc\")", "an integer (12)", ... for "must be X, got Y" messages.
[[nodiscard]] std::string describe(const toml::node& node);

// Parses TOML text; a syntax error is a TomlError "FILE:LINE:COLUMN: parse error: ...".
[[nodiscard]] toml::table parse_toml(std::string_view text, const std::string& file);

// The file tables are read from: its name in messages and the directory relative paths resolve
// against.
class TomlFile {
 public:
  TomlFile(std::string name, std::filesystem::path base_dir)
      : name_(std::move(name)), base_dir_(std::move(base_dir)) {}

  // "FILE:LINE: KEY: what" (`where` gives the line; nullptr or the top level: "FILE: KEY: what").
  [[noreturn]] void fail(const std::string& key, const toml::node* where,
                         const std::string& what) const;
  // "FILE:LINE: sentence".
  [[noreturn]] void fail_sentence(const toml::node* where, const std::string& sentence) const;

  [[nodiscard]] std::filesystem::path resolve(const std::string& text) const;

  // The file must exist, be a regular file and be readable by this process.
  void require_readable_file(const std::string& key, const toml::node* where,
                             const std::filesystem::path& path, std::string_view what) const;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  std::filesystem::path base_dir_;
};

// A key that has moved: `old_key` in this table is now `new_path` (for a refusal that names it).
struct MovedKey {
  std::string_view old_key;
  std::string_view new_path;
};

// A TOML table with the keys it may hold; typed getters produce the one-sentence errors. A key
// not in `allowed` is refused on construction ("did you mean" the closest allowed key, or the new
// place of a moved key).
class TomlTable {
 public:
  TomlTable(const TomlFile& file, const toml::table& table, std::string path,
            std::initializer_list<std::string_view> allowed, std::span<const MovedKey> moved = {});

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::string key(std::string_view k) const;
  [[nodiscard]] const toml::node* get(std::string_view k) const { return table_.get(k); }
  [[nodiscard]] bool has(std::string_view k) const { return table_.get(k) != nullptr; }
  [[nodiscard]] const TomlFile& file() const noexcept { return file_; }
  [[nodiscard]] const toml::table& raw() const noexcept { return table_; }

  // "FILE:LINE: PATH.k: what", at k's line (the table's when k is absent).
  [[noreturn]] void fail(std::string_view k, const std::string& what) const;
  // "FILE:LINE: PATH: what", at the table's line.
  [[noreturn]] void fail_here(const std::string& what) const;

  void require(std::string_view k) const;

  [[nodiscard]] std::optional<std::string> opt_string(std::string_view k) const;
  [[nodiscard]] std::string string(std::string_view k) const;

  [[nodiscard]] std::optional<bool> opt_bool(std::string_view k) const;
  [[nodiscard]] bool boolean(std::string_view k, bool fallback) const;

  [[nodiscard]] std::optional<std::int64_t> opt_int(std::string_view k) const;
  // An integer in [lo, hi].
  [[nodiscard]] std::optional<std::int64_t> opt_int_in(std::string_view k, std::int64_t lo,
                                                       std::int64_t hi) const;
  [[nodiscard]] std::uint64_t uint(
      std::string_view k, std::uint64_t fallback, std::int64_t lo = 0,
      std::int64_t hi = std::numeric_limits<std::int64_t>::max()) const;
  [[nodiscard]] std::int64_t int64(std::string_view k, std::int64_t fallback) const;

  // A number (TOML integer or float); NaN and infinities are refused.
  [[nodiscard]] std::optional<double> opt_number(std::string_view k) const;
  [[nodiscard]] double number(std::string_view k, double fallback) const;

  enum class Bound { kOpen, kClosed, kNone };
  // A number within the interval described by the bounds, e.g. (0, 1) or [1, +inf).
  [[nodiscard]] std::optional<double> opt_number_in(std::string_view k, double lo, Bound lo_bound,
                                                    double hi, Bound hi_bound) const;
  [[nodiscard]] double number_in(std::string_view k, double fallback, double lo, Bound lo_bound,
                                 double hi, Bound hi_bound) const;

  [[nodiscard]] const toml::table* opt_table(std::string_view k) const;
  [[nodiscard]] const toml::array* opt_array(std::string_view k) const;

  // The sub-table k, with the keys it may hold; nullopt when k is absent.
  [[nodiscard]] std::optional<TomlTable> sub(std::string_view k,
                                             std::initializer_list<std::string_view> allowed,
                                             std::span<const MovedKey> moved = {}) const;

  // [[k]] or k = [{...}, ...]: each element must be a table; paths "k[0]", "k[1]", ...
  [[nodiscard]] std::vector<std::pair<std::string, const toml::table*>> tables(
      std::string_view k) const;

  [[nodiscard]] std::optional<chain::Address> opt_address(std::string_view k) const;
  [[nodiscard]] std::optional<std::filesystem::path> opt_readable_path(std::string_view k,
                                                                       std::string_view what) const;

 private:
  // The node whose line a message about k carries.
  [[nodiscard]] const toml::node* where(std::string_view k) const;

  const TomlFile& file_;
  const toml::table& table_;
  std::string path_;
};

}  // namespace varkeeper::keeper
