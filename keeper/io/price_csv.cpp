#include "keeper/io/price_csv.hpp"

#include "keeper/io/csv_text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

namespace varkeeper::keeper {
namespace {

using chain::unexpected;

PriceCsvIssue issue(PriceCsvError e, std::string_view file, std::size_t line,
                    const std::string& what) {
  std::string msg(file);
  if (line > 0) {
    msg += " line " + std::to_string(line);
  }
  msg += ": " + what;
  return {e, std::string(file), line, msg};
}

using csv::split_fields;
using csv::trim;

// A calendar date, optionally followed by a time ("2020-03-12T00:00:00Z" or "2020-03-12 00:00").
bool valid_date(std::string_view d) {
  if (d.size() < 10 || !csv::is_iso_date(d.substr(0, 10))) {
    return false;
  }
  return d.size() == 10 || d[10] == 'T' || d[10] == ' ';
}

std::string shown(std::string_view s) {
  std::string v(s.substr(0, 40));
  if (s.size() > 40) {
    v += "...";
  }
  return "'" + v + "'";
}

// The header line: `date` then the value columns, named uniquely; a `date,close` (or price,
// return) file's one asset is named after the file's stem.
std::optional<PriceCsvIssue> read_header(const std::vector<std::string_view>& fields,
                                         std::string_view file, std::size_t line_no,
                                         PriceTable& t) {
  std::string first(fields[0]);
  std::transform(first.begin(), first.end(), first.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (first != "date") {
    return issue(PriceCsvError::kBadHeader, file, line_no,
                 "the header must start with a 'date' column, found " + shown(fields[0]) + ".");
  }
  if (fields.size() < 2) {
    return issue(PriceCsvError::kBadHeader, file, line_no,
                 "the header has no value column after 'date'.");
  }
  std::set<std::string_view> seen;
  for (std::size_t i = 1; i < fields.size(); ++i) {
    if (fields[i].empty()) {
      return issue(PriceCsvError::kBadHeader, file, line_no,
                   "header column " + std::to_string(i + 1) + " has no name.");
    }
    if (!seen.insert(fields[i]).second) {
      return issue(PriceCsvError::kBadHeader, file, line_no,
                   "the header names column " + shown(fields[i]) + " twice.");
    }
  }
  std::string lower1(fields[1]);
  std::transform(lower1.begin(), lower1.end(), lower1.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string stem = std::filesystem::path(std::string(file)).stem().string();
  if (fields.size() == 2 && (lower1 == "close" || lower1 == "price" || lower1 == "return")) {
    t.assets.push_back(stem.empty() ? std::string(fields[1]) : stem);
  } else {
    for (std::size_t i = 1; i < fields.size(); ++i) {
      t.assets.emplace_back(fields[i]);
    }
  }
  t.sources.assign(t.assets.size(), std::string(file));
  return std::nullopt;
}

// One data row: its field count, a date after the previous row's, and a finite value per column
// (a positive price, or a simple return above -1).
std::optional<PriceCsvIssue> read_row(const std::vector<std::string_view>& fields,
                                      std::string_view file, std::size_t line_no,
                                      std::size_t previous_line, CsvValues values, PriceTable& t) {
  const std::size_t header_fields = t.assets.size() + 1;
  if (fields.size() < header_fields) {
    return issue(PriceCsvError::kMissingColumn, file, line_no,
                 "the row has " + std::to_string(fields.size()) + " fields but the header has " +
                     std::to_string(header_fields) + " (column " +
                     shown(t.assets[fields.size() - 1]) + " is missing).");
  }
  if (fields.size() > header_fields) {
    return issue(PriceCsvError::kExtraColumn, file, line_no,
                 "the row has " + std::to_string(fields.size()) + " fields but the header has " +
                     std::to_string(header_fields) + ".");
  }
  const std::string_view date = fields[0];
  if (!valid_date(date)) {
    return issue(PriceCsvError::kBadDate, file, line_no,
                 shown(date) + " is not a YYYY-MM-DD date.");
  }
  if (!t.dates.empty()) {
    const std::string& prev = t.dates.back();
    if (date == prev) {
      return issue(
          PriceCsvError::kDuplicateDate, file, line_no,
          "date " + std::string(date) + " repeats line " + std::to_string(previous_line) + ".");
    }
    if (date < std::string_view(prev)) {
      return issue(PriceCsvError::kUnorderedDate, file, line_no,
                   "date " + std::string(date) + " comes after " + prev + " on line " +
                       std::to_string(previous_line) + "; dates must increase.");
    }
  }
  for (std::size_t i = 1; i < fields.size(); ++i) {
    const std::string_view f = fields[i];
    double v = 0.0;
    const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
    if (f.empty() || ec != std::errc{} || end != f.data() + f.size() || !std::isfinite(v)) {
      return issue(
          PriceCsvError::kUnparsableValue, file, line_no,
          "the " + t.assets[i - 1] + " value " +
              (f.empty() ? std::string("is empty") : shown(f) + " is not a finite number") + ".");
    }
    if (values == CsvValues::kPrices && !(v > 0.0)) {
      return issue(PriceCsvError::kNonPositivePrice, file, line_no,
                   "the " + t.assets[i - 1] + " price " + std::string(f) + " is not positive.");
    }
    if (values == CsvValues::kSimpleReturns && !(v > -1.0)) {
      return issue(
          PriceCsvError::kReturnAtOrBelowMinusOne, file, line_no,
          "the " + t.assets[i - 1] + " return " + std::string(f) + " is a loss of 100 % or more.");
    }
    t.values.push_back(v);
  }
  t.dates.emplace_back(date);
  return std::nullopt;
}

}  // namespace

chain::Expected<PriceTable, PriceCsvIssue> parse_price_csv(std::string_view text,
                                                           std::string_view file,
                                                           CsvValues values) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") {
    text.remove_prefix(3);
  }
  PriceTable t;
  std::size_t line_no = 0;
  std::size_t previous_line = 0;
  bool have_header = false;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::string_view raw =
        text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    const std::string_view line = trim(raw);
    if (line.empty()) {
      continue;
    }
    const auto fields = split_fields(line);
    auto problem = have_header ? read_row(fields, file, line_no, previous_line, values, t)
                               : read_header(fields, file, line_no, t);
    if (problem) {
      return unexpected(std::move(*problem));
    }
    if (have_header) {
      previous_line = line_no;
    }
    have_header = true;
  }
  if (!have_header) {
    return unexpected(issue(PriceCsvError::kNoRows, file, 0, "the file is empty."));
  }
  if (t.dates.empty()) {
    return unexpected(issue(PriceCsvError::kNoRows, file, 0, "the file has no data rows."));
  }
  return t;
}

chain::Expected<PriceTable, PriceCsvIssue> read_price_csv(const std::string& path,
                                                          CsvValues values) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return unexpected(issue(PriceCsvError::kCannotRead, path, 0, "the file cannot be opened."));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return unexpected(issue(PriceCsvError::kCannotRead, path, 0, "the file cannot be read."));
  }
  return parse_price_csv(ss.str(), path, values);
}

chain::Expected<PriceTable, PriceCsvIssue> align_on_common_dates(
    const std::vector<PriceTable>& tables) {
  PriceTable out;
  if (tables.empty()) {
    return unexpected(issue(PriceCsvError::kNoRows, "(no input)", 0, "no files were given."));
  }
  std::map<std::string, std::string> owner;
  for (const auto& t : tables) {
    for (std::size_t i = 0; i < t.assets.size(); ++i) {
      const auto [it, fresh] = owner.emplace(t.assets[i], t.sources[i]);
      if (!fresh) {
        return unexpected(
            issue(PriceCsvError::kDuplicateAsset, t.sources[i], 0,
                  "asset '" + t.assets[i] + "' is also given by " + it->second + "."));
      }
      out.assets.push_back(t.assets[i]);
      out.sources.push_back(t.sources[i]);
    }
  }
  // Merge walk over the sorted date lists.
  std::vector<std::size_t> cursor(tables.size(), 0);
  for (;;) {
    bool done = false;
    std::string_view latest;
    for (std::size_t k = 0; k < tables.size(); ++k) {
      if (cursor[k] >= tables[k].dates.size()) {
        done = true;
        break;
      }
      if (std::string_view(tables[k].dates[cursor[k]]) > latest) {
        latest = tables[k].dates[cursor[k]];
      }
    }
    if (done) {
      break;
    }
    bool all = true;
    for (std::size_t k = 0; k < tables.size(); ++k) {
      while (cursor[k] < tables[k].dates.size() &&
             std::string_view(tables[k].dates[cursor[k]]) < latest) {
        ++cursor[k];
      }
      if (cursor[k] >= tables[k].dates.size() || tables[k].dates[cursor[k]] != latest) {
        all = false;
      }
    }
    if (!all) {
      continue;
    }
    out.dates.emplace_back(latest);
    for (std::size_t k = 0; k < tables.size(); ++k) {
      const auto& t = tables[k];
      for (std::size_t i = 0; i < t.assets.size(); ++i) {
        out.values.push_back(t.at(cursor[k], i));
      }
      ++cursor[k];
    }
  }
  if (out.dates.empty()) {
    std::string names;
    for (const auto& t : tables) {
      names += (names.empty() ? "" : ", ") + t.sources.front();
    }
    return unexpected(issue(PriceCsvError::kNoCommonDates, names, 0, "the files share no date."));
  }
  return out;
}

chain::Expected<std::vector<std::pair<std::int64_t, double>>, PriceCsvIssue> closes_from_csv(
    const std::string& path) {
  auto table = read_price_csv(path, CsvValues::kPrices);
  if (!table) {
    return chain::unexpected(table.error());
  }
  std::vector<std::pair<std::int64_t, double>> out;
  out.reserve(table->dates.size());
  for (std::size_t row = 0; row < table->dates.size(); ++row) {
    const std::string& d = table->dates[row];  // YYYY-MM-DD, validated by the reader
    std::tm tm{};
    tm.tm_year = std::stoi(d.substr(0, 4)) - 1900;
    tm.tm_mon = std::stoi(d.substr(5, 2)) - 1;
    tm.tm_mday = std::stoi(d.substr(8, 2));
    out.emplace_back(static_cast<std::int64_t>(timegm(&tm)), table->at(row, 0));
  }
  return out;
}

}  // namespace varkeeper::keeper
