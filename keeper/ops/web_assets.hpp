// The web view's files (web/index.html, app.js, style.css), embedded in the binary at build time
// by web/embed.cmake: the page needs no build step, no CDN and no installed files.
#pragma once

#include <string_view>

namespace varkeeper::keeper {

struct WebAsset {
  std::string_view path;          // "/" for index.html, else "/app.js", "/style.css"
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view body;
};

// The embedded file served at `path` (query string already removed), or nullptr.
[[nodiscard]] const WebAsset* find_web_asset(std::string_view path) noexcept;

}  // namespace varkeeper::keeper
