// Calibrating a Merton jump-diffusion (risk/monte_carlo.hpp) to a window of returns by threshold
// jump detection (Mancini 2009): a return is a jump when it lies more than kJumpThreshold robust
// standard deviations (1.4826 x the median absolute deviation) from the asset's median. Periods
// where every asset jumps (two or more assets) are common jumps; the rest are idiosyncratic.
// Intensities are jump counts per period; jump sizes are the mean and standard deviation (n - 1)
// of the flagged returns less the diffusion drift; the diffusion's drift and covariance come from
// the periods without any jump.
// Degenerate windows degrade instead of throwing (issue 16, defect 6): an asset with a median
// absolute deviation of 0 (a peg) has its threshold in sample standard deviations; with fewer
// than n + 2 jump-free periods no jumps are separated and the diffusion takes every period.
#pragma once

#include <cstddef>
#include <span>

#include "risk/monte_carlo.hpp"

namespace varkeeper::risk {

inline constexpr double kJumpThreshold = 4.0;

[[nodiscard]] McModel calibrate_jump_diffusion(std::span<const double> returns,
                                               std::size_t n_assets);

}  // namespace varkeeper::risk
