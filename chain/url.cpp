#include "chain/url.hpp"

#include <charconv>

namespace varkeeper::chain {

std::string_view to_string(UrlError e) noexcept {
  switch (e) {
    case UrlError::kBadScheme: return "URL scheme must be http, https, ws or wss";
    case UrlError::kMissingHost: return "URL has no host";
    case UrlError::kBadPort: return "URL port is not a number in 1..65535";
    case UrlError::kCredentialsNotAllowed: return "URL must not embed user:password@";
  }
  return "bad URL";
}

namespace {
std::string_view scheme_name(UrlScheme s) {
  switch (s) {
    case UrlScheme::kHttp: return "http";
    case UrlScheme::kHttps: return "https";
    case UrlScheme::kWs: return "ws";
    case UrlScheme::kWss: return "wss";
  }
  return "http";
}
}  // namespace

std::string Url::to_string() const {
  return std::string(scheme_name(scheme)) + "://" + host + ":" + std::to_string(port) + target;
}

std::string redacted(const Url& url) {
  return std::string(scheme_name(url.scheme)) + "://" + url.host + ":" + std::to_string(url.port);
}

Expected<Url, UrlError> parse_url(std::string_view text) {
  Url url;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) {
    return unexpected(UrlError::kBadScheme);
  }
  const std::string_view scheme = text.substr(0, sep);
  if (scheme == "http") {
    url.scheme = UrlScheme::kHttp;
    url.port = 80;
  } else if (scheme == "https") {
    url.scheme = UrlScheme::kHttps;
    url.port = 443;
  } else if (scheme == "ws") {
    url.scheme = UrlScheme::kWs;
    url.port = 80;
  } else if (scheme == "wss") {
    url.scheme = UrlScheme::kWss;
    url.port = 443;
  } else {
    return unexpected(UrlError::kBadScheme);
  }
  std::string_view rest = text.substr(sep + 3);
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    url.target = std::string(rest.substr(slash));
    if (url.target.front() == '?') {
      url.target.insert(0, "/");
    }
  }
  if (authority.find('@') != std::string_view::npos) {
    return unexpected(UrlError::kCredentialsNotAllowed);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return unexpected(UrlError::kMissingHost);
    }
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return unexpected(UrlError::kBadPort);
      }
      port = after.substr(1);
      if (port.empty()) {
        return unexpected(UrlError::kBadPort);
      }
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) {
      return unexpected(UrlError::kBadPort);
    }
  }
  if (host.empty()) {
    return unexpected(UrlError::kMissingHost);
  }
  url.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      return unexpected(UrlError::kBadPort);
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  return url;
}

}  // namespace varkeeper::chain
