// Parsing the `--forecasts date,var[,cvar]` and `--realized date,return` files of
// `varkeeper backtest`: every malformed case names its error and its line.
#include "keeper/io/backtest_csv.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace varkeeper::keeper;

TEST_CASE("a forecasts file with a header, CRLF and comments parses") {
  const auto r = parse_forecasts_csv(
      "date,var,cvar\r\n# comment\r\n2024-01-01,0.05,0.07\r\n\r\n"
      "2024-01-02, 0.04 ,0.06\r\n");
  REQUIRE(r.has_value());
  CHECK(r->dates == std::vector<std::string>{"2024-01-01", "2024-01-02"});
  CHECK(r->var == std::vector<double>{0.05, 0.04});
  CHECK(r->cvar == std::vector<double>{0.07, 0.06});
}

TEST_CASE("a forecasts file without a header or a cvar column parses") {
  const auto r = parse_forecasts_csv("2024-02-28,0.05\n2024-02-29,1e-2\n");
  REQUIRE(r.has_value());
  CHECK(r->var == std::vector<double>{0.05, 0.01});
  CHECK(r->cvar.empty());
}

TEST_CASE("a realized file parses, negative returns included") {
  const auto r = parse_realized_csv("date,return\n2024-01-01,-0.031\n2024-01-02,+0.002\n");
  REQUIRE(r.has_value());
  CHECK(r->returns == std::vector<double>{-0.031, 0.002});
}

TEST_CASE("malformed forecast files are refused with the error and the line") {
  struct Case {
    const char* text;
    BacktestCsvError error;
    std::size_t line;
  };
  const std::vector<Case> cases{
      {"date,var\n2024-01-01,abc\n", BacktestCsvError::kBadNumber, 2},
      {"date,var\n2024-01-01,0.05x\n", BacktestCsvError::kBadNumber, 2},
      {"date,var\n2024-01-01,\n", BacktestCsvError::kBadNumber, 2},
      {"date,var\n2024-01-01,nan\n", BacktestCsvError::kNotFinite, 2},
      {"date,var\n2024-01-01,inf\n", BacktestCsvError::kNotFinite, 2},
      {"date,var,cvar\n2024-01-01,0.05,0.04\n", BacktestCsvError::kCvarBelowVar, 2},
      {"date,var\n2024-01-01,0.05\n2024-01-01,0.05\n", BacktestCsvError::kDuplicateDate, 3},
      {"date,var\n2024-01-02,0.05\n2024-01-01,0.05\n", BacktestCsvError::kUnorderedDate, 3},
      {"date,var\n2024-02-30,0.05\n", BacktestCsvError::kBadDate, 2},
      {"date,var\n2023-02-29,0.05\n", BacktestCsvError::kBadDate, 2},
      {"date,var\n2024/01/01,0.05\n", BacktestCsvError::kBadDate, 2},
      {"date,var\n2024-01-01\n", BacktestCsvError::kColumnCount, 2},
      {"date,var\n2024-01-01,0.05,0.06,0.07\n", BacktestCsvError::kColumnCount, 2},
      {"date,var\n2024-01-01,0.05,0.06\n2024-01-02,0.05\n", BacktestCsvError::kColumnCount, 3},
      {"date,var\n", BacktestCsvError::kNoRows, 0},
      {"", BacktestCsvError::kNoRows, 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto r = parse_forecasts_csv(c.text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().error == c.error);
    CHECK(r.error().line == c.line);
  }
}

TEST_CASE("a VaR forecast <= 0 is read as it is (a model expecting no loss), CVaR >= VaR checked") {
  const auto f = parse_forecasts_csv("date,var,cvar\n2024-01-01,0,0.01\n2024-01-02,-0.01,-0.005\n");
  REQUIRE(f.has_value());
  CHECK(f->var == std::vector<double>{0.0, -0.01});
  CHECK(f->cvar == std::vector<double>{0.01, -0.005});
  const auto below = parse_forecasts_csv("date,var,cvar\n2024-01-01,-0.01,-0.02\n");
  REQUIRE_FALSE(below.has_value());
  CHECK(below.error().error == BacktestCsvError::kCvarBelowVar);
}

TEST_CASE("malformed realized files are refused with the error and the line") {
  const auto a = parse_realized_csv("date,return\n2024-01-01,-1\n");
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error().error == BacktestCsvError::kReturnBelowMinus1);
  CHECK(a.error().line == 2);
  const auto b = parse_realized_csv("date,return\n2024-01-01,0.01,0.02\n");
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error().error == BacktestCsvError::kColumnCount);
}

TEST_CASE("describe names the file and line in one sentence") {
  const auto r = parse_forecasts_csv("date,var\n2024-01-01,abc\n");
  REQUIRE_FALSE(r.has_value());
  CHECK(describe(r.error(), "f.csv") ==
        "f.csv:2: the line has a value that is not a number ('abc').");
  CHECK(describe({BacktestCsvError::kCannotRead, 0, {}}, "missing.csv") ==
        "missing.csv cannot be read.");
}

TEST_CASE("forecasts and returns are paired on common dates") {
  ForecastSeriesCsv f{{"2024-01-01", "2024-01-02", "2024-01-04"}, {0.1, 0.2, 0.3}, {}};
  RealizedSeriesCsv r{{"2023-12-31", "2024-01-02", "2024-01-03", "2024-01-04"},
                      {0.0, -0.01, 0.02, -0.03}};
  const auto a = align_backtest_input(f, r);
  CHECK(a.dates == std::vector<std::string>{"2024-01-02", "2024-01-04"});
  CHECK(a.var == std::vector<double>{0.2, 0.3});
  CHECK(a.realized == std::vector<double>{-0.01, -0.03});
  CHECK(a.cvar.empty());
  CHECK(a.forecasts_without_return == 1);
}
