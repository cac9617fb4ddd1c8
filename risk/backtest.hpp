// Backtests of VaR and expected-shortfall forecasts against realised returns.
//
// Conventions (README "Risk conventions"): a forecast for period t is made before t; the realised
// loss is L_t = -r_t (r_t the realised simple return of the portfolio, a fraction of its value);
// VaR_t and ES_t are positive loss fractions; an exception ("hit", "failure") is L_t > VaR_t,
// strictly, as in MATLAB's varbacktest and the Basel (1996) backtesting framework.
// alpha is the VaR confidence (0.99); p = 1 - alpha is the exception probability under H0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "risk/predictive_law.hpp"

namespace varkeeper::risk {

// I_t = 1 if -realized[t] > var[t]. Spans must have equal sizes.
[[nodiscard]] std::vector<std::uint8_t> hit_sequence(std::span<const double> realized,
                                                     std::span<const double> var);

// Christoffersen's 2x2 transition counts of a hit sequence: n_ij = #{t >= 1: I_{t-1} = i, I_t = j}.
struct TransitionCounts {
  std::size_t n00 = 0;
  std::size_t n01 = 0;
  std::size_t n10 = 0;
  std::size_t n11 = 0;
};
[[nodiscard]] TransitionCounts transition_counts(std::span<const std::uint8_t> hits);

// A likelihood-ratio statistic with its chi-square p-value P(chi2(dof) > lr).
struct LikelihoodRatioTest {
  double lr = 0.0;
  double p_value = 1.0;
  int dof = 1;
};

// Kupiec (1995) proportion of failures: x exceptions in n periods against p = 1 - alpha,
// LR_pof = -2 ln[(1-p)^(n-x) p^x] + 2 ln[(1-x/n)^(n-x) (x/n)^x] ~ chi2(1), with 0 ln 0 = 0.
[[nodiscard]] LikelihoodRatioTest kupiec_pof(std::size_t n, std::size_t exceptions, double alpha);

// Christoffersen (1998) independence: first-order Markov alternative against independence,
// LR_ind = -2 ln L(pi) + 2 ln L(pi01, pi11) ~ chi2(1) from the transition counts, 0 ln 0 = 0.
[[nodiscard]] LikelihoodRatioTest christoffersen_independence(const TransitionCounts& counts);

// Christoffersen (1998) conditional coverage: LR_cc = LR_pof + LR_ind ~ chi2(2). As in MATLAB's
// varbacktest, LR_pof here is Kupiec's over all n observations (not the n - 1 transitions).
[[nodiscard]] LikelihoodRatioTest christoffersen_conditional_coverage(
    std::size_t n, std::size_t exceptions, const TransitionCounts& counts, double alpha);

// Basel traffic light, generalised to any n and alpha by the binomial CDF. Basel Committee (1996),
// "Supervisory framework for the use of backtesting...", Table 2: the yellow zone begins where
// the probability of that number of exceptions *or fewer* reaches 95 %, the red zone where it
// reaches 99.99 %. So with F(x) = P(X <= x), X ~ Binomial(n, 1 - alpha):
//   green if F(x) < 0.95, yellow if 0.95 <= F(x) < 0.9999, red if F(x) >= 0.9999,
// except that x = 0 is always green: for n <= 5 at 99 % F(0) = 0.99^n >= 0.95 already, and no
// exception at all cannot be evidence against the model.
// (250 days at 99 %: green 0-4, yellow 5-9, red >= 10; MATLAB's varbacktest tl uses the same).
enum class TrafficLightZone { kGreen, kYellow, kRed };
[[nodiscard]] const char* to_string(TrafficLightZone zone) noexcept;

struct TrafficLight {
  TrafficLightZone zone = TrafficLightZone::kGreen;
  double cumulative_probability = 0.0;  // F(x) = P(X <= x)
  double type1_error = 1.0;             // P(X >= x): rejecting a correct model at this count
  std::size_t green_max = 0;            // largest green count for this (n, alpha)
  std::size_t yellow_max = 0;           // largest yellow count (red from yellow_max + 1)
  double plus_factor = 0.0;             // Basel plus factor, generalised (see below)
};
[[nodiscard]] TrafficLight traffic_light(std::size_t n, std::size_t exceptions, double alpha);

// Basel (1996) Table 2 plus factors for 250 days at 99 %: 5 -> 0.40, 6 -> 0.50, 7 -> 0.65,
// 8 -> 0.75, 9 -> 0.85, red -> 1.00, green -> 0. Generalised to any (n, alpha) through the
// cumulative probability F(x): the plus factor is Basel's for the largest 250-day/99 % count k in
// 5..9 whose cumulative probability F_250(k) does not exceed F(x) (0.40 for any yellow F below
// F_250(5)); green 0, red 1.00. For n = 250, alpha = 0.99 this is Basel's table exactly.
[[nodiscard]] double basel_plus_factor(std::size_t n, std::size_t exceptions, double alpha);

// Recalibration multipliers for a calibrated VaR = multiplier * raw VaR (never below raw):
//  - zone: (3 + plus factor) / 3, i.e. Basel's capital multiplier relative to its base 3;
//  - exception ratio: z_alpha / z_(1 - x/n) under a normal loss (the scale that would have
//    brought the observed exception rate back to 1 - alpha), 1 when x/n <= 1 - alpha; empty when
//    x/n >= 1/2 (no finite normal scaling restores coverage; the VaR series is unusable).
enum class RecalibrationBasis { kTrafficLight, kExceptionRatio };
[[nodiscard]] double zone_multiplier(std::size_t n, std::size_t exceptions, double alpha);
[[nodiscard]] std::optional<double> exception_ratio_multiplier(std::size_t n,
                                                               std::size_t exceptions,
                                                               double alpha);

// Acerbi & Szekely (2014), "Backtesting expected shortfall", test 2:
//   Z2 = 1 - sum_t L_t I_t / (T (1 - alpha) ES_t),   E[Z2] = 0 under H0, < 0 when risk is
//   understated.
[[nodiscard]] double acerbi_szekely_z2(std::span<const double> realized,
                                       std::span<const double> var, std::span<const double> es,
                                       double alpha);

// The model under which Z2 is simulated: per period a location-scale loss L_t = m_t + s_t eps,
// eps standard normal (tail_dof = 0) or Student-t(tail_dof), with m_t and s_t chosen so the
// model's VaR and ES at alpha equal the forecasts exactly:
//   s_t = (ES_t - VaR_t) / (e - q),  m_t = VaR_t - s_t q,  q = eps quantile, e = E[eps | eps > q].
struct ShortfallTestOptions {
  double significance = 0.05;  // test size; critical value = this quantile of simulated Z2
  std::size_t simulations = 5000;
  // std::mt19937_64 seed. The normal model draws its own 53-bit uniforms and inverts Phi, so it
  // is identical on every platform; the Student-t model uses std::normal_distribution and
  // std::chi_squared_distribution, reproducible for a given C++ standard library.
  std::uint64_t seed = 1;
  double tail_dof = 0.0;  // 0 = normal; else Student-t degrees of freedom (> 1)
};

struct ShortfallTestResult {
  double z2 = 0.0;
  double critical_value = 0.0;  // reject when z2 < critical_value
  double p_value = 1.0;         // P(Z2_sim <= z2) under the model
  bool reject = false;
  std::size_t simulations = 0;
};

// Throws std::invalid_argument if sizes differ, T = 0, or some ES_t <= 0 or ES_t < VaR_t
// (run_backtest leaves periods with ES_t <= 0 out of it and counts them).
[[nodiscard]] ShortfallTestResult acerbi_szekely_test(std::span<const double> realized,
                                                      std::span<const double> var,
                                                      std::span<const double> es, double alpha,
                                                      const ShortfallTestOptions& options);

// The same Z2 with its null distribution simulated under each period's own forecast law
// (risk/predictive_law.hpp; issue 17) instead of one location-scale family: per simulation and
// period, L_t = Q_t(U_t) with U_t a 53-bit uniform of std::mt19937_64(options.seed) (identical on
// every platform), an exception when L_t > VaR_t, and Z2_sim = 1 - sum_t L_t I_t / (T (1 - alpha)
// ES_t) with the forecasts' own VaR_t and ES_t, exactly the statistic's definition. Q_t is only
// evaluated above min(alpha, lowest_u) (below the VaR's level a draw cannot be an exception).
// Student-t laws draw their variate as Z / sqrt(chi2_nu / nu) instead of inverting the t's CDF
// (std::normal_distribution and std::chi_squared_distribution: reproducible for a given standard
// library, as ShortfallTestOptions says).
// options.tail_dof is not used. Throws std::invalid_argument as acerbi_szekely_test, or when
// laws.size() != T or a law is kind none.
[[nodiscard]] ShortfallTestResult acerbi_szekely_model_test(
    std::span<const double> realized, std::span<const double> var, std::span<const double> es,
    double alpha, std::span<const PredictiveLaw* const> laws, const ShortfallTestOptions& options);

// ES implied by a VaR forecast when only VaR is known: zero-mean normal loss with
// sigma = VaR / z_alpha, ES = sigma phi(z_alpha) / (1 - alpha).
[[nodiscard]] double normal_implied_es(double var, double alpha);

// Out-of-sample recalibration, the way Basel applies its multiplier: the calibrated VaR for period
// t is m_t * VaR_t, with m_t the multiplier (zone_multiplier, or exception_ratio_multiplier falling
// back to zone_multiplier when that is empty) of the raw VaR's exceptions in the trailing
// min(t, window) periods, so m_t uses nothing from period t on. m_t = 1 until the trailing
// sample expects at least one exception, min(t, window) (1 - alpha) >= 1.
struct CalibratedBacktest {
  std::vector<double> multiplier;  // m_t
  std::vector<double> var;         // m_t * VaR_t
  std::size_t exceptions = 0;      // of the calibrated VaR
  LikelihoodRatioTest pof;
  TrafficLight traffic_light;
  double mean_var = 0.0;
};
[[nodiscard]] CalibratedBacktest rolling_recalibration(std::span<const double> realized,
                                                       std::span<const double> var, double alpha,
                                                       std::size_t window,
                                                       RecalibrationBasis basis);

struct BacktestOptions {
  double confidence = 0.99;
  double test_level = 0.95;  // accept the LR tests when p-value >= 1 - test_level
  RecalibrationBasis recalibration = RecalibrationBasis::kTrafficLight;
  std::size_t calibration_window = 250;  // trailing periods behind the out-of-sample multiplier
  ShortfallTestOptions shortfall;
};

struct BacktestReport {
  std::size_t n_obs = 0;
  std::size_t exceptions = 0;
  double expected_exceptions = 0.0;  // n (1 - alpha)
  double exception_ratio = 0.0;      // exceptions / expected
  std::size_t first_exception = 0;   // 1-based period of the first exception, 0 if none
  TransitionCounts transitions;
  LikelihoodRatioTest pof;
  LikelihoodRatioTest independence;
  LikelihoodRatioTest conditional_coverage;
  bool pof_reject = false;
  bool independence_reject = false;
  bool conditional_coverage_reject = false;
  TrafficLight traffic_light;
  ShortfallTestResult shortfall;
  // Z2 simulated under the forecasts' own laws (acerbi_szekely_model_test): present when
  // run_backtest was given a law with has_law() for every period and ES came from the forecasts.
  std::optional<ShortfallTestResult> shortfall_model;
  bool shortfall_es_implied = false;  // true when ES was not given and normal_implied_es was used
  // Periods whose VaR forecast is <= 0 (the model expects no loss at this confidence, e.g. a
  // drift extrapolated with mean = sample): kept in every count (any loss above the VaR, here any
  // loss at all or a gain smaller than -VaR, is an exception); the diagnostic non_positive_var.
  std::size_t non_positive_var = 0;
  // Periods left out of the Z2 test because their ES (forecast or implied) is <= 0, where
  // L_t / ES_t has no meaning; the test runs on the others (shortfall.simulations = 0 when none).
  std::size_t shortfall_excluded = 0;
  double multiplier_zone = 1.0;
  std::optional<double> multiplier_exception_ratio;
  // In-sample: the multiplier the whole sample's exceptions call for (options.recalibration;
  // 1 if empty), and what multiplier * VaR would have given over the same periods.
  double multiplier = 1.0;
  double mean_var = 0.0;
  double mean_es = 0.0;
  double mean_calibrated_var = 0.0;
  double last_var = 0.0;
  double last_calibrated_var = 0.0;
  std::size_t calibrated_exceptions = 0;
  // Out-of-sample: rolling_recalibration over options.calibration_window.
  CalibratedBacktest calibrated;
};

// The whole battery. `es` may be empty (ES then implied by normal_implied_es). `laws`: empty, or
// one (non-null) predictive law per period for shortfall_model. Throws
// std::invalid_argument with one sentence for mismatched sizes, no observations, a confidence
// outside (0, 1), or a non-finite forecast or return. A VaR <= 0 is not an error: it is counted
// (non_positive_var) and backtested as it is.
[[nodiscard]] BacktestReport run_backtest(std::span<const double> realized,
                                          std::span<const double> var, std::span<const double> es,
                                          const BacktestOptions& options,
                                          std::span<const PredictiveLaw* const> laws = {});

}  // namespace varkeeper::risk
