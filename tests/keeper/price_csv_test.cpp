#include "keeper/io/price_csv.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace varkeeper::keeper;

namespace {

PriceCsvIssue fails(std::string_view text, CsvValues v = CsvValues::kPrices) {
  const auto r = parse_price_csv(text, "data/prices.csv", v);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

}  // namespace

TEST_CASE("a date,close file is one asset named after the file") {
  const auto r = parse_price_csv("date,close\r\n2024-01-01,100\r\n2024-01-02,101.5\r\n\n",
                                 "config/data/btc_usd_daily.csv", CsvValues::kPrices);
  REQUIRE(r.has_value());
  CHECK(r->assets == std::vector<std::string>{"btc_usd_daily"});
  CHECK(r->dates == std::vector<std::string>{"2024-01-01", "2024-01-02"});
  CHECK(r->values == std::vector<double>{100.0, 101.5});
}

TEST_CASE("a wide file has one asset per column") {
  const auto r = parse_price_csv(
      "\xEF\xBB\xBF"
      "Date,BTC,ETH\n2024-01-01,100,10\n2024-01-02,99,11\n",
      "wide.csv", CsvValues::kPrices);
  REQUIRE(r.has_value());
  CHECK(r->assets == std::vector<std::string>{"BTC", "ETH"});
  CHECK(r->at(1, 1) == 11.0);
}

TEST_CASE("an unparsable value is refused naming file and line") {
  const auto e = fails("date,close\n2024-01-01,100\n2024-01-02,1O1\n");
  CHECK(e.error == PriceCsvError::kUnparsableValue);
  CHECK(e.line == 3);
  CHECK(e.message == "data/prices.csv line 3: the prices value '1O1' is not a finite number.");
  CHECK(fails("date,close\n2024-01-01,nan\n").error == PriceCsvError::kUnparsableValue);
  CHECK(fails("date,close\n2024-01-01,inf\n").error == PriceCsvError::kUnparsableValue);
  CHECK(fails("date,close\n2024-01-01,\n").message ==
        "data/prices.csv line 2: the prices value is empty.");
  CHECK(fails("date,close\n2024-01-01,12 5\n").error == PriceCsvError::kUnparsableValue);
}

TEST_CASE("a non-positive price is refused") {
  auto e = fails("date,A,B\n2024-01-01,1,2\n2024-01-02,3,0\n");
  CHECK(e.error == PriceCsvError::kNonPositivePrice);
  CHECK(e.message == "data/prices.csv line 3: the B price 0 is not positive.");
  CHECK(fails("date,A\n2024-01-01,-5\n").error == PriceCsvError::kNonPositivePrice);
}

TEST_CASE("a return of -100 % or worse is refused in a returns file") {
  const auto e = fails("date,A\n2024-01-01,0.01\n2024-01-02,-1\n", CsvValues::kSimpleReturns);
  CHECK(e.error == PriceCsvError::kReturnAtOrBelowMinusOne);
  CHECK(e.line == 3);
  // Negative returns above -1 are fine.
  CHECK(
      parse_price_csv("date,A\n2024-01-01,-0.5\n", "r.csv", CsvValues::kSimpleReturns).has_value());
}

TEST_CASE("a duplicate date is refused") {
  const auto e = fails("date,close\n2024-01-01,1\n2024-01-02,2\n2024-01-02,3\n");
  CHECK(e.error == PriceCsvError::kDuplicateDate);
  CHECK(e.message == "data/prices.csv line 4: date 2024-01-02 repeats line 3.");
}

TEST_CASE("an unordered date is refused") {
  const auto e = fails("date,close\n2024-01-03,1\n\n2024-01-02,2\n");
  CHECK(e.error == PriceCsvError::kUnorderedDate);
  CHECK(e.message ==
        "data/prices.csv line 4: date 2024-01-02 comes after 2024-01-03 on line 2; dates must "
        "increase.");
}

TEST_CASE("an invalid date is refused") {
  CHECK(fails("date,close\n2024-02-30,1\n").error == PriceCsvError::kBadDate);
  CHECK(fails("date,close\n01/02/2024,1\n").error == PriceCsvError::kBadDate);
  CHECK(fails("date,close\n2024-13-01,1\n").error == PriceCsvError::kBadDate);
  CHECK(parse_price_csv("date,close\n2024-02-29,1\n", "p.csv", CsvValues::kPrices).has_value());
}

TEST_CASE("a missing or extra column is refused") {
  auto e = fails("date,A,B\n2024-01-01,1,2\n2024-01-02,3\n");
  CHECK(e.error == PriceCsvError::kMissingColumn);
  CHECK(e.message ==
        "data/prices.csv line 3: the row has 2 fields but the header has 3 (column 'B' is "
        "missing).");
  e = fails("date,A\n2024-01-01,1,2\n");
  CHECK(e.error == PriceCsvError::kExtraColumn);
  CHECK(e.line == 2);
}

TEST_CASE("a bad header or an empty file is refused") {
  CHECK(fails("time,close\n2024-01-01,1\n").error == PriceCsvError::kBadHeader);
  CHECK(fails("date\n2024-01-01\n").error == PriceCsvError::kBadHeader);
  CHECK(fails("date,A,A\n2024-01-01,1,2\n").error == PriceCsvError::kBadHeader);
  CHECK(fails("date,A,\n2024-01-01,1,2\n").error == PriceCsvError::kBadHeader);
  CHECK(fails("").error == PriceCsvError::kNoRows);
  CHECK(fails("date,close\n").message == "data/prices.csv: the file has no data rows.");
}

TEST_CASE("an unreadable file is reported by name") {
  const auto r = read_price_csv("/nonexistent/prices.csv", CsvValues::kPrices);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().error == PriceCsvError::kCannotRead);
  CHECK(r.error().message == "/nonexistent/prices.csv: the file cannot be opened.");
}

TEST_CASE("tables are aligned on the dates they all have") {
  const auto a = parse_price_csv("date,close\n2015-08-07,1\n2015-08-08,2\n2015-08-10,3\n",
                                 "eth.csv", CsvValues::kPrices);
  const auto b = parse_price_csv(
      "date,close\n2015-08-06,10\n2015-08-07,11\n2015-08-08,12\n2015-08-09,13\n2015-08-10,14\n",
      "btc.csv", CsvValues::kPrices);
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  const auto t = align_on_common_dates({*a, *b});
  REQUIRE(t.has_value());
  CHECK(t->assets == std::vector<std::string>{"eth", "btc"});
  CHECK(t->dates == std::vector<std::string>{"2015-08-07", "2015-08-08", "2015-08-10"});
  CHECK(t->values == std::vector<double>{1, 11, 2, 12, 3, 14});
}

TEST_CASE("alignment refuses a repeated asset and disjoint files") {
  const auto a = parse_price_csv("date,close\n2015-08-07,1\n", "x/eth.csv", CsvValues::kPrices);
  const auto b = parse_price_csv("date,close\n2016-08-07,1\n", "y/eth.csv", CsvValues::kPrices);
  const auto c = parse_price_csv("date,close\n2016-08-07,1\n", "btc.csv", CsvValues::kPrices);
  auto r = align_on_common_dates({*a, *b});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().error == PriceCsvError::kDuplicateAsset);
  r = align_on_common_dates({*a, *c});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().error == PriceCsvError::kNoCommonDates);
}

TEST_CASE("the bundled BTC and ETH histories align on their common dates, skipping ETH's gaps") {
  const std::string dir = std::string(VARKEEPER_SOURCE_DIR) + "/config/data/";
  const auto btc = read_price_csv(dir + "btc_usd_daily.csv", CsvValues::kPrices);
  const auto eth = read_price_csv(dir + "eth_usd_daily.csv", CsvValues::kPrices);
  REQUIRE(btc.has_value());
  REQUIRE(eth.has_value());
  CHECK(btc->dates.size() == 5152);  // config/data README: rows per file
  CHECK(eth->dates.size() == 3804);
  const auto t = align_on_common_dates({*btc, *eth});
  REQUIRE(t.has_value());
  CHECK(t->dates.front() == "2015-08-07");
  CHECK(t->dates.back() == "2025-09-24");
  // 2015-08-09 is missing from the ETH file (08-08 is followed by 08-10).
  CHECK(std::find(t->dates.begin(), t->dates.end(), "2015-08-09") == t->dates.end());
  CHECK(std::find(t->dates.begin(), t->dates.end(), "2015-08-10") != t->dates.end());
  CHECK(t->dates.size() < eth->dates.size());
}
