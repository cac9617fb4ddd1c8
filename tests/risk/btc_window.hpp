// Daily BTC/USD closes of config/data/btc_usd_daily.csv ("date,close"), for tests on real windows.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "risk/returns.hpp"

namespace varkeeper::test {

// Log-returns of the closes from first_date to last_date inclusive (closes - 1 returns).
inline std::vector<double> btc_log_returns(const std::string& first_date,
                                           const std::string& last_date) {
  std::ifstream in(std::string(VARKEEPER_SOURCE_DIR) + "/config/data/btc_usd_daily.csv");
  REQUIRE_MESSAGE(in.good(), "config/data/btc_usd_daily.csv is missing");
  std::vector<double> closes;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    const auto comma = line.find(',');
    if (comma == std::string::npos) {
      continue;
    }
    const std::string date = line.substr(0, comma);
    if (date == first_date) {
      inside = true;
    }
    if (inside) {
      closes.push_back(std::stod(line.substr(comma + 1)));
    }
    if (date == last_date) {
      break;
    }
  }
  return risk::log_returns(closes);
}

}  // namespace varkeeper::test
