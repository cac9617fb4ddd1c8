// Calibrating a Merton jump-diffusion (risk/monte_carlo.hpp) to a window of returns by maximum
// likelihood (issue 16, defect 4).
//
// Per asset, the period return is r = mu + sigma e + S, S the sum of N ~ Poisson(lambda) jumps
// of size N(m, s^2): a Poisson mixture of normals, N(mu + k m, sigma^2 + k s^2) with weight
// P(N = k). The mixture is truncated at kMaxJumpsPerPeriod jumps (renormalised truncated
// Poisson weights; lambda <= kMaxJumpIntensity keeps the truncated mass below 2e-4) and fitted
// by EM (Dempster, Laird & Rubin 1977) with the jump count and the split of r into diffusion
// and jump part as the missing data: given k, (D, S) is bivariate normal with D + S = r, so the
// E-step has closed forms and the M-step is exact (weighted means and variances; lambda solves
// "truncated-Poisson mean = posterior mean count"). The likelihood never decreases. Two starts
// (returns beyond 2.5 and 3.5 robust sd as the first jumps) and the higher likelihood is kept.
//
// The diffusion variance has a floor, max(1e-6 x sample variance, 1e-16): a peg (most returns
// exactly equal) sends the ML diffusion variance to 0 with an unbounded likelihood; at the floor
// the flat days are the diffusion and the moves are jumps, with a diagnostic. A constant asset
// (variance 0) is a point mass: diffusion variance 0, no jumps, the same diagnostic; no NaN, no
// exception (the Monte Carlo factors a singular covariance by the nearest correlation matrix).
//
// Several assets: each asset is fitted alone; the diffusion covariance joins the per-asset
// variances with the correlation of the returns weighted by the posterior probability that no
// asset jumps. Common jumps (one Poisson driver moving every asset) come from the co-jumps: the
// probability that all assets jump in period t is pi_t = prod_i P(N_i >= 1 | r_i,t); the common
// jump probability p_c solves sum_t pi_t / T = p_c + (1 - p_c) prod_i (P_i - p_c) / (1 - p_c),
// P_i = 1 - exp(-lambda_i) (co-jumps beyond those independent jumps produce by chance), the
// idiosyncratic intensities are lambda_i - lambda_c, and the common sizes' means, standard
// deviations and correlation are the pi-weighted moments of the posterior jump sizes
// E[S_i | r_i, N_i >= 1] (second moments with the posterior variance added).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "risk/monte_carlo.hpp"
#include "risk/risk_diagnostic.hpp"

namespace varkeeper::risk {

inline constexpr unsigned kMaxJumpsPerPeriod = 4;
inline constexpr double kMaxJumpIntensity = 0.5;

// One asset's ML fit.
struct MertonFit {
  double mu = 0.0;      // diffusion mean per period
  double sigma = 0.0;   // diffusion standard deviation per period
  double lambda = 0.0;  // jump intensity per period
  double jump_mean = 0.0;
  double jump_sd = 0.0;
  double log_likelihood = 0.0;
  int iterations = 0;
  bool converged = false;
  bool variance_floored = false;  // sigma^2 sits at the diffusion variance floor
  // Per period: P(N >= 1 | r_t), E[S | r_t, N >= 1] and E[S^2 | r_t, N >= 1].
  std::vector<double> jump_probability;
  std::vector<double> jump_size;
  std::vector<double> jump_size2;
};

// ML fit of the one-asset Merton mixture to x (no throw; an empty or constant x gives a point
// mass: sigma = 0, no jumps).
[[nodiscard]] MertonFit fit_merton(std::span<const double> x);

struct JumpCalibration {
  McModel model;
  std::vector<MertonFit> assets;
  double co_jumps = 0.0;  // sum over periods of P(every asset jumps | r_t)
  std::vector<Diagnostic> diagnostics;
};

[[nodiscard]] JumpCalibration calibrate_jump_diffusion_ml(std::span<const double> returns,
                                                          std::size_t n_assets);

// calibrate_jump_diffusion_ml(...).model
[[nodiscard]] McModel calibrate_jump_diffusion(std::span<const double> returns,
                                               std::size_t n_assets);

}  // namespace varkeeper::risk
