#include "risk/monte_carlo.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "risk/covariance_repair.hpp"
#include "risk/empirical_tail.hpp"
#include "risk/random_stream.hpp"

namespace varkeeper::risk {
namespace {

struct Prepared {
  std::size_t n = 0;
  McDistribution distribution = McDistribution::kNormal;
  std::vector<double> chol;  // lower-triangular Cholesky factor, row-major
  std::vector<double> drift;
  std::vector<double> weights;
  double half_nu = 0.0;
  double nu = 0.0;
  bool jumps = false;
  JumpModel jump;
  std::vector<double> common_chol;  // Cholesky factor of jump.common_correlation (empty: +1)
  int horizon = 1;
  bool antithetic = true;
  Revaluation revaluation = Revaluation::kFull;
  std::size_t paths = 0;
  std::uint64_t seed = 1;
};

Prepared prepare(const McModel& model, std::span<const double> weights, const McSettings& s) {
  Prepared p;
  p.n = model.drift.size();
  const std::size_t n = p.n;
  if (n == 0 || model.covariance.size() != n * n) {
    throw std::invalid_argument("the Monte Carlo model's drift and covariance do not match.");
  }
  if (!weights.empty() && weights.size() != n) {
    throw std::invalid_argument("the weights do not match the number of assets.");
  }
  if (s.horizon < 1) {
    throw std::invalid_argument("the horizon must be at least one period.");
  }
  if (s.paths < 2) {
    throw std::invalid_argument("Monte Carlo needs at least two paths.");
  }
  p.distribution = model.distribution;
  p.drift = model.drift;
  p.weights.assign(weights.begin(), weights.end());
  p.horizon = s.horizon;
  p.antithetic = s.antithetic;
  p.revaluation = s.revaluation;
  p.paths = s.antithetic ? s.paths + (s.paths % 2) : s.paths;
  p.seed = s.seed;
  // Cholesky; a covariance that is not positive definite (a constant asset, collinear assets) is
  // repaired by the nearest correlation matrix, not jittered (risk/covariance_repair.hpp).
  p.chol = covariance_factor(model.covariance, n).lower;
  if (model.distribution == McDistribution::kStudentT) {
    // nu > 2: the Marsaglia-Tsang chi-square draw needs shape nu / 2 >= 1.
    if (!(model.nu > 2.0)) {
      throw std::invalid_argument("the Student-t model needs nu > 2.");
    }
    p.half_nu = 0.5 * model.nu;
    p.nu = model.nu;
  }
  if (model.distribution == McDistribution::kJumpDiffusion) {
    p.jump = model.jumps;
    auto fit = [n](std::vector<double>& v) { v.resize(n, 0.0); };
    fit(p.jump.intensity);
    fit(p.jump.mean);
    fit(p.jump.stdev);
    fit(p.jump.common_mean);
    fit(p.jump.common_stdev);
    for (std::size_t i = 0; i < n; ++i) {
      if (p.jump.intensity[i] < 0.0 || p.jump.intensity[i] > 50.0) {
        throw std::invalid_argument("jump intensities must be between 0 and 50 per period.");
      }
    }
    if (p.jump.common_intensity < 0.0 || p.jump.common_intensity > 50.0) {
      throw std::invalid_argument("jump intensities must be between 0 and 50 per period.");
    }
    if (!p.jump.common_correlation.empty()) {
      if (p.jump.common_correlation.size() != n * n) {
        throw std::invalid_argument("the common jump correlation is not N x N.");
      }
      p.common_chol = covariance_factor(p.jump.common_correlation, n).lower;
    }
    p.jumps = true;
  }
  return p;
}

std::size_t block_count(const Prepared& p) { return (p.paths + kMcBlockPaths - 1) / kMcBlockPaths; }

constexpr std::size_t kBatchSize = 128;

// exp(x) without a library call, so loops over a batch of paths vectorise: x = k ln2 + r with
// |r| <= ln2 / 2 (Cody & Waite reduction with fdlibm's split ln2), e^r by its Taylor series to
// degree 13 (truncation < 2e-17 relative), times 2^k assembled in the exponent bits. Accurate to a
// few ulp for |x| <= 700; the caller clamps x to that range (clamp_exp_argument) beforehand, so
// this loop body has no branch and vectorises.
inline double exp_kernel(double x) noexcept {
  constexpr double kLog2e = 1.4426950408889634;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kShift = 0x1.8p52;
  const double kd = x * kLog2e + kShift;
  const double k = kd - kShift;
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  // Estrin's scheme (short dependency chains) on the coefficients 1/k!.
  constexpr double c2 = 1.0 / 2, c3 = 1.0 / 6, c4 = 1.0 / 24, c5 = 1.0 / 120, c6 = 1.0 / 720,
                   c7 = 1.0 / 5040, c8 = 1.0 / 40320, c9 = 1.0 / 362880, c10 = 1.0 / 3628800,
                   c11 = 1.0 / 39916800, c12 = 1.0 / 479001600, c13 = 1.0 / 6227020800;
  const double r2 = r * r;
  const double r4 = r2 * r2;
  const double r8 = r4 * r4;
  const double q0 = (1.0 + r) + (c2 + c3 * r) * r2;
  const double q1 = (c4 + c5 * r) + (c6 + c7 * r) * r2;
  const double q2 = (c8 + c9 * r) + (c10 + c11 * r) * r2;
  const double q3 = c12 + c13 * r;
  const double poly = (q0 + q1 * r4) + (q2 + q3 * r4) * r8;
  const auto ki = std::bit_cast<std::uint64_t>(kd) - std::bit_cast<std::uint64_t>(kShift);
  return poly * std::bit_cast<double>((ki + 1023) << 52);
}

inline double clamp_exp_argument(double x) noexcept { return std::clamp(x, -700.0, 700.0); }

// r_a = c + a, r_b = c - a, clamped to [-700, 700] (beyond, exp is 0 or overflows anyway).
// SSE2 min/max do it without branches; GCC will not if-convert the portable form because
// comparisons may trap.
void pair_arguments(double drift, const double* __restrict a, const double* __restrict s,
                    double* __restrict ra, double* __restrict rb) {
#if defined(__SSE2__)
  const __m128d lo = _mm_set1_pd(-700.0);
  const __m128d hi = _mm_set1_pd(700.0);
  const __m128d d = _mm_set1_pd(drift);
  static_assert(kBatchSize % 2 == 0);
  for (std::size_t j = 0; j < kBatchSize; j += 2) {
    const __m128d c = _mm_add_pd(d, _mm_loadu_pd(s + j));
    const __m128d av = _mm_loadu_pd(a + j);
    _mm_storeu_pd(ra + j, _mm_min_pd(_mm_max_pd(_mm_add_pd(c, av), lo), hi));
    _mm_storeu_pd(rb + j, _mm_min_pd(_mm_max_pd(_mm_sub_pd(c, av), lo), hi));
  }
#else
  for (std::size_t j = 0; j < kBatchSize; ++j) {
    ra[j] = clamp_exp_argument(drift + s[j] + a[j]);
    rb[j] = clamp_exp_argument(drift + s[j] - a[j]);
  }
#endif
}

// Adds one asset's losses to the batch's pair losses (vectorised over the batch; AVX2 clone
// as for accumulate_shocks).
[[gnu::target_clones("avx2", "default")]] void price_asset(
    double drift, double w, const double* __restrict a, const double* __restrict s,
    double* __restrict la, double* __restrict lb, bool full, bool no_jumps) {
  if (full) {
    // Loss of a unit held: 1 - exp(r), summed as w - w exp(r) (absolute error ~1e-16).
    alignas(16) double ra[kBatchSize];
    alignas(16) double rb[kBatchSize];
    pair_arguments(drift, a, s, ra, rb);
    if (no_jumps) {
      // Without jumps the pair's centre is the drift alone: exp(c - a) = exp(2c) / exp(c + a),
      // a division instead of a second exponential.
      const double e2c = std::exp(2.0 * drift);
      for (std::size_t j = 0; j < kBatchSize; ++j) {
        const double ea = exp_kernel(ra[j]);
        la[j] += w - w * ea;
        lb[j] += w - w * (e2c / ea);
      }
    } else {
      for (std::size_t j = 0; j < kBatchSize; ++j) {
        la[j] += w - w * exp_kernel(ra[j]);
        lb[j] += w - w * exp_kernel(rb[j]);
      }
    }
  } else {
    for (std::size_t j = 0; j < kBatchSize; ++j) {
      const double c = drift + s[j];
      la[j] -= w * (c + a[j]);
      lb[j] -= w * (c - a[j]);
    }
  }
}

// anti_i += (L z)_i over the batch. 32 units are accumulated at a time in registers instead of
// re-storing `anti` per term. Compiled for AVX2 as well as the baseline (the same IEEE operations
// in the same order per path, so the results do not depend on which one runs).
[[gnu::target_clones("avx2", "default")]] void accumulate_shocks(const double* chol, std::size_t n,
                                                                 const double* z, double* anti) {
  constexpr std::size_t kTile = 32;
  static_assert(kBatchSize % kTile == 0);
  for (std::size_t i = 0; i < n; ++i) {
    const double* row = chol + i * n;
    double* out = anti + i * kBatchSize;
    for (std::size_t jb = 0; jb < kBatchSize; jb += kTile) {
      double acc[kTile] = {};
      for (std::size_t k = 0; k <= i; ++k) {
        const double c = row[k];
        const double* zk = z + k * kBatchSize + jb;
        for (std::size_t t = 0; t < kTile; ++t) {
          acc[t] += c * zk[t];
        }
      }
      for (std::size_t t = 0; t < kTile; ++t) {
        out[jb + t] += acc[t];
      }
    }
  }
}

// Paths are simulated in batches of kBatchSize units (antithetic pairs, or single paths), in
// structure-of-arrays form: the random numbers are drawn unit by unit in a fixed order from the
// block's stream, the linear algebra and the revaluation then run over the batch.

struct Scratch {
  std::vector<double> z, anti, sym, g, loss_a, loss_b;
  explicit Scratch(std::size_t n)
      : z(n * kBatchSize),
        anti(n * kBatchSize),
        sym(n * kBatchSize),
        g(kBatchSize, 1.0),
        loss_a(kBatchSize),
        loss_b(kBatchSize) {}
};

// Adds one step's jumps of the batch's first nb units: the sum of k N(m, s^2) jump sizes is
// N(k m, k s^2), one normal per jumping asset; the means go to sym, the normal parts to anti.
template <bool kPrice>
void add_jumps(const Prepared& p, RandomStream& rng, std::size_t nb, double* sym, double* anti,
               double& checksum) {
  const std::size_t n = p.n;
  std::vector<double> common_z(p.common_chol.empty() ? 0 : n);
  for (std::size_t j = 0; j < nb; ++j) {
    for (std::size_t i = 0; i < n; ++i) {
      if (p.jump.intensity[i] <= 0.0) {
        continue;
      }
      const unsigned k = rng.poisson(p.jump.intensity[i]);
      if (k == 0) {
        continue;
      }
      const double e = rng.normal();
      sym[i * kBatchSize + j] += k * p.jump.mean[i];
      anti[i * kBatchSize + j] += std::sqrt(static_cast<double>(k)) * p.jump.stdev[i] * e;
      if constexpr (!kPrice) {
        checksum += e;
      }
    }
    if (p.jump.common_intensity > 0.0) {
      const unsigned k = rng.poisson(p.jump.common_intensity);
      if (k > 0 && !p.common_chol.empty()) {
        // Correlated sizes: e = L z, L L' = common_correlation.
        const double rk = std::sqrt(static_cast<double>(k));
        for (std::size_t i = 0; i < n; ++i) {
          common_z[i] = rng.normal();
        }
        for (std::size_t i = 0; i < n; ++i) {
          double e = 0.0;
          for (std::size_t c = 0; c <= i; ++c) {
            e += p.common_chol[i * n + c] * common_z[c];
          }
          sym[i * kBatchSize + j] += k * p.jump.common_mean[i];
          anti[i * kBatchSize + j] += rk * p.jump.common_stdev[i] * e;
          if constexpr (!kPrice) {
            checksum += e;
          }
        }
      } else if (k > 0) {
        const double e = rng.normal();
        const double rk = std::sqrt(static_cast<double>(k));
        for (std::size_t i = 0; i < n; ++i) {
          sym[i * kBatchSize + j] += k * p.jump.common_mean[i];
          anti[i * kBatchSize + j] += rk * p.jump.common_stdev[i] * e;
        }
        if constexpr (!kPrice) {
          checksum += e;
        }
      }
    }
  }
}

// Revalues the batch's nb units (paths begin + (u0 + j) * stride + half) and writes their losses
// to `losses` and, for paths with a slot, each asset's unit loss to `capture`.
void price_batch(const Prepared& p, Scratch& sc, std::size_t begin, std::size_t u0, std::size_t nb,
                 std::size_t stride, double* losses, const std::int32_t* slot_of, double* capture) {
  const std::size_t n = p.n;
  const double h = static_cast<double>(p.horizon);
  const double* anti = sc.anti.data();
  const double* sym = sc.sym.data();
  double* la = sc.loss_a.data();
  double* lb = sc.loss_b.data();
  std::fill(la, la + kBatchSize, 0.0);
  std::fill(lb, lb + kBatchSize, 0.0);
  const bool full = p.revaluation == Revaluation::kFull;
  for (std::size_t i = 0; i < n; ++i) {
    price_asset(h * p.drift[i], p.weights[i], anti + i * kBatchSize, sym + i * kBatchSize, la, lb,
                full, !p.jumps);
  }
  for (std::size_t j = 0; j < nb; ++j) {
    for (std::size_t half = 0; half < stride; ++half) {
      const std::size_t id = begin + (u0 + j) * stride + half;
      if (losses != nullptr) {
        losses[id - begin] = half == 0 ? la[j] : lb[j];
      }
      if (slot_of != nullptr && slot_of[id] >= 0) {
        double* out = capture + static_cast<std::size_t>(slot_of[id]) * n;
        for (std::size_t i = 0; i < n; ++i) {
          const double c = h * p.drift[i] + sym[i * kBatchSize + j];
          const double r = half == 0 ? c + anti[i * kBatchSize + j] : c - anti[i * kBatchSize + j];
          out[i] = full ? 1.0 - exp_kernel(clamp_exp_argument(r)) : -r;
        }
      }
    }
  }
}

// Simulates the paths of one block. losses: the block's slice of the loss vector (may be null).
// slot_of / capture: for the components pass, the per-asset unit losses of selected paths.
// Each path's log-return is drift * h + sym + anti (first of a pair) or drift * h + sym - anti
// (its antithetic twin): anti collects the terms whose sign flips (diffusion shocks, jump sizes'
// normal parts), sym those shared by the pair (jump counts times mean jump sizes).
template <bool kPrice>
double run_block(const Prepared& p, std::size_t block, double* losses, const std::int32_t* slot_of,
                 double* capture) {
  const std::size_t n = p.n;
  const std::size_t begin = block * kMcBlockPaths;
  const std::size_t end = std::min(p.paths, begin + kMcBlockPaths);
  const std::size_t stride = p.antithetic ? 2 : 1;
  const std::size_t units = (end - begin) / stride;
  RandomStream rng(p.seed, block);
  Scratch sc(n);
  double* z = sc.z.data();
  double* anti = sc.anti.data();
  double* sym = sc.sym.data();
  double* g = sc.g.data();
  const bool t_dist = p.distribution == McDistribution::kStudentT;
  const double gamma_d = p.half_nu - 1.0 / 3.0;
  const double gamma_c = t_dist ? 1.0 / std::sqrt(9.0 * gamma_d) : 0.0;
  double checksum = 0.0;
  for (std::size_t u0 = 0; u0 < units; u0 += kBatchSize) {
    const std::size_t nb = std::min(kBatchSize, units - u0);
    std::fill(anti, anti + n * kBatchSize, 0.0);
    std::fill(sym, sym + n * kBatchSize, 0.0);
    for (int step = 0; step < p.horizon; ++step) {
      for (std::size_t j = 0; j < nb; ++j) {
        for (std::size_t i = 0; i < n; ++i) {
          z[i * kBatchSize + j] = rng.normal();
        }
        // W ~ chi-square(nu) = 2 Gamma(nu / 2), stored in g for the pass below.
        g[j] = t_dist ? 2.0 * rng.gamma(gamma_d, gamma_c) : 1.0;
      }
      // The t shock sqrt(nu / W) L z, L L' the dispersion matrix (a multivariate t with that
      // scale matrix, McNeil, Frey & Embrechts 2005, section 3.2.1); computed over the batch so
      // the square roots and divisions vectorise.
      if (t_dist) {
        for (std::size_t j = 0; j < kBatchSize; ++j) {
          g[j] = std::sqrt(p.nu / g[j]);
        }
      }
      if constexpr (!kPrice) {
        checksum += z[0] + g[nb - 1];  // keeps the draws observable
      }
      if constexpr (kPrice) {
        // anti_i += (L (g z))_i, row by row, vectorised over the batch.
        if (t_dist) {
          for (std::size_t k = 0; k < n; ++k) {
            for (std::size_t j = 0; j < kBatchSize; ++j) {
              z[k * kBatchSize + j] *= g[j];
            }
          }
        }
        accumulate_shocks(p.chol.data(), n, z, anti);
      }
      if (p.jumps) {
        add_jumps<kPrice>(p, rng, nb, sym, anti, checksum);
      }
    }
    if constexpr (kPrice) {
      price_batch(p, sc, begin, u0, nb, stride, losses, slot_of, capture);
    }
  }
  return checksum;
}

template <class F>
void for_each_block(std::size_t blocks, unsigned threads, F&& f) {
  unsigned t = threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : threads;
  t = static_cast<unsigned>(std::min<std::size_t>(t, blocks));
  if (t <= 1) {
    for (std::size_t b = 0; b < blocks; ++b) {
      f(b);
    }
    return;
  }
  std::atomic<std::size_t> next{0};
  std::vector<std::jthread> pool;
  pool.reserve(t);
  for (unsigned w = 0; w < t; ++w) {
    pool.emplace_back([&] {
      for (std::size_t b = next.fetch_add(1); b < blocks; b = next.fetch_add(1)) {
        f(b);
      }
    });
  }
}

// Shared scenarios (McSettings::share_scenarios). For each batch of each block and each asset,
// the two terms price_asset adds per unit of weight: full revaluation stores exp(r_a) and
// exp(2c) / exp(r_a) (the loss is then w - w x, as price_asset computes it), the delta
// approximation r_a = c + a and r_b = c - a (the loss -w r). Layout: batch-major, then asset, then
// the batch's kBatchSize units; block b's batches start at b * batches_per_block.
struct ScenarioSet {
  std::size_t n = 0;
  std::size_t batches_per_block = 0;
  std::vector<double> first;   // per unit: the first path's term
  std::vector<double> second;  // per unit: the antithetic twin's (or an unused) term
};

[[gnu::target_clones("avx2", "default")]] void store_asset_terms(double drift,
                                                                 const double* __restrict a,
                                                                 const double* __restrict s,
                                                                 double* __restrict ta,
                                                                 double* __restrict tb, bool full) {
  if (full) {
    alignas(16) double ra[kBatchSize];
    alignas(16) double rb[kBatchSize];
    pair_arguments(drift, a, s, ra, rb);
    const double e2c = std::exp(2.0 * drift);
    for (std::size_t j = 0; j < kBatchSize; ++j) {
      const double ea = exp_kernel(ra[j]);
      ta[j] = ea;
      tb[j] = e2c / ea;
    }
  } else {
    for (std::size_t j = 0; j < kBatchSize; ++j) {
      const double c = drift + s[j];
      ta[j] = c + a[j];
      tb[j] = c - a[j];
    }
  }
}

[[gnu::target_clones("avx2", "default")]] void add_asset_terms(double w,
                                                               const double* __restrict ta,
                                                               const double* __restrict tb,
                                                               double* __restrict la,
                                                               double* __restrict lb, bool full) {
  if (full) {
    for (std::size_t j = 0; j < kBatchSize; ++j) {
      la[j] += w - w * ta[j];
      lb[j] += w - w * tb[j];
    }
  } else {
    for (std::size_t j = 0; j < kBatchSize; ++j) {
      la[j] -= w * ta[j];
      lb[j] -= w * tb[j];
    }
  }
}

std::size_t units_per_block(const Prepared& p) { return kMcBlockPaths / (p.antithetic ? 2 : 1); }

// Simulates block b exactly as run_block<true> does and stores its terms instead of pricing.
void store_block(const Prepared& p, std::size_t block, ScenarioSet& set) {
  const std::size_t n = p.n;
  const std::size_t begin = block * kMcBlockPaths;
  const std::size_t end = std::min(p.paths, begin + kMcBlockPaths);
  const std::size_t stride = p.antithetic ? 2 : 1;
  const std::size_t units = (end - begin) / stride;
  RandomStream rng(p.seed, block);
  Scratch sc(n);
  double* z = sc.z.data();
  double* anti = sc.anti.data();
  double* sym = sc.sym.data();
  double* g = sc.g.data();
  const bool t_dist = p.distribution == McDistribution::kStudentT;
  const double gamma_d = p.half_nu - 1.0 / 3.0;
  const double gamma_c = t_dist ? 1.0 / std::sqrt(9.0 * gamma_d) : 0.0;
  const double h = static_cast<double>(p.horizon);
  const bool full = p.revaluation == Revaluation::kFull;
  std::size_t batch = block * set.batches_per_block;
  for (std::size_t u0 = 0; u0 < units; u0 += kBatchSize, ++batch) {
    const std::size_t nb = std::min(kBatchSize, units - u0);
    std::fill(anti, anti + n * kBatchSize, 0.0);
    std::fill(sym, sym + n * kBatchSize, 0.0);
    for (int step = 0; step < p.horizon; ++step) {
      for (std::size_t j = 0; j < nb; ++j) {
        for (std::size_t i = 0; i < n; ++i) {
          z[i * kBatchSize + j] = rng.normal();
        }
        g[j] = t_dist ? 2.0 * rng.gamma(gamma_d, gamma_c) : 1.0;
      }
      if (t_dist) {
        for (std::size_t j = 0; j < kBatchSize; ++j) {
          g[j] = std::sqrt(p.nu / g[j]);
        }
        for (std::size_t k = 0; k < n; ++k) {
          for (std::size_t j = 0; j < kBatchSize; ++j) {
            z[k * kBatchSize + j] *= g[j];
          }
        }
      }
      accumulate_shocks(p.chol.data(), n, z, anti);
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = (batch * n + i) * kBatchSize;
      store_asset_terms(h * p.drift[i], anti + i * kBatchSize, sym + i * kBatchSize,
                        set.first.data() + at, set.second.data() + at, full);
    }
  }
}

// Block b's losses for p's weights from the stored terms: the sums price_batch forms.
void losses_from_set(const Prepared& p, const ScenarioSet& set, std::size_t block, double* losses) {
  const std::size_t n = p.n;
  const std::size_t begin = block * kMcBlockPaths;
  const std::size_t end = std::min(p.paths, begin + kMcBlockPaths);
  const std::size_t stride = p.antithetic ? 2 : 1;
  const std::size_t units = (end - begin) / stride;
  const bool full = p.revaluation == Revaluation::kFull;
  alignas(16) double la[kBatchSize];
  alignas(16) double lb[kBatchSize];
  std::size_t batch = block * set.batches_per_block;
  for (std::size_t u0 = 0; u0 < units; u0 += kBatchSize, ++batch) {
    const std::size_t nb = std::min(kBatchSize, units - u0);
    std::fill(la, la + kBatchSize, 0.0);
    std::fill(lb, lb + kBatchSize, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = (batch * n + i) * kBatchSize;
      add_asset_terms(p.weights[i], set.first.data() + at, set.second.data() + at, la, lb, full);
    }
    for (std::size_t j = 0; j < nb; ++j) {
      for (std::size_t half = 0; half < stride; ++half) {
        losses[(u0 + j) * stride + half] = half == 0 ? la[j] : lb[j];
      }
    }
  }
}

// The model inputs a scenario set is a function of (the weights are not among them).
struct ScenarioKey {
  McDistribution distribution = McDistribution::kNormal;
  double nu = 0.0;
  std::vector<double> drift;
  std::vector<double> covariance;
  std::size_t paths = 0;
  int horizon = 1;
  std::uint64_t seed = 1;
  bool antithetic = true;
  Revaluation revaluation = Revaluation::kFull;

  bool operator==(const ScenarioKey& o) const {
    const auto same = [](const std::vector<double>& a, const std::vector<double>& b) {
      return a.size() == b.size() &&
             std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
    };
    return distribution == o.distribution &&
           std::bit_cast<std::uint64_t>(nu) == std::bit_cast<std::uint64_t>(o.nu) &&
           same(drift, o.drift) && same(covariance, o.covariance) && paths == o.paths &&
           horizon == o.horizon && seed == o.seed && antithetic == o.antithetic &&
           revaluation == o.revaluation;
  }
};

// At most kEntries sets (each at most kMcSharedScenarioBytes), the least recently used evicted.
// The lock is held only to look up and insert, never while simulating.
class ScenarioMemo {
 public:
  std::shared_ptr<const ScenarioSet> find(const ScenarioKey& key) {
    const std::lock_guard lock(mutex_);
    for (auto& e : entries_) {
      if (e.key == key) {
        e.last_used = ++clock_;
        ++stats_.hits;
        return e.set;
      }
    }
    return nullptr;
  }
  void insert(ScenarioKey key, std::shared_ptr<const ScenarioSet> set) {
    const std::lock_guard lock(mutex_);
    ++stats_.misses;  // a set simulated and stored
    for (const auto& e : entries_) {
      if (e.key == key) {
        return;  // another thread stored the same set meanwhile
      }
    }
    Entry entry{std::move(key), std::move(set), ++clock_};
    if (entries_.size() < kEntries) {
      entries_.push_back(std::move(entry));
    } else {
      *std::min_element(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
        return a.last_used < b.last_used;
      }) = std::move(entry);
    }
  }
  // True when `key` was asked for before without a set being stored: the second request of a
  // model stores its set, so a run asked for once (a lone estimate, portfolios with their own
  // seeds) is simulated directly and never pays for storing scenarios nobody reuses.
  bool asked_before(const ScenarioKey& key) {
    const std::lock_guard lock(mutex_);
    for (auto& k : asked_) {
      if (k == key) {
        return true;
      }
    }
    if (asked_.size() < kAsked) {
      asked_.push_back(key);
    } else {
      asked_[next_asked_] = key;
      next_asked_ = (next_asked_ + 1) % kAsked;
    }
    return false;
  }
  McScenarioCacheStats stats() {
    const std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  static constexpr std::size_t kEntries = 4;
  static constexpr std::size_t kAsked = 8;
  std::vector<ScenarioKey> asked_;
  std::size_t next_asked_ = 0;
  struct Entry {
    ScenarioKey key;
    std::shared_ptr<const ScenarioSet> set;
    std::uint64_t last_used = 0;
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;
  std::uint64_t clock_ = 0;
  McScenarioCacheStats stats_;
};

ScenarioMemo& scenario_memo() {
  static ScenarioMemo memo;
  return memo;
}

}  // namespace

// The steps of monte_carlo_risk after the simulation. Each runs per block in parallel, with
// per-block results combined in block order, so nothing depends on the thread count.
namespace {

std::pair<std::size_t, std::size_t> block_range(std::size_t b, std::size_t n_paths) {
  return {b * kMcBlockPaths, std::min(n_paths, (b + 1) * kMcBlockPaths)};
}

// Tail candidates: a threshold from every 32nd loss, set so about 1.5x the needed ranks (plus a
// margin) lie above it, then one parallel scan. Too few candidates (improbable) falls back to the
// full selection; both give the same result.
EmpiricalTail loss_tail(std::span<const double> losses, double alpha, std::size_t d,
                        std::size_t blocks, unsigned threads) {
  const std::size_t n_paths = losses.size();
  const std::size_t need = tail_ranks_needed(n_paths, alpha, d);
  constexpr std::size_t kSampleStride = 32;
  std::vector<double> sample;
  sample.reserve(n_paths / kSampleStride + 1);
  for (std::size_t j = 0; j < n_paths; j += kSampleStride) {
    sample.push_back(losses[j]);
  }
  const std::size_t sample_rank = std::min(sample.size(), (3 * need) / (2 * kSampleStride) + 32);
  std::nth_element(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(sample_rank - 1),
                   sample.end(), std::greater<>{});
  const double threshold = sample[sample_rank - 1];
  std::vector<std::vector<std::size_t>> block_candidates(blocks);
  std::vector<char> block_nan(blocks, 0);
  for_each_block(blocks, threads, [&](std::size_t b) {
    const auto [from, to] = block_range(b, n_paths);
    for (std::size_t j = from; j < to; ++j) {
      if (losses[j] >= threshold) {
        block_candidates[b].push_back(j);
      }
      if (std::isnan(losses[j])) {
        block_nan[b] = 1;
      }
    }
  });
  if (std::find(block_nan.begin(), block_nan.end(), 1) != block_nan.end()) {
    throw std::invalid_argument("the Monte Carlo model produced a loss that is not a number.");
  }
  std::vector<std::size_t> candidates;
  for (const auto& c : block_candidates) {
    candidates.insert(candidates.end(), c.begin(), c.end());
  }
  return candidates.size() >= need ? tail_from_candidates(losses, alpha, d, std::move(candidates))
                                   : empirical_tail(losses, alpha, d);
}

// Standard errors with antithetic pairs (or single paths) as the independent units: per block
// sums of the unit means and their squares. [lo, hi]: the ranks of the sparsity estimate.
void standard_errors(std::span<const double> losses, const EmpiricalTail& tail, double alpha,
                     std::size_t unit, std::size_t lo, std::size_t hi, std::size_t blocks,
                     unsigned threads, McResult& r) {
  const std::size_t n_paths = losses.size();
  const std::size_t units = n_paths / unit;
  const double tail_p = 1.0 - alpha;
  struct Sums {
    double ind = 0.0, ind2 = 0.0, exc = 0.0, exc2 = 0.0;
  };
  std::vector<Sums> block_sums(blocks);
  for_each_block(blocks, threads, [&](std::size_t b) {
    const auto [from, to] = block_range(b, n_paths);
    Sums s;
    for (std::size_t j = from; j + unit <= to; j += unit) {
      double a = 0.0, e = 0.0;
      for (std::size_t l = j; l < j + unit; ++l) {
        a += losses[l] > r.var ? 1.0 : 0.0;
        e += std::max(losses[l] - r.var, 0.0);
      }
      a /= static_cast<double>(unit);
      e /= static_cast<double>(unit) * tail_p;
      s.ind += a;
      s.ind2 += a * a;
      s.exc += e;
      s.exc2 += e * e;
    }
    block_sums[b] = s;
  });
  Sums total;
  for (const auto& s : block_sums) {
    total.ind += s.ind;
    total.ind2 += s.ind2;
    total.exc += s.exc;
    total.exc2 += s.exc2;
  }
  const auto sd_of_mean = [units](double sum, double sum2) {
    if (units < 2) {
      return 0.0;
    }
    const double m = static_cast<double>(units);
    const double var = std::max(0.0, (sum2 - sum * sum / m) / (m - 1.0));
    return std::sqrt(var / m);
  };
  double sparsity = 0.0;
  if (hi > lo) {
    sparsity = (losses[tail.ranked[lo - 1]] - losses[tail.ranked[hi - 1]]) *
               static_cast<double>(n_paths) / static_cast<double>(hi - lo);
  }
  r.stderr_var = sd_of_mean(total.ind, total.ind2) * sparsity;
  r.stderr_cvar = sd_of_mean(total.exc, total.exc2);
}

// Second pass over the same streams: the asset losses of the ranked tail scenarios give the
// Euler components (VaR: the kernel over ranks [lo, hi] rescaled to VaR; CVaR: the tail average).
void euler_components(const Prepared& p, std::span<const double> losses, const EmpiricalTail& tail,
                      std::size_t lo, std::size_t hi, std::size_t blocks, unsigned threads,
                      McResult& r) {
  const std::size_t n = p.n;
  std::vector<std::int32_t> slot_of(losses.size(), -1);
  for (std::size_t s = 0; s < tail.ranked.size(); ++s) {
    slot_of[tail.ranked[s]] = static_cast<std::int32_t>(s);
  }
  std::vector<char> needed(blocks, 0);
  for (std::size_t id : tail.ranked) {
    needed[id / kMcBlockPaths] = 1;
  }
  std::vector<double> capture(tail.ranked.size() * n);
  for_each_block(blocks, threads, [&](std::size_t b) {
    if (needed[b]) {
      (void)run_block<true>(p, b, nullptr, slot_of.data(), capture.data());
    }
  });
  r.component_var.assign(n, 0.0);
  r.component_cvar.assign(n, 0.0);
  double kernel_loss = 0.0;
  for (std::size_t rank = lo; rank <= hi; ++rank) {
    const std::size_t s = rank - 1;
    kernel_loss += losses[tail.ranked[s]];
    for (std::size_t i = 0; i < n; ++i) {
      r.component_var[i] += p.weights[i] * capture[s * n + i];
    }
  }
  const double scale = kernel_loss != 0.0 ? r.var / kernel_loss : 0.0;
  for (auto& c : r.component_var) {
    c *= scale;
  }
  for (const auto& sc : tail.cvar_scenarios) {
    const auto s = static_cast<std::size_t>(slot_of[sc.index]);
    for (std::size_t i = 0; i < n; ++i) {
      r.component_cvar[i] += sc.weight * p.weights[i] * capture[s * n + i];
    }
  }
}

}  // namespace

McResult monte_carlo_risk(const McModel& model, std::span<const double> weights, double alpha,
                          const McSettings& settings) {
  if (!(alpha > 0.0 && alpha < 1.0)) {
    throw std::invalid_argument("confidence must be strictly between 0 and 1.");
  }
  if (weights.size() != model.drift.size()) {
    throw std::invalid_argument("the weights do not match the number of assets.");
  }
  const Prepared p = prepare(model, weights, settings);
  const std::size_t n_paths = p.paths;
  const std::size_t blocks = block_count(p);
  const auto losses_buffer = std::make_unique_for_overwrite<double[]>(n_paths);
  const std::span<const double> losses(losses_buffer.get(), n_paths);
  const std::size_t set_bytes = 2 * sizeof(double) * p.n * blocks *
                                (units_per_block(p) + kBatchSize - 1) / kBatchSize * kBatchSize;
  std::shared_ptr<const ScenarioSet> set;
  if (settings.share_scenarios && !p.jumps && set_bytes <= kMcSharedScenarioBytes) {
    ScenarioKey key{p.distribution, p.nu,   model.drift,  model.covariance, p.paths,
                    p.horizon,      p.seed, p.antithetic, p.revaluation};
    set = scenario_memo().find(key);
    if (!set && scenario_memo().asked_before(key)) {
      auto fresh = std::make_shared<ScenarioSet>();
      fresh->n = p.n;
      fresh->batches_per_block = (units_per_block(p) + kBatchSize - 1) / kBatchSize;
      const std::size_t values = blocks * fresh->batches_per_block * p.n * kBatchSize;
      fresh->first.resize(values);
      fresh->second.resize(values);
      for_each_block(blocks, settings.threads, [&](std::size_t b) { store_block(p, b, *fresh); });
      set = fresh;
      scenario_memo().insert(std::move(key), set);
    }
  }
  if (set) {
    for_each_block(blocks, settings.threads, [&](std::size_t b) {
      losses_from_set(p, *set, b, losses_buffer.get() + b * kMcBlockPaths);
    });
  } else {
    for_each_block(blocks, settings.threads, [&](std::size_t b) {
      (void)run_block<true>(p, b, losses_buffer.get() + b * kMcBlockPaths, nullptr, nullptr);
    });
  }

  const std::size_t k = var_rank(n_paths, alpha);
  const auto d = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::lround(std::sqrt(static_cast<double>(k)))));
  const EmpiricalTail tail = loss_tail(losses, alpha, d, blocks, settings.threads);
  McResult r;
  r.var = tail.var;
  r.cvar = tail.cvar;
  r.paths = n_paths;
  r.law.kind = PredictiveLaw::Kind::kSample;
  r.law.sample_size = n_paths;
  r.law.tail.reserve(tail.ranked.size());
  for (const std::size_t j : tail.ranked) {
    r.law.tail.push_back(losses[j]);
  }
  const std::size_t lo = k > d ? k - d : 1;
  const std::size_t hi = std::min(tail.ranked.size(), k + d);
  standard_errors(losses, tail, alpha, p.antithetic ? 2 : 1, lo, hi, blocks, settings.threads, r);
  if (settings.components) {
    euler_components(p, losses, tail, lo, hi, blocks, settings.threads, r);
  }
  return r;
}

McScenarioCacheStats monte_carlo_scenario_cache_stats() { return scenario_memo().stats(); }

double monte_carlo_draw_only(const McModel& model, const McSettings& settings) {
  const Prepared p = prepare(model, {}, settings);
  const std::size_t blocks = block_count(p);
  std::vector<double> sums(blocks, 0.0);
  for_each_block(blocks, settings.threads, [&](std::size_t b) {
    sums[b] = run_block<false>(p, b, nullptr, nullptr, nullptr);
  });
  double total = 0.0;
  for (double v : sums) {
    total += v;  // block order
  }
  return total;
}

}  // namespace varkeeper::risk
