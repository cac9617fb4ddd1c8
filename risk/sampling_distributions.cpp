#include "risk/sampling_distributions.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

namespace varkeeper::risk::stat {
namespace {

constexpr double kEpsilon = 1e-16;
constexpr double kTiny = 1e-300;
constexpr int kMaxIterations = 10'000;

// A&S 6.5.29: P(a, x) = x^a e^-x / Gamma(a+1) * sum_n x^n / ((a+1)...(a+n)); converges fast for
// x < a + 1.
double gamma_p_series(double a, double x) {
  double term = 1.0 / a;
  double sum = term;
  for (int n = 1; n < kMaxIterations; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * kEpsilon) {
      break;
    }
  }
  return sum * std::exp(a * std::log(x) - x - std::lgamma(a));
}

// A&S 6.5.31: Q(a, x) as a continued fraction, evaluated by the modified Lentz method; converges
// fast for x >= a + 1.
double gamma_q_continued_fraction(double a, double x) {
  double b = x + 1.0 - a;
  double c = 1.0 / kTiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < kMaxIterations; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < kTiny) {
      d = kTiny;
    }
    c = b + an / c;
    if (std::fabs(c) < kTiny) {
      c = kTiny;
    }
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) {
      break;
    }
  }
  return std::exp(a * std::log(x) - x - std::lgamma(a)) * h;
}

// A&S 26.5.8: the continued fraction of I_x(a, b) without its prefactor, by modified Lentz;
// converges fast for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double x, double a, double b) {
  const double qab = a + b;
  const double qap = a + 1.0;
  const double qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) {
    d = kTiny;
  }
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m < kMaxIterations; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) {
      d = kTiny;
    }
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) {
      c = kTiny;
    }
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) {
      d = kTiny;
    }
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) {
      c = kTiny;
    }
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) {
      break;
    }
  }
  return h;
}

// x^a (1-x)^b / (a B(a, b)) times the continued fraction: I_x(a, b) on the side where it converges.
double beta_direct(double x, double a, double b) {
  const double log_front =
      a * std::log(x) + b * std::log1p(-x) + std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b);
  return std::exp(log_front) * beta_continued_fraction(x, a, b) / a;
}

void require(bool ok, const char* what) {
  if (!ok) {
    throw std::invalid_argument(what);
  }
}

}  // namespace

double regularized_gamma_p(double a, double x) {
  require(a > 0.0 && x >= 0.0 && std::isfinite(a), "regularized_gamma_p needs a > 0 and x >= 0.");
  if (x == 0.0) {
    return 0.0;
  }
  if (std::isinf(x)) {
    return 1.0;
  }
  return x < a + 1.0 ? gamma_p_series(a, x) : 1.0 - gamma_q_continued_fraction(a, x);
}

double regularized_gamma_q(double a, double x) {
  require(a > 0.0 && x >= 0.0 && std::isfinite(a), "regularized_gamma_q needs a > 0 and x >= 0.");
  if (x == 0.0) {
    return 1.0;
  }
  if (std::isinf(x)) {
    return 0.0;
  }
  return x < a + 1.0 ? 1.0 - gamma_p_series(a, x) : gamma_q_continued_fraction(a, x);
}

double regularized_beta(double x, double a, double b) {
  require(a > 0.0 && b > 0.0 && x >= 0.0 && x <= 1.0,
          "regularized_beta needs a > 0, b > 0 and 0 <= x <= 1.");
  if (x == 0.0) {
    return 0.0;
  }
  if (x == 1.0) {
    return 1.0;
  }
  // Use the side where the continued fraction converges; the other side by I_x(a,b) =
  // 1 - I_{1-x}(b,a) (A&S 26.5.2).
  if (x < (a + 1.0) / (a + b + 2.0)) {
    return beta_direct(x, a, b);
  }
  return 1.0 - beta_direct(1.0 - x, b, a);
}

double chi_square_cdf(double x, double k) {
  require(k > 0.0, "chi_square_cdf needs k > 0 degrees of freedom.");
  if (!(x > 0.0)) {
    return 0.0;
  }
  return regularized_gamma_p(0.5 * k, 0.5 * x);
}

double chi_square_sf(double x, double k) {
  require(k > 0.0, "chi_square_sf needs k > 0 degrees of freedom.");
  if (!(x > 0.0)) {
    return 1.0;
  }
  // Closed forms for the two cases the backtests use: k = 1 via erfc, k = 2 exponential.
  if (k == 1.0) {
    return std::erfc(std::sqrt(0.5 * x));
  }
  if (k == 2.0) {
    return std::exp(-0.5 * x);
  }
  return regularized_gamma_q(0.5 * k, 0.5 * x);
}

double binomial_cdf(std::size_t k, std::size_t n, double p) {
  require(p >= 0.0 && p <= 1.0, "binomial_cdf needs 0 <= p <= 1.");
  if (k >= n) {
    return 1.0;
  }
  if (p == 0.0) {
    return 1.0;
  }
  if (p == 1.0) {
    return 0.0;
  }
  // A&S 26.5.24: P(X <= k) = I_{1-p}(n - k, k + 1).
  const double nk = static_cast<double>(n - k);
  const double k1 = static_cast<double>(k) + 1.0;
  // Evaluate I_{1-p}(n-k, k+1) = 1 - I_p(k+1, n-k) on the side that keeps 1-p exact when p is
  // small.
  if (p < (k1 + 1.0) / (k1 + nk + 2.0)) {
    return 1.0 - beta_direct(p, k1, nk);
  }
  return beta_direct(1.0 - p, nk, k1);
}

double binomial_sf_inclusive(std::size_t k, std::size_t n, double p) {
  require(p >= 0.0 && p <= 1.0, "binomial_sf_inclusive needs 0 <= p <= 1.");
  if (k == 0) {
    return 1.0;
  }
  if (k > n) {
    return 0.0;
  }
  if (p == 0.0) {
    return 0.0;
  }
  if (p == 1.0) {
    return 1.0;
  }
  // P(X >= k) = I_p(k, n - k + 1).
  const double a = static_cast<double>(k);
  const double b = static_cast<double>(n - k) + 1.0;
  if (p < (a + 1.0) / (a + b + 2.0)) {
    return beta_direct(p, a, b);
  }
  return 1.0 - beta_direct(1.0 - p, b, a);
}

double normal_pdf(double x) noexcept {
  return std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi);
}

double normal_cdf(double x) noexcept { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

double normal_quantile(double p) {
  require(p > 0.0 && p < 1.0, "normal_quantile needs 0 < p < 1.");
  // P. J. Acklam's rational approximation (relative error < 1.15e-9) ...
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  double x = 0.0;
  if (p < kLow) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else if (p <= 1.0 - kLow) {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  } else {
    const double q = std::sqrt(-2.0 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  // ... refined by Halley steps on e = Phi(x) - p (Acklam's own suggestion). For x >= 0 the
  // error is formed as (1 - p) - Phi(-x), exact subtraction for p >= 0.5, to keep upper-tail
  // digits.
  for (int i = 0; i < 2; ++i) {
    const double e = x < 0.0 ? normal_cdf(x) - p : (1.0 - p) - normal_cdf(-x);
    const double u = e * std::sqrt(2.0 * std::numbers::pi) * std::exp(0.5 * x * x);
    x -= u / (1.0 + 0.5 * x * u);
  }
  return x;
}

double student_t_pdf(double x, double nu) {
  require(nu > 0.0, "student_t_pdf needs nu > 0.");
  const double log_norm =
      std::lgamma(0.5 * (nu + 1.0)) - std::lgamma(0.5 * nu) - 0.5 * std::log(nu * std::numbers::pi);
  return std::exp(log_norm - 0.5 * (nu + 1.0) * std::log1p(x * x / nu));
}

namespace {
// P(T > x) for x >= 0: I_{nu/(nu+x^2)}(nu/2, 1/2) / 2, accurate far in the tail.
double student_t_upper(double x, double nu) {
  const double x2 = x * x;
  if (x2 < nu) {
    // Near the centre, use the complementary form so the argument is not close to 1.
    return 0.5 - 0.5 * regularized_beta(x2 / (nu + x2), 0.5, 0.5 * nu);
  }
  return 0.5 * regularized_beta(nu / (nu + x2), 0.5 * nu, 0.5);
}
}  // namespace

double student_t_cdf(double x, double nu) {
  require(nu > 0.0, "student_t_cdf needs nu > 0.");
  if (std::isnan(x)) {
    return x;
  }
  return x >= 0.0 ? 1.0 - student_t_upper(x, nu) : student_t_upper(-x, nu);
}

double student_t_quantile(double p, double nu) {
  require(p > 0.0 && p < 1.0 && nu > 0.0, "student_t_quantile needs 0 < p < 1 and nu > 0.");
  if (p == 0.5) {
    return 0.0;
  }
  // Solve P(T > x) = q for x > 0 (q = the smaller tail), then apply the sign.
  const bool upper = p > 0.5;
  const double q = upper ? 1.0 - p : p;
  double lo = 0.0;
  double hi = 1.0;
  while (student_t_upper(hi, nu) > q) {
    lo = hi;
    hi *= 2.0;
    if (hi > 1e300) {
      break;
    }
  }
  // Safeguarded Newton: f(x) = P(T > x) - q is decreasing with f'(x) = -pdf(x).
  double x = std::max(lo, std::min(hi, std::fabs(normal_quantile(q))));
  for (int i = 0; i < 200; ++i) {
    const double f = student_t_upper(x, nu) - q;
    if (f > 0.0) {
      lo = x;
    } else {
      hi = x;
    }
    const double step = f / student_t_pdf(x, nu);
    double next = x + step;
    if (!(next > lo && next < hi)) {
      next = 0.5 * (lo + hi);
    }
    if (std::fabs(next - x) <= 1e-15 * std::fabs(next)) {
      x = next;
      break;
    }
    x = next;
  }
  return upper ? x : -x;
}

}  // namespace varkeeper::risk::stat
