// The two inputs of `varkeeper backtest --forecasts FILE --realized FILE`:
//   forecasts: `date,var` or `date,var,cvar` — VaR (and CVaR) forecasts for that date, loss
//              fractions of portfolio value (0.052 = a 5.2 % loss), CVaR >= VaR; a VaR <= 0 (a
//              model expecting no loss) is accepted and backtested as it is, as a rolling run's
//              --forecasts-out can hold one;
//   realized:  `date,return` — the portfolio's realised simple return on that date (> -1).
// Dates are ISO `YYYY-MM-DD`, strictly increasing. A first line whose first field is not a date
// is a header (any column names). Blank lines and lines starting with '#' are ignored; CRLF is
// accepted. The parser never throws and names the line of the first problem it finds.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "chain/expected.hpp"

namespace varkeeper::keeper {

enum class BacktestCsvError {
  kCannotRead,         // the file could not be opened or read
  kNoRows,             // no data rows
  kColumnCount,        // a row has the wrong number of fields
  kBadDate,            // not a valid YYYY-MM-DD calendar date
  kBadNumber,          // a value is not a number (or has trailing characters)
  kNotFinite,          // nan / inf
  kCvarBelowVar,       // CVaR < VaR
  kReturnBelowMinus1,  // a simple return <= -1 (a loss of 100 % or more)
  kDuplicateDate,
  kUnorderedDate,
};

[[nodiscard]] std::string_view to_string(BacktestCsvError e) noexcept;

struct BacktestCsvIssue {
  BacktestCsvError error = BacktestCsvError::kNoRows;
  std::size_t line = 0;  // 1-based; 0 when the problem is not on a line (unreadable, empty)
  std::string detail;    // the offending text, when there is one
};

struct ForecastSeriesCsv {
  std::vector<std::string> dates;
  std::vector<double> var;
  std::vector<double> cvar;  // empty when the file has no cvar column
};

struct RealizedSeriesCsv {
  std::vector<std::string> dates;
  std::vector<double> returns;
};

[[nodiscard]] chain::Expected<ForecastSeriesCsv, BacktestCsvIssue> parse_forecasts_csv(
    std::string_view text);
[[nodiscard]] chain::Expected<RealizedSeriesCsv, BacktestCsvIssue> parse_realized_csv(
    std::string_view text);

// The same, from a file (kCannotRead if it cannot be read).
[[nodiscard]] chain::Expected<ForecastSeriesCsv, BacktestCsvIssue> read_forecasts_csv(
    const std::string& path);
[[nodiscard]] chain::Expected<RealizedSeriesCsv, BacktestCsvIssue> read_realized_csv(
    const std::string& path);

// One sentence naming the file and line: "forecasts.csv:12: VaR forecast is not positive (-0.01)."
[[nodiscard]] std::string describe(const BacktestCsvIssue& issue, std::string_view path);

// Forecasts and realised returns paired on common dates (inner join, both inputs sorted).
struct AlignedBacktestInput {
  std::vector<std::string> dates;
  std::vector<double> var;
  std::vector<double> cvar;  // empty when the forecasts had none
  std::vector<double> realized;
  std::size_t forecasts_without_return = 0;
};
[[nodiscard]] AlignedBacktestInput align_backtest_input(const ForecastSeriesCsv& forecasts,
                                                        const RealizedSeriesCsv& realized);

}  // namespace varkeeper::keeper
