#include "risk/empirical_tail.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace varkeeper::risk {
namespace {

void check_alpha(double alpha) {
  if (!(alpha > 0.0 && alpha < 1.0)) {
    throw std::invalid_argument("confidence must be strictly between 0 and 1.");
  }
}

}  // namespace

double tail_mass(std::size_t n, double alpha) {
  check_alpha(alpha);
  const double nd = static_cast<double>(n);
  const double p = nd * (1.0 - alpha);
  // 1 - alpha carries a relative rounding error of about eps / (1 - alpha) from alpha's own
  // representation; the product adds one more rounding. 64 eps * n covers both with a wide
  // margin and is still far below the 1/n spacing that separates distinct ranks.
  const double nearest = std::round(p);
  const double tolerance = 64.0 * std::numeric_limits<double>::epsilon() * std::max(1.0, nd);
  return std::fabs(p - nearest) <= tolerance ? nearest : p;
}

std::size_t var_rank(std::size_t n, double alpha) {
  const double p = tail_mass(n, alpha);
  const auto k = static_cast<std::size_t>(std::ceil(p));
  return std::clamp<std::size_t>(k, 1, std::max<std::size_t>(n, 1));
}

std::size_t tail_ranks_needed(std::size_t n, double alpha, std::size_t extra_ranks) {
  const double p = tail_mass(n, alpha);
  const std::size_t k = var_rank(n, alpha);
  const auto m = std::min(static_cast<std::size_t>(std::floor(p)), n);
  return std::min(n, std::max(k, m + 1) + extra_ranks);
}

EmpiricalTail tail_from_candidates(std::span<const double> losses, double alpha,
                                   std::size_t extra_ranks, std::vector<std::size_t> candidates) {
  check_alpha(alpha);
  const std::size_t n = losses.size();
  if (n == 0) {
    throw std::invalid_argument("no scenarios to take VaR from.");
  }
  const double p = tail_mass(n, alpha);
  const std::size_t k = var_rank(n, alpha);
  const auto m = std::min(static_cast<std::size_t>(std::floor(p)), n);
  const std::size_t need = tail_ranks_needed(n, alpha, extra_ranks);
  if (candidates.size() < need) {
    throw std::invalid_argument("fewer tail candidates than the ranks needed.");
  }
  // Worst first, ties by index: a strict weak order, so the result is unique.
  const auto worse = [&losses](std::size_t a, std::size_t b) {
    return losses[a] > losses[b] || (losses[a] == losses[b] && a < b);
  };
  auto& idx = candidates;
  std::sort(idx.begin(), idx.end(), worse);
  idx.resize(need);

  EmpiricalTail out;
  out.var_index = idx[k - 1];
  out.var = losses[out.var_index];
  double sum = 0.0;
  for (std::size_t j = 0; j < m; ++j) {
    sum += losses[idx[j]];
    out.cvar_scenarios.push_back({idx[j], 1.0 / p});
  }
  const double frac = p - static_cast<double>(m);
  if (frac > 0.0 && m < n) {
    sum += frac * losses[idx[m]];
    out.cvar_scenarios.push_back({idx[m], frac / p});
  }
  out.cvar = std::max(sum / p, out.var);  // equal in exact arithmetic when the tail is flat
  out.ranked = std::move(idx);
  return out;
}

EmpiricalTail empirical_tail(std::span<const double> losses, double alpha,
                             std::size_t extra_ranks) {
  check_alpha(alpha);
  const std::size_t n = losses.size();
  if (n == 0) {
    throw std::invalid_argument("no scenarios to take VaR from.");
  }
  const std::size_t need = tail_ranks_needed(n, alpha, extra_ranks);
  // The threshold is found on a copy of the values (contiguous, fast), then only the scenarios at
  // or above it are sorted.
  for (double v : losses) {
    if (std::isnan(v)) {
      throw std::invalid_argument("a scenario loss is not a number.");
    }
  }
  std::vector<double> values(losses.begin(), losses.end());
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(need - 1),
                   values.end(), std::greater<>{});
  const double threshold = values[need - 1];
  std::vector<std::size_t> idx;
  idx.reserve(need + 16);
  for (std::size_t j = 0; j < n; ++j) {
    if (losses[j] >= threshold) {
      idx.push_back(j);
    }
  }
  return tail_from_candidates(losses, alpha, extra_ranks, std::move(idx));
}

EmpiricalTail weighted_empirical_tail(std::span<const double> losses,
                                      std::span<const double> probabilities, double alpha) {
  check_alpha(alpha);
  const std::size_t n = losses.size();
  if (n == 0) {
    throw std::invalid_argument("no scenarios to take VaR from.");
  }
  if (probabilities.size() != n) {
    throw std::invalid_argument("one probability per scenario is required.");
  }
  const auto worse = [&losses](std::size_t a, std::size_t b) {
    return losses[a] > losses[b] || (losses[a] == losses[b] && a < b);
  };
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::sort(idx.begin(), idx.end(), worse);

  const double p = 1.0 - alpha;
  // Cumulative sums of n probabilities carry at most ~n eps of rounding.
  const double tolerance =
      64.0 * std::numeric_limits<double>::epsilon() * std::max(1.0, static_cast<double>(n));
  EmpiricalTail out;
  double cum = 0.0;
  double sum = 0.0;
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t s = idx[j];
    const double q = probabilities[s];
    if (cum + q >= p - tolerance || j + 1 == n) {
      const double take = std::max(0.0, p - cum);
      out.var_index = s;
      out.var = losses[s];
      if (take > 0.0) {
        sum += take * losses[s];
        out.cvar_scenarios.push_back({s, take / p});
      }
      out.ranked.assign(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(j + 1));
      break;
    }
    cum += q;
    sum += q * losses[s];
    if (q > 0.0) {
      out.cvar_scenarios.push_back({s, q / p});
    }
  }
  out.cvar = std::max(sum / p, out.var);
  return out;
}

}  // namespace varkeeper::risk
