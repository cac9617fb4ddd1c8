// Price and return histories for `varkeeper var` (and anything else that reads market CSVs):
//   `date,close`      one asset per file (the asset is named after the file, without extension);
//   `date,A,B,...`    a wide file, one column per asset (named by the header);
// with values that are closing prices (positive) or, for a returns file, per-period simple
// returns (above -1). Dates are ISO `YYYY-MM-DD` (an optional time part after 'T' or ' ' is kept
// as written), strictly increasing. The header is required; blank lines are skipped; CRLF and a
// UTF-8 byte-order mark are accepted. Parsing never throws: the first problem is returned with
// its kind, file and line, and a one-sentence message for the user.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "chain/expected.hpp"

namespace varkeeper::keeper {

enum class PriceCsvError {
  kCannotRead,               // the file cannot be opened or read
  kNoRows,                   // no header or no data rows
  kBadHeader,                // first field not `date`, an empty or repeated column name
  kMissingColumn,            // a row has fewer fields than the header
  kExtraColumn,              // a row has more fields than the header
  kBadDate,                  // not a valid YYYY-MM-DD date
  kDuplicateDate,            // the same date twice
  kUnorderedDate,            // a date earlier than the previous row's
  kUnparsableValue,          // a value that is not a finite number
  kNonPositivePrice,         // a price <= 0
  kReturnAtOrBelowMinusOne,  // a simple return <= -1
  kDuplicateAsset,           // two inputs name the same asset
  kNoCommonDates,            // the inputs share no date
};

struct PriceCsvIssue {
  PriceCsvError error = PriceCsvError::kNoRows;
  std::string file;
  std::size_t line = 0;  // 1-based; 0 when not about one line
  std::string message;   // one sentence naming the file and line
};

enum class CsvValues { kPrices, kSimpleReturns };

// dates.size() rows x assets.size() columns, row-major, oldest first.
struct PriceTable {
  std::vector<std::string> assets;
  std::vector<std::string> sources;  // the file each asset came from
  std::vector<std::string> dates;
  std::vector<double> values;
  [[nodiscard]] std::size_t n_assets() const noexcept { return assets.size(); }
  [[nodiscard]] double at(std::size_t row, std::size_t asset) const {
    return values[row * assets.size() + asset];
  }
};

// `file` names the source in messages; a `date,close` file's asset is its stem.
[[nodiscard]] chain::Expected<PriceTable, PriceCsvIssue> parse_price_csv(std::string_view text,
                                                                         std::string_view file,
                                                                         CsvValues values);
[[nodiscard]] chain::Expected<PriceTable, PriceCsvIssue> read_price_csv(const std::string& path,
                                                                        CsvValues values);

// Inner join on dates: the rows whose date every table has, in date order.
[[nodiscard]] chain::Expected<PriceTable, PriceCsvIssue> align_on_common_dates(
    const std::vector<PriceTable>& tables);

// Closes from a `date,close` CSV as (Unix time of the date at 00:00 UTC, close), oldest first.
[[nodiscard]] chain::Expected<std::vector<std::pair<std::int64_t, double>>, PriceCsvIssue>
closes_from_csv(const std::string& path);

}  // namespace varkeeper::keeper
