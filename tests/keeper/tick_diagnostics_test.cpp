// Issue 16, "diagnostics surfaced": the estimate's diagnostics reach the keeper's tick line.
#include <doctest/doctest.h>

#include <string>

#include "keeper/daemon/keeper_loop.hpp"
#include "keeper/ops/metrics.hpp"
#include "risk/risk_diagnostic.hpp"

using namespace varkeeper;

TEST_CASE("the tick line names the estimate's diagnostics, so a clamp to 0 is not silent") {
  keeper::TickSummary s;
  keeper::PortfolioUpdate u;
  u.portfolio_id = 3;
  u.has_estimate = true;
  u.computed.var = -0.12;  // a negative VaR (mean = sample, long horizon): published as 0
  u.published_var = 0.0;
  risk::add_diagnostic(u.computed.diagnostics, risk::DiagnosticKind::kNonPositiveVar, "VaR < 0");
  risk::add_diagnostic(u.computed.diagnostics, risk::DiagnosticKind::kNuAtBound, "nu = 2.05");
  s.pipeline.portfolios.push_back(u);
  const std::string line = keeper::KeeperLoop::status_line(s);
  CAPTURE(line);
  CHECK(line.find("p3 VaR 0.00") != std::string::npos);
  CHECK(line.find("[non_positive_var] [nu_at_bound]") != std::string::npos);
  // Without diagnostics the line has no bracket.
  s.pipeline.portfolios[0].computed.diagnostics.clear();
  CHECK(keeper::KeeperLoop::status_line(s).find('[') == std::string::npos);
}

TEST_CASE("the daemon counts estimate diagnostics by portfolio and kind") {
  keeper::MetricsRegistry reg;
  keeper::KeeperMetrics m(reg);
  m.risk_diagnostics.inc({"1", std::string(risk::to_string(risk::DiagnosticKind::kNuAtBound))});
  m.risk_diagnostics.inc({"1", std::string(risk::to_string(risk::DiagnosticKind::kNuAtBound))});
  const std::string text = reg.render();
  CAPTURE(text);
  CHECK(text.find("# TYPE varkeeper_risk_diagnostics_total counter\n") != std::string::npos);
  CHECK(text.find("varkeeper_risk_diagnostics_total{portfolio=\"1\",kind=\"nu_at_bound\"} 2\n") !=
        std::string::npos);
}
