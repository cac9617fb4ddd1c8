#include "keeper/io/backtest_csv.hpp"

#include "keeper/io/csv_text.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>

namespace varkeeper::keeper {
namespace {

using chain::Expected;
using chain::unexpected;

using csv::is_digits;
using csv::is_iso_date;
using csv::split_fields;
using csv::trim;

enum class NumberStatus { kOk, kBad, kNotFinite };

NumberStatus parse_number(std::string_view s, double& out) {
  if (s.empty()) {
    return NumberStatus::kBad;
  }
  if (s.front() == '+') {
    s.remove_prefix(1);
  }
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return NumberStatus::kBad;
  }
  return std::isfinite(out) ? NumberStatus::kOk : NumberStatus::kNotFinite;
}

BacktestCsvIssue issue(BacktestCsvError e, std::size_t line, std::string_view detail = {}) {
  return {e, line, std::string(detail)};
}

// Walks the data rows of `text`: calls row(fields, line_no) for each, checks dates. Returns an
// issue or nothing (error kNoRows with line 0 means "no issue" is encoded by `ok`).
template <typename RowFn>
bool for_each_row(std::string_view text, std::size_t min_fields, std::size_t max_fields,
                  std::vector<std::string>& dates, BacktestCsvIssue& err, RowFn row) {
  std::size_t line_no = 0;
  bool first_content = true;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::string_view raw =
        text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const auto fields = split_fields(line);
    if (first_content) {
      first_content = false;
      if (!is_iso_date(fields[0]) && !is_digits(fields[0].substr(0, 1))) {
        // A header: its field count fixes nothing beyond the allowed range.
        if (fields.size() < min_fields || fields.size() > max_fields) {
          err = issue(BacktestCsvError::kColumnCount, line_no, line);
          return false;
        }
        continue;
      }
    }
    if (fields.size() < min_fields || fields.size() > max_fields) {
      err = issue(BacktestCsvError::kColumnCount, line_no, line);
      return false;
    }
    if (!is_iso_date(fields[0])) {
      err = issue(BacktestCsvError::kBadDate, line_no, fields[0]);
      return false;
    }
    if (!dates.empty()) {
      if (fields[0] == dates.back()) {
        err = issue(BacktestCsvError::kDuplicateDate, line_no, fields[0]);
        return false;
      }
      if (std::string_view(fields[0]) < std::string_view(dates.back())) {
        err = issue(BacktestCsvError::kUnorderedDate, line_no, fields[0]);
        return false;
      }
    }
    dates.emplace_back(fields[0]);
    if (!row(fields, line_no, err)) {
      return false;
    }
  }
  if (dates.empty()) {
    err = issue(BacktestCsvError::kNoRows, 0);
    return false;
  }
  return true;
}

bool number_field(std::string_view field, std::size_t line_no, double& out, BacktestCsvIssue& err) {
  switch (parse_number(field, out)) {
    case NumberStatus::kOk: return true;
    case NumberStatus::kBad:
      err = issue(BacktestCsvError::kBadNumber, line_no, field);
      return false;
    case NumberStatus::kNotFinite:
      err = issue(BacktestCsvError::kNotFinite, line_no, field);
      return false;
  }
  return false;
}

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return std::nullopt;
  }
  return ss.str();
}

}  // namespace

std::string_view to_string(BacktestCsvError e) noexcept {
  switch (e) {
    case BacktestCsvError::kCannotRead: return "cannot be read";
    case BacktestCsvError::kNoRows: return "has no data rows";
    case BacktestCsvError::kColumnCount: return "has the wrong number of columns";
    case BacktestCsvError::kBadDate: return "has a date that is not a valid YYYY-MM-DD date";
    case BacktestCsvError::kBadNumber: return "has a value that is not a number";
    case BacktestCsvError::kNotFinite: return "has a value that is not finite";
    case BacktestCsvError::kCvarBelowVar: return "has a CVaR forecast below its VaR forecast";
    case BacktestCsvError::kReturnBelowMinus1:
      return "has a simple return of -1 (a 100 % loss) or below";
    case BacktestCsvError::kDuplicateDate: return "repeats a date";
    case BacktestCsvError::kUnorderedDate:
      return "has a date earlier than the line before (dates must increase)";
  }
  return "is invalid";
}

Expected<ForecastSeriesCsv, BacktestCsvIssue> parse_forecasts_csv(std::string_view text) {
  ForecastSeriesCsv out;
  BacktestCsvIssue err;
  std::size_t columns = 0;
  const bool ok = for_each_row(
      text, 2, 3, out.dates, err,
      [&](const std::vector<std::string_view>& f, std::size_t line_no, BacktestCsvIssue& e) {
        if (columns == 0) {
          columns = f.size();
        }
        if (f.size() != columns) {
          e = issue(BacktestCsvError::kColumnCount, line_no);
          return false;
        }
        double var = 0.0;
        if (!number_field(f[1], line_no, var, e)) {
          return false;
        }
        out.var.push_back(var);
        if (columns == 3) {
          double cvar = 0.0;
          if (!number_field(f[2], line_no, cvar, e)) {
            return false;
          }
          if (cvar < var) {
            e = issue(BacktestCsvError::kCvarBelowVar, line_no, f[2]);
            return false;
          }
          out.cvar.push_back(cvar);
        }
        return true;
      });
  if (!ok) {
    return unexpected(err);
  }
  return out;
}

Expected<RealizedSeriesCsv, BacktestCsvIssue> parse_realized_csv(std::string_view text) {
  RealizedSeriesCsv out;
  BacktestCsvIssue err;
  const bool ok = for_each_row(
      text, 2, 2, out.dates, err,
      [&](const std::vector<std::string_view>& f, std::size_t line_no, BacktestCsvIssue& e) {
        double r = 0.0;
        if (!number_field(f[1], line_no, r, e)) {
          return false;
        }
        if (!(r > -1.0)) {
          e = issue(BacktestCsvError::kReturnBelowMinus1, line_no, f[1]);
          return false;
        }
        out.returns.push_back(r);
        return true;
      });
  if (!ok) {
    return unexpected(err);
  }
  return out;
}

Expected<ForecastSeriesCsv, BacktestCsvIssue> read_forecasts_csv(const std::string& path) {
  const auto text = slurp(path);
  if (!text) {
    return unexpected(issue(BacktestCsvError::kCannotRead, 0));
  }
  return parse_forecasts_csv(*text);
}

Expected<RealizedSeriesCsv, BacktestCsvIssue> read_realized_csv(const std::string& path) {
  const auto text = slurp(path);
  if (!text) {
    return unexpected(issue(BacktestCsvError::kCannotRead, 0));
  }
  return parse_realized_csv(*text);
}

std::string describe(const BacktestCsvIssue& issue, std::string_view path) {
  std::string s(path);
  if (issue.line > 0) {
    s += ":" + std::to_string(issue.line);
  }
  s += issue.line > 0 ? ": the line " : " ";
  s += to_string(issue.error);
  if (!issue.detail.empty()) {
    s += " ('" + issue.detail.substr(0, 60) + "')";
  }
  s += ".";
  return s;
}

AlignedBacktestInput align_backtest_input(const ForecastSeriesCsv& forecasts,
                                          const RealizedSeriesCsv& realized) {
  AlignedBacktestInput out;
  const bool has_cvar = !forecasts.cvar.empty();
  std::size_t j = 0;
  for (std::size_t i = 0; i < forecasts.dates.size(); ++i) {
    while (j < realized.dates.size() && realized.dates[j] < forecasts.dates[i]) {
      ++j;
    }
    if (j < realized.dates.size() && realized.dates[j] == forecasts.dates[i]) {
      out.dates.push_back(forecasts.dates[i]);
      out.var.push_back(forecasts.var[i]);
      if (has_cvar) {
        out.cvar.push_back(forecasts.cvar[i]);
      }
      out.realized.push_back(realized.returns[j]);
    } else {
      ++out.forecasts_without_return;
    }
  }
  return out;
}

}  // namespace varkeeper::keeper
