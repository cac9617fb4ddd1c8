#include "risk/monte_carlo.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <thread>

#include "risk/empirical_tail.hpp"
#include "risk/random_stream.hpp"

namespace varkeeper::risk {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Prepared {
  std::size_t n = 0;
  McDistribution distribution = McDistribution::kNormal;
  std::vector<double> chol;  // lower-triangular Cholesky factor, row-major
  std::vector<double> drift;
  std::vector<double> weights;
  double half_nu = 0.0;
  double nu_minus_2 = 0.0;
  bool jumps = false;
  JumpModel jump;
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
  if (n == 0 || model.covariance.size() != n * n)
    throw std::invalid_argument("the Monte Carlo model's drift and covariance do not match.");
  if (!weights.empty() && weights.size() != n)
    throw std::invalid_argument("the weights do not match the number of assets.");
  if (s.horizon < 1) throw std::invalid_argument("the horizon must be at least one period.");
  if (s.paths < 2) throw std::invalid_argument("Monte Carlo needs at least two paths.");
  p.distribution = model.distribution;
  p.drift = model.drift;
  p.weights.assign(weights.begin(), weights.end());
  p.horizon = s.horizon;
  p.antithetic = s.antithetic;
  p.revaluation = s.revaluation;
  p.paths = s.antithetic ? s.paths + (s.paths % 2) : s.paths;
  p.seed = s.seed;
  // Cholesky with a tiny diagonal jitter only if the matrix is numerically semi-definite.
  const auto nn = static_cast<Eigen::Index>(n);
  Matrix cov = Eigen::Map<const Matrix>(model.covariance.data(), nn, nn);
  Eigen::LLT<Matrix> llt(cov);
  if (llt.info() != Eigen::Success) {
    const double jitter = 1e-12 * std::max(cov.diagonal().maxCoeff(), 1e-300);
    llt.compute(cov + jitter * Matrix::Identity(nn, nn));
    if (llt.info() != Eigen::Success)
      throw std::invalid_argument("the covariance matrix is not positive semi-definite.");
  }
  p.chol.resize(n * n);
  Eigen::Map<Matrix>(p.chol.data(), nn, nn) = llt.matrixL().toDenseMatrix();
  if (model.distribution == McDistribution::kStudentT) {
    if (!(model.nu > 2.0)) throw std::invalid_argument("the Student-t model needs nu > 2.");
    p.half_nu = 0.5 * model.nu;
    p.nu_minus_2 = model.nu - 2.0;
  }
  if (model.distribution == McDistribution::kJumpDiffusion) {
    p.jump = model.jumps;
    auto fit = [n](std::vector<double>& v) { v.resize(n, 0.0); };
    fit(p.jump.intensity);
    fit(p.jump.mean);
    fit(p.jump.stdev);
    fit(p.jump.common_mean);
    fit(p.jump.common_stdev);
    for (std::size_t i = 0; i < n; ++i)
      if (p.jump.intensity[i] < 0.0 || p.jump.intensity[i] > 50.0)
        throw std::invalid_argument("jump intensities must be between 0 and 50 per period.");
    if (p.jump.common_intensity < 0.0 || p.jump.common_intensity > 50.0)
      throw std::invalid_argument("jump intensities must be between 0 and 50 per period.");
    p.jumps = true;
  }
  return p;
}

std::size_t block_count(const Prepared& p) { return (p.paths + kMcBlockPaths - 1) / kMcBlockPaths; }

// Simulates the paths of one block. losses: the block's slice of the loss vector (may be null).
// slot_of / capture: for the components pass, the per-asset unit losses of selected paths.
template <bool kPrice>
double run_block(const Prepared& p, std::size_t block, double* losses, const std::int32_t* slot_of,
                 double* capture) {
  const std::size_t n = p.n;
  const std::size_t begin = block * kMcBlockPaths;
  const std::size_t end = std::min(p.paths, begin + kMcBlockPaths);
  RandomStream rng(p.seed, block);
  std::array<double, 64> small_buf{};
  std::vector<double> big_buf;
  double* z = small_buf.data();
  if (4 * n > small_buf.size()) {
    big_buf.resize(4 * n);
    z = big_buf.data();
  }
  double* x = z + n;
  double* cum_a = x + n;
  double* cum_b = cum_a + n;
  const std::size_t stride = p.antithetic ? 2 : 1;
  double checksum = 0.0;
  for (std::size_t path = begin; path < end; path += stride) {
    for (std::size_t i = 0; i < n; ++i) cum_a[i] = cum_b[i] = 0.0;
    for (int step = 0; step < p.horizon; ++step) {
      for (std::size_t i = 0; i < n; ++i) z[i] = rng.normal();
      double g = 1.0;
      if (p.distribution == McDistribution::kStudentT) {
        // W ~ chi-square(nu) = 2 Gamma(nu / 2); the t shock sqrt((nu - 2) / W) L z has
        // covariance L L' (unit-variance scaling).
        const double w = 2.0 * rng.gamma(p.half_nu);
        g = std::sqrt(p.nu_minus_2 / w);
      }
      if constexpr (!kPrice) {
        for (std::size_t i = 0; i < n; ++i) checksum += z[i];
        checksum += g;
      }
      if constexpr (kPrice) {
        for (std::size_t i = 0; i < n; ++i) {
          const double* row = p.chol.data() + i * n;
          double acc = 0.0;
          for (std::size_t j = 0; j <= i; ++j) acc += row[j] * z[j];
          x[i] = g * acc;
        }
        for (std::size_t i = 0; i < n; ++i) {
          cum_a[i] += p.drift[i] + x[i];
          cum_b[i] += p.drift[i] - x[i];
        }
      }
      if (p.jumps) {
        // Sum of k N(m, s^2) jump sizes is N(k m, k s^2): one normal per jumping asset.
        for (std::size_t i = 0; i < n; ++i) {
          if (p.jump.intensity[i] <= 0.0) continue;
          const unsigned k = rng.poisson(p.jump.intensity[i]);
          if (k == 0) continue;
          const double e = rng.normal();
          const double m = k * p.jump.mean[i];
          const double s = std::sqrt(static_cast<double>(k)) * p.jump.stdev[i] * e;
          cum_a[i] += m + s;
          cum_b[i] += m - s;
          if constexpr (!kPrice) checksum += e;
        }
        if (p.jump.common_intensity > 0.0) {
          const unsigned k = rng.poisson(p.jump.common_intensity);
          if (k > 0) {
            const double e = rng.normal();
            const double rk = std::sqrt(static_cast<double>(k));
            for (std::size_t i = 0; i < n; ++i) {
              const double m = k * p.jump.common_mean[i];
              const double s = rk * p.jump.common_stdev[i] * e;
              cum_a[i] += m + s;
              cum_b[i] += m - s;
            }
            if constexpr (!kPrice) checksum += e;
          }
        }
      }
    }
    if constexpr (kPrice) {
      for (std::size_t half = 0; half < stride && path + half < end; ++half) {
        const double* cum = half == 0 ? cum_a : cum_b;
        const std::size_t id = path + half;
        double loss = 0.0;
        for (std::size_t i = 0; i < n; ++i) loss += p.weights[i] * unit_loss(cum[i], p.revaluation);
        if (losses != nullptr) losses[id - begin] = loss;
        if (slot_of != nullptr && slot_of[id] >= 0) {
          double* out = capture + static_cast<std::size_t>(slot_of[id]) * n;
          for (std::size_t i = 0; i < n; ++i) out[i] = unit_loss(cum[i], p.revaluation);
        }
      }
    }
  }
  return checksum;
}

template <class F>
void for_each_block(std::size_t blocks, unsigned threads, F&& f) {
  unsigned t = threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : threads;
  t = static_cast<unsigned>(std::min<std::size_t>(t, blocks));
  if (t <= 1) {
    for (std::size_t b = 0; b < blocks; ++b) f(b);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::vector<std::jthread> pool;
  pool.reserve(t);
  for (unsigned w = 0; w < t; ++w)
    pool.emplace_back([&] {
      for (std::size_t b = next.fetch_add(1); b < blocks; b = next.fetch_add(1)) f(b);
    });
}

double sample_sd_of_mean(const std::vector<double>& unit_values) {
  const std::size_t m = unit_values.size();
  if (m < 2) return 0.0;
  double mean = 0.0;
  for (double v : unit_values) mean += v;
  mean /= static_cast<double>(m);
  double ss = 0.0;
  for (double v : unit_values) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / static_cast<double>(m - 1) / static_cast<double>(m));
}

}  // namespace

McResult monte_carlo_risk(const McModel& model, std::span<const double> weights, double alpha,
                          const McSettings& settings) {
  if (!(alpha > 0.0 && alpha < 1.0))
    throw std::invalid_argument("confidence must be strictly between 0 and 1.");
  if (weights.size() != model.drift.size())
    throw std::invalid_argument("the weights do not match the number of assets.");
  const Prepared p = prepare(model, weights, settings);
  const std::size_t n_paths = p.paths;
  const std::size_t blocks = block_count(p);

  std::vector<double> losses(n_paths);
  for_each_block(blocks, settings.threads, [&](std::size_t b) {
    (void)run_block<true>(p, b, losses.data() + b * kMcBlockPaths, nullptr, nullptr);
  });

  const std::size_t k = var_rank(n_paths, alpha);
  const auto d = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::lround(std::sqrt(static_cast<double>(k)))));
  const EmpiricalTail tail = empirical_tail(losses, alpha, d);

  McResult r;
  r.var = tail.var;
  r.cvar = tail.cvar;
  r.paths = n_paths;

  // Standard errors with antithetic pairs (or single paths) as the independent units.
  const std::size_t unit = p.antithetic ? 2 : 1;
  const std::size_t units = n_paths / unit;
  const double tail_p = 1.0 - alpha;
  std::vector<double> ind(units), excess(units);
  for (std::size_t u = 0; u < units; ++u) {
    double a = 0.0, e = 0.0;
    for (std::size_t j = u * unit; j < (u + 1) * unit; ++j) {
      a += losses[j] > r.var ? 1.0 : 0.0;
      e += std::max(losses[j] - r.var, 0.0) / tail_p;
    }
    ind[u] = a / static_cast<double>(unit);
    excess[u] = e / static_cast<double>(unit);
  }
  const std::size_t lo = k > d ? k - d : 1;
  const std::size_t hi = std::min(tail.ranked.size(), k + d);
  double sparsity = 0.0;
  if (hi > lo) {
    sparsity = (losses[tail.ranked[lo - 1]] - losses[tail.ranked[hi - 1]]) *
               static_cast<double>(n_paths) / static_cast<double>(hi - lo);
  }
  r.stderr_var = sample_sd_of_mean(ind) * sparsity;
  r.stderr_cvar = sample_sd_of_mean(excess);

  if (settings.components) {
    const std::size_t n = p.n;
    // Second pass over the same streams: the asset losses of the ranked tail scenarios.
    std::vector<std::int32_t> slot_of(n_paths, -1);
    for (std::size_t s = 0; s < tail.ranked.size(); ++s)
      slot_of[tail.ranked[s]] = static_cast<std::int32_t>(s);
    std::vector<char> needed(blocks, 0);
    for (std::size_t id : tail.ranked) needed[id / kMcBlockPaths] = 1;
    std::vector<double> capture(tail.ranked.size() * n);
    for_each_block(blocks, settings.threads, [&](std::size_t b) {
      if (needed[b]) (void)run_block<true>(p, b, nullptr, slot_of.data(), capture.data());
    });
    r.component_var.assign(n, 0.0);
    r.component_cvar.assign(n, 0.0);
    double kernel_loss = 0.0;
    for (std::size_t rank = lo; rank <= hi; ++rank) {
      const std::size_t s = rank - 1;
      kernel_loss += losses[tail.ranked[s]];
      for (std::size_t i = 0; i < n; ++i) r.component_var[i] += p.weights[i] * capture[s * n + i];
    }
    const double scale = kernel_loss != 0.0 ? r.var / kernel_loss : 0.0;
    for (auto& c : r.component_var) c *= scale;
    for (const auto& sc : tail.cvar_scenarios) {
      const auto s = static_cast<std::size_t>(slot_of[sc.index]);
      for (std::size_t i = 0; i < n; ++i)
        r.component_cvar[i] += sc.weight * p.weights[i] * capture[s * n + i];
    }
  }
  return r;
}

double monte_carlo_draw_only(const McModel& model, const McSettings& settings) {
  const Prepared p = prepare(model, {}, settings);
  const std::size_t blocks = block_count(p);
  std::vector<double> sums(blocks, 0.0);
  for_each_block(blocks, settings.threads, [&](std::size_t b) {
    sums[b] = run_block<false>(p, b, nullptr, nullptr, nullptr);
  });
  double total = 0.0;
  for (double v : sums) total += v;  // block order
  return total;
}

}  // namespace varkeeper::risk
