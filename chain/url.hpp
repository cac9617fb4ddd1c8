// Endpoint URLs: http(s)://host[:port][/path] and ws(s)://host[:port][/path].
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "chain/expected.hpp"

namespace varkeeper::chain {

enum class UrlScheme { kHttp, kHttps, kWs, kWss };

struct Url {
  UrlScheme scheme = UrlScheme::kHttp;
  std::string host;  // name or IPv4 literal (IPv6 in brackets is kept without them)
  std::uint16_t port = 0;
  std::string target = "/";  // path and query
  [[nodiscard]] bool tls() const noexcept {
    return scheme == UrlScheme::kHttps || scheme == UrlScheme::kWss;
  }
  [[nodiscard]] std::string to_string() const;
};

enum class UrlError { kBadScheme, kMissingHost, kBadPort, kCredentialsNotAllowed };
[[nodiscard]] std::string_view to_string(UrlError e) noexcept;

[[nodiscard]] Expected<Url, UrlError> parse_url(std::string_view text);

// The URL without any path or query (which may carry an API key): for logs and metrics labels.
[[nodiscard]] std::string redacted(const Url& url);

}  // namespace varkeeper::chain
