#include "risk/jump_calibration.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

namespace varkeeper::risk {
namespace {

constexpr std::size_t kComponents = kMaxJumpsPerPeriod + 1;
constexpr int kMaxIterations = 2000;
constexpr double kTolerance = 1e-9;  // relative change of the log-likelihood

struct Params {
  double mu = 0.0, s2 = 0.0, lambda = 0.0, m = 0.0, v = 0.0;
};

double median(std::vector<double> v) {
  const std::size_t n = v.size();
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n / 2), v.end());
  const double upper = v[n / 2];
  if (n % 2 == 1) {
    return upper;
  }
  return 0.5 *
         (upper + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n / 2)));
}

// Truncated-Poisson log weights log P(N = k | N <= K), k = 0..K.
std::array<double, kComponents> log_weights(double lambda) {
  std::array<double, kComponents> w{};
  if (lambda <= 0.0) {
    w.fill(-std::numeric_limits<double>::infinity());
    w[0] = 0.0;
    return w;
  }
  double total = 0.0;
  double term = 1.0;
  for (std::size_t k = 0; k < kComponents; ++k) {
    if (k > 0) {
      term *= lambda / static_cast<double>(k);
    }
    total += term;
    w[k] = static_cast<double>(k) * std::log(lambda) - std::lgamma(static_cast<double>(k) + 1.0);
  }
  const double log_total = std::log(total);
  for (auto& x : w) {
    x -= log_total;
  }
  return w;
}

// The mean of the truncated Poisson with parameter lambda.
double truncated_mean(double lambda) {
  double num = 0.0;
  double den = 0.0;
  double term = 1.0;
  for (std::size_t k = 0; k < kComponents; ++k) {
    if (k > 0) {
      term *= lambda / static_cast<double>(k);
    }
    den += term;
    num += static_cast<double>(k) * term;
  }
  return num / den;
}

// The lambda in [0, kMaxJumpIntensity] whose truncated-Poisson mean is `mean` (the exact
// M-step for lambda; the mean is increasing in lambda).
double solve_lambda(double mean) {
  if (mean <= 0.0) {
    return 0.0;
  }
  if (truncated_mean(kMaxJumpIntensity) <= mean) {
    return kMaxJumpIntensity;
  }
  double lo = 0.0;
  double hi = kMaxJumpIntensity;
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (lo + hi);
    (truncated_mean(mid) < mean ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

struct EmResult {
  Params p;
  double log_likelihood = -std::numeric_limits<double>::infinity();
  int iterations = 0;
  bool converged = false;
};

// The mixture's components for the current parameters: log weight plus normalising constant,
// mean and 1 / (2 variance) of each (computed once per iteration, not per observation).
struct Mixture {
  std::array<double, kComponents> log_c{}, mean{}, half_precision{};
  std::array<bool, kComponents> live{};
};

Mixture mixture(const Params& p) {
  constexpr double kLogSqrt2Pi = 0.91893853320467274178;
  const auto lw = log_weights(p.lambda);
  Mixture mx;
  for (std::size_t k = 0; k < kComponents; ++k) {
    const double kk = static_cast<double>(k);
    const double var = p.s2 + kk * p.v;
    mx.live[k] = std::isfinite(lw[k]);
    mx.log_c[k] = lw[k] - kLogSqrt2Pi - 0.5 * std::log(var);
    mx.mean[k] = p.mu + kk * p.m;
    mx.half_precision[k] = 0.5 / var;
  }
  return mx;
}

// Posterior weights of the components for one observation; returns log f(x).
double posterior(const Mixture& mx, double x, std::array<double, kComponents>& w) {
  double top = -std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < kComponents; ++k) {
    if (!mx.live[k]) {
      w[k] = -std::numeric_limits<double>::infinity();
      continue;
    }
    const double e = x - mx.mean[k];
    w[k] = mx.log_c[k] - e * e * mx.half_precision[k];
    top = std::max(top, w[k]);
  }
  double sum = 0.0;
  for (std::size_t k = 0; k < kComponents; ++k) {
    w[k] = mx.live[k] ? std::exp(w[k] - top) : 0.0;
    sum += w[k];
  }
  const double inv = 1.0 / sum;
  for (auto& l : w) {
    l *= inv;
  }
  return top + std::log(sum);
}

double log_likelihood(const Params& p, std::span<const double> x) {
  const Mixture mx = mixture(p);
  std::array<double, kComponents> w{};
  double ll = 0.0;
  for (double v : x) {
    ll += posterior(mx, v, w);
  }
  return ll;
}

EmResult run_em(std::span<const double> x, Params p, double s2_floor) {
  const auto t_obs = static_cast<double>(x.size());
  EmResult r;
  double previous = -std::numeric_limits<double>::infinity();
  std::array<double, kComponents> w{};
  for (int it = 1; it <= kMaxIterations; ++it) {
    const Mixture mx = mixture(p);
    // Sufficient statistics of the complete-data likelihood, in one pass: with D the diffusion
    // part and S the jump part given k (E[D] = mu + beta e, E[S] = r - E[D], beta = sigma^2 /
    // (sigma^2 + k s^2), e = r - mu - k m, Var[D] = Var[S] = sigma^2 k s^2 / (sigma^2 + k s^2)):
    // sums of w (E[D] - mu), w ((E[D] - mu)^2 + Var), w E[S], w (E[S]^2 + Var) / k, w k and w (k >=
    // 1).
    double ll = 0.0;
    double sd1 = 0.0, sd2 = 0.0, ss1 = 0.0, ss2 = 0.0, swk = 0.0, swj = 0.0, swkk = 0.0;
    for (double v : x) {
      ll += posterior(mx, v, w);
      sd1 += w[0] * (v - p.mu);
      sd2 += w[0] * (v - p.mu) * (v - p.mu);
      for (std::size_t k = 1; k < kComponents; ++k) {
        if (!(w[k] > 0.0)) {
          continue;
        }
        const double kk = static_cast<double>(k);
        const double var = p.s2 + kk * p.v;
        const double beta = p.s2 / var;
        const double d = p.mu + beta * (v - p.mu - kk * p.m);
        const double cond_var = beta * kk * p.v;
        const double s = v - d;
        sd1 += w[k] * (d - p.mu);
        sd2 += w[k] * ((d - p.mu) * (d - p.mu) + cond_var);
        ss1 += w[k] * s;
        ss2 += w[k] * (s * s + cond_var) / kk;
        swk += w[k] * kk;
        swj += w[k];
        swkk += w[k] * kk;
      }
    }
    r.iterations = it;
    r.p = p;
    r.log_likelihood = ll;
    if (it > 1 && ll - previous <= kTolerance * std::max(1.0, std::fabs(ll))) {
      r.converged = true;
      return r;
    }
    previous = ll;
    Params next = p;
    // Centred on the current mu (no cancellation on a peg's tiny variances).
    const double shift = sd1 / t_obs;
    next.mu = p.mu + shift;
    next.s2 = std::max(s2_floor, sd2 / t_obs - shift * shift);
    if (swj > 0.0 && swk > 0.0) {
      // sum w (S - k m)^2 / k = ss2 - 2 m ss1 + m^2 sum w k.
      next.m = ss1 / swk;
      next.v = std::max(s2_floor, (ss2 - 2.0 * next.m * ss1 + next.m * next.m * swkk) / swj);
    }
    next.lambda = solve_lambda(swk / t_obs);
    p = next;
  }
  r.p = p;
  r.log_likelihood = log_likelihood(p, x);
  return r;
}

// A start: the returns beyond c robust sd from the median are the first guess of the jumps.
Params start_from_threshold(std::span<const double> x, double c, double scale, double s2_floor) {
  std::vector<double> col(x.begin(), x.end());
  const double med = median(col);
  double quiet_sum = 0.0, quiet_sum2 = 0.0, jump_sum = 0.0, jump_sum2 = 0.0;
  std::size_t quiet = 0, jumps = 0;
  for (double v : x) {
    if (std::fabs(v - med) > c * scale) {
      jump_sum += v;
      jump_sum2 += v * v;
      ++jumps;
    } else {
      quiet_sum += v;
      quiet_sum2 += v * v;
      ++quiet;
    }
  }
  Params p;
  p.mu = quiet > 0 ? quiet_sum / static_cast<double>(quiet) : med;
  p.s2 = quiet > 1 ? quiet_sum2 / static_cast<double>(quiet) - p.mu * p.mu : 0.0;
  p.s2 = std::max(p.s2, s2_floor);
  const auto t_obs = static_cast<double>(x.size());
  p.lambda = std::clamp(static_cast<double>(std::max<std::size_t>(jumps, 1)) / t_obs, 1e-4,
                        0.5 * kMaxJumpIntensity);
  if (jumps > 0) {
    const double jm = jump_sum / static_cast<double>(jumps);
    p.m = jm - p.mu;
    p.v = jumps > 1 ? jump_sum2 / static_cast<double>(jumps) - jm * jm : 0.0;
  }
  // At least the threshold's scale, so the jump component starts wider than the diffusion.
  p.v = std::max({p.v, c * c * scale * scale, s2_floor});
  return p;
}

}  // namespace

MertonFit fit_merton(std::span<const double> x) {
  MertonFit f;
  const std::size_t t_obs = x.size();
  double mean = 0.0;
  for (double v : x) {
    mean += v;
  }
  mean /= static_cast<double>(std::max<std::size_t>(t_obs, 1));
  double var = 0.0;
  for (double v : x) {
    var += (v - mean) * (v - mean);
  }
  var /= static_cast<double>(std::max<std::size_t>(t_obs, 1));
  if (!(var > 0.0)) {
    // A constant (or empty) series: a point mass, diffusion variance 0 and no jumps; the
    // likelihood is unbounded, so there is nothing to fit.
    f.mu = mean;
    f.converged = true;
    f.variance_floored = true;
    f.jump_probability.assign(t_obs, 0.0);
    f.jump_size.assign(t_obs, 0.0);
    f.jump_size2.assign(t_obs, 0.0);
    return f;
  }
  const double s2_floor = std::max(1e-6 * var, 1e-16);
  std::vector<double> dev(x.begin(), x.end());
  const double med = median(dev);
  for (auto& d : dev) {
    d = std::fabs(d - med);
  }
  double scale = 1.4826 * median(dev);
  if (!(scale > 0.0)) {
    scale = std::sqrt(var);  // a peg: MAD = 0
  }
  EmResult best;
  for (double c : {2.5, 3.5}) {
    const EmResult r = run_em(x, start_from_threshold(x, c, scale, s2_floor), s2_floor);
    if (r.log_likelihood > best.log_likelihood) {
      best = r;
    }
  }
  const Params& p = best.p;
  f.mu = p.mu;
  f.sigma = std::sqrt(p.s2);
  f.lambda = p.lambda;
  f.jump_mean = p.m;
  f.jump_sd = std::sqrt(p.v);
  f.log_likelihood = best.log_likelihood;
  f.iterations = best.iterations;
  f.converged = best.converged;
  f.variance_floored = p.s2 <= s2_floor * (1.0 + 1e-9);
  f.jump_probability.resize(t_obs);
  f.jump_size.resize(t_obs);
  f.jump_size2.resize(t_obs);
  const Mixture mx = mixture(p);
  std::array<double, kComponents> w{};
  for (std::size_t t = 0; t < t_obs; ++t) {
    (void)posterior(mx, x[t], w);
    double pj = 0.0, s1 = 0.0, s2 = 0.0;
    for (std::size_t k = 1; k < kComponents; ++k) {
      const double kk = static_cast<double>(k);
      const double var_k = p.s2 + kk * p.v;
      const double s = kk * p.m + (kk * p.v / var_k) * (x[t] - p.mu - kk * p.m);
      const double cond_var = p.s2 * kk * p.v / var_k;
      pj += w[k];
      s1 += w[k] * s;
      s2 += w[k] * (s * s + cond_var);
    }
    f.jump_probability[t] = pj;
    f.jump_size[t] = pj > 0.0 ? s1 / pj : p.m;
    f.jump_size2[t] = pj > 0.0 ? s2 / pj : p.m * p.m + p.v;
  }
  return f;
}

namespace {

// Common jumps of one pair of assets by EM on the bivariate mixture, with the per-asset
// diffusions and idiosyncratic jump sizes held at their stage-one fits: per period at most one
// common jump (probability pc) of size N(m_c, S_c) on both assets, plus k_a, k_b idiosyncratic
// jumps (truncated Poisson with intensity lambda_i - lambda_c, lambda_c = -ln(1 - pc)). Given the
// component, (r_a, r_b) is bivariate normal; the common size's posterior is Gaussian
// conditioning, so the M-step for pc, m_c and S_c is closed form.
struct PairCommon {
  double pc = 0.0;
  std::array<double, 2> mean{}, sd{};
  double rho = 0.0;
};

struct Sym2 {  // symmetric 2 x 2: [a b; b c]
  double a = 0.0, b = 0.0, c = 0.0;
};

PairCommon fit_pair_common(std::span<const double> xa, std::span<const double> xb,
                           const MertonFit& fa, const MertonFit& fb, double rho_d,
                           PairCommon start) {
  const std::size_t t_obs = xa.size();
  const auto tn = static_cast<double>(t_obs);
  const std::array<const MertonFit*, 2> f{&fa, &fb};
  const Sym2 diff{fa.sigma * fa.sigma, rho_d * fa.sigma * fb.sigma, fb.sigma * fb.sigma};
  PairCommon p = start;
  double previous = -std::numeric_limits<double>::infinity();
  constexpr std::size_t kPerAsset = kComponents;
  constexpr std::size_t kAll = 2 * kPerAsset * kPerAsset;
  struct Comp {
    double log_c = 0.0, ma = 0.0, mb = 0.0;
    Sym2 inv;                   // inverse covariance
    std::array<double, 4> g{};  // G = S_c Cov^-1, row-major
    Sym2 post;                  // posterior covariance of the common size
    bool live = false, common = false;
  };
  std::array<Comp, kAll> comp{};
  std::array<double, kAll> w{};
  for (int it = 1; it <= 500; ++it) {
    const double lambda_c = -std::log1p(-p.pc);
    const auto lwa = log_weights(std::max(0.0, fa.lambda - lambda_c));
    const auto lwb = log_weights(std::max(0.0, fb.lambda - lambda_c));
    const Sym2 sc{p.sd[0] * p.sd[0], p.rho * p.sd[0] * p.sd[1], p.sd[1] * p.sd[1]};
    std::size_t idx = 0;
    for (int c = 0; c < 2; ++c) {
      const double lpc = c == 1 ? std::log(p.pc) : std::log1p(-p.pc);
      for (std::size_t ka = 0; ka < kPerAsset; ++ka) {
        for (std::size_t kb = 0; kb < kPerAsset; ++kb) {
          Comp& q = comp[idx++];
          q.common = c == 1;
          // Components with a prior weight below e^-30 cannot move the fit: skipped.
          q.live = std::isfinite(lwa[ka]) && std::isfinite(lwb[kb]) && std::isfinite(lpc) &&
                   lpc + lwa[ka] + lwb[kb] > -30.0;
          if (!q.live) {
            continue;
          }
          const auto da = static_cast<double>(ka);
          const auto db = static_cast<double>(kb);
          Sym2 cov{diff.a + da * f[0]->jump_sd * f[0]->jump_sd, diff.b,
                   diff.c + db * f[1]->jump_sd * f[1]->jump_sd};
          q.ma = f[0]->mu + da * f[0]->jump_mean;
          q.mb = f[1]->mu + db * f[1]->jump_mean;
          if (q.common) {
            cov.a += sc.a;
            cov.b += sc.b;
            cov.c += sc.c;
            q.ma += p.mean[0];
            q.mb += p.mean[1];
          }
          const double det = cov.a * cov.c - cov.b * cov.b;
          q.inv = Sym2{cov.c / det, -cov.b / det, cov.a / det};
          q.log_c =
              lpc + lwa[ka] + lwb[kb] - std::log(2.0 * std::numbers::pi) - 0.5 * std::log(det);
          if (q.common) {
            // G = S_c Cov^-1; posterior covariance S_c - G S_c.
            q.g[0] = sc.a * q.inv.a + sc.b * q.inv.b;
            q.g[1] = sc.a * q.inv.b + sc.b * q.inv.c;
            q.g[2] = sc.b * q.inv.a + sc.c * q.inv.b;
            q.g[3] = sc.b * q.inv.b + sc.c * q.inv.c;
            q.post =
                Sym2{sc.a - (q.g[0] * sc.a + q.g[1] * sc.b), sc.b - (q.g[0] * sc.b + q.g[1] * sc.c),
                     sc.c - (q.g[2] * sc.b + q.g[3] * sc.c)};
          }
        }
      }
    }
    double ll = 0.0, sw = 0.0, s1a = 0.0, s1b = 0.0, saa = 0.0, sab = 0.0, sbb = 0.0;
    for (std::size_t t = 0; t < t_obs; ++t) {
      double top = -std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < kAll; ++k) {
        const Comp& q = comp[k];
        if (!q.live) {
          continue;
        }
        const double ea = xa[t] - q.ma;
        const double eb = xb[t] - q.mb;
        w[k] = q.log_c - 0.5 * (q.inv.a * ea * ea + 2.0 * q.inv.b * ea * eb + q.inv.c * eb * eb);
        top = std::max(top, w[k]);
      }
      double sum = 0.0;
      for (std::size_t k = 0; k < kAll; ++k) {
        w[k] = comp[k].live ? std::exp(w[k] - top) : 0.0;
        sum += w[k];
      }
      ll += top + std::log(sum);
      for (std::size_t k = kAll / 2; k < kAll; ++k) {  // the common components
        const Comp& q = comp[k];
        if (!q.live || !(w[k] > 0.0)) {
          continue;
        }
        const double wk = w[k] / sum;
        const double ea = xa[t] - q.ma;
        const double eb = xb[t] - q.mb;
        const double sa = p.mean[0] + q.g[0] * ea + q.g[1] * eb;
        const double sb = p.mean[1] + q.g[2] * ea + q.g[3] * eb;
        sw += wk;
        s1a += wk * sa;
        s1b += wk * sb;
        saa += wk * (sa * sa + q.post.a);
        sab += wk * (sa * sb + q.post.b);
        sbb += wk * (sb * sb + q.post.c);
      }
    }
    if (it > 1 && ll - previous <= kTolerance * std::max(1.0, std::fabs(ll))) {
      break;
    }
    previous = ll;
    if (!(sw > 1e-9)) {
      p.pc = 0.0;
      break;
    }
    // pc below min(P_a, P_b): a common jump is a jump of each asset.
    const double p_max = std::min(1.0 - std::exp(-fa.lambda), 1.0 - std::exp(-fb.lambda));
    p.pc = std::clamp(sw / tn, 1e-12, std::max(1e-12, p_max));
    p.mean = {s1a / sw, s1b / sw};
    const double va = std::max(saa / sw - p.mean[0] * p.mean[0], 1e-16);
    const double vb = std::max(sbb / sw - p.mean[1] * p.mean[1], 1e-16);
    p.sd = {std::sqrt(va), std::sqrt(vb)};
    p.rho = std::clamp((sab / sw - p.mean[0] * p.mean[1]) / (p.sd[0] * p.sd[1]), -0.999, 0.999);
  }
  return p;
}

std::string asset_text(std::size_t i) { return "asset " + std::to_string(i); }

}  // namespace

JumpCalibration calibrate_jump_diffusion_ml(std::span<const double> returns, std::size_t n_assets) {
  if (n_assets == 0 || returns.size() % n_assets != 0) {
    throw std::invalid_argument("the return window is not a whole number of rows.");
  }
  const std::size_t n = n_assets;
  const std::size_t t_obs = returns.size() / n;
  if (t_obs < n + 3) {
    throw std::invalid_argument("too few observations to calibrate jumps.");
  }
  const auto tn = static_cast<double>(t_obs);
  JumpCalibration c;
  c.assets.reserve(n);
  std::vector<double> col(t_obs);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t t = 0; t < t_obs; ++t) {
      col[t] = returns[t * n + i];
    }
    c.assets.push_back(fit_merton(col));
    const MertonFit& f = c.assets.back();
    if (f.variance_floored) {
      add_diagnostic(c.diagnostics, DiagnosticKind::kJumpCalibration,
                     asset_text(i) +
                         ": the diffusion variance sits at its floor (a peg: the moves are "
                         "modelled as jumps) or is 0 (a constant price)");
    }
    if (!f.converged) {
      add_diagnostic(c.diagnostics, DiagnosticKind::kJumpCalibration,
                     asset_text(i) + ": the EM fit of the jump mixture stopped after " +
                         std::to_string(f.iterations) + " iterations without converging");
    }
    if (f.lambda >= kMaxJumpIntensity) {
      add_diagnostic(c.diagnostics, DiagnosticKind::kJumpCalibration,
                     asset_text(i) + ": the jump intensity sits at its bound of " +
                         std::to_string(kMaxJumpIntensity) + " per period");
    }
  }

  McModel& m = c.model;
  m.distribution = McDistribution::kJumpDiffusion;
  m.drift.resize(n);
  m.covariance.assign(n * n, 0.0);
  // Diffusion: per-asset ML variances; correlation of the returns weighted by the posterior
  // probability that no asset jumps.
  std::vector<double> quiet(t_obs, 1.0);
  std::vector<double> all_jump(t_obs, 1.0);
  for (std::size_t t = 0; t < t_obs; ++t) {
    for (std::size_t i = 0; i < n; ++i) {
      quiet[t] *= 1.0 - c.assets[i].jump_probability[t];
      all_jump[t] *= c.assets[i].jump_probability[t];
    }
  }
  const auto weighted_corr = [&](const std::vector<double>& wt, std::size_t a, std::size_t b,
                                 const auto& value) {
    double sw = 0.0, ma = 0.0, mb = 0.0;
    for (std::size_t t = 0; t < t_obs; ++t) {
      sw += wt[t];
      ma += wt[t] * value(t, a);
      mb += wt[t] * value(t, b);
    }
    if (!(sw > 0.0)) {
      return 0.0;
    }
    ma /= sw;
    mb /= sw;
    double saa = 0.0, sbb = 0.0, sab = 0.0;
    for (std::size_t t = 0; t < t_obs; ++t) {
      const double da = value(t, a) - ma;
      const double db = value(t, b) - mb;
      saa += wt[t] * da * da;
      sbb += wt[t] * db * db;
      sab += wt[t] * da * db;
    }
    if (!(saa > 0.0 && sbb > 0.0)) {
      return 0.0;
    }
    return std::clamp(sab / std::sqrt(saa * sbb), -1.0, 1.0);
  };
  const auto ret = [&](std::size_t t, std::size_t i) { return returns[t * n + i]; };
  for (std::size_t i = 0; i < n; ++i) {
    m.drift[i] = c.assets[i].mu;
    m.covariance[i * n + i] = c.assets[i].sigma * c.assets[i].sigma;
    for (std::size_t j = 0; j < i; ++j) {
      const double rho = weighted_corr(quiet, i, j, ret);
      m.covariance[i * n + j] = m.covariance[j * n + i] =
          rho * c.assets[i].sigma * c.assets[j].sigma;
    }
  }

  JumpModel& j = m.jumps;
  j.intensity.resize(n);
  j.mean.resize(n);
  j.stdev.resize(n);
  j.common_mean.assign(n, 0.0);
  j.common_stdev.assign(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    j.intensity[i] = c.assets[i].lambda;
    j.mean[i] = c.assets[i].jump_mean;
    j.stdev[i] = c.assets[i].jump_sd;
  }
  for (double p : all_jump) {
    c.co_jumps += p;
  }
  if (n < 2) {
    return c;
  }
  // Common jumps: the bivariate EM of each pair (a composite likelihood over the pairs), started
  // from the moments of the posterior jump sizes weighted by the co-jump probability.
  std::vector<double> xa(t_obs), xb(t_obs);
  std::vector<double> mean_sum(n, 0.0), sd_sum(n, 0.0), pc_weight(n, 0.0);
  std::vector<double> rho(n * n, 0.0);
  double pc_sum = 0.0;
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = a + 1; b < n; ++b) {
      const MertonFit& fa = c.assets[a];
      const MertonFit& fb = c.assets[b];
      PairCommon start;
      double sw = 0.0, m1a = 0.0, m1b = 0.0, m2a = 0.0, m2b = 0.0, mab = 0.0;
      for (std::size_t t = 0; t < t_obs; ++t) {
        xa[t] = returns[t * n + a];
        xb[t] = returns[t * n + b];
        const double pi = fa.jump_probability[t] * fb.jump_probability[t];
        sw += pi;
        m1a += pi * fa.jump_size[t];
        m1b += pi * fb.jump_size[t];
        m2a += pi * fa.jump_size2[t];
        m2b += pi * fb.jump_size2[t];
        mab += pi * fa.jump_size[t] * fb.jump_size[t];
      }
      PairCommon fit;
      if (sw > 1e-9) {
        start.pc = std::max(sw / tn, 2.0 / tn);
        start.mean = {m1a / sw, m1b / sw};
        start.sd = {std::sqrt(std::max(m2a / sw - start.mean[0] * start.mean[0], 1e-16)),
                    std::sqrt(std::max(m2b / sw - start.mean[1] * start.mean[1], 1e-16))};
        start.rho = std::clamp(
            (mab / sw - start.mean[0] * start.mean[1]) / (start.sd[0] * start.sd[1]), -0.9, 0.9);
        const double sa = std::sqrt(m.covariance[a * n + a]);
        const double sb = std::sqrt(m.covariance[b * n + b]);
        const double rho_d = sa > 0.0 && sb > 0.0 ? m.covariance[a * n + b] / (sa * sb) : 0.0;
        fit = fit_pair_common(xa, xb, fa, fb, rho_d, start);
      }
      // Fewer than two expected common jumps in the window: no common driver for the pair.
      if (!(fit.pc * tn >= 2.0)) {
        fit.pc = 0.0;
      }
      pc_sum += fit.pc;
      pc_weight[a] += fit.pc;
      pc_weight[b] += fit.pc;
      mean_sum[a] += fit.pc * fit.mean[0];
      mean_sum[b] += fit.pc * fit.mean[1];
      sd_sum[a] += fit.pc * fit.sd[0];
      sd_sum[b] += fit.pc * fit.sd[1];
      rho[a * n + b] = rho[b * n + a] = fit.rho;
    }
  }
  const double pairs = 0.5 * static_cast<double>(n) * static_cast<double>(n - 1);
  const double pc = pc_sum / pairs;
  if (!(pc * tn >= 2.0)) {
    return c;
  }
  j.common_intensity = -std::log1p(-pc);
  j.common_correlation.assign(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    j.intensity[i] = std::max(0.0, c.assets[i].lambda - j.common_intensity);
    // Each asset's common size: the pc-weighted average over the pairs that contain it.
    if (pc_weight[i] > 0.0) {
      j.common_mean[i] = mean_sum[i] / pc_weight[i];
      j.common_stdev[i] = sd_sum[i] / pc_weight[i];
    } else {
      j.common_mean[i] = c.assets[i].jump_mean;
      j.common_stdev[i] = c.assets[i].jump_sd;
    }
    for (std::size_t k = 0; k < n; ++k) {
      j.common_correlation[i * n + k] = i == k ? 1.0 : rho[i * n + k];
    }
  }
  return c;
}

McModel calibrate_jump_diffusion(std::span<const double> returns, std::size_t n_assets) {
  return calibrate_jump_diffusion_ml(returns, n_assets).model;
}

}  // namespace varkeeper::risk
