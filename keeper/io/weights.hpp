// Portfolio value weights as a user writes them on the command line (`--weights 0.6,0.4` for
// `varkeeper var` and `varkeeper backtest`): one decimal number per asset, in the assets' order,
// separated by commas; spaces and tabs around a number are ignored. No text means equal weights.
// Refused: an empty field (",0.5", "0.5,,0.5", a trailing comma), anything that is not a plain
// finite decimal number ("abc", "0.5x", "+0.5", "0x1p-1", "inf", "nan", "1e999"), and a count
// that differs from the number of assets. Negative weights (short positions) are accepted. Never
// throws for bad text: the first problem is returned with the 1-based field it is in.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chain/expected.hpp"

namespace varkeeper::keeper {

enum class WeightsError {
  kEmptyField,  // "0.5,,0.5" or "0.5,0.5," : a field with nothing in it
  kNotANumber,  // "0.5x", "+0.5", "0x1p-1": not a plain decimal number
  kNotFinite,   // "inf", "nan", "1e999"
  kWrongCount,  // "1" for two assets
  kNoAssets,    // nothing to weigh
};

struct WeightsIssue {
  WeightsError error = WeightsError::kWrongCount;
  std::size_t field = 0;  // 1-based; 0 when not about one field
  std::string message;    // one sentence that starts with `option`
};

// `assets` names the assets (in the weights' order) for the count message; `option` names the
// input in messages ("--weights").
[[nodiscard]] chain::Expected<std::vector<double>, WeightsIssue> parse_weights(
    std::string_view text, std::span<const std::string> assets,
    std::string_view option = "--weights");

}  // namespace varkeeper::keeper
