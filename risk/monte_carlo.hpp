// Monte Carlo VaR and CVaR: correlated normal (Cholesky), multivariate Student-t (one chi-square
// mixing variable shared by all assets) and Merton jump-diffusion (Poisson jumps with normal
// sizes, per asset and through a common jump driver), over h one-period steps per path, with
// antithetic variates and a standard error for every estimate.
//
// Reproducibility: paths are cut into blocks of kMcBlockPaths; block b draws from its own stream
// RandomStream(seed, b) (risk/random_stream.hpp) and writes its losses to its own slots, and all
// statistics are computed from the full loss vector in path order afterwards, so the figures are
// bit-identical for any number of threads.
//
// Estimators: VaR and CVaR by the empirical convention of risk/empirical_tail.hpp. Standard
// errors by the delta method with antithetic pairs as the independent units:
//   CVaR: sd of the unit means of (L - VaR)^+ / (1 - alpha), over sqrt(units) (Hong & Liu 2009);
//   VaR:  sd of the unit means of 1{L > VaR}, over sqrt(units), times the sparsity dq/dp
//         estimated by the order-statistic difference (L_(k-d) - L_(k+d)) n / (2d), d = sqrt(k).
// Components: CVaR by the Acerbi-Tasche tail average of each asset's loss; VaR by the average of
// each asset's loss over the scenarios ranked k-d..k+d (a kernel estimate of E[X_i | L = VaR],
// Epperlein & Smillie 2006), rescaled so the components sum to VaR exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "risk/portfolio_loss.hpp"
#include "risk/predictive_law.hpp"

namespace varkeeper::risk {

inline constexpr std::size_t kMcBlockPaths = 4096;

enum class McDistribution { kNormal, kStudentT, kJumpDiffusion };

struct JumpModel {
  // Per asset, per period: idiosyncratic jump intensity and N(mean, stdev^2) log-size.
  std::vector<double> intensity;
  std::vector<double> mean;
  std::vector<double> stdev;
  // Common jumps: one Poisson count per period for all assets; a common jump moves asset i by
  // common_mean_i + common_stdev_i * e_i, e ~ N(0, C) with C = common_correlation (N x N,
  // row-major; risk/jump_calibration.hpp estimates it from co-jumps). An empty
  // common_correlation means one N(0, 1) shock shared by the assets (correlation +1).
  double common_intensity = 0.0;
  std::vector<double> common_mean;
  std::vector<double> common_stdev;
  std::vector<double> common_correlation;
};

struct McModel {
  McDistribution distribution = McDistribution::kNormal;
  std::vector<double> drift;       // per-period mean log-return (of the diffusion for jumps)
  std::vector<double> covariance;  // per-period covariance (of the diffusion for jumps), N x N
  double nu = 0.0;                 // Student-t degrees of freedom (> 2); for kStudentT the
                                   // covariance field holds the t's dispersion (scale) matrix
  JumpModel jumps;                 // used by kJumpDiffusion; empty vectors mean no jumps
};

struct McSettings {
  std::size_t paths = 100'000;  // rounded up to even with antithetic variates
  int horizon = 1;
  std::uint64_t seed = 1;
  unsigned threads = 0;  // 0 = std::thread::hardware_concurrency()
  bool antithetic = true;
  Revaluation revaluation = Revaluation::kFull;
  bool components = false;  // a second, identical pass collects the tail scenarios' asset losses
  // Share the simulated scenarios (each path's per-asset unit losses) with later calls that
  // simulate the same model with the same seed, paths, horizon and revaluation, e.g. the
  // portfolios of a keeper tick that hold the same assets under the config's default seed (issue
  // 17, scale): they then only revalue. Bit-identical to simulating afresh (the stored values
  // are the very terms the revaluation sums, in the same order); normal and Student-t models
  // only, and only sets of at most kMcSharedScenarioBytes (else simulated as before). A model's
  // first request is simulated directly; its second stores the set (up to 4 sets are kept).
  bool share_scenarios = true;
};

// Scenario sets larger than this are never stored (100k paths x 40 assets fit).
inline constexpr std::size_t kMcSharedScenarioBytes = std::size_t{32} << 20;

struct McResult {
  double var = 0.0;
  double cvar = 0.0;
  double stderr_var = 0.0;
  double stderr_cvar = 0.0;
  std::vector<double> component_var;
  std::vector<double> component_cvar;
  std::size_t paths = 0;
  // The simulated loss law (risk/predictive_law.hpp, kind sample): the ranked worst losses,
  // worst first (every loss at or above the VaR and a few below it), out of `paths`.
  PredictiveLaw law;
};

[[nodiscard]] McResult monte_carlo_risk(const McModel& model, std::span<const double> weights,
                                        double alpha, const McSettings& settings);

// Draws exactly the random numbers monte_carlo_risk would (same blocks, threads, streams) and
// does nothing else with them: the cost floor for benchmarks. Returns a checksum of the draws.
// How many monte_carlo_risk calls were served from, and how many stored, a shared scenario set
// (process-wide counters, for tests and benchmarks).
struct McScenarioCacheStats {
  std::size_t hits = 0;
  std::size_t misses = 0;
};
[[nodiscard]] McScenarioCacheStats monte_carlo_scenario_cache_stats();

[[nodiscard]] double monte_carlo_draw_only(const McModel& model, const McSettings& settings);

}  // namespace varkeeper::risk
