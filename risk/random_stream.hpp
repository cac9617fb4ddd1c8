// Reproducible random streams for Monte Carlo, one per fixed-size block of paths.
//
// A block's stream is xoshiro256++ (Blackman & Vigna 2019) whose state is four SplitMix64
// outputs of a seed derived from (seed, block index) only; which thread runs a block therefore
// never changes the numbers it sees, and results are bit-identical for any thread count.
// Normals: the ziggurat method (Marsaglia & Tsang 2000) with 128 layers and Doornik's (2005)
// constants R = 3.442619855899, V = 9.91256303526217e-3; Marsaglia's tail algorithm beyond R.
// Gamma: Marsaglia & Tsang (2000) squeeze method. Poisson: inversion (small means only).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace varkeeper::risk {

[[nodiscard]] constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class RandomStream {
 public:
  // The stream of block `block` of a run seeded with `seed`.
  RandomStream(std::uint64_t seed, std::uint64_t block) noexcept {
    std::uint64_t mix = seed;
    const std::uint64_t a = splitmix64(mix);
    std::uint64_t sm = a ^ (block * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL);
    (void)splitmix64(sm);
    for (auto& w : s_) {
      w = splitmix64(sm);
    }
  }

  [[nodiscard]] std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform on the open interval (0, 1): 53 random bits, centred in their cell.
  [[nodiscard]] double uniform() noexcept {
    return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53;
  }

  [[nodiscard]] double normal() noexcept;
  [[nodiscard]] double gamma(double shape) noexcept;  // shape >= 1, unit scale
  // The same draw with the shape's constants d = shape - 1/3, c = 1 / sqrt(9 d) precomputed
  // (hot loops hoist them; the values are identical).
  [[nodiscard]] double gamma(double d, double c) noexcept;
  [[nodiscard]] unsigned poisson(double mean) noexcept;

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::array<std::uint64_t, 4> s_{};
};

namespace detail {

struct ZigguratTables {
  std::array<double, 129> x{};      // layer edges, x[0] = V / f(R), x[1] = R, x[128] = 0
  std::array<double, 128> ratio{};  // x[i + 1] / x[i]: inner box test
  std::array<double, 129> f{};      // exp(-x^2 / 2) at the edges
  ZigguratTables() noexcept {
    constexpr double kR = 3.442619855899;
    constexpr double kV = 9.91256303526217e-3;
    double fr = std::exp(-0.5 * kR * kR);
    x[0] = kV / fr;
    x[1] = kR;
    x[128] = 0.0;
    for (int i = 2; i < 128; ++i) {
      x[i] = std::sqrt(-2.0 * std::log(kV / x[i - 1] + fr));
      fr = std::exp(-0.5 * x[i] * x[i]);
    }
    for (int i = 0; i < 128; ++i) {
      ratio[i] = x[i + 1] / x[i];
    }
    for (int i = 0; i <= 128; ++i) {
      f[i] = std::exp(-0.5 * x[i] * x[i]);
    }
  }
};

inline const ZigguratTables kZiggurat{};

}  // namespace detail

inline double RandomStream::normal() noexcept {
  const auto& z = detail::kZiggurat;
  for (;;) {
    const std::uint64_t bits = next();
    const unsigned i = static_cast<unsigned>(bits & 0x7F);
    // Bits 11..63 give u in [-1, 1); bits 0..6 pick the layer.
    const double u = static_cast<double>(bits >> 11) * 0x1.0p-52 - 1.0;
    if (std::fabs(u) < z.ratio[i]) {
      return u * z.x[i];
    }
    if (i == 0) {
      // Tail beyond R (Marsaglia 1964): x = -ln(U1) / R, accept if -2 ln(U2) > x^2.
      constexpr double kR = 3.442619855899;
      double a = 0.0;
      double b = 0.0;
      do {
        a = -std::log(uniform()) / kR;
        b = -std::log(uniform());
      } while (2.0 * b < a * a);
      return u < 0.0 ? -(kR + a) : kR + a;
    }
    // Wedge: a uniform height in layer i under the density.
    const double xx = u * z.x[i];
    if (z.f[i] + uniform() * (z.f[i + 1] - z.f[i]) < std::exp(-0.5 * xx * xx)) {
      return xx;
    }
  }
}

inline double RandomStream::gamma(double shape) noexcept {
  const double d = shape - 1.0 / 3.0;
  return gamma(d, 1.0 / std::sqrt(9.0 * d));
}

inline double RandomStream::gamma(double d, double c) noexcept {
  for (;;) {
    double x = 0.0;
    double v = 0.0;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform();
    const double x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2) {
      return d * v;
    }
    if (std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v))) {
      return d * v;
    }
  }
}

inline unsigned RandomStream::poisson(double mean) noexcept {
  // Inversion by sequential search; callers keep the mean small (jump intensities per step).
  double u = uniform();
  double p = std::exp(-mean);
  unsigned k = 0;
  while (u > p && k < 1000) {
    u -= p;
    ++k;
    p *= mean / static_cast<double>(k);
  }
  return k;
}

}  // namespace varkeeper::risk
