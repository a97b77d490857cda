#include "ufm/random.hpp"

#include <cmath>
#include <numbers>
#include <random>

namespace ufm {

void fill_gaussian(Eigen::Ref<Vec> x, double scale, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  // 53 random bits -> uniform in (0, 1]: never 0, so the log is finite.
  const auto uniform = [&rng] { return (static_cast<double>(rng() >> 11) + 1.0) * 0x1.0p-53; };
  for (Index i = 0; i < x.size(); i += 2) {
    const double r = std::sqrt(-2.0 * std::log(uniform()));
    const double angle = 2.0 * std::numbers::pi * uniform();
    x(i) = scale * r * std::cos(angle);
    if (i + 1 < x.size()) x(i + 1) = scale * r * std::sin(angle);
  }
}

}  // namespace ufm
