#pragma once
/// The error norm of an adaptive Runge–Kutta step (odeint's default error checker, a_x = a_dxdt = 1):
/// the scaled errors r_i = |e_i| / (abs_tol + rel_tol (|x_i| + |dt| |g_i|)) with the estimate
/// e = Σ a_j x_j formed entry by entry from its sources (never written), reduced to their maximum or
/// the sum of their squares. Two passes use it: the error norm's own pass over θ
/// (dynamics/lazy_state.hpp, scaled_error) and an objective that computes it inside the pass of
/// dopri5's last stage, block by block once the block's gradient is written (the estimate's last
/// source is that gradient).
#include <algorithm>
#include <cmath>
#include <limits>

#include "ufm/linalg.hpp"
#include "ufm/linear_combination.hpp"
#include "ufm/simd.hpp"

namespace ufm {

/// What the scaled errors are made of.
struct ScaledErrorSpec {
  LinearCombination estimate;  ///< e = Σ a_j x_j, odeint's x_err
  const double* x = nullptr;   ///< the state at the start of the step (odeint's x_old)
  const double* g = nullptr;   ///< its derivative (dxdt_old), up to a sign: only |g_i| enters
  double abs_tol = 0.0, rel_tol = 0.0;
  double abs_dt = 0.0;  ///< |dt|
  bool rms = false;     ///< reduce to Σ r_i² (the root mean square); else to max_i r_i
  /// g's H part where it is a low-rank slope not formed (dopri5 with low-rank slopes: the entries
  /// past H are g's), read by UfmObjective::gradient_low_rank_at; else null (g is all written).
  const LowRankSlope* g_low_rank = nullptr;
};

namespace detail {
/// One scaled error |e| / (abs_tol + rel_tol (|x| + |dt| |g|)), for a double or lane by lane.
template <class T>
T scaled_ratio(T e, T x, T g, T abs_tol, T rel_tol, T adt) {
  return simd::abs(e) / (abs_tol + rel_tol * (simd::abs(x) + adt * simd::abs(g)));
}
}  // namespace detail

/// A partial reduction of scaled errors over ranges of entries added in order: each vector lane
/// keeps its own maximum or sum of squares, so the result depends on the ranges' entries (and the
/// ISA's vector width) only, not on which thread adds them.
class ScaledErrorSum {
 public:
  /// Adds the entries [begin, end), the estimate formed vector by vector in registers.
  void add(const ScaledErrorSpec& s, Index begin, Index end) {
    s.estimate.visit([&](const auto& lanes) { add_with(lanes, s, begin, end); });
  }
  /// The lanes combined in lane order: the maximum or the sum of squares, NaN if any ratio was NaN.
  double value(bool rms) const {
    double value = 0.0;
    for (int l = 0; l < simd::kLanes; ++l) {
      if (nan_[l] != 0) return std::numeric_limits<double>::quiet_NaN();
      value = rms ? value + sq_[l] : std::max(value, max_[l]);
    }
    return value;
  }

 private:
  template <class Lanes>
  void add_with(const Lanes& lanes, const ScaledErrorSpec& s, Index begin, Index end) {
    if (s.rms)
      add_with<true>(lanes, s, begin, end, sq_);
    else
      add_with<false>(lanes, s, begin, end, max_);
  }

  /// The accumulators are copied into locals, so the loop keeps them in registers: one loop that
  /// branched on `rms` per vector, on the members, measured up to twice as slow.
  template <bool kRms, class Lanes>
  void add_with(const Lanes& lanes, const ScaledErrorSpec& s, Index begin, Index end, simd::Doubles& into) {
    using simd::Doubles;
    const Doubles atol = simd::broadcast(s.abs_tol), rtol = simd::broadcast(s.rel_tol),
                  vdt = simd::broadcast(s.abs_dt);
    Doubles acc = into;
    simd::Mask nan = nan_;
    Index i = begin;
    for (; i + simd::kLanes <= end; i += simd::kLanes)
      take<kRms>(detail::scaled_ratio(lanes.at(i), simd::load(s.x + i), simd::load(s.g + i), atol, rtol, vdt), acc,
                 nan);
    if (i < end) {  // the last entries, in lanes 0 … end − i − 1 (the rest add 0 to a sum, or a max)
      Doubles r{};
      for (Index l = 0; i + l < end; ++l)
        r[l] = detail::scaled_ratio(lanes.scalar_at(i + l), s.x[i + l], s.g[i + l], s.abs_tol, s.rel_tol, s.abs_dt);
      take<kRms>(r, acc, nan);
    }
    into = acc;
    nan_ = nan;
  }

  template <bool kRms>
  static void take(simd::Doubles r, simd::Doubles& acc, simd::Mask& nan) {
    nan |= r != r;
    if constexpr (kRms)
      acc = acc + r * r;
    else
      acc = acc > r ? acc : r;
  }
  simd::Doubles max_{}, sq_{};
  simd::Mask nan_{};
};

/// Partial values (ScaledErrorSum::value) combined in the given order, then the norm: the maximum,
/// or sqrt(Σ / n) for the root mean square. NaN if any part is NaN.
template <class Parts>
double scaled_error_norm(const Parts& parts, bool rms, Index n) {
  double m = 0.0;
  for (double x : parts) {
    if (x != x) return x;
    m = rms ? m + x : std::max(m, x);
  }
  return rms ? std::sqrt(m / static_cast<double>(std::max<Index>(1, n))) : m;
}

}  // namespace ufm
