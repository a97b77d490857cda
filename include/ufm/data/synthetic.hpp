#pragma once
/// A seeded Gaussian mixture, bit-identical for a given seed on every platform and thread count.
///
/// Definition (make_gaussian_mixture(K, n, D, s, seed, n_test)):
///   seed_k = the k-th output of SplitMix64 started at `seed`:
///            z = seed + k·0x9E3779B97F4A7C15 (mod 2^64);
///            z = (z ^ (z >> 30))·0xBF58476D1CE4E5B9; z = (z ^ (z >> 27))·0x94D049BB133111EB;
///            seed_k = z ^ (z >> 31)
///   G      = D×K, fill_gaussian(G, 1, seed_1) (ufm/random.hpp; column-major order)
///   μ_c    = g_c · (s / ‖g_c‖₂), c = 0..K−1, ‖g_c‖₂ = sqrt of Σ_i g_ic² summed in index order:
///            K random unit directions scaled by s (nearly orthogonal when D ≫ K; ‖μ_c‖ = s up
///            to rounding, ‖μ_c − μ_c'‖ ≈ s·√2)
///   train  : N = K·n samples, labels in class blocks y_i = ⌊i / n⌋, i = 0..N−1;
///            Z = D×N, fill_gaussian(Z, 1, seed_2); x_i = μ_{y_i} + z_i   (noise N(0, I_D))
///   test   : the same with n_test per class and fill_gaussian(Z, 1, seed_3)
/// So s is the means' distance from the origin in units of the noise's per-coordinate standard
/// deviation; the training and test samples share the means and have independent noise.
#include <cstdint>

#include "ufm/data/dataset.hpp"

namespace ufm::data {

/// SplitMix64's k-th output from state `seed` (k ≥ 1), as defined above.
std::uint64_t derived_seed(std::uint64_t seed, std::uint64_t k);

/// The mixture defined above, named "synthetic:gaussian-mixture(K=…,…)". n_test = 0: no test
/// split. Throws std::invalid_argument ("'K' must be at least 2", …) on bad arguments.
DataSplit make_gaussian_mixture(Index K, Index per_class, Index input_dim, double separation, std::uint64_t seed,
                                Index test_per_class);

/// The same with test_per_class = per_class.
DataSplit make_gaussian_mixture(Index K, Index per_class, Index input_dim, double separation, std::uint64_t seed);

}  // namespace ufm::data
