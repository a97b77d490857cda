#pragma once
/// Gradient descent and heavy-ball momentum (theory.md §3):
///   v_{k+1} = beta v_k + grad F(theta_k),  theta_{k+1} = theta_k - lr v_{k+1},  v_0 = 0
/// (beta = 0 is plain GD). Step k is reported at time t_k = k * lr, the gradient-flow time
/// that GD approximates.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

#include "ufm/dynamics/descent_update.hpp"
#include "ufm/dynamics/observer.hpp"
#include "ufm/dynamics/run_summary.hpp"
#include "ufm/dynamics/schedule.hpp"
#include "ufm/linalg.hpp"
#include "ufm/objectives/objective.hpp"
#include "ufm/parallel.hpp"

namespace ufm {

class GradientDescent {
 public:
  struct Options {
    double lr = 0.1;        ///< step size eta > 0
    long max_steps = 1000;  ///< number of updates; the state after the last one is observed
    double momentum = 0.0;  ///< heavy-ball beta in [0, 1)
    double grad_tol = 0.0;  ///< stop (kConverged) once ||grad|| <= grad_tol; 0 disables
    /// Read once per step (e.g. set by a signal handler): once true, the current state is observed
    /// as the final checkpoint and the run ends as kStopped ("stopped on request at step k ...").
    const std::atomic<bool>* stop_request = nullptr;
    /// Throws std::invalid_argument("'lr' must be ...") on a bad field.
    void validate() const;
  };

  explicit GradientDescent(Options options);
  const Options& options() const { return options_; }

  /// Runs from theta_0 = theta until max_steps, convergence, divergence, an observer stop or a
  /// stop request.
  /// The value and gradient of each state come from the step's own evaluation.
  /// \param theta In: theta_0. Out: the final state (on kStopped the state the observer stopped
  ///        at, or the first state reached after stop_request turned true; on kDiverged the last observed state, i.e. the trajectory's last checkpoint, or
  ///        theta_0 if no state was observed before the non-finite value or gradient).
  /// \param checkpoints sorted step indices to observe; the final state is always observed
  ///        (except on kDiverged: a non-finite state is never observed).
  /// Allocates only before the loop (theta, gradient, a copy of the last observed state, and
  /// the velocity with momentum), and once at the first scheduled checkpoint of a
  /// CheckpointLogitsObjective: the N×K logits its evaluation hands the observer
  /// (Checkpoint::logits_t). Between checkpoints a step is one objective evaluation and
  /// one fused pass (gradient norm + update) over the parameters; the pass is split into fixed
  /// chunks (OpenMP when large), so the trajectory does not depend on the thread count. Plain GD
  /// (momentum 0) on a DescentStepObjective takes those steps with f.value_and_descend, which
  /// gives the same iterates bit for bit; a non-finite gradient there shows as a non-finite value
  /// one step later.
  template <Objective F, Observer O>
  RunSummary run(const F& f, Vec& theta, std::span<const long> checkpoints, O&& observe) const;

 private:
  Options options_;
};

namespace detail {

/// Doubles per chunk of a GD pass; the chunk partials of ||grad||² are added in chunk order.
inline constexpr Index kGdChunk = 4096;

/// Σ g² over g[0, n); with kUpdate also, in the same loop, v = beta v + g (kMomentum) and
/// t -= lr (v or g). One explicit loop: Eigen's expressions would read the chunk twice.
template <bool kUpdate, bool kMomentum>
double gd_chunk(const double* g, double* t, double* v, Index n, double lr, double beta) {
  namespace ei = Eigen::internal;
  using P = ei::packet_traits<double>::type;
  constexpr Index kLanes = ei::packet_traits<double>::size;
  const P plr = ei::pset1<P>(lr), pbeta = ei::pset1<P>(beta);
  P acc0 = ei::pset1<P>(0.0), acc1 = ei::pset1<P>(0.0);
  auto body = [&](Index i, P& acc) {
    const P gi = ei::ploadu<P>(g + i);
    acc = ei::pmadd(gi, gi, acc);
    if constexpr (kUpdate) {
      P step = gi;
      if constexpr (kMomentum) {
        step = ei::padd(ei::pmul(pbeta, ei::ploadu<P>(v + i)), gi);
        ei::pstoreu(v + i, step);
      }
      ei::pstoreu(t + i, descended(ei::ploadu<P>(t + i), plr, step));
    }
  };
  Index i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) body(i, acc0), body(i + kLanes, acc1);
  for (; i + kLanes <= n; i += kLanes) body(i, acc0);
  alignas(64) double lanes[kLanes];  // (ei::predux trips GCC 12's -Wuninitialized on AVX-512)
  ei::pstore(lanes, ei::padd(acc0, acc1));
  double sum = 0.0;
  for (double x : lanes) sum += x;
  for (; i < n; ++i) {
    sum += g[i] * g[i];
    if constexpr (kUpdate) {
      double step = g[i];
      if constexpr (kMomentum) step = v[i] = beta * v[i] + g[i];
      t[i] = descended(t[i], lr, step);
    }
  }
  return sum;
}

/// One pass over grad, chunk by chunk from the last to the first (the objective's evaluation
/// streams the parameters forwards, so the pass starts on data still in cache). Returns ||grad||
/// (NaN/Inf if an entry is; a sum of squares that overflows is redone scaled: norm_from_squares).
/// When theta is not null, in the same pass:
/// velocity = beta velocity + grad (when velocity is not null), then theta -= lr (velocity or grad).
/// \param partial one double per chunk (workspace).
inline double gd_pass(const Vec& grad, Vec* theta, Vec* velocity, double lr, double beta, Vec& partial) {
  const Index n = grad.size(), chunks = partial.size();
  auto chunk = [&](Index j) {
    const Index c = chunks - 1 - j, lo = c * kGdChunk, len = std::min(kGdChunk, n - lo);
    const double* g = grad.data() + lo;
    if (!theta)
      partial[c] = gd_chunk<false, false>(g, nullptr, nullptr, len, lr, beta);
    else if (!velocity)
      partial[c] = gd_chunk<true, false>(g, theta->data() + lo, nullptr, len, lr, beta);
    else
      partial[c] = gd_chunk<true, true>(g, theta->data() + lo, velocity->data() + lo, len, lr, beta);
  };
  // Threads only from 64 chunks (2 MiB per vector): below, the fork/join costs what it saves.
  for_each_chunk(chunks, chunks >= 64, chunk, 8);
  double sum = 0.0;
  for (Index c = 0; c < chunks; ++c) sum += partial[c];
  return norm_from_squares(sum, grad);
}

}  // namespace detail

template <Objective F, Observer O>
RunSummary GradientDescent::run(const F& f, Vec& theta, std::span<const long> checkpoints, O&& observe) const {
  const Index n = static_cast<Index>(f.num_params());
  if (theta.size() != n)
    throw std::invalid_argument("GradientDescent::run(): theta has " + std::to_string(theta.size()) +
                                " entries, the objective needs " + std::to_string(n));
  detail::check_schedule(checkpoints, "GradientDescent::run()");
  const double lr = options_.lr, beta = options_.momentum, tol = options_.grad_tol;
  const long max_steps = options_.max_steps;

  Vec grad, saved, velocity;  // saved: the last observed state (theta_0 at first)
  Mat logits_t;               // CheckpointLogitsObjective: the logits at an observed state (sized there, once)
  resize_large(grad, n);
  resize_large(saved, n);
  saved = theta;
  if (beta != 0.0) {
    resize_large(velocity, n);
    velocity.setZero();
  }
  Vec partial((n + detail::kGdChunk - 1) / detail::kGdChunk);
  Vec* const v = beta != 0.0 ? &velocity : nullptr;
  RunSummary s;
  std::size_t next = 0;  // first checkpoint not yet passed
  long saved_step = 0;
  double saved_value = 0.0;
  for (long k = 0;; ++k) {
    const double t = static_cast<double>(k) * lr;
    auto diverged = [&](bool value_finite) {  // end the trajectory at its last observed state
      s.status = RunStatus::kDiverged;
      s.message = detail::non_finite_message(value_finite, k, t);
      theta = saved;
      s.steps = saved_step;
      s.time = static_cast<double>(saved_step) * lr;
      s.final_value = saved_value;
      return s;
    };
    bool scheduled = false;
    while (next < checkpoints.size() && checkpoints[next] <= k) scheduled |= checkpoints[next++] == k;
    const auto budget = k >= max_steps                                    ? std::optional(RunStatus::kMaxSteps)
                        : detail::stop_requested(options_.stop_request) ? std::optional(RunStatus::kStopped)
                                                                        : std::nullopt;
    const bool observed = scheduled || budget || tol > 0.0;  // the state may be observed
    if constexpr (DescentStepObjective<F>) {
      if (!observed && beta == 0.0) {  // nothing needs the gradient: evaluate and step in one pass
        const double value = f.value_and_descend(theta, grad, lr);
        ++s.gradient_evaluations;
        if (k == 0) s.initial_value = saved_value = value;
        if (!std::isfinite(value)) return diverged(false);
        continue;  // a non-finite gradient makes theta non-finite: the next value reports it
      }
    }
    // A state the observer is sure to see also hands it the objective's logits (not a state observed
    // only for its gradient norm, grad_tol > 0, which the observer sees only if it converged).
    const bool with_logits = CheckpointLogitsObjective<F> && (scheduled || budget);
    double value = 0.0;
    if constexpr (CheckpointLogitsObjective<F>)
      value = with_logits ? f.value_gradient_and_logits(theta, grad, logits_t) : f.value_and_gradient(theta, grad);
    else
      value = f.value_and_gradient(theta, grad);
    ++s.gradient_evaluations;
    if (k == 0) s.initial_value = saved_value = value;
    if (!std::isfinite(value)) return diverged(false);
    if (observed) {  // norm first, then update
      const double grad_norm = detail::gd_pass(grad, nullptr, nullptr, lr, beta, partial);
      if (!std::isfinite(grad_norm)) return diverged(true);
      const Mat* logits = with_logits && logits_t.size() > 0 ? &logits_t : nullptr;
      if (detail::settle(observe, Checkpoint{k, t, value, grad_norm, theta, grad, logits}, scheduled, tol, budget, s))
        return s;
      if (scheduled) saved = theta, saved_step = k, saved_value = value;
      detail::gd_pass(grad, &theta, v, lr, beta, partial);
    } else if (!std::isfinite(detail::gd_pass(grad, &theta, v, lr, beta, partial))) {
      return diverged(true);  // the fused pass already wrote the non-finite update: theta = saved
    }
  }
}

}  // namespace ufm
