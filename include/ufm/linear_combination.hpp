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
#include <cstring>

#include "ufm/linalg.hpp"

namespace ufm {

struct LinearCombination {
  static constexpr int kMaxTerms = 15;  ///< odeint's largest for_each (for_each15) has 14 sources
  int terms = 0;
  std::array<double, kMaxTerms> a{};
  std::array<const double*, kMaxTerms> x{};

  void add(double coefficient, const double* source) {
    a[static_cast<std::size_t>(terms)] = coefficient;
    x[static_cast<std::size_t>(terms)] = source;
    ++terms;
  }

  /// out[j] = x[begin + j] for j < end − begin. out may be one of the sources at the same offset
  /// (an update in place): each tile of entries is read before it is written.
  void form(Index begin, Index end, double* out) const {
    constexpr Index kTile = 256;
    alignas(64) double tile[kTile];
    for (Index i0 = begin; i0 < end; i0 += kTile) {
      const Index n = std::min(kTile, end - i0);
      // Each source's next tile is prefetched while this one is formed: the hardware prefetcher
      // alone, with several sources read in turn a tile at a time, left form() waiting on memory (a
      // dopri5 stage measured 3.9-4.2 gradient evaluations at the paper size without, 3.2-3.4 with).
      const Index ahead = std::min(kTile, end - i0 - n);
      const double* x0 = x[0] + i0;
      const double a0 = a[0];
      for (Index j = 0; j < ahead; j += 8) __builtin_prefetch(x0 + kTile + j);
      for (Index j = 0; j < n; ++j) tile[j] = a0 * x0[j];
      for (int t = 1; t < terms; ++t) {
        const double* xt = x[static_cast<std::size_t>(t)] + i0;
        const double at = a[static_cast<std::size_t>(t)];
        for (Index j = 0; j < ahead; j += 8) __builtin_prefetch(xt + kTile + j);
        for (Index j = 0; j < n; ++j) tile[j] = tile[j] + at * xt[j];
      }
      std::memcpy(out + (i0 - begin), tile, static_cast<std::size_t>(n) * sizeof(double));
    }
  }

  /// The combination with every source advanced by `offset` entries (a view of a sub-range).
  LinearCombination shifted(Index offset) const {
    LinearCombination c = *this;
    for (int t = 0; t < terms; ++t) c.x[static_cast<std::size_t>(t)] += offset;
    return c;
  }
};

}  // namespace ufm
