#pragma once
/// A point given as a linear combination x = a_0 x_0 + a_1 x_1 + … of flat vectors, not yet formed:
/// a Runge–Kutta stage point, an RK update or an error estimate as odeint's steppers describe them
/// (dynamics/lazy_state.hpp). Whoever streams over x anyway (an objective's pass over H, the error
/// norm) forms its entries block by block instead of reading a vector written in a pass of its own.
///
/// Entry i is formed in odeint's own order, ((a_0 x_0[i] + a_1 x_1[i]) + a_2 x_2[i]) + …, a product
/// and a sum per term (never an FMA: the library builds with -ffp-contract=off), so a formed entry is
/// bit-identical to the one odeint's scale_sum operation writes with the Eigen vector-space algebra.
#include <algorithm>
#include <array>

#include "ufm/linalg.hpp"
#include "ufm/simd.hpp"

namespace ufm {

struct LinearCombination {
  static constexpr int kMaxTerms = 15;  ///< odeint's largest for_each (for_each15) has 14 sources
  int terms = 0;
  std::array<double, kMaxTerms> a{};
  std::array<const double*, kMaxTerms> x{};
  /// Prefetch each source's next tile while forming one: set for vectors too large for the L2
  /// cache (LazyAlgebra), where the sources stream from memory; in cache the prefetches only take
  /// load slots (at the small size they were a sixth of forming a block).
  bool prefetch = false;

  void add(double coefficient, const double* source) {
    a[static_cast<std::size_t>(terms)] = coefficient;
    x[static_cast<std::size_t>(terms)] = source;
    ++terms;
  }

  /// out[j] = x[begin + j] for j < end − begin. out may be one of the sources at the same offset
  /// (an update in place): each group of entries is read from every source before it is written.
  void form(Index begin, Index end, double* out) const {
    constexpr Index kTile = 256;
    for (Index i0 = begin; i0 < end; i0 += kTile) {
      const Index n = std::min(kTile, end - i0);
      // With `prefetch`, each source's next tile is fetched while this one is formed: the hardware
      // prefetcher alone, with several sources read in turn, left form() waiting on memory (a
      // dopri5 stage measured 3.9-4.2 gradient evaluations at the paper size without, 3.2-3.4 with).
      const Index ahead = prefetch ? std::min(kTile, end - i0 - n) : 0;
      for (int t = 0; t < terms; ++t)
        for (Index j = 0; j < ahead; j += 8) __builtin_prefetch(x[static_cast<std::size_t>(t)] + i0 + kTile + j);
      double* o = out + (i0 - begin);
      // A group of entries is summed over all sources in registers and stored once. Summed source
      // by source, a tile was loaded and stored once per source: at the small size that was a
      // third of a dopri5 stage's own work (its stage points, error norm and bookkeeping).
      constexpr Index kGroup = kGroupVectors * simd::kLanes;
      Index j = 0;
      for (; j + kGroup <= n; j += kGroup) form_group<kGroupVectors>(i0 + j, o + j);
      for (; j + simd::kLanes <= n; j += simd::kLanes) form_group<1>(i0 + j, o + j);
      for (; j < n; ++j) {
        const Index i = i0 + j;
        double v = a[0] * x[0][i];
        for (int t = 1; t < terms; ++t) v = v + a[static_cast<std::size_t>(t)] * x[static_cast<std::size_t>(t)][i];
        o[j] = v;
      }
    }
  }

  /// The combination with every source advanced by `offset` entries (a view of a sub-range).
  LinearCombination shifted(Index offset) const {
    LinearCombination c = *this;
    for (int t = 0; t < terms; ++t) c.x[static_cast<std::size_t>(t)] += offset;
    return c;
  }

 private:
  static constexpr int kGroupVectors = 4;  ///< four registers of sums (32 entries with AVX-512)
  /// out = entries i … i + V·kLanes − 1, in the order ((a_0 x_0 + a_1 x_1) + a_2 x_2) + ….
  template <int V>
  void form_group(Index i, double* o) const {
    simd::Doubles sum[V];
    const simd::Doubles a0 = simd::broadcast(a[0]);
    for (int v = 0; v < V; ++v) sum[v] = a0 * simd::load(x[0] + i + v * simd::kLanes);
    for (int t = 1; t < terms; ++t) {
      const simd::Doubles at = simd::broadcast(a[static_cast<std::size_t>(t)]);
      const double* xt = x[static_cast<std::size_t>(t)] + i;
      for (int v = 0; v < V; ++v) sum[v] = sum[v] + at * simd::load(xt + v * simd::kLanes);
    }
    for (int v = 0; v < V; ++v) simd::store(o + v * simd::kLanes, sum[v]);
  }
};

}  // namespace ufm
