// Structured logs: exact record text, JSON lines that parse (RFC 8259), level filtering, and the
// guarantee that key material never reaches a log line.
#include "keeper/ops/logging.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "chain/address.hpp"
#include "chain/hex.hpp"
#include "chain/secp256k1.hpp"
#include "chain/secret_key.hpp"

using varkeeper::keeper::format_log_record;
using varkeeper::keeper::is_secret_field_name;
using varkeeper::keeper::LogField;
using varkeeper::keeper::LogLevel;
using varkeeper::keeper::LogOptions;
using varkeeper::keeper::LogStyle;
using varkeeper::keeper::redact;
using varkeeper::keeper::setup_logging;

namespace {

// Sends the process logger into a string for the test's duration, then back to stderr.
struct LogCapture {
  std::ostringstream out;
  LogCapture(LogStyle style, LogLevel level) { setup_logging(LogOptions{style, level, &out}); }
  ~LogCapture() { setup_logging(LogOptions{}); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  [[nodiscard]] std::vector<std::string> lines() const {
    std::vector<std::string> result;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
  }
};

std::chrono::system_clock::time_point at_2026_11_22_024429_123() {
  using namespace std::chrono;
  return sys_days{year{2026} / November / 22} + hours{2} + minutes{44} + seconds{29} +
         milliseconds{123};
}

// Anvil's (and Hardhat's) well-known development account 0.
constexpr const char* kAnvilKey0 =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
constexpr const char* kAnvilAddress0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

}  // namespace

TEST_CASE("a JSON-lines record is ts, level, msg and then the typed fields in order") {
  const std::vector<LogField> fields = {{"portfolio", "eth-btc"},
                                        {"round", 42},
                                        {"var", 0.0625},
                                        {"gas", 21000u},
                                        {"tripped", false},
                                        {"delta", -3},
                                        {"note", "a \"quoted\"\nline"}};
  CHECK(format_log_record(LogStyle::kJsonLines, at_2026_11_22_024429_123(), LogLevel::kInfo,
                          "report published", fields) ==
        "{\"ts\":\"2026-11-22T02:44:29.123Z\",\"level\":\"info\",\"msg\":\"report published\","
        "\"portfolio\":\"eth-btc\",\"round\":42,\"var\":0.0625,\"gas\":21000,\"tripped\":false,"
        "\"delta\":-3,\"note\":\"a \\\"quoted\\\"\\nline\"}\n");
}

TEST_CASE("a text record is one line with key=value fields, quoting values that need it") {
  const std::vector<LogField> fields = {
      {"portfolio", "eth-btc"}, {"round", 42}, {"reason", "price stale"}, {"empty", ""}};
  CHECK(format_log_record(LogStyle::kText, at_2026_11_22_024429_123(), LogLevel::kWarn,
                          "breaker tripped\nforged line", fields) ==
        "2026-11-22T02:44:29.123Z warn breaker tripped\\nforged line portfolio=eth-btc round=42 "
        "reason=\"price stale\" empty=\"\"\n");
}

TEST_CASE("non-finite numbers, reserved keys and odd key characters still give valid JSON") {
  const std::vector<LogField> fields = {{"nan", std::nan("")},
                                        {"inf", std::numeric_limits<double>::infinity()},
                                        {"msg", "shadow"},
                                        {"we ird\"key", 1}};
  const std::string line = format_log_record(LogStyle::kJsonLines, at_2026_11_22_024429_123(),
                                             LogLevel::kError, "x", fields);
  const auto j = nlohmann::json::parse(line);
  CHECK(j["msg"] == "x");
  CHECK(j["nan"] == "NaN");
  CHECK(j["inf"] == "+Inf");
  CHECK(j["msg_"] == "shadow");
  CHECK(j["we_ird_key"] == 1);
}

TEST_CASE("every record written through the logger parses as one JSON object per line") {
  LogCapture capture(LogStyle::kJsonLines, LogLevel::kDebug);
  varkeeper::keeper::log_info("tick", {{"seconds", 0.25}, {"portfolios", 3}});
  varkeeper::keeper::log_warn("rpc error", {{"endpoint", "http://127.0.0.1:8545"},
                                            {"error", "HTTP 502\r\n<html>\"bad\"</html>\t\x01"}});
  varkeeper::keeper::log_error("garbage from node",
                               {{"body", std::string("\xff\xfe ok \xc3\xa9")}});
  varkeeper::keeper::log_debug("multi\nline\nmessage");
  const auto lines = capture.lines();
  REQUIRE(lines.size() == 4);
  for (const auto& line : lines) {
    CAPTURE(line);
    const auto j = nlohmann::json::parse(line);  // throws (fails the test) on invalid JSON
    CHECK(j.is_object());
    CHECK(j["ts"].get<std::string>().size() == 24);
    CHECK(j["level"].is_string());
    CHECK(j["msg"].is_string());
  }
  const auto first = nlohmann::json::parse(lines[0]);
  CHECK(first["level"] == "info");
  CHECK(first["seconds"] == 0.25);
  CHECK(first["portfolios"] == 3);
  CHECK(nlohmann::json::parse(lines[1])["error"] == "HTTP 502\r\n<html>\"bad\"</html>\t\x01");
  // Ill-formed UTF-8 bytes become U+FFFD; the well-formed e-acute is kept.
  CHECK(nlohmann::json::parse(lines[2])["body"] == "\xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9");
  CHECK(nlohmann::json::parse(lines[3])["msg"] == "multi\nline\nmessage");
}

TEST_CASE("records below the configured level are not written") {
  LogCapture capture(LogStyle::kText, LogLevel::kWarn);
  CHECK_FALSE(varkeeper::keeper::log_enabled(LogLevel::kInfo));
  CHECK(varkeeper::keeper::log_enabled(LogLevel::kError));
  varkeeper::keeper::log_debug("hidden");
  varkeeper::keeper::log_info("hidden");
  varkeeper::keeper::log_warn("shown");
  varkeeper::keeper::log_error("shown too");
  const auto lines = capture.lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find(" warn shown") != std::string::npos);
  CHECK(lines[1].find(" error shown too") != std::string::npos);
}

TEST_CASE("log levels and styles parse from their configuration names only") {
  using varkeeper::keeper::parse_log_level;
  using varkeeper::keeper::parse_log_style;
  CHECK(parse_log_level("trace") == LogLevel::kTrace);
  CHECK(parse_log_level("debug") == LogLevel::kDebug);
  CHECK(parse_log_level("info") == LogLevel::kInfo);
  CHECK(parse_log_level("warn") == LogLevel::kWarn);
  CHECK(parse_log_level("warning") == LogLevel::kWarn);
  CHECK(parse_log_level("error") == LogLevel::kError);
  CHECK(parse_log_level("critical") == LogLevel::kCritical);
  CHECK(parse_log_level("off") == LogLevel::kOff);
  CHECK_FALSE(parse_log_level("INFO"));
  CHECK_FALSE(parse_log_level("verbose"));
  CHECK(parse_log_style("text") == LogStyle::kText);
  CHECK(parse_log_style("json") == LogStyle::kJsonLines);
  CHECK_FALSE(parse_log_style("yaml"));
}

TEST_CASE("redact masks values after secret-naming fields and keeps hashes and addresses") {
  const std::string key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
  const std::string tx = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";
  struct Row {
    std::string in;
    std::string out;
  };
  const std::vector<Row> rows = {
      {"password=hunter2 next", "password=[redacted] next"},
      {"keystore_password: hunter2", "keystore_password: [redacted]"},
      {"{\"private_key\": \"0x" + key + "\", \"a\": 1}",
       "{\"private_key\": \"[redacted]\", \"a\": 1}"},
      {"PRIVATE_KEY=0x" + key, "PRIVATE_KEY=[redacted]"},
      {"client_secret='s3 cr3t' rest", "client_secret='[redacted]' rest"},
      {"mnemonic: \"test test test junk\"", "mnemonic: \"[redacted]\""},
      {"signer key 0x" + key + " loaded", "signer key [redacted] loaded"},
      {"signing_key=" + key, "signing_key=[redacted]"},
      {"tx " + tx + " sent", "tx " + tx + " sent"},
      {"digest=" + tx, "digest=" + tx},
      {"hash: " + key, "hash: " + key},
      {"https://alice:pw@rpc.example.org/v1", "https://alice:[redacted]@rpc.example.org/v1"},
      {"http://127.0.0.1:8545", "http://127.0.0.1:8545"},
      {"wrong password for keystore a.json", "wrong password for keystore a.json"},
      {"wrong password (the keystore MAC does not match)",
       "wrong password (the keystore MAC does not match)"},
      // Where a secret is kept is not the secret: config errors stay clear.
      {"signers[0].password_env: \"KEEPER_PW\" is not set",
       "signers[0].password_env: \"KEEPER_PW\" is not set"},
      {"password_file=/etc/varkeeper/pw", "password_file=/etc/varkeeper/pw"},
      {std::string("signer ") + kAnvilAddress0, std::string("signer ") + kAnvilAddress0},
  };
  for (const auto& row : rows) {
    CAPTURE(row.in);
    CHECK(redact(row.in) == row.out);
  }
}

TEST_CASE("structured fields named like secrets are masked whatever their value") {
  for (const char* name : {"password", "keystore_password", "passphrase", "secret", "private_key",
                           "privateKey", "mnemonic", "seed_phrase"}) {
    CAPTURE(name);
    CHECK(is_secret_field_name(name));
  }
  for (const char* name : {"tx", "hash", "digest", "address", "signer", "key_id", "portfolio",
                           "password_file", "password_env", "keystore"}) {
    CAPTURE(name);
    CHECK_FALSE(is_secret_field_name(name));
  }
  const std::string hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
  const std::vector<LogField> fields = {
      {"password", "hunter2"}, {"signer_key", hex}, {"tx_hash", hex}, {"key", kAnvilAddress0}};
  CHECK(format_log_record(LogStyle::kText, at_2026_11_22_024429_123(), LogLevel::kInfo, "m",
                          fields) ==
        "2026-11-22T02:44:29.123Z info m password=[redacted] signer_key=[redacted] tx_hash=" + hex +
            " key=" + kAnvilAddress0 + "\n");
}

// Compile-time: a SecretKey cannot become a log field, nor be streamed into a message.
template <class T>
concept Streamable = requires(std::ostream& os, const T& v) {
  os << v;
};
static_assert(
    !std::is_constructible_v<LogField, std::string_view, const varkeeper::chain::SecretKey&>);
static_assert(!Streamable<varkeeper::chain::SecretKey>);

TEST_CASE("the daemon's typical messages with a SecretKey in scope leak no key material") {
  const auto key = varkeeper::chain::SecretKey::from_hex(kAnvilKey0);
  REQUIRE(key);
  const std::string address =
      varkeeper::chain::to_checksum_address(varkeeper::chain::address_of(*key));
  REQUIRE(address == kAnvilAddress0);  // the key is the one we think it is
  const std::string tx = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";
  const std::string digest = "0x1c8aff950685c2ed4bc3174f3472287b56d9517b9c948127319a09a7a36deac8";
  // What a careless call site could do with the raw scalar: the safety net must still hold.
  const std::string leaked = varkeeper::chain::to_hex(key->reveal());

  for (const LogStyle style : {LogStyle::kText, LogStyle::kJsonLines}) {
    LogCapture capture(style, LogLevel::kTrace);
    using varkeeper::keeper::log_debug;
    using varkeeper::keeper::log_error;
    using varkeeper::keeper::log_info;
    using varkeeper::keeper::log_warn;
    log_info("signer loaded", {{"address", address}, {"keystore", "/etc/varkeeper/signer.json"}});
    log_info("report signed", {{"portfolio", "eth-btc"}, {"round", 7}, {"digest", digest}});
    log_info("transaction sent", {{"tx", tx}, {"nonce", 12u}, {"gas_wei", 420000000000000ull}});
    log_warn("keystore decryption failed", {{"file", "signer.json"}, {"error", "wrong password"}});
    log_error("config rejected", {{"error", "keystore_password: " + leaked}});
    log_debug("signing", {{"signer_key", leaked}, {"private_key", leaked}});
    log_debug("dev mode private key " + leaked + " in use");
    log_info("rpc endpoint", {{"url", "https://user:" + leaked.substr(2) + "@node.example/"}});

    const std::string text = capture.out.str();
    CAPTURE(text);
    const std::string bare = leaked.substr(2);
    std::string upper = bare;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(text.find(bare) == std::string::npos);
    CHECK(text.find(upper) == std::string::npos);
    CHECK(text.find(bare.substr(0, 16)) == std::string::npos);  // not even a prefix
    // Hashes and the address stay readable.
    CHECK(text.find(tx) != std::string::npos);
    CHECK(text.find(digest) != std::string::npos);
    CHECK(text.find(address) != std::string::npos);
    CHECK(capture.lines().size() == 8);
  }
}
