// Student-t degrees of freedom by maximum likelihood: per asset (location, scale, nu) and for the
// multivariate t (location vector, dispersion matrix, one nu shared by all assets).
//
// For a fixed nu the location and dispersion maximising the likelihood are found by the EM
// algorithm of Liu & Rubin (1995) / McLachlan & Krishnan (weights w_t = (nu + d) / (nu + delta_t),
// delta_t the squared Mahalanobis distance); nu then maximises that profile likelihood by golden-
// section search on log(nu) over [kMinNu, kMaxNu], each EM after the first warm-started from the
// optimum at the nearest nu already evaluated. nu is kept above 2 so the t has a covariance.
// The parametric-t and mc-t methods use the fitted location, dispersion and nu as they are.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace varkeeper::risk {

inline constexpr double kMinNu = 2.05;
inline constexpr double kMaxNu = 500.0;
// The dispersion's diagonal is kept at or above (kDispersionFloorFraction s_i)^2, s_i the asset's
// sample standard deviation: with many identical returns (a peg's flat stretch) the t likelihood
// grows without bound as the dispersion collapses onto them (issue 16, defect 6). 0.1 is below
// the scale of any t with nu >= 2.05 and that standard deviation (scale = s sqrt((nu - 2) / nu)
// >= 0.156 s), so the floor binds only on such point-mass-heavy windows.
inline constexpr double kDispersionFloorFraction = 0.1;
// An asset whose returns are all equal (a constant price) is a point mass: it is left out of the
// fit and keeps its return as location with a zero row and column of dispersion (nu from the
// other assets; kMaxNu when no asset moved). Neither fit throws on it.

struct StudentTFit {
  double location = 0.0;
  double scale = 0.0;  // the t's scale, not its standard deviation
  double nu = 0.0;
  double log_likelihood = 0.0;
};
[[nodiscard]] StudentTFit fit_student_t(std::span<const double> x);

struct MultivariateTFit {
  std::vector<double> location;
  std::vector<double> dispersion;  // N x N row-major (covariance = dispersion * nu / (nu - 2))
  double nu = 0.0;
  double log_likelihood = 0.0;
};
[[nodiscard]] MultivariateTFit fit_multivariate_t(std::span<const double> returns,
                                                  std::size_t n_assets);

}  // namespace varkeeper::risk
