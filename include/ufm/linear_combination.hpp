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

struct LowRankSlope;

namespace detail {
template <int T>
struct CombinationLanes;
}

struct LinearCombination {
  static constexpr int kMaxTerms = 15;  ///< odeint's largest for_each (for_each15) has 14 sources
  int terms = 0;
  std::array<double, kMaxTerms> a{};
  std::array<const double*, kMaxTerms> x{};
  /// The source's low-rank H part where it has one (low_rank_slope.hpp; its entries in x's H range are
  /// then not written unless it is `formed`), else null.
  std::array<LowRankSlope*, kMaxTerms> slope{};
  /// Prefetch each source's next tile while forming one: set for vectors too large for the L2
  /// cache (LazyAlgebra), where the sources stream from memory; in cache the prefetches only take
  /// load slots (at the small size they were a sixth of forming a block).
  bool prefetch = false;

  void add(double coefficient, const double* source, LowRankSlope* low_rank = nullptr) {
    a[static_cast<std::size_t>(terms)] = coefficient;
    x[static_cast<std::size_t>(terms)] = source;
    slope[static_cast<std::size_t>(terms)] = low_rank;
    ++terms;
  }

  /// f(lanes) with lanes a detail::CombinationLanes of this combination. For 1 to 7 sources (dopri5
  /// has at most 7: the state and six slopes; RK4 5) their number is a compile-time constant, so
  /// the coefficients stay in registers and the sum over the sources is unrolled. With the count
  /// known only at run time, forming a 708-entry point took 1.5-1.7 times as long (the small size's
  /// stage points, 2 to 7 sources).
  template <class F>
  void visit(F&& f) const;

  /// out[j] = x[begin + j] for j < end − begin. out may be one of the sources at the same offset
  /// (an update in place): each vector of entries is read from every source before it is written.
  void form(Index begin, Index end, double* out) const;

  /// Whether `source` is one of the terms' vectors.
  bool reads(const double* source) const {
    return std::find(x.begin(), x.begin() + terms, source) != x.begin() + terms;
  }
  /// The same combination from entry `begin` on, with `source`'s entries read from `stand_in` instead
  /// (stand_in[j] for entry begin + j): a block formed from a gradient block held in scratch.
  LinearCombination from_entry(Index begin, const double* source, const double* stand_in) const {
    LinearCombination c = *this;
    for (int t = 0; t < terms; ++t) {
      const auto u = static_cast<std::size_t>(t);
      c.x[u] = x[u] == source ? stand_in : x[u] + begin;
    }
    return c;
  }

 private:
  template <class Lanes>
  void form_with(const Lanes& lanes, Index begin, Index end, double* out) const {
    // Tiles are for the prefetch; in cache the range is one tile (640 entries from 5 sources, 64-byte
    // aligned: 74 -> 69 ns).
    const Index tile = prefetch ? Index{256} : std::max<Index>(end - begin, 1);
    for (Index i0 = begin; i0 < end; i0 += tile) {
      const Index n = std::min(tile, end - i0);
      // With `prefetch`, each source's next tile is fetched while this one is formed: the hardware
      // prefetcher alone, with several sources read in turn, left form() waiting on memory (a
      // dopri5 stage measured 3.9-4.2 gradient evaluations at the paper size without, 3.2-3.4 with).
      const Index ahead = prefetch ? std::min(tile, end - i0 - n) : 0;
      for (int t = 0; t < terms; ++t)
        for (Index j = 0; j < ahead; j += 8) __builtin_prefetch(x[static_cast<std::size_t>(t)] + i0 + tile + j);
      // Each vector of entries is summed over all sources in registers and stored once. Summed
      // source by source, a tile was loaded and stored once per source: at the small size that
      // was a third of a dopri5 stage's own work (its stage points, error norm and bookkeeping).
      double* o = out + (i0 - begin);
      Index j = 0;
      for (; j + simd::kLanes <= n; j += simd::kLanes) simd::store(o + j, lanes.at(i0 + j));
      for (; j < n; ++j) o[j] = lanes.scalar_at(i0 + j);
    }
  }
};

namespace detail {

/// A combination's coefficients in vector registers, with its sources: T of them (T ≥ 1), or any
/// number up to LinearCombination::kMaxTerms for T = 0.
template <int T>
struct CombinationLanes {
  static constexpr bool kForms = true;  ///< the entries are formed (and written where a kernel keeps them)
  static constexpr int kCapacity = T > 0 ? T : LinearCombination::kMaxTerms;
  explicit CombinationLanes(const LinearCombination& c) : terms(T > 0 ? T : c.terms) {
    for (int t = 0; t < terms; ++t) {
      const auto k = static_cast<std::size_t>(t);
      s[t] = c.a[k];
      a[t] = simd::broadcast(c.a[k]);
      x[t] = c.x[k];
    }
  }
  /// Entries i … i + kLanes − 1, in odeint's order ((a_0 x_0 + a_1 x_1) + a_2 x_2) + ….
  simd::Doubles at(Index i) const {
    simd::Doubles sum = a[0] * simd::load(x[0] + i);
    for (int t = 1; t < count(); ++t) sum = sum + a[t] * simd::load(x[t] + i);
    return sum;
  }
  /// Entry i, in the same order.
  double scalar_at(Index i) const {
    double v = s[0] * x[0][i];
    for (int t = 1; t < count(); ++t) v = v + s[t] * x[t][i];
    return v;
  }
  constexpr int count() const { return T > 0 ? T : terms; }

  int terms;
  double s[kCapacity];
  simd::Doubles a[kCapacity];
  const double* x[kCapacity];
};

}  // namespace detail

template <class F>
void LinearCombination::visit(F&& f) const {
  switch (terms) {
    case 1: return f(detail::CombinationLanes<1>(*this));
    case 2: return f(detail::CombinationLanes<2>(*this));
    case 3: return f(detail::CombinationLanes<3>(*this));
    case 4: return f(detail::CombinationLanes<4>(*this));
    case 5: return f(detail::CombinationLanes<5>(*this));
    case 6: return f(detail::CombinationLanes<6>(*this));
    case 7: return f(detail::CombinationLanes<7>(*this));
    default: return f(detail::CombinationLanes<0>(*this));
  }
}

inline void LinearCombination::form(Index begin, Index end, double* out) const {
  visit([&](const auto& lanes) { form_with(lanes, begin, end, out); });
}

}  // namespace ufm
