#include "keeper/io/weights.hpp"

#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>

#include "keeper/io/csv_text.hpp"

namespace varkeeper::keeper {
namespace {

chain::Unexpected<WeightsIssue> issue(WeightsError error, std::size_t field, std::string message) {
  return chain::unexpected(WeightsIssue{error, field, std::move(message)});
}

std::string joined(std::span<const std::string> names) {
  std::string s;
  for (const auto& name : names) {
    s += (s.empty() ? "" : ", ") + name;
  }
  return s;
}

}  // namespace

chain::Expected<std::vector<double>, WeightsIssue> parse_weights(
    std::string_view text, std::span<const std::string> assets, std::string_view option) {
  const std::string name(option);
  if (assets.empty()) {
    return issue(WeightsError::kNoAssets, 0, name + ": there is no asset to weigh.");
  }
  if (csv::trim(text).empty()) {
    return std::vector<double>(assets.size(), 1.0 / static_cast<double>(assets.size()));
  }
  std::vector<double> weights;
  const auto fields = csv::split_fields(text);
  for (std::size_t k = 0; k < fields.size(); ++k) {
    const std::string_view field = fields[k];
    const std::size_t number = k + 1;
    if (field.empty()) {
      return issue(
          WeightsError::kEmptyField, number,
          name + ": value " + std::to_string(number) + " is empty (a doubled or trailing comma?).");
    }
    double v = 0.0;
    // std::from_chars: a plain decimal number, no sign '+', no hex prefix, no leading space.
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
    if (ec == std::errc::result_out_of_range) {
      return issue(WeightsError::kNotFinite, number,
                   name + ": '" + std::string(field) + "' is not a finite number.");
    }
    if (ec != std::errc() || end != field.data() + field.size()) {
      return issue(WeightsError::kNotANumber, number,
                   name + ": '" + std::string(field) + "' is not a number.");
    }
    if (!std::isfinite(v)) {
      return issue(WeightsError::kNotFinite, number,
                   name + ": '" + std::string(field) + "' is not a finite number.");
    }
    weights.push_back(v);
  }
  if (weights.size() != assets.size()) {
    return issue(WeightsError::kWrongCount, 0,
                 name + " has " + std::to_string(weights.size()) + " value(s) but the input has " +
                     std::to_string(assets.size()) + " asset(s) (" + joined(assets) + ").");
  }
  return weights;
}

}  // namespace varkeeper::keeper
