#include "risk/oprisk.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "risk/random_stream.hpp"

namespace varkeeper::risk::oprisk {

const std::vector<std::string_view>& builtin_categories() {
  static const std::vector<std::string_view> kAll{kOracleManipulation, kProtocolExploitation,
                                                  kDenialOfService,    kUnauthorizedAccess,
                                                  kStaleFeed,          kFailedSubmission};
  return kAll;
}

HybridAro hybrid_aro(const std::vector<AroSource>& sources) {
  if (sources.empty()) {
    throw std::invalid_argument("hybrid ARO needs at least one source");
  }
  double weight_sum = 0.0;
  for (const auto& s : sources) {
    if (!std::isfinite(s.aro) || s.aro < 0.0) {
      throw std::invalid_argument("source '" + s.name + "': ARO must be a finite number >= 0");
    }
    if (!std::isfinite(s.weight) || s.weight < 0.0) {
      throw std::invalid_argument("source '" + s.name + "': weight must be a finite number >= 0");
    }
    weight_sum += s.weight;
  }
  if (weight_sum <= 0.0) {
    throw std::invalid_argument("hybrid ARO: all weights are zero");
  }
  HybridAro out;
  out.sources.reserve(sources.size());
  for (const auto& s : sources) {
    const double w = s.weight / weight_sum;
    out.sources.push_back({s.name, s.aro, w, w * s.aro});
    out.total += w * s.aro;
  }
  return out;
}

InternalAro internal_aro(std::uint64_t events, double observed_years, double prior_aro,
                         double prior_years) {
  if (!std::isfinite(observed_years) || observed_years <= 0.0) {
    throw std::invalid_argument("internal ARO: the observation window must be > 0 years");
  }
  if (!std::isfinite(prior_aro) || prior_aro < 0.0 || !std::isfinite(prior_years) ||
      prior_years < 0.0) {
    throw std::invalid_argument("internal ARO: the prior rate and weight must be finite and >= 0");
  }
  InternalAro out;
  out.events = events;
  out.observed_years = observed_years;
  out.raw = static_cast<double>(events) / observed_years;
  out.credibility = observed_years / (observed_years + prior_years);
  out.shrunk = out.credibility * out.raw + (1.0 - out.credibility) * prior_aro;
  return out;
}

double poisson_probability(std::uint64_t k, double aro, double years) {
  const double lambda = aro * years;
  if (!std::isfinite(lambda) || lambda < 0.0) {
    throw std::invalid_argument("Poisson rate must be finite and >= 0");
  }
  if (lambda == 0.0) {
    return k == 0 ? 1.0 : 0.0;
  }
  const double kd = static_cast<double>(k);
  return std::exp(kd * std::log(lambda) - lambda - std::lgamma(kd + 1.0));
}

double probability_at_least_one(double aro, double years) {
  const double lambda = aro * years;
  if (!std::isfinite(lambda) || lambda < 0.0) {
    throw std::invalid_argument("Poisson rate must be finite and >= 0");
  }
  return -std::expm1(-lambda);
}

double LognormalSeverity::mean() const { return std::exp(mu + 0.5 * sigma * sigma); }
double LognormalSeverity::second_moment() const { return std::exp(2.0 * mu + 2.0 * sigma * sigma); }

LognormalSeverity LognormalSeverity::from_mean_cv(double mean, double cv) {
  if (!(mean > 0.0) || !(cv > 0.0) || !std::isfinite(mean) || !std::isfinite(cv)) {
    throw std::invalid_argument(
        "lognormal severity: mean and coefficient of variation must be > 0");
  }
  const double s2 = std::log1p(cv * cv);
  return {std::log(mean) - 0.5 * s2, std::sqrt(s2)};
}

double compound_mean(double aro, const LognormalSeverity& sev) { return aro * sev.mean(); }
double compound_variance(double aro, const LognormalSeverity& sev) {
  return aro * sev.second_moment();
}

namespace {

// One independent SplitMix64 stream (risk/random_stream.hpp) per path, so the result does not
// depend on the order paths are computed in.
struct PathRandom {
  std::uint64_t state;
  std::uint64_t next() noexcept { return splitmix64(state); }
  // Uniform on the open interval (0, 1).
  double uniform() noexcept { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  double normal() noexcept {  // Box-Muller
    const double u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Poisson by inversion (sequential search): exact for the small rates of incident models.
  std::uint64_t poisson(double lambda) noexcept {
    if (lambda <= 0.0) {
      return 0;
    }
    const double u = uniform();
    double p = std::exp(-lambda);
    double cdf = p;
    std::uint64_t k = 0;
    while (u > cdf && p > 0.0) {
      ++k;
      p *= lambda / static_cast<double>(k);
      cdf += p;
    }
    return k;
  }
};

// Tail figures of a sample under the project's empirical convention (README "Risk conventions"):
// VaR_a is the k-th largest loss with k = ceil(n (1 - a)); CVaR is Acerbi-Tasche.
struct Tail {
  double var = 0.0;
  double cvar = 0.0;
};

double tail_count(std::size_t n, double alpha) {
  const double m = static_cast<double>(n) * (1.0 - alpha);
  // n(1-a) is an integer in exact arithmetic for the usual n and a; undo binary rounding.
  const double r = std::round(m);
  return std::fabs(m - r) < 1e-9 * std::max(1.0, m) ? r : m;
}

Tail tail_of(std::vector<double>& losses, double alpha) {
  const std::size_t n = losses.size();
  const double m = tail_count(n, alpha);
  const auto k = static_cast<std::size_t>(std::ceil(m));  // 1-based rank from the top
  const auto whole = static_cast<std::size_t>(std::floor(m));
  std::sort(losses.begin(), losses.end(), std::greater<>());
  Tail t;
  t.var = losses[std::min(k, n) - 1];
  double sum =
      std::accumulate(losses.begin(), losses.begin() + static_cast<std::ptrdiff_t>(whole), 0.0);
  if (whole < n) {
    sum += (m - static_cast<double>(whole)) * losses[whole];
  }
  t.cvar = sum / m;
  return t;
}

}  // namespace

double annual_loss_path(const std::vector<CategoryLoss>& categories, std::uint64_t seed,
                        std::uint64_t path) {
  // Each path's stream starts from a SplitMix64 output, not from the raw seed * C + path * G:
  // G is SplitMix64's own increment, so raw states one path apart would give streams that
  // are the same numbers shifted by one draw (correlated neighbouring paths).
  std::uint64_t path_state = seed * 0xD1B54A32D192ED03ULL + path * 0x9E3779B97F4A7C15ULL;
  PathRandom rng{splitmix64(path_state)};
  double loss = 0.0;
  for (const auto& c : categories) {
    const std::uint64_t count = rng.poisson(c.aro);
    if (c.point_mass) {
      loss += static_cast<double>(count) * *c.point_mass;
      continue;
    }
    for (std::uint64_t e = 0; e < count; ++e) {
      loss += std::exp(c.severity.mu + c.severity.sigma * rng.normal());
    }
  }
  return loss;
}

AnnualLossDistribution simulate_annual_loss(const std::vector<CategoryLoss>& categories,
                                            const AnnualLossOptions& options) {
  for (const auto& c : categories) {
    if (!std::isfinite(c.aro) || c.aro < 0.0 || c.aro > 500.0) {
      throw std::invalid_argument("annual loss: every rate must be finite, >= 0 and <= 500 a year");
    }
    if (c.point_mass) {
      if (!std::isfinite(*c.point_mass) || *c.point_mass < 0.0) {
        throw std::invalid_argument("annual loss: a point-mass loss must be finite and >= 0");
      }
    } else if (!std::isfinite(c.severity.mu) || !std::isfinite(c.severity.sigma) ||
               c.severity.sigma <= 0.0) {
      throw std::invalid_argument("annual loss: severity needs a finite mu and sigma > 0");
    }
  }
  if (options.batches < 2 || options.paths < static_cast<std::uint64_t>(options.batches) * 100) {
    throw std::invalid_argument("annual loss: need at least 2 batches of 100 paths");
  }
  const std::uint64_t per_batch = options.paths / options.batches;
  const std::uint64_t n = per_batch * options.batches;
  std::vector<double> all;
  all.reserve(n);
  std::vector<double> batch_mean, batch_var99, batch_var999, batch_cvar99;
  std::uint64_t no_loss = 0;
  for (unsigned b = 0; b < options.batches; ++b) {
    std::vector<double> losses;
    losses.reserve(per_batch);
    for (std::uint64_t i = 0; i < per_batch; ++i) {
      const double loss = annual_loss_path(categories, options.seed, b * per_batch + i);
      no_loss += loss == 0.0 ? 1 : 0;
      losses.push_back(loss);
    }
    all.insert(all.end(), losses.begin(), losses.end());
    batch_mean.push_back(std::accumulate(losses.begin(), losses.end(), 0.0) /
                         static_cast<double>(per_batch));
    auto copy = losses;
    const Tail t99 = tail_of(copy, 0.99);
    batch_var99.push_back(t99.var);
    batch_cvar99.push_back(t99.cvar);
    batch_var999.push_back(tail_of(losses, 0.999).var);
  }
  const auto stderr_of = [](const std::vector<double>& x) {
    const double k = static_cast<double>(x.size());
    const double mean = std::accumulate(x.begin(), x.end(), 0.0) / k;
    double ss = 0.0;
    for (double v : x) {
      ss += (v - mean) * (v - mean);
    }
    return std::sqrt(ss / (k - 1.0) / k);
  };
  AnnualLossDistribution out;
  out.mean = std::accumulate(all.begin(), all.end(), 0.0) / static_cast<double>(n);
  out.prob_no_loss = static_cast<double>(no_loss) / static_cast<double>(n);
  auto copy = all;
  const Tail t99 = tail_of(copy, 0.99);
  out.var99 = t99.var;
  out.cvar99 = t99.cvar;
  out.var999 = tail_of(all, 0.999).var;
  out.stderr_mean = stderr_of(batch_mean);
  out.stderr_var99 = stderr_of(batch_var99);
  out.stderr_var999 = stderr_of(batch_var999);
  out.stderr_cvar99 = stderr_of(batch_cvar99);
  return out;
}

}  // namespace varkeeper::risk::oprisk
