#pragma once
/// Seeded Gaussian initialization, identical on every platform and thread count.
#include <cstdint>

#include "ufm/linalg.hpp"

namespace ufm {

/// Fills x with i.i.d. N(0, scale²) draws from mt19937_64(seed), in index order, by the
/// Box–Muller transform written here (std::normal_distribution is implementation-defined).
void fill_gaussian(Eigen::Ref<Vec> x, double scale, std::uint64_t seed);

}  // namespace ufm
