// Operational risk of the oracle system itself: how often incidents happen (Annualized Rate of
// Occurrence, ARO) and what they cost (Single and Annualized Loss Expectancy, SLE and ALE).
//
// ARO per category is a hybrid of sources (the keeper's internal incident log, industry
// benchmarks, threat intelligence, expert elicitation), each with a weight:
//   hybrid ARO = sum_i w_i * ARO_i   with the weights normalised to sum to 1.
// Counts per year are Poisson(ARO); ALE = ARO * SLE; the annual loss is compound Poisson with
// lognormal severities, whose distribution is estimated by Monte Carlo.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace varkeeper::risk::oprisk {

// The built-in taxonomy; config may add categories of its own (any non-empty name).
inline constexpr std::string_view kOracleManipulation = "oracle_manipulation";
inline constexpr std::string_view kProtocolExploitation = "protocol_exploitation";
inline constexpr std::string_view kDenialOfService = "denial_of_service";
inline constexpr std::string_view kUnauthorizedAccess = "unauthorized_access";
inline constexpr std::string_view kStaleFeed = "stale_feed";
inline constexpr std::string_view kFailedSubmission = "failed_submission";

[[nodiscard]] const std::vector<std::string_view>& builtin_categories();

// One source's estimate of the events per year, and the weight the risk committee gives it.
struct AroSource {
  std::string name;  // "internal", "industry", "threat_intel", "expert", ...
  double aro = 0.0;
  double weight = 0.0;
};

struct WeightedAro {
  std::string name;
  double aro = 0.0;
  double weight = 0.0;        // normalised
  double weighted_aro = 0.0;  // weight * aro
};

struct HybridAro {
  std::vector<WeightedAro> sources;
  double total = 0.0;  // sum of weighted_aro
};

// Validates (every ARO and weight finite and >= 0, at least one weight > 0) and normalises the
// weights; throws std::invalid_argument naming the offending source otherwise.
[[nodiscard]] HybridAro hybrid_aro(const std::vector<AroSource>& sources);

// The internal-log ARO with Gamma-Poisson credibility shrinkage. The external prior is a
// Gamma(shape = prior_aro * prior_years, rate = prior_years) on the yearly rate, i.e. worth
// `prior_years` of observation; after `events` in `observed_years` the posterior mean is
//   (prior_aro * prior_years + events) / (prior_years + observed_years)
// and the credibility weight of the internal log is observed_years / (observed_years + prior_years)
// (Buhlmann credibility for the Poisson-Gamma model).
struct InternalAro {
  double raw = 0.0;          // events / observed_years
  double credibility = 0.0;  // Z in [0, 1)
  double shrunk = 0.0;       // Z * raw + (1 - Z) * prior_aro
  std::uint64_t events = 0;
  double observed_years = 0.0;
};
[[nodiscard]] InternalAro internal_aro(std::uint64_t events, double observed_years,
                                       double prior_aro, double prior_years);

// Poisson(lambda * years): probability of exactly k events, and of at least one.
[[nodiscard]] double poisson_probability(std::uint64_t k, double aro, double years = 1.0);
[[nodiscard]] double probability_at_least_one(double aro, double years = 1.0);

// ALE = ARO x SLE.
[[nodiscard]] inline double annualized_loss_expectancy(double aro, double sle) { return aro * sle; }

// Lognormal severity: ln X ~ N(mu, sigma^2).
struct LognormalSeverity {
  double mu = 0.0;
  double sigma = 1.0;
  [[nodiscard]] double mean() const;           // exp(mu + sigma^2 / 2)
  [[nodiscard]] double second_moment() const;  // exp(2 mu + 2 sigma^2)
  // The parameters whose mean is `mean` with coefficient of variation `cv` (sd / mean).
  [[nodiscard]] static LognormalSeverity from_mean_cv(double mean, double cv);
};

// Closed forms of the compound Poisson annual loss S = X_1 + ... + X_N, N ~ Poisson(lambda):
// E[S] = lambda E[X], Var[S] = lambda E[X^2].
[[nodiscard]] double compound_mean(double aro, const LognormalSeverity& sev);
[[nodiscard]] double compound_variance(double aro, const LognormalSeverity& sev);

struct AnnualLossOptions {
  std::uint64_t paths = 200'000;
  std::uint64_t seed = 1;
  unsigned batches = 20;  // standard errors by batch means
};

struct AnnualLossDistribution {
  double mean = 0.0;
  double var99 = 0.0;   // 99 % quantile of the annual loss
  double var999 = 0.0;  // 99.9 % quantile
  double cvar99 = 0.0;  // mean loss beyond the 99 % quantile (Acerbi-Tasche)
  double stderr_mean = 0.0;
  double stderr_var99 = 0.0;
  double stderr_var999 = 0.0;
  double stderr_cvar99 = 0.0;
  double prob_no_loss = 0.0;  // fraction of years with no event
};

// Monte Carlo of one year's loss per path, summed over the categories given (each with its own
// rate and severity), deterministic for a seed. Throws std::invalid_argument for a negative or
// non-finite rate, sigma <= 0, a negative or non-finite point mass, or fewer paths than
// batches * 100.
// A category with `point_mass` set loses exactly that amount per event (a category configured
// with an SLE and no severity distribution); `severity` is then not used.
struct CategoryLoss {
  CategoryLoss() = default;
  CategoryLoss(double rate, LognormalSeverity sev) : aro(rate), severity(sev) {}
  double aro = 0.0;
  LognormalSeverity severity;
  std::optional<double> point_mass;
  // E[X] per event: the point mass or the lognormal mean.
  [[nodiscard]] double mean_severity() const { return point_mass ? *point_mass : severity.mean(); }
};
[[nodiscard]] AnnualLossDistribution simulate_annual_loss(
    const std::vector<CategoryLoss>& categories, const AnnualLossOptions& options);

// The annual loss of path `path` of a run seeded with `seed` (what simulate_annual_loss draws for
// it). Each path has its own stream: its SplitMix64 state is the SplitMix64 finaliser of
// seed * C + (path + 1) * G (a hash of (seed, path)), not a state stepped by G, SplitMix64's own
// per-draw increment, which made path p + 1 draw path p's numbers shifted by one.
[[nodiscard]] double annual_loss_path(const std::vector<CategoryLoss>& categories,
                                      std::uint64_t seed, std::uint64_t path);

}  // namespace varkeeper::risk::oprisk
