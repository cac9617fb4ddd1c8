#include "keeper/network/peer_message.hpp"

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "chain/hex.hpp"
#include "chain/uint256.hpp"

namespace varkeeper::keeper::network {
namespace {

constexpr std::string_view kVersion = "1";

// Every key of the message, in the order it is written.
constexpr std::array<std::string_view, 15> kKeys = {
    "version",           "portfolioId", "round",         "observedAt",     "horizon",
    "confidence",        "method",      "breakerStatus", "portfolioValue", "valueAtRisk",
    "expectedShortfall", "configHash",  "triggerBlock",  "signer",         "signature"};

std::optional<std::size_t> key_index(std::string_view key) {
  for (std::size_t i = 0; i < kKeys.size(); ++i) {
    if (kKeys[i] == key) {
      return i;
    }
  }
  return std::nullopt;
}

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A flat JSON object of string values: {"k":"v",...}. Strings may not hold escapes or control
// characters (no field needs them). Fills `values` by key index; the error is one sentence.
std::optional<std::string> parse_flat_object(
    std::string_view s, std::array<std::optional<std::string_view>, kKeys.size()>& values) {
  std::size_t i = 0;
  const auto skip_ws = [&] {
    while (i < s.size() && is_ws(s[i])) {
      ++i;
    }
  };
  const auto string_at =
      [&](std::string_view what) -> std::pair<std::optional<std::string_view>, std::string> {
    if (i >= s.size() || s[i] != '"') {
      return {std::nullopt,
              std::string(what) + " is not a JSON string at byte " + std::to_string(i)};
    }
    const std::size_t start = ++i;
    while (i < s.size() && s[i] != '"') {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c == '\\') {
        return {std::nullopt,
                "escapes are not allowed in strings (byte " + std::to_string(i) + ")"};
      }
      if (c < 0x20 || c >= 0x7f) {
        return {std::nullopt,
                "a control or non-ASCII character in a string (byte " + std::to_string(i) + ")"};
      }
      ++i;
    }
    if (i >= s.size()) {
      return {std::nullopt, "an unterminated string"};
    }
    const std::string_view out = s.substr(start, i - start);
    ++i;  // the closing quote
    return {out, {}};
  };

  skip_ws();
  if (i >= s.size() || s[i] != '{') {
    return "the message is not a JSON object";
  }
  ++i;
  skip_ws();
  if (i < s.size() && s[i] == '}') {
    return "the message is an empty object";
  }
  for (;;) {
    skip_ws();
    auto [key, key_error] = string_at("a key");
    if (!key) {
      return key_error;
    }
    const auto index = key_index(*key);
    if (!index) {
      return "unknown key \"" + std::string(*key) + "\"";
    }
    if (values[*index]) {
      return "duplicate key \"" + std::string(*key) + "\"";
    }
    skip_ws();
    if (i >= s.size() || s[i] != ':') {
      return "no ':' after key \"" + std::string(*key) + "\"";
    }
    ++i;
    skip_ws();
    auto [value, value_error] = string_at("the value of \"" + std::string(*key) + "\"");
    if (!value) {
      return value_error;
    }
    values[*index] = *value;
    skip_ws();
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == '}') {
      ++i;
      break;
    }
    return "expected ',' or '}' at byte " + std::to_string(i);
  }
  skip_ws();
  if (i != s.size()) {
    return "content after the object at byte " + std::to_string(i);
  }
  for (std::size_t k = 0; k < kKeys.size(); ++k) {
    if (!values[k]) {
      return "missing key \"" + std::string(kKeys[k]) + "\"";
    }
  }
  return std::nullopt;
}

// A decimal integer without sign or leading zeros, at most `bits` wide.
chain::Expected<chain::U256, std::string> parse_uint(std::string_view key, std::string_view text,
                                                     unsigned bits) {
  const auto bad = [&](std::string_view why) {
    return chain::unexpected("\"" + std::string(key) + "\" " + std::string(why));
  };
  if (text.empty()) {
    return bad("is empty");
  }
  if (text.size() > 1 && text[0] == '0') {
    return bad("has a leading zero");
  }
  if (text.size() > 78) {  // 2^256 has 78 digits
    return bad("is too long");
  }
  chain::U256 value = 0;
  const chain::U256 limit = (bits >= 256) ? ~chain::U256(0) : (chain::U256(1) << bits) - 1;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return bad("is not a decimal integer");
    }
    const chain::U256 digit = static_cast<unsigned>(c - '0');
    if (value > (limit - digit) / 10) {
      return bad("is out of range for uint" + std::to_string(bits));
    }
    value = value * 10 + digit;
  }
  return value;
}

template <class T>
bool read_uint(std::string_view key, std::string_view text, unsigned bits, T& out,
               std::string& error) {
  auto v = parse_uint(key, text, bits);
  if (!v) {
    error = v.error();
    return false;
  }
  out = v->template convert_to<T>();
  return true;
}

std::string decimal(std::uint64_t v) { return std::to_string(v); }

}  // namespace

std::string encode_peer_report(const PeerReport& m) {
  const OnchainReport& r = m.report;
  const std::array<std::string, kKeys.size()> values = {
      std::string(kVersion),
      decimal(r.portfolio_id),
      decimal(r.round),
      decimal(r.observed_at),
      decimal(r.horizon),
      decimal(r.confidence),
      decimal(r.method),
      decimal(r.breaker_status),
      chain::u256_to_decimal(r.portfolio_value),
      decimal(r.value_at_risk),
      decimal(r.expected_shortfall),
      chain::to_hex(r.config_hash),
      decimal(m.trigger_block),
      chain::to_hex(m.signer),
      chain::to_hex(chain::to_rsv(m.signature)),
  };
  std::string out = "{";
  for (std::size_t k = 0; k < kKeys.size(); ++k) {
    if (k > 0) {
      out += ',';
    }
    out += '"';
    out += kKeys[k];
    out += "\":\"";
    out += values[k];
    out += '"';
  }
  out += '}';
  return out;
}

chain::Expected<PeerReport, std::string> decode_peer_report(std::string_view body,
                                                            const OracleDomain& domain) {
  if (body.size() > kMaxPeerMessageBytes) {
    return chain::unexpected("the message is " + std::to_string(body.size()) + " bytes, over the " +
                             std::to_string(kMaxPeerMessageBytes) + "-byte limit");
  }
  std::array<std::optional<std::string_view>, kKeys.size()> v{};
  if (auto error = parse_flat_object(body, v)) {
    return chain::unexpected(std::move(*error));
  }
  const auto at = [&](std::size_t k) { return *v[k]; };
  if (at(0) != kVersion) {
    return chain::unexpected("\"version\" is \"" + std::string(at(0)) + "\", not \"" +
                             std::string(kVersion) + "\"");
  }
  PeerReport m;
  OnchainReport& r = m.report;
  std::string error;
  if (!read_uint(kKeys[1], at(1), 64, r.portfolio_id, error) ||
      !read_uint(kKeys[2], at(2), 64, r.round, error) ||
      !read_uint(kKeys[3], at(3), 64, r.observed_at, error) ||
      !read_uint(kKeys[4], at(4), 32, r.horizon, error) ||
      !read_uint(kKeys[5], at(5), 64, r.confidence, error) ||
      !read_uint(kKeys[6], at(6), 8, r.method, error) ||
      !read_uint(kKeys[7], at(7), 8, r.breaker_status, error) ||
      !read_uint(kKeys[9], at(9), 64, r.value_at_risk, error) ||
      !read_uint(kKeys[10], at(10), 64, r.expected_shortfall, error) ||
      !read_uint(kKeys[12], at(12), 64, m.trigger_block, error)) {
    return chain::unexpected(std::move(error));
  }
  auto value = parse_uint(kKeys[8], at(8), 96);
  if (!value) {
    return chain::unexpected(value.error());
  }
  r.portfolio_value = *value;
  auto config_hash = chain::from_hex_fixed<32>(at(11), chain::HexPrefix::kRequired);
  if (!config_hash) {
    return chain::unexpected("\"configHash\" is not 0x and 64 hex digits (" +
                             std::string(chain::to_string(config_hash.error())) + ")");
  }
  r.config_hash = *config_hash;
  auto claimed = chain::from_hex_fixed<20>(at(13), chain::HexPrefix::kRequired);
  if (!claimed) {
    return chain::unexpected("\"signer\" is not 0x and 40 hex digits (" +
                             std::string(chain::to_string(claimed.error())) + ")");
  }
  auto rsv = chain::from_hex_fixed<65>(at(14), chain::HexPrefix::kRequired);
  if (!rsv) {
    return chain::unexpected("\"signature\" is not 0x and 130 hex digits (" +
                             std::string(chain::to_string(rsv.error())) + ")");
  }
  if ((*rsv)[64] != 27 && (*rsv)[64] != 28) {
    return chain::unexpected(std::string("\"signature\" has v ") + std::to_string((*rsv)[64]) +
                             ", not 27 or 28");
  }
  auto sig = chain::from_rsv(*rsv);
  if (!sig) {
    return chain::unexpected("\"signature\" is refused: " +
                             std::string(chain::to_string(sig.error())));
  }
  m.signature = *sig;
  auto signer = chain::recover_address(report_digest(domain, r), m.signature);
  if (!signer) {
    return chain::unexpected("\"signature\" recovers no signer: " +
                             std::string(chain::to_string(signer.error())));
  }
  if (*signer != *claimed) {
    return chain::unexpected("\"signature\" recovers to " + chain::to_checksum_address(*signer) +
                             ", not the claimed signer " + chain::to_checksum_address(*claimed) +
                             " (another report, chain or oracle contract)");
  }
  m.signer = *signer;
  return m;
}

}  // namespace varkeeper::keeper::network
