#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

// How many test cases the run selected (passed the filters), as doctest counts them.
int g_selected_cases = -1;

// Records the run's totals; reports nothing itself.
struct SelectedCasesListener : doctest::IReporter {
  explicit SelectedCasesListener(const doctest::ContextOptions& /*options*/) {}
  void report_query(const doctest::QueryData& /*data*/) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    g_selected_cases = static_cast<int>(stats.numTestCasesPassingFilters);
  }
  void test_case_start(const doctest::TestCaseData& /*data*/) override {}
  void test_case_reenter(const doctest::TestCaseData& /*data*/) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& /*stats*/) override {}
  void test_case_exception(const doctest::TestCaseException& /*exception*/) override {}
  void subcase_start(const doctest::SubcaseSignature& /*signature*/) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData& /*data*/) override {}
  void log_message(const doctest::MessageData& /*data*/) override {}
  void test_case_skipped(const doctest::TestCaseData& /*data*/) override {}
};

}  // namespace

REGISTER_LISTENER("varkeeper_selected_cases", 1, SelectedCasesListener);

// The test binaries live in build/tests/, away from the varkeeper binary: point the keeper's
// bundled-file lookup (keeper/install) at the build tree's share directory unless the caller
// chose another (the install test runs an installed tree with its own).
//
// `--expect-cases=N` (ours, not doctest's): fail unless the filters selected exactly N test cases.
// CTest runs each case as `--test-case=<name> --expect-cases=1` (tests/doctest_tests.cmake), so a
// name that no longer selects its case fails instead of passing with nothing run.
int main(int argc, char** argv) {
  ::setenv("VARKEEPER_HOME", VARKEEPER_SHARE_DIR, 0);
  constexpr std::string_view kExpectCases = "--expect-cases=";
  int expected_cases = -1;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg.substr(0, kExpectCases.size()) == kExpectCases) {
      expected_cases = std::atoi(argv[i] + kExpectCases.size());
    } else {
      args.push_back(argv[i]);
    }
  }
  doctest::Context context(static_cast<int>(args.size()), args.data());
  const int result = context.run();
  if (context.shouldExit() || result != 0) return result;
  if (expected_cases >= 0 && g_selected_cases != expected_cases) {
    std::cerr << "the filters selected " << g_selected_cases << " test cases, expected "
              << expected_cases << '\n';
    return 1;
  }
  return 0;
}
