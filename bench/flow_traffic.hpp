#pragma once
/// The memory traffic of a gradient-flow stage, for ufm-bench flow and its test: how many θ-sized
/// vectors a stage reads and writes, counted on the flow `ufm-sim run` integrates (bench::run_flow).
/// compare.py turns it into a bandwidth floor per stage with the measured triad bandwidth.
#include <algorithm>
#include <array>
#include <vector>

#include "bench_problem.hpp"
#include "ufm/dynamics/lazy_state.hpp"
#include "ufm/linear_combination.hpp"

namespace ufm::bench {

/// Forwards to an objective and counts the θ-sized vectors its evaluations read and write: a plain
/// evaluation reads θ and writes ∇F; a stage-point evaluation reads each source of the point
/// (LinearCombination terms), writes ∇F, and writes the point itself when the trajectory keeps it;
/// RK4's last stage with the state's update in its pass, below.
/// An evaluation that also computes dopri5's error norm reads nothing more: the norm's sources are
/// the point's own sources and the gradient it has just written, each block's still in cache.
template <class F>
struct TrafficCounter {
  explicit TrafficCounter(const F& objective) : f(objective) {}
  const F& f;
  mutable double reads = 0.0, writes = 0.0;
  mutable std::vector<int> sources;  ///< per evaluation: its point's sources (1: a plain θ)
  Index num_params() const { return f.num_params(); }
  double value(const Vec& theta) const { return f.value(theta); }
  double value_and_gradient(const Vec& theta, Vec& grad) const {
    sources.push_back(1), reads += 1.0, writes += 1.0;
    return f.value_and_gradient(theta, grad);
  }
  double value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store) const {
    count_stage_point(x, store);
    return f.value_and_gradient_at(x, grad, store);
  }
  double value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store, const ScaledErrorSpec& error,
                               double& norm) const
    requires ErrorNormObjective<F>
  {
    count_stage_point(x, store);
    ++error_norms_in_pass;
    return f.value_and_gradient_at(x, grad, store, error, norm);
  }
  /// RK4's last stage with the state's update in its pass: the update's sources other than the
  /// point's and the slope are read (the point's sources and the block's slope are in cache), the
  /// state written, the slope's H part never. `sources` records the entries' sources formed in that
  /// pass: the point's and the update's.
  double value_gradient_and_update_at(const LinearCombination& x, Vec& grad, double* store,
                                      const LinearCombination& update, double* out) const
    requires UpdateInPassObjective<F>
  {
    double more = 0.0;
    for (int t = 0; t < update.terms; ++t) {
      const double* p = update.x[static_cast<std::size_t>(t)];
      more += !x.reads(p) && p != grad.data();
    }
    sources.push_back(x.terms + update.terms), reads += x.terms + more, writes += store ? 2.0 : 1.0;
    kept_points += store != nullptr;
    ++updates_in_pass;
    return f.value_gradient_and_update_at(x, grad, store, update, out);
  }
  /// RK4's stages with low-rank slopes (low_rank_slope.hpp), as run_flow takes them: each reads the
  /// state's H alone and writes no θ-sized vector (the slope's H part is K·(N + d) numbers); the last
  /// also writes the updated state. `sources`: 1, nothing to form.
  bool takes_low_rank_slopes() const
    requires LowRankSlopeObjective<F>
  {
    return f.takes_low_rank_slopes();
  }
  bool low_rank_slopes_pay() const
    requires LowRankSlopeObjective<F>
  {
    return f.low_rank_slopes_pay();
  }
  /// dopri5's last stage (update == &x) also writes the trial state, and may take the error norm.
  double gradient_low_rank_at(const LinearCombination& x, double* grad, LowRankSlope& slope, Mat* logits_t,
                              const LinearCombination* update, double* out, const ScaledErrorSpec* error = nullptr,
                              double* norm = nullptr) const
    requires LowRankSlopeObjective<F>
  {
    sources.push_back(1), reads += 1.0, writes += update ? 1.0 : 0.0;
    updates_in_pass += update != nullptr && update != &x;
    kept_points += update == &x;
    error_norms_in_pass += error != nullptr;
    return f.gradient_low_rank_at(x, grad, slope, logits_t, update, out, error, norm);
  }
  mutable long kept_points = 0;          ///< evaluations at a stage point the trajectory keeps
  mutable long updates_in_pass = 0;      ///< RK4 state updates formed inside an evaluation's pass
  mutable long error_norms_in_pass = 0;  ///< dopri5 error norms computed inside an evaluation's pass

 private:
  void count_stage_point(const LinearCombination& x, const double* store) const {
    sources.push_back(x.terms), reads += x.terms, writes += store ? 2.0 : 1.0;
    kept_points += store != nullptr;
  }
};

/// The flow of `integrator` that bench::run_flow integrates, 40 steps from theta (copied), through
/// a TrafficCounter: what its evaluations read and write, and each one's source count.
inline TrafficCounter<UfmObjective> counted_flow(const UfmObjective& f, const Vec& theta, Integrator integrator,
                                                 double dt) {
  TrafficCounter<UfmObjective> counter(f);
  Vec x = theta;
  const bool rk4 = integrator == Integrator::kRk4;
  run_flow(counter, x, integrator, dt, 1e-10, rk4 ? 40 * dt : 1e9, rk4 ? 100000000L : 40);
  return counter;
}

/// θ-sized vectors one stage of a counted flow of `integrator` reads and writes. A dopri5 error
/// norm computed in a pass of its own (lazy_state.hpp, scaled_error) would read x_err's sources
/// (six slopes), x and dx/dt: 8 vectors per step of six evaluations. The UFM objective computes
/// each in its last stage's pass instead, which reads nothing more.
inline double vectors_moved_per_stage(const TrafficCounter<UfmObjective>& counter, Integrator integrator) {
  const double e = static_cast<double>(counter.sources.size());
  // dopri5: one error norm per trial step, whose last stage is the one kept point it evaluates.
  const double own_passes = integrator == Integrator::kRk4
                                ? 0.0
                                : static_cast<double>(counter.kept_points - counter.error_norms_in_pass);
  return (counter.reads + counter.writes + 8.0 * own_passes) / e;
}

/// The same, counted over 40 steps from theta.
inline double vectors_moved_per_stage(const UfmObjective& f, const Vec& theta, Integrator integrator, double dt) {
  return vectors_moved_per_stage(counted_flow(f, theta, integrator, dt), integrator);
}

/// A flow's stage points formed alone: nothing but LinearCombination::form, block by block into one
/// block of scratch as the UFM objective forms H, with the source counts of a flow's evaluations in
/// turn (counted_flow's `sources`; a plain evaluation, 1, forms nothing): the state, and slopes in rotation
/// over seven more θ-sized vectors, as a stage's slopes are. What forming the points costs with no
/// gradient to hide under and no bookkeeping: the floor of a stage's own work, at the speed its
/// sources stream from wherever eight θ-sized vectors sit in this machine's caches.
class FormingAlone {
 public:
  static constexpr Index kBlock = Index{1} << 14;  ///< entries per block: the UFM's 128 KiB H block
  explicit FormingAlone(Index n) : n_(n) {
    for (Vec& v : vectors_) {
      resize_large(v, n);
      v.setConstant(1.0);
    }
    scratch_.resize(std::min(n, kBlock));
  }
  /// Forms the points of evaluations 0 … k − 1 of `sources` (repeated as needed); returns how many
  /// sources were read, in θ-sized vectors.
  long run(const std::vector<int>& sources, long k) {
    long read = 0;
    for (long i = 0; i < k; ++i) {
      const int terms = sources[static_cast<std::size_t>(i) % sources.size()];
      if (terms <= 1) continue;
      LinearCombination c;
      c.add(0.5, vectors_[0].data());  // the state, a source of every point
      for (int t = 1; t < terms; ++t) c.add(0.5, vectors_[1 + (rotation_ + static_cast<std::size_t>(t)) % 7].data());
      rotation_ = (rotation_ + 1) % 7;
      c.prefetch = n_ >= detail::kLazyPrefetch;
      for (Index b = 0; b < n_; b += kBlock) c.form(b, std::min(n_, b + kBlock), scratch_.data());
      read += terms;
    }
    return read;
  }
  /// The last block formed (for a test, and so that the compiler keeps the work).
  const Vec& scratch() const { return scratch_; }

 private:
  Index n_;
  std::array<Vec, 8> vectors_;
  Vec scratch_;
  std::size_t rotation_ = 0;
};

}  // namespace ufm::bench
