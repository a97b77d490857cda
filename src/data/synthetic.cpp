#include "ufm/data/synthetic.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "ufm/random.hpp"

namespace ufm::data {
namespace {

/// Class blocks of per_class samples around the columns of mu, noise from `seed`.
Dataset sample_mixture(const Mat& mu, Index per_class, std::uint64_t seed, const std::string& name) {
  const Index D = mu.rows(), K = mu.cols(), N = K * per_class;
  Dataset ds;
  ds.name = name;
  ds.K = K;
  ds.X.resize(D, N);
  fill_gaussian(VecMap(ds.X.data(), ds.X.size()), 1.0, seed);
  ds.labels.resize(static_cast<std::size_t>(N));
  for (Index i = 0; i < N; ++i) {
    const Index c = i / per_class;
    ds.labels[static_cast<std::size_t>(i)] = static_cast<int>(c);
    ds.X.col(i) += mu.col(c);
  }
  return ds;
}

}  // namespace

std::uint64_t derived_seed(std::uint64_t seed, std::uint64_t k) {
  std::uint64_t z = seed + k * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

DataSplit make_gaussian_mixture(Index K, Index per_class, Index input_dim, double separation, std::uint64_t seed,
                                Index test_per_class) {
  if (K < 2) throw std::invalid_argument("make_gaussian_mixture(): 'K' must be at least 2");
  if (per_class < 1) throw std::invalid_argument("make_gaussian_mixture(): 'per_class' must be at least 1");
  if (input_dim < 1) throw std::invalid_argument("make_gaussian_mixture(): 'input_dim' must be at least 1");
  if (!(std::isfinite(separation) && separation >= 0))
    throw std::invalid_argument("make_gaussian_mixture(): 'separation' must be finite and >= 0");
  if (test_per_class < 0) throw std::invalid_argument("make_gaussian_mixture(): 'test_per_class' must be >= 0");

  Mat mu(input_dim, K);
  fill_gaussian(VecMap(mu.data(), mu.size()), 1.0, derived_seed(seed, 1));
  for (Index c = 0; c < K; ++c) {
    double sum_sq = 0;  // in index order, not Eigen's SIMD-width-dependent reduction order
    for (Index i = 0; i < input_dim; ++i) sum_sq += mu(i, c) * mu(i, c);
    const double norm = std::sqrt(sum_sq);
    if (norm == 0) throw std::logic_error("make_gaussian_mixture(): a zero Gaussian direction");  // probability 0
    mu.col(c) *= separation / norm;
  }
  std::ostringstream name;
  name.precision(17);
  name << "synthetic:gaussian-mixture(K=" << K << ",per_class=" << per_class << ",input_dim=" << input_dim
       << ",separation=" << separation << ",seed=" << seed << ")";
  DataSplit split;
  split.train = sample_mixture(mu, per_class, derived_seed(seed, 2), name.str() + " (train)");
  if (test_per_class > 0) split.test = sample_mixture(mu, test_per_class, derived_seed(seed, 3), name.str() + " (test)");
  return split;
}

DataSplit make_gaussian_mixture(Index K, Index per_class, Index input_dim, double separation, std::uint64_t seed) {
  return make_gaussian_mixture(K, per_class, input_dim, separation, seed, per_class);
}

}  // namespace ufm::data
