#pragma once
/// Bodies of GradientFlow (included at the bottom of gradient_flow.hpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

#include <boost/numeric/odeint/algebra/default_operations.hpp>
#include <boost/numeric/odeint/stepper/controlled_runge_kutta.hpp>
#include <boost/numeric/odeint/stepper/dense_output_runge_kutta.hpp>
#include <boost/numeric/odeint/stepper/runge_kutta4.hpp>
#include <boost/numeric/odeint/stepper/runge_kutta_dopri5.hpp>
#include <boost/numeric/odeint/util/odeint_error.hpp>

#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/dynamics/lazy_state.hpp"
#include "ufm/dynamics/schedule.hpp"

namespace ufm {
namespace detail {

/// Number of RK4 steps from 0 to T: T/h when that is an integer up to rounding, else ceil(T/h)
/// (the last step is then shorter).
inline long rk4_grid_steps(double T, double h) {
  if (T <= 0.0) return 0;
  const double r = T / h;
  const double nearest = std::round(r);
  if (std::abs(r - nearest) <= 1e-9 * std::max(1.0, r)) return std::max(1L, static_cast<long>(nearest));
  return static_cast<long>(std::ceil(r));
}

/// Whether a flow keeps f's slopes low rank (low_rank_slope.hpp), as `choice` asks.
template <class F>
bool low_rank_slopes(const F& f, LowRankSlopes choice) {
  if constexpr (LowRankSlopeObjective<F>) {
    if (choice == LowRankSlopes::kAlways) return f.takes_low_rank_slopes();
    return choice == LowRankSlopes::kAuto && f.low_rank_slopes_pay();
  }
  return false;
}

/// What the odeint system saw last: the FSAL stage of dopri5 is the accepted state.
struct LastEvaluation {
  double value = 0.0;
  double t = 0.0;                 ///< time of the state evaluated last
  const LazyVec* x = nullptr;     ///< the state evaluated last
  const LazyVec* dxdt = nullptr;  ///< the derivative written last: −∇F, stored as ∇F (sign −1)
};

/// Thrown out of odeint's step loop by LazyErrorChecker when a trial step is non-finite although
/// its size is already at or below GradientFlow::min_step(t).
struct NonFiniteAtMinimumStep {
  double dt;  ///< the size of that last trial step
  double t;   ///< the time its FSAL stage was evaluated at (t_old + dt)
};

/// dopri5's last stage (the FSAL evaluation at the trial state), put off by the flow's system until
/// the error checker, which odeint calls right after forming the error estimate, asks for the step's
/// error norm: an ErrorNormObjective then computes it inside that evaluation's pass, where the
/// estimate's sources (the stage's slopes, the old state and its slope: the stage point's own
/// sources, and the new slope just written) are still in cache, instead of reading them all again
/// in a pass of its own. Anything else that needs the result first runs it unfused (LazyVec).
///
/// A trial step ending where its state is sure to be observed (hand_logits_when) also hands that
/// state's logits (Checkpoint::logits_t), so its checkpoint does not form W·H again.
///
/// With low-rank slopes (`low_rank`, the objective a LowRankSlopeObjective) the evaluation's pass
/// reads the step's start state alone: it writes the trial state, its slope low rank (rebased onto
/// it: the next step's first), and forms the error estimate block by block from the state and the
/// step's residuals (UfmObjective::gradient_low_rank_at).
template <class F>
class DeferredFsal final : public DeferredEvaluation {
 public:
  DeferredFsal(const F& f, LastEvaluation& last, long& evaluations, bool low_rank = false)
      : f_(f), last_(last), evaluations_(evaluations), low_rank_(low_rank) {}
  /// x: the trial state (pending, kept); dx receives ∇F at x, declared negated (dx/dt = −∇F).
  void defer(const LazyVec& x, LazyVec& dx, double t) {
    x_ = &x;
    dx_ = &dx;
    t_ = t;
    handed_ = false;
    dx.overwrite(-1.0);  // its storage and sign are fixed now; the values come with the evaluation
    dx.set_waits_for(this);
    x.set_waits_for(this);
    set_outstanding();
  }
  /// The trial states of the next step that are sure to be observed: from time `end` on (the run's
  /// end), at a time of `pending` exactly (the checkpoints not yet observed, sorted), or every one
  /// (`always`: the step budget's last step).
  void hand_logits_when(double end, std::span<const double> pending, bool always) {
    hand_from_ = always ? -std::numeric_limits<double>::infinity() : end;
    pending_ = pending;
  }
  /// The logits of state x if its evaluation, the last one deferred, handed them; else null.
  const Mat* logits_of(const LazyVec& x) const {
    return handed_ && x_ == &x && last_.x == x_ && last_.dxdt == dx_ ? &logits_t_ : nullptr;
  }
  /// Sizes this buffer and `other` (the run's, for its other checkpoints) alike, once either has been
  /// sized, so that neither allocates later in the run.
  void size_logits_alike(Mat& other) {
    const Mat& sized = other.size() > 0 ? other : logits_t_;
    for (Mat* m : {&other, &logits_t_})
      if (m->rows() != sized.rows() || m->cols() != sized.cols()) m->resize(sized.rows(), sized.cols());
  }

 private:
  double evaluate(const ScaledErrorSpec* error) override {
    double norm = 0.0;
    const bool hand = CheckpointLogitsObjective<F> &&
                      (t_ >= hand_from_ || std::binary_search(pending_.begin(), pending_.end(), t_));
    if constexpr (LowRankSlopeObjective<F>) {
      if (low_rank_ && x_->pending() && x_->keep()) {
        double* store = x_->store_for_evaluation();
        const LinearCombination& c = x_->combination();
        const LazyVec::LowRankOut out = dx_->overwrite_low_rank(-1.0);
        last_.value = f_.gradient_low_rank_at(c, out.storage, out.slope, hand ? &logits_t_ : nullptr, &c, store, error,
                                              error != nullptr ? &norm : nullptr);
        handed_ = hand;
        x_->mark_settled();
        return finish(norm);
      }
    }
    if constexpr (ErrorNormObjective<F>) {
      if (error != nullptr && x_->pending()) {
        double* store = x_->store_for_evaluation();
        Vec& g = dx_->overwrite(-1.0);
        const LinearCombination& c = x_->combination();
        if constexpr (requires(Mat& l) { f_.value_gradient_and_logits_at(c, g, store, *error, norm, l); }) {
          last_.value = hand ? f_.value_gradient_and_logits_at(c, g, store, *error, norm, logits_t_)
                             : f_.value_and_gradient_at(c, g, store, *error, norm);
          handed_ = hand;
        } else {
          last_.value = f_.value_and_gradient_at(c, g, store, *error, norm);
        }
        if (store) x_->mark_settled();
        return finish(norm);
      }
    }
    if (hand) {
      last_.value = value_gradient_and_logits_at(f_, *x_, *dx_, -1.0, logits_t_);
      handed_ = logits_t_.size() > 0;
    } else {
      last_.value = value_and_gradient_at(f_, *x_, *dx_, -1.0);
    }
    if (error != nullptr) norm = scaled_error(*error, x_->size());
    return finish(norm);
  }
  double finish(double norm) {
    ++evaluations_;
    last_.t = t_;
    last_.x = x_;
    last_.dxdt = dx_;
    return norm;
  }

  const F& f_;
  LastEvaluation& last_;
  long& evaluations_;
  bool low_rank_;
  const LazyVec* x_ = nullptr;
  LazyVec* dx_ = nullptr;
  double t_ = 0.0;
  double hand_from_ = std::numeric_limits<double>::infinity();
  std::span<const double> pending_;
  bool handed_ = false;  ///< the last evaluation handed x_'s logits
  Mat logits_t_;         ///< sized by the first evaluation that hands them
};

/// RK4's last stage, put off by the flow's system until the step's state update, which reads its slope
/// (x ← x + h/6 (k1 + 2k2 + 2k3 + k4), the step's last scale_sum, pending in x and waiting for this
/// evaluation), is needed: the flow calls run_with_update() before it evaluates x, and an
/// UpdateInPassObjective forms x's update inside this stage's own pass, each block once the block's
/// k4 is made, from a scratch block: k4's H part is never written, and the next stage-1 pass reads x
/// alone, not x and all four slopes again. A step then streams 13 vectors of θ's size, not 16. The
/// same doubles either way: the same combination from the same values (the state is read for this
/// stage's point block by block before that block's update overwrites it). Anything else that needs
/// the slope or the update first (LazyVec::resolve) runs this stage unfused, k4 written.
template <class F>
class DeferredLastStage final : public DeferredEvaluation {
 public:
  /// state: the flow's state x, the update's destination. low_rank: the slopes are written low rank
  /// (low_rank_slope.hpp; the objective a LowRankSlopeObjective).
  DeferredLastStage(const F& f, const LazyVec& state, bool low_rank = false)
      : f_(f), state_(state), low_rank_(low_rank) {}
  /// x: the stage point (pending, not kept); dx receives ∇F at x (sign +1, as the RK4 system writes).
  void defer(const LazyVec& x, LazyVec& dx) {
    x_ = &x;
    dx_ = &dx;
    dx.overwrite(1.0);  // its storage and sign are fixed now; the values come with the evaluation
    dx.set_waits_for(this);
    x.set_waits_for(this);
    set_outstanding();
  }
  /// Runs the stage if it is still outstanding: with the state's update in its pass where the update
  /// waits for it, else unfused.
  void run_with_update() {
    if constexpr (LowRankSlopeObjective<F>) {
      if (low_rank_ && updates_state() && claim()) {
        const LazyVec::LowRankOut out = dx_->overwrite_low_rank();
        f_.gradient_low_rank_at(x_->combination(), out.storage, out.slope, nullptr, &state_.combination(),
                                state_.store_for_evaluation());
        state_.mark_settled();
        return;
      }
    }
    if constexpr (UpdateInPassObjective<F>) {
      if (updates_state() && claim()) {
        double* store = x_->store_for_evaluation();
        Vec& g = dx_->overwrite(1.0);
        f_.value_gradient_and_update_at(x_->combination(), g, store, state_.combination(),
                                        state_.store_for_evaluation());
        if (store) x_->mark_settled();
        state_.mark_settled();
        return;
      }
    }
    run();
  }

 private:
  double evaluate(const ScaledErrorSpec*) override {
    if constexpr (LowRankSlopeObjective<F>) {
      if (low_rank_) {
        low_rank_gradient_at(f_, *x_, *dx_);
        return 0.0;
      }
    }
    value_and_gradient_at(f_, *x_, *dx_, 1.0);
    return 0.0;
  }
  /// The state's pending update reads this stage's slope, and the stage point is pending (the state is
  /// kept, so it has somewhere to be written).
  bool updates_state() const {
    return outstanding() && state_.pending() && state_.keep() && x_->pending() &&
           state_.combination().reads(dx_->address());
  }

  const F& f_;
  const LazyVec& state_;
  const LazyVec* x_ = nullptr;
  LazyVec* dx_ = nullptr;
  bool low_rank_;
};

/// odeint's default_error_checker (a_x = a_dxdt = 1) on LazyVec, with x_err formed inside the norm's
/// pass (scaled_error) instead of written by a pass of its own, or, when x_err waits for the deferred
/// last stage (`fsal`), inside that stage's evaluation. Same formula:
///   err = max_i |x_err_i| / (abs_tol + rel_tol (|x_old_i| + |dt| |dxdt_old_i|)),
/// or, with ErrorNorm::kRms, the root mean square of the same ratios.
/// A non-finite trial step is rejected: when err is NaN/Inf (a stage, the FSAL derivative at the
/// trial state, or the trial state itself is non-finite: each enters x_err) or the objective at
/// the trial state (the FSAL stage, `last`) is not finite, it returns the largest double, so
/// odeint's controlled stepper rejects the step and shrinks dt by its largest factor (5). Once dt
/// is at or below GradientFlow::min_step(t) it throws NonFiniteAtMinimumStep instead.
struct LazyErrorChecker {
  double abs_tol = 1e-6, rel_tol = 1e-6;
  const LastEvaluation* last = nullptr;  ///< the FSAL stage of the trial step (null: not checked)
  ErrorNorm norm = ErrorNorm::kMax;
  DeferredEvaluation* fsal = nullptr;  ///< the deferred FSAL stage, or null
  template <class Algebra>
  double error(Algebra&, const LazyVec& x_old, const LazyVec& dxdt_old, const LazyVec& x_err, double dt) const {
    const bool rms = norm == ErrorNorm::kRms;
    double err;
    if (fsal != nullptr && x_err.waits_for() == fsal && x_err.pending() && fsal->outstanding()) {
      ScaledErrorSpec spec{x_err.combination(), x_old.values().data(), nullptr, abs_tol, rel_tol, std::abs(dt), rms};
      const LowRankSlope* g = dxdt_old.low_rank();  // with low-rank slopes, formed in the pass
      if (g != nullptr && !g->formed && !dxdt_old.pending())
        spec.g = dxdt_old.address(), spec.g_low_rank = g;
      else
        spec.g = dxdt_old.storage().data();
      err = fsal->run_with_error(spec);
    } else {
      err = scaled_error(x_old, dxdt_old, x_err, abs_tol, rel_tol, dt, rms);
    }
    if (std::isfinite(err) && (last == nullptr || std::isfinite(last->value))) return err;
    const double t = last != nullptr ? last->t : 0.0;
    if (std::abs(dt) <= GradientFlow::min_step(t)) throw NonFiniteAtMinimumStep{dt, t};
    return std::numeric_limits<double>::max();
  }
};

}  // namespace detail

template <Objective F, Observer O>
RunSummary GradientFlow::run(const F& f, Vec& theta, std::span<const double> checkpoint_times, O&& observe) const {
  const Index n = static_cast<Index>(f.num_params());
  if (theta.size() != n)
    throw std::invalid_argument("GradientFlow::run(): theta has " + std::to_string(theta.size()) +
                                " entries, the objective needs " + std::to_string(n));
  detail::check_schedule(checkpoint_times, "GradientFlow::run()");
  if (options_.integrator == Integrator::kRk4) return run_rk4(f, theta, checkpoint_times, observe);
  return run_dopri5(f, theta, checkpoint_times, observe);
}

template <class F, class O>
RunSummary GradientFlow::run_rk4(const F& f, Vec& theta, std::span<const double> checkpoints, O& observe) const {
  namespace odeint = boost::numeric::odeint;
  const double T = options_.max_time, h = options_.dt, tol = options_.grad_tol;
  const long n_grid = detail::rk4_grid_steps(T, h), max_steps = options_.max_steps;
  odeint::runge_kutta4<LazyVec, double, LazyVec, double, LazyAlgebra, odeint::default_operations> stepper;
  // x: the state, kept (its RK4 update is formed inside the next evaluation's pass); grad: ∇F.
  LazyVec x(theta), grad;
  x.set_keep(true);
  grad.resize(theta.size());
  Vec saved;  // the last observed state (theta_0 at first)
  resize_large(saved, theta.size());
  saved = theta;
  RunSummary s;
  // odeint integrates dx/ds = +grad F(x) with step ds = -dt: the same RK4 stages and update as
  // dx/dt = -grad F with step dt, bit for bit (IEEE products are sign-symmetric). The stage
  // points and the update are formed inside the objective's pass (LazyAlgebra).
  // The last of the three stages a do_step evaluates is deferred to the update (DeferredLastStage).
  // Slopes kept low rank (low_rank_slope.hpp): each stage's pass reads the state alone, and the last
  // stage's forms the update from the state and the step's residuals.
  const bool low_rank = detail::low_rank_slopes(f, options_.low_rank_slopes);
  detail::DeferredLastStage<F> last_stage(f, x, low_rank);  // declared after x: destroyed before it
  int stage = 0;                                           // stages evaluated in the current do_step
  auto system = [&f, &s, &last_stage, &stage, low_rank](const LazyVec& xs, LazyVec& g, double) {
    ++s.gradient_evaluations;
    if constexpr (UpdateInPassObjective<F>) {
      if (++stage == 3 && xs.pending()) return last_stage.defer(xs, g);
    }
    if constexpr (LowRankSlopeObjective<F>) {
      if (low_rank) {
        low_rank_gradient_at(f, xs, g);
        return;
      }
    }
    value_and_gradient_at(f, xs, g, 1.0);
  };
  // The state's value and gradient (its logits too where it is sure to be observed).
  auto evaluate_state = [&](bool sure, Mat& logits_t) -> double {
    if constexpr (LowRankSlopeObjective<F>) {
      if (low_rank) return low_rank_gradient_at(f, x, grad, sure ? &logits_t : nullptr);
    }
    return sure ? value_gradient_and_logits_at(f, x, grad, 1.0, logits_t) : value_and_gradient_at(f, x, grad, 1.0);
  };
  std::size_t next = 0;  // first checkpoint not yet observed
  long saved_step = 0;
  double saved_time = 0.0, saved_value = 0.0;
  Mat logits_t;  // the logits of a state sure to be observed (scheduled or the last), sized there once
  for (long k = 0;; ++k) {
    const double t = k >= n_grid ? T : static_cast<double>(k) * h;
    // Observed for sure (the next checkpoint, in sorted order, at t_k within h/2; or the grid's or the
    // step budget's end): the evaluation also hands its logits to the report (Checkpoint::logits_t).
    // Also the first RK4 stage.
    const bool sure = k >= n_grid || k >= max_steps ||
                      (next < checkpoints.size() && checkpoints[next] <= t + 0.5 * h && checkpoints[next] <= T);
    last_stage.run_with_update();  // the last step's last stage, and x's update in its pass
    const double value = evaluate_state(sure, logits_t);
    ++s.gradient_evaluations;
    if (k == 0) s.initial_value = saved_value = value;
    auto diverged = [&](bool value_finite) {  // end the trajectory at its last observed state
      s.status = RunStatus::kDiverged;
      s.message = detail::non_finite_message(value_finite, k, t);
      theta = saved;
      s.steps = saved_step;
      s.time = saved_time;
      s.final_value = saved_value;
      return s;
    };
    if (!std::isfinite(value)) return diverged(false);
    bool scheduled = false;
    while (next < checkpoints.size() && checkpoints[next] <= t + 0.5 * h) {  // t_k >= t_c - h/2
      scheduled |= checkpoints[next] <= T;
      ++next;
    }
    const auto budget = k >= n_grid                                      ? std::optional(RunStatus::kMaxTime)
                        : k >= max_steps                                 ? std::optional(RunStatus::kMaxSteps)
                        : detail::stop_requested(options_.stop_request) ? std::optional(RunStatus::kStopped)
                                                                        : std::nullopt;
    if (scheduled || budget || tol > 0.0) {  // the state may be observed
      const Vec& X = x.values();
      const Vec& G = grad.values();
      const double grad_norm = finite_norm(G);  // NaN/Inf only if an entry is
      if (!std::isfinite(grad_norm)) return diverged(true);
      const Mat* logits = sure && logits_t.size() > 0 ? &logits_t : nullptr;
      if (detail::settle(observe, Checkpoint{k, t, value, grad_norm, X, G, logits}, scheduled, tol, budget, s)) {
        theta = X;
        return s;
      }
      if (scheduled) saved = X, saved_step = k, saved_time = t, saved_value = value;
    }
    // Between checkpoints a non-finite gradient is caught by the next value: theta turns non-finite.
    const double step = k + 1 >= n_grid ? T - t : h;  // t_{k+1} - t_k
    stage = 0;
    stepper.do_step(system, x, grad, -t, -step);  // 3 more evaluations, the last deferred to the next one
  }
}

template <class F, class O>
RunSummary GradientFlow::run_dopri5(const F& f, Vec& theta, std::span<const double> checkpoints, O& observe) const {
  namespace odeint = boost::numeric::odeint;
  using Dopri5 = odeint::runge_kutta_dopri5<LazyVec, double, LazyVec, double, LazyAlgebra, odeint::default_operations>;
  using Controlled = odeint::controlled_runge_kutta<Dopri5, detail::LazyErrorChecker>;
  const double T = options_.max_time, tol = options_.grad_tol;
  const double end_slack = 1e-12 * std::max(1.0, T);  // a step ending this close to T ends the run
  const long max_steps = options_.max_steps;
  RunSummary s;
  detail::LastEvaluation last;
  // Slopes kept low rank (low_rank_slope.hpp): each stage's pass reads the step's start state alone,
  // and the last one's writes the trial state and takes the error norm from the step's residuals.
  const bool low_rank = detail::low_rank_slopes(f, options_.low_rank_slopes);
  detail::DeferredFsal<F> fsal(f, last, s.gradient_evaluations, low_rank);  // outlives the stepper's vectors
  // dx/dt = −∇F: the system writes ∇F and declares the vector negated (LazyVec's sign), so no pass
  // negates it; the observers read ∇F straight from its storage. The last stage of a step (its
  // point is one of the stepper's two kept states, still pending) is deferred to the error check.
  auto system = [&f, &s, &last, &fsal, low_rank](const LazyVec& x, LazyVec& dx, double t) {
    if constexpr (ErrorNormObjective<F>) {
      if (x.keep() && x.pending()) return fsal.defer(x, dx, t);
    }
    last.value = [&] {
      if constexpr (LowRankSlopeObjective<F>) {
        if (low_rank) return low_rank_gradient_at(f, x, dx, nullptr, -1.0);
      }
      return value_and_gradient_at(f, x, dx, -1.0);
    }();
    ++s.gradient_evaluations;
    last.t = t;
    last.x = &x;
    last.dxdt = &dx;
  };
  LazyVec xc, gc;  // state and gradient at an interpolated checkpoint; xc is formed in its evaluation
  LazyVec g_fsal;  // only if odeint ever returned a state it did not evaluate last (see below)
  for (LazyVec* v : {&xc, &gc, &g_fsal}) v->resize(theta.size());  // objectives write pre-sized gradients
  xc.set_keep(true);
  odeint::dense_output_runge_kutta<Controlled> stepper(
      Controlled(detail::LazyErrorChecker{options_.abs_tol, options_.rel_tol, &last, options_.error_norm, &fsal}));
  std::size_t next = 0;  // first checkpoint not yet observed

  LazyVec start(theta);
  Mat logits_t;  // the logits of an evaluated state sure to be observed, sized there once
  const bool start_observed = T <= 0.0 || max_steps <= 0 || (!checkpoints.empty() && checkpoints.front() <= 0.0);
  double value = start_observed ? value_gradient_and_logits_at(f, start, gc, 1.0, logits_t)
                                : value_and_gradient_at(f, start, gc, 1.0);
  ++s.gradient_evaluations;
  s.initial_value = s.final_value = value;
  double grad_norm = finite_norm(gc.values());
  if (!std::isfinite(value) || !std::isfinite(grad_norm)) {
    s.status = RunStatus::kDiverged;
    s.message = detail::non_finite_message(std::isfinite(value), 0, 0.0);
    return s;
  }
  bool scheduled = false;
  for (; next < checkpoints.size() && checkpoints[next] <= 0.0; ++next) scheduled = true;
  auto budget = T <= 0.0                                         ? std::optional(RunStatus::kMaxTime)
                : max_steps <= 0                                ? std::optional(RunStatus::kMaxSteps)
                : detail::stop_requested(options_.stop_request) ? std::optional(RunStatus::kStopped)
                                                                : std::nullopt;
  const Mat* start_logits = start_observed && logits_t.size() > 0 ? &logits_t : nullptr;
  fsal.size_logits_alike(logits_t);
  if (detail::settle(observe, Checkpoint{0, 0.0, value, grad_norm, theta, gc.values(), start_logits}, scheduled, tol,
                     budget, s))
    return s;

  stepper.initialize(start, 0.0, std::min(options_.dt, T));
  // Both states of the dense-output stepper are kept: the FSAL evaluation writes the new state in
  // its pass, and its stage temporaries are never written.
  stepper.current_state().set_keep(true);
  stepper.previous_state().set_keep(true);
  long k = 0;                                // accepted steps
  double t = 0.0;                            // time of the current accepted state
  bool stepped = false;                      // a step was accepted but (t, value) still describe the previous state
  auto diverge = [&](std::string message) {  // end at the previous accepted state (t, value)
    s.status = RunStatus::kDiverged;
    s.message = std::move(message);
    theta = stepper.previous_state().values();
    s.steps = k - 1;
    s.time = t;
    s.final_value = value;
    return s;
  };
  auto do_step_failed = [&](std::string message) {  // do_step threw: end at its current (accepted) state
    s.status = RunStatus::kDiverged;
    s.message = std::move(message);
    theta = stepper.current_state().values();
    s.steps = k;
    s.time = t;
    s.final_value = value;
    return s;
  };
  try {
    for (;;) {
      if (stepper.current_time() + stepper.current_time_step() > T) {  // end exactly at T
        xc.assign(stepper.current_state());
        stepper.initialize(xc, stepper.current_time(), T - stepper.current_time());
      }
      fsal.hand_logits_when(T - end_slack, checkpoints.subspan(next), k + 1 >= max_steps);
      const double t_new = stepper.do_step(system).second;
      ++k;
      stepped = true;
      const LazyVec& x = stepper.current_state();
      if (last.x != &x) system(x, g_fsal, t_new);  // never with odeint's FSAL dopri5; kept for safety
      // Accepted: the error checker rejects non-finite values, states and FSAL derivatives.
      const Vec& X = x.values();
      const LazyVec& G = *last.dxdt;  // ∇F at X, read only where observed (a low-rank slope is formed then)
      const bool at_end = t_new >= T - end_slack;
      const double t_state = at_end ? T : t_new;

      // Checkpoints inside (t, t_new): interpolate, then evaluate there.
      while (next < checkpoints.size() && checkpoints[next] < t_new &&
             !(at_end && checkpoints[next] >= T - end_slack)) {
        const double tc = checkpoints[next++];
        stepper.calc_state(tc, xc);
        const double vc = value_gradient_and_logits_at(f, xc, gc, 1.0, logits_t);
        ++s.gradient_evaluations;
        const Vec& Xc = xc.values();
        const double gc_norm = finite_norm(gc.values());
        if (!std::isfinite(vc) || !std::isfinite(gc_norm))
          return diverge(detail::non_finite_message(std::isfinite(vc), k, tc));
        const Mat* logits = logits_t.size() > 0 ? &logits_t : nullptr;
        fsal.size_logits_alike(logits_t);
        if (detail::settle(observe, Checkpoint{k, tc, vc, gc_norm, Xc, gc.values(), logits}, true, tol, std::nullopt,
                           s)) {
          theta = Xc;
          return s;
        }
      }
      scheduled = false;
      for (; next < checkpoints.size() && (checkpoints[next] <= t_new || (at_end && checkpoints[next] <= T)); ++next)
        scheduled = true;
      budget = at_end                                          ? std::optional(RunStatus::kMaxTime)
               : k >= max_steps                                ? std::optional(RunStatus::kMaxSteps)
               : detail::stop_requested(options_.stop_request) ? std::optional(RunStatus::kStopped)
                                                               : std::nullopt;
      const bool observed = scheduled || budget || tol > 0.0;  // the state may be observed
      if (observed) {
        grad_norm = finite_norm(G.storage());  // finite entries: finite unless the norm itself overflows
        if (!std::isfinite(grad_norm)) return diverge(detail::non_finite_message(true, k, t_new));
      }
      value = last.value;
      t = t_state;
      stepped = false;
      const Mat* logits = fsal.logits_of(x);
      if (logits) fsal.size_logits_alike(logits_t);
      if (observed && detail::settle(observe, Checkpoint{k, t, value, grad_norm, X, G.storage(), logits}, scheduled,
                                     tol, budget, s)) {
        theta = X;
        return s;
      }
    }
  } catch (const detail::NonFiniteAtMinimumStep& e) {  // from do_step: the current state is the last accepted one
    return do_step_failed(detail::at_step_message(
        "non-finite trial steps down to the minimum step size " + detail::format_number(std::abs(e.dt)), k + 1, t));
  } catch (const odeint::odeint_error& e) {  // e.g. no step size found after 500 rejections
    std::string message = detail::at_step_message("odeint error", stepped ? k : k + 1, t) + ": " + e.what();
    if (stepped) return diverge(std::move(message));
    return do_step_failed(std::move(message));
  }
}

}  // namespace ufm
