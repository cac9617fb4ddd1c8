// Structured logging on spdlog: one record per line, either human text
//   2026-11-22T02:44:29.123Z info report published portfolio=eth-btc round=42 tx=0x5c50...
// or JSON lines (https://jsonlines.org), one object per line with ts, level, msg, then the fields
//   {"ts":"2026-11-22T02:44:29.123Z","level":"info","msg":"report
//   published","portfolio":"eth-btc",...}
// Records go to stderr by default (stdout is the run command's status lines).
//
// Keys never reach the logger: a LogField cannot be made from a chain::SecretKey (the overload is
// deleted, and SecretKey has no formatter or operator<<). As a safety net, a field whose name
// names a secret (password, passphrase, secret, private_key, mnemonic, ...) has its value masked,
// a field named *key holding 32 bytes of hex is masked, and every message and string value is put
// through redact(). Transaction hashes and digests, also 32 bytes of hex, stay loggable under
// names such as tx, hash, digest.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace varkeeper::chain {
class SecretKey;
}

namespace varkeeper::keeper {

enum class LogStyle { kText, kJsonLines };
enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kCritical, kOff };

// "text" or "json"; nullopt otherwise.
[[nodiscard]] std::optional<LogStyle> parse_log_style(std::string_view text) noexcept;
// trace, debug, info, warn (or warning), error, critical, off; nullopt otherwise.
[[nodiscard]] std::optional<LogLevel> parse_log_level(std::string_view text) noexcept;
[[nodiscard]] std::string_view to_string(LogLevel level) noexcept;

struct LogOptions {
  LogStyle style = LogStyle::kText;
  LogLevel level = LogLevel::kInfo;
  std::ostream* stream = nullptr;  // nullptr: stderr. Must outlive the logger (tests).
};

// (Re)configures the process logger, which is also spdlog's default logger, so a plain
// spdlog::info(...) elsewhere is formatted (and redacted) the same way. Call it at start-up,
// before other threads log.
void setup_logging(const LogOptions& options);

// The run's tick lines (issue 19): short by default; every detail (prices, full transaction
// hashes, gas, refusals in human form, errors in full) with `varkeeper run --verbose`.
// Process-wide, like the logger; set it at start-up.
void set_verbose_ticks(bool verbose) noexcept;
[[nodiscard]] bool verbose_ticks() noexcept;

// One structured field. Values: strings, integers, floating point, booleans.
class LogField {
 public:
  using Value = std::variant<std::string, std::int64_t, std::uint64_t, double, bool>;

  LogField(std::string_view key, std::string_view value) : key_(key), value_(std::string(value)) {}
  LogField(std::string_view key, const std::string& value) : key_(key), value_(value) {}
  LogField(std::string_view key, const char* value) : key_(key), value_(std::string(value)) {}
  template <std::signed_integral T>
  LogField(std::string_view key, T value) : key_(key), value_(static_cast<std::int64_t>(value)) {}
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) LogField(std::string_view key, T value)
      : key_(key), value_(static_cast<std::uint64_t>(value)) {}
  LogField(std::string_view key, double value) : key_(key), value_(value) {}
  LogField(std::string_view key, bool value) : key_(key), value_(value) {}
  // Private keys are never logged, not even by mistake.
  LogField(std::string_view key, const chain::SecretKey& value) = delete;

  [[nodiscard]] const std::string& key() const noexcept { return key_; }
  [[nodiscard]] const Value& value() const noexcept { return value_; }

 private:
  std::string key_;
  Value value_;
};

using LogFields = std::initializer_list<LogField>;

[[nodiscard]] bool log_enabled(LogLevel level) noexcept;
void log(LogLevel level, std::string_view message, LogFields fields = {});
inline void log_debug(std::string_view m, LogFields f = {}) { log(LogLevel::kDebug, m, f); }
inline void log_info(std::string_view m, LogFields f = {}) { log(LogLevel::kInfo, m, f); }
inline void log_warn(std::string_view m, LogFields f = {}) { log(LogLevel::kWarn, m, f); }
inline void log_error(std::string_view m, LogFields f = {}) { log(LogLevel::kError, m, f); }

// One record as it is written (ending in '\n'); the logger's formatter, exposed for tests.
[[nodiscard]] std::string format_log_record(LogStyle style,
                                            std::chrono::system_clock::time_point time,
                                            LogLevel level, std::string_view message,
                                            std::span<const LogField> fields);

// True for field names that name a secret: they contain password, passwd, passphrase, secret,
// private_key / privatekey / private-key, mnemonic or seed_phrase (any case).
[[nodiscard]] bool is_secret_field_name(std::string_view name) noexcept;

// The safety net for free text. Masks as "[redacted]":
//  - the value after a secret-naming field name and a ':' or '=' separator
//    ("password=hunter2", "\"private_key\": \"0x..\"", "KEYSTORE_PASSWORD: x");
//  - 64 hex digits (with or without 0x) right after a name ending in "key"
//    ("signer key 0x<64 hex>", "private_key=<64 hex>"), but not after tx, hash, digest, ...;
//  - the password in a URL's user information ("https://user:pw@host" ->
//  "https://user:[redacted]@host").
[[nodiscard]] std::string redact(std::string_view text);

inline constexpr std::string_view kRedacted = "[redacted]";

}  // namespace varkeeper::keeper
