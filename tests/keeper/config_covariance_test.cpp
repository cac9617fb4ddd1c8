// The portfolio key `covariance = "sample" | "ewma" | "ledoit-wolf"` (issue 16, covariance
// robustness): parsed, refused when unknown, and carried into the risk engine's options.
#include <doctest/doctest.h>

#include <string>

#include "keeper/config/config.hpp"

using namespace varkeeper;

namespace {

std::string config_with(const std::string& portfolio_line) {
  return "[chain]\nanvil = true\nchain_id = 31337\n\n"
         "[keys]\nsigners = [{ dev_key = \"anvil1\" }]\nsender = { dev_key = \"anvil0\" }\n\n"
         "[[assets]]\nsymbol = \"ETH\"\n\n"
         "[[portfolios]]\nid = 1\nmethod = \"mc-normal\"\npositions = { ETH = 1.5 }\n" +
         portfolio_line + "\n";
}

}  // namespace

TEST_CASE("a portfolio's covariance key selects Ledoit-Wolf or EWMA for the risk engine") {
  const auto lw = keeper::parse_config(config_with("covariance = \"ledoit-wolf\""), "c.toml");
  CHECK(keeper::risk_options(lw.portfolios.at(0)).ledoit_wolf);
  CHECK_FALSE(keeper::risk_options(lw.portfolios.at(0)).ewma_covariance);
  const auto ewma = keeper::parse_config(config_with("covariance = \"ewma\""), "c.toml");
  CHECK(keeper::risk_options(ewma.portfolios.at(0)).ewma_covariance);
  CHECK_FALSE(keeper::risk_options(ewma.portfolios.at(0)).ledoit_wolf);
  const auto plain = keeper::parse_config(config_with(""), "c.toml");
  CHECK_FALSE(keeper::risk_options(plain.portfolios.at(0)).ledoit_wolf);
  CHECK_FALSE(keeper::risk_options(plain.portfolios.at(0)).ewma_covariance);
  std::string message;
  try {
    (void)keeper::parse_config(config_with("covariance = \"shrunk\""), "c.toml");
  } catch (const keeper::ConfigError& e) {
    message = e.what();
  }
  CHECK(message.find("portfolios[0].covariance: must be \"sample\", \"ewma\" or \"ledoit-wolf\", "
                     "got \"shrunk\"") != std::string::npos);
}
