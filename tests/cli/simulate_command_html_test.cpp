// The simulation's report.html in a real browser (issue 8 "Done when"): Debian's headless
// Chromium loads it, dumps the DOM and takes a screenshot; the charts must have rendered (non-empty
// SVG paths), the screenshot must not be blank, and the console must show no uncaught error.
#include <doctest/doctest.h>

#include <unistd.h>
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "tests/support/test_support.hpp"

using varkeeper::test::read_file;
using varkeeper::test::run_process;
namespace fs = std::filesystem;

namespace {

std::string find_chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (fs::exists(p)) return p;
  }
  return {};
}

std::uint32_t be32(const std::string& s, std::size_t at) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

}  // namespace

TEST_CASE("the simulation report renders its charts in headless Chromium without errors") {
  const std::string chromium = find_chromium();
  if (chromium.empty()) {
    FAIL(
        "chromium is missing: install it with `apt-get install -y chromium` (scripts/setup.sh "
        "lists it)");
  }
  const fs::path dir =
      fs::temp_directory_path() / ("varkeeper-simulate-html-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto sim = run_process(
      {VARKEEPER_BINARY, "simulate", "--scenario", "jump-crash", "--out", (dir / "out").string()});
  INFO(sim.err);
  REQUIRE(sim.exit_code == 0);
  const fs::path html = dir / "out" / "report.html";
  const fs::path png = dir / "shot.png";
  const auto r = run_process(
      {chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
       "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr",
       "--v=0", "--user-data-dir=" + (dir / "profile").string(), "--window-size=1100,1400",
       "--screenshot=" + png.string(), "--dump-dom", "file://" + html.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("Uncaught") == std::string::npos);
  CHECK(r.err.find("Failed to load resource") == std::string::npos);

  // The DOM after rendering: two charts per portfolio, each with non-empty paths.
  const std::string& dom = r.out;
  CHECK(std::count(dom.begin(), dom.end(), '\n') > 0);
  // (Plain searches: std::regex recurses per character and overflows on long path data.)
  const auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto at = dom.find(needle); at != std::string::npos; at = dom.find(needle, at + 1)) ++n;
    return n;
  };
  CHECK(count("<svg class=\"chart price\"") == 1);
  CHECK(count("<svg class=\"chart risk\"") == 1);
  std::size_t non_empty = 0;
  for (auto at = dom.find("<path"); at != std::string::npos; at = dom.find("<path", at + 1)) {
    const auto end = dom.find('>', at);
    const auto d = dom.find(" d=\"M", at);
    if (d == std::string::npos || d > end) continue;
    const auto close = dom.find('"', d + 4);
    if (close != std::string::npos && close - d > 20) ++non_empty;
  }
  CHECK(non_empty >= 6);  // ETH and value; band, VaR, CVaR and computed VaR
  CHECK(dom.find("class=\"tripped\"") != std::string::npos);  // the breaker state shaded
  CHECK(dom.find("class=\"exception\"") != std::string::npos);

  // The screenshot: a PNG of the window size, large enough not to be a blank page (a blank
  // white 1100x1400 PNG compresses to a few kilobytes).
  REQUIRE(fs::exists(png));
  const std::string image = read_file(png);
  REQUIRE(image.size() > 24);
  CHECK(image.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0);
  CHECK(be32(image, 16) == 1100);
  CHECK(be32(image, 20) == 1400);
  CHECK(image.size() > 30'000);
  fs::remove_all(dir);
}
