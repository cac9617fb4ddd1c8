#include "keeper/ops/logging.hpp"

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>

namespace varkeeper::keeper {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_ident(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_alnum(char c) { return is_hex(c) || (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z'); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::size_t ifind(std::string_view hay, std::string_view needle, std::size_t from) {
  for (std::size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (iequals(hay.substr(i, needle.size()), needle)) {
      return i;
    }
  }
  return std::string_view::npos;
}

constexpr std::array<std::string_view, 9> kSecretWords = {
    "password",   "passwd",      "passphrase", "secret",     "private_key",
    "privatekey", "private-key", "mnemonic",   "seed_phrase"};

// A name that says where a secret is kept (password_file, password_env, key_path, secret_dir)
// names a path or a variable, not the secret: its value stays readable in errors.
bool names_secret_location(std::string_view ident) {
  for (std::string_view suffix : {"_file", "_env", "_path", "_dir", "-file", "-env", "-path"}) {
    if (ident.size() >= suffix.size() &&
        iequals(ident.substr(ident.size() - suffix.size()), suffix)) {
      return true;
    }
  }
  return false;
}

// 64 hex digits (optionally after 0x) starting at `i` and not part of a longer alphanumeric run;
// returns the token's length or 0.
std::size_t hex32_at(std::string_view s, std::size_t i) {
  if (i > 0 && is_alnum(s[i - 1])) {
    return 0;
  }
  std::size_t j = i;
  if (j + 1 < s.size() && s[j] == '0' && (s[j + 1] == 'x' || s[j + 1] == 'X')) {
    j += 2;
  }
  std::size_t n = 0;
  while (j + n < s.size() && is_hex(s[j + n])) {
    ++n;
  }
  if (n != 64) {
    return 0;
  }
  if (j + n < s.size() && is_alnum(s[j + n])) {
    return 0;
  }
  return j - i + n;
}

bool looks_like_hex32(std::string_view v) { return !v.empty() && hex32_at(v, 0) == v.size(); }

// The identifier that ends right before position `end`, after skipping separators backwards.
std::string_view word_before(std::string_view s, std::size_t end) {
  std::size_t e = end;
  while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '"' || s[e - 1] == '\'' ||
                   s[e - 1] == ':' || s[e - 1] == '=')) {
    --e;
  }
  std::size_t b = e;
  while (b > 0 && is_ident(s[b - 1])) {
    --b;
  }
  return s.substr(b, e - b);
}

bool ends_with_key(std::string_view word) {
  return word.size() >= 3 && iequals(word.substr(word.size() - 3), "key");
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
      }
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      // RFC 8259 section 8.1: JSON text is UTF-8. Copy a well-formed sequence (RFC 3629 table),
      // replace any ill-formed byte by U+FFFD so the line still parses.
      std::size_t len = 0;
      unsigned lo = 0x80;
      unsigned hi = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
      } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) {
          lo = 0xA0;
        }
        if (c == 0xED) {
          hi = 0x9F;
        }
      } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) {
          lo = 0x90;
        }
        if (c == 0xF4) {
          hi = 0x8F;
        }
      }
      bool ok = len > 0 && i + len <= s.size();
      for (std::size_t k = 1; ok && k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        const unsigned l = k == 1 ? lo : 0x80;
        const unsigned h = k == 1 ? hi : 0xBF;
        ok = b >= l && b <= h;
      }
      if (ok) {
        out.append(s.substr(i, len));
        i += len;
      } else {
        out += "\\ufffd";
        ++i;
      }
    }
  }
  out += '"';
}

// Text style: a value is quoted when it is empty or has spaces, quotes, '=' or control bytes.
void append_text_value(std::string& out, std::string_view s) {
  const bool quote =
      s.empty() || std::any_of(s.begin(), s.end(), [](char c) {
        return c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20;
      });
  if (!quote) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    }
  }
  out += '"';
}

// The message in text style: one line, whatever it contains (no forged records).
void append_text_message(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      out += '?';
    } else {
      out += c;
    }
  }
}

std::string format_double(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  std::array<char, 32> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return {buf.data(), r.ptr};
}

// Field keys are [A-Za-z0-9_.-]; anything else becomes '_'. The record's own keys are renamed.
std::string clean_key(std::string_view key) {
  std::string k(key.empty() ? std::string_view("field") : key);
  for (char& c : k) {
    if (!is_ident(c) && c != '.') {
      c = '_';
    }
  }
  if (k == "ts" || k == "level" || k == "msg") {
    k += '_';
  }
  return k;
}

// The value as written: masked when the name says secret (or *key holding 32 bytes of hex),
// otherwise redact()ed text, or the number / boolean.
void append_field(std::string& out, LogStyle style, const LogField& f) {
  const std::string key = clean_key(f.key());
  if (style == LogStyle::kJsonLines) {
    out += ',';
    append_json_string(out, key);
    out += ':';
  } else {
    out += ' ';
    out += key;
    out += '=';
  }
  const auto* text = std::get_if<std::string>(&f.value());
  if (is_secret_field_name(f.key()) ||
      (text && ends_with_key(f.key()) && looks_like_hex32(*text))) {
    if (style == LogStyle::kJsonLines) {
      append_json_string(out, kRedacted);
    } else {
      out += kRedacted;
    }
    return;
  }
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          const std::string safe = redact(v);
          if (style == LogStyle::kJsonLines) {
            append_json_string(out, safe);
          } else {
            append_text_value(out, safe);
          }
        } else if constexpr (std::is_same_v<T, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          const std::string d = format_double(v);
          // JSON has no NaN or infinities: those are written as strings.
          if (style == LogStyle::kJsonLines && !std::isfinite(v)) {
            append_json_string(out, d);
          } else {
            out += d;
          }
        } else {
          out += std::to_string(v);
        }
      },
      f.value());
}

std::string timestamp(std::chrono::system_clock::time_point t) {
  // RFC 3339 in UTC with milliseconds.
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  auto secs = static_cast<std::time_t>(ms.count() / 1000);
  auto milli = ms.count() % 1000;
  if (milli < 0) {
    milli += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::array<char, 80> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(milli));
  return buf.data();
}

spdlog::level::level_enum to_spdlog(LogLevel l) {
  switch (l) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kCritical: return spdlog::level::critical;
    case LogLevel::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

LogLevel from_spdlog(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace: return LogLevel::kTrace;
    case spdlog::level::debug: return LogLevel::kDebug;
    case spdlog::level::info: return LogLevel::kInfo;
    case spdlog::level::warn: return LogLevel::kWarn;
    case spdlog::level::err: return LogLevel::kError;
    case spdlog::level::critical: return LogLevel::kCritical;
    default: return LogLevel::kOff;
  }
}

// The fields of the record being logged on this thread: spdlog's synchronous sinks format in the
// caller's thread, inside logger::log, so log() can hand them to the formatter this way. A plain
// spdlog::info(...) call has none.
thread_local std::span<const LogField> tl_fields;

std::atomic<bool> g_configured{false};
std::once_flag g_default_once;

// Records logged before setup_logging() still get this format (text, info, stderr).
void ensure_configured() {
  if (g_configured.load(std::memory_order_acquire)) {
    return;
  }
  std::call_once(g_default_once, [] {
    if (!g_configured.load(std::memory_order_acquire)) {
      setup_logging({});
    }
  });
}

class RecordFormatter final : public spdlog::formatter {
 public:
  explicit RecordFormatter(LogStyle style) : style_(style) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string line =
        format_log_record(style_, msg.time, from_spdlog(msg.level),
                          std::string_view(msg.payload.data(), msg.payload.size()), tl_fields);
    dest.append(line.data(), line.data() + line.size());
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<RecordFormatter>(style_);
  }

 private:
  LogStyle style_;
};

}  // namespace

std::optional<LogStyle> parse_log_style(std::string_view text) noexcept {
  if (text == "text") {
    return LogStyle::kText;
  }
  if (text == "json") {
    return LogStyle::kJsonLines;
  }
  return std::nullopt;
}

std::optional<LogLevel> parse_log_level(std::string_view text) noexcept {
  if (text == "trace") {
    return LogLevel::kTrace;
  }
  if (text == "debug") {
    return LogLevel::kDebug;
  }
  if (text == "info") {
    return LogLevel::kInfo;
  }
  if (text == "warn" || text == "warning") {
    return LogLevel::kWarn;
  }
  if (text == "error") {
    return LogLevel::kError;
  }
  if (text == "critical") {
    return LogLevel::kCritical;
  }
  if (text == "off") {
    return LogLevel::kOff;
  }
  return std::nullopt;
}

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::kTrace: return "trace";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kCritical: return "critical";
    case LogLevel::kOff: return "off";
  }
  return "info";
}

bool is_secret_field_name(std::string_view name) noexcept {
  if (names_secret_location(name)) {
    return false;
  }
  return std::any_of(kSecretWords.begin(), kSecretWords.end(), [&](std::string_view w) {
    return ifind(name, w, 0) != std::string_view::npos;
  });
}

namespace {

// redact() step 1: a secret-naming field name at `i`, the rest of its identifier, a ':' or '='
// and the value, with the value masked. Returns where the text continues, or npos (no such
// field at `i`; nothing appended).
std::size_t mask_secret_field(std::string_view s, std::size_t i, std::string& out) {
  for (std::string_view w : kSecretWords) {
    if (i + w.size() > s.size() || !iequals(s.substr(i, w.size()), w)) {
      continue;
    }
    std::size_t j = i + w.size();
    while (j < s.size() && is_ident(s[j])) {
      ++j;
    }
    if (names_secret_location(s.substr(i, j - i))) {
      continue;
    }
    std::size_t k = j;
    if (k < s.size() && (s[k] == '"' || s[k] == '\'')) {
      ++k;
    }
    while (k < s.size() && (s[k] == ' ' || s[k] == '\t')) {
      ++k;
    }
    if (k >= s.size() || (s[k] != ':' && s[k] != '=')) {
      continue;
    }
    ++k;
    while (k < s.size() && (s[k] == ' ' || s[k] == '\t')) {
      ++k;
    }
    std::size_t value_end = k;
    char quote = 0;
    if (k < s.size() && (s[k] == '"' || s[k] == '\'')) {
      quote = s[k];
      value_end = s.find(quote, k + 1);
      if (value_end == std::string_view::npos) {
        value_end = s.size();
      }
    } else {
      while (value_end < s.size() && s[value_end] != ' ' && s[value_end] != '\t' &&
             s[value_end] != '\n' && s[value_end] != ',' && s[value_end] != ';' &&
             s[value_end] != '}' && s[value_end] != '&' && s[value_end] != ')') {
        ++value_end;
      }
    }
    out.append(s.substr(i, (quote ? k + 1 : k) - i));
    out += kRedacted;
    return value_end;
  }
  return std::string_view::npos;
}

// redact() step 3: scheme://user:password@host at `i` (the "://"), the password masked.
// Returns where the text continues, or npos (nothing appended).
std::size_t mask_url_password(std::string_view s, std::size_t i, std::string& out) {
  if (s.substr(i, 3) != "://") {
    return std::string_view::npos;
  }
  const std::size_t start = i + 3;
  std::size_t end = start;
  while (end < s.size() && s[end] != '/' && s[end] != '@' && s[end] != ' ' && s[end] != '"' &&
         s[end] != '\n') {
    ++end;
  }
  const std::size_t colon = s.substr(start, end - start).find(':');
  if (end >= s.size() || s[end] != '@' || colon == std::string_view::npos) {
    return std::string_view::npos;
  }
  out.append(s.substr(i, 3 + colon + 1));
  out += kRedacted;
  out += '@';
  return end + 1;
}

}  // namespace

std::string redact(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    // 1. A secret-naming field name, the rest of its identifier, a ':' or '=' and the value.
    if (const std::size_t next = mask_secret_field(s, i, out); next != std::string_view::npos) {
      i = next;
      continue;
    }
    // 2. 32 bytes of hex right after a name ending in "key".
    if (const std::size_t n = hex32_at(s, i); n > 0) {
      if (ends_with_key(word_before(s, i))) {
        out += kRedacted;
      } else {
        out.append(s.substr(i, n));
      }
      i += n;
      continue;
    }
    // 3. scheme://user:password@host
    if (const std::size_t next = mask_url_password(s, i, out); next != std::string_view::npos) {
      i = next;
      continue;
    }
    out += s[i];
    ++i;
  }
  return out;
}

std::string format_log_record(LogStyle style, std::chrono::system_clock::time_point time,
                              LogLevel level, std::string_view message,
                              std::span<const LogField> fields) {
  std::string out;
  const std::string msg = redact(message);
  if (style == LogStyle::kJsonLines) {
    out += "{\"ts\":\"";
    out += timestamp(time);
    out += "\",\"level\":\"";
    out += to_string(level);
    out += "\",\"msg\":";
    append_json_string(out, msg);
    for (const auto& f : fields) {
      append_field(out, style, f);
    }
    out += "}\n";
  } else {
    out += timestamp(time);
    out += ' ';
    out += to_string(level);
    out += ' ';
    append_text_message(out, msg);
    for (const auto& f : fields) {
      append_field(out, style, f);
    }
    out += '\n';
  }
  return out;
}

namespace {
std::atomic<bool> g_verbose_ticks{false};
}  // namespace

void set_verbose_ticks(bool verbose) noexcept { g_verbose_ticks.store(verbose); }

bool verbose_ticks() noexcept { return g_verbose_ticks.load(); }

void setup_logging(const LogOptions& options) {
  spdlog::sink_ptr sink;
  if (options.stream) {
    sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*options.stream, true);
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  sink->set_formatter(std::make_unique<RecordFormatter>(options.style));
  auto logger = std::make_shared<spdlog::logger>("varkeeper", std::move(sink));
  logger->set_level(to_spdlog(options.level));
  logger->flush_on(spdlog::level::trace);  // a crash must not eat the last records
  spdlog::set_default_logger(std::move(logger));
  g_configured.store(true, std::memory_order_release);
}

bool log_enabled(LogLevel level) noexcept {
  ensure_configured();
  return level != LogLevel::kOff && spdlog::default_logger_raw()->should_log(to_spdlog(level));
}

void log(LogLevel level, std::string_view message, LogFields fields) {
  if (!log_enabled(level)) {
    return;
  }
  tl_fields = std::span<const LogField>(fields.begin(), fields.size());
  try {
    spdlog::default_logger_raw()->log(to_spdlog(level),
                                      spdlog::string_view_t(message.data(), message.size()));
  } catch (...) {
    // Logging must never take the keeper down (spdlog reports its own sink errors).
  }
  tl_fields = {};
}

}  // namespace varkeeper::keeper
