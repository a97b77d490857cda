#pragma once
/// Gradient flow d theta / dt = -grad F(theta) (theory.md §3), integrated by Boost.Odeint
/// steppers driven in our own loop, so that an observer can stop the run and a NaN ends it.
///
/// - kRk4: classical Runge–Kutta, fixed step dt. Grid times t_k = k * dt (computed, not
///   accumulated); the last step is shortened so the run ends exactly at max_time. A checkpoint
///   time t_c is observed at the first grid step with t_k >= t_c - dt/2 (the nearest one);
///   several checkpoints on one grid step are observed once. 4 gradient evaluations per step.
/// - kDopri5: adaptive Dormand–Prince 5(4) dense output with abs_tol / rel_tol; checkpoints are
///   observed exactly at their times (dense-output interpolation plus one gradient evaluation);
///   the last step is shortened to end exactly at max_time. The value and gradient of accepted
///   states come from the FSAL stage (free); grad_tol is checked at every accepted state.
///   A trial step whose error estimate, FSAL derivative or objective value is not finite (NaN or
///   Inf: the step overshot into overflow) is rejected like any step over tolerance, and dt shrinks
///   by odeint's largest factor, 5. The gradient flow of an objective bounded below cannot blow up,
///   so only when such a trial step is already no larger than min_step(t) = 1e-14 max(1, |t|) (the
///   scale at which t + dt stops being distinguishable from t) does the run end as kDiverged
///   ("non-finite trial steps down to the minimum step size 8e-15 at step k (t = ...)"), at the
///   last accepted state. Finite trial steps are shrunk by odeint as usual, without this floor.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <span>

#include "ufm/dynamics/observer.hpp"
#include "ufm/dynamics/run_summary.hpp"
#include "ufm/linalg.hpp"
#include "ufm/objectives/objective.hpp"

namespace ufm {

enum class Integrator { kRk4, kDopri5 };

/// How dopri5 turns the per-entry scaled errors r_i = |x_err_i| / (abs_tol + rel_tol (|x_i| + |dt| |dx_i/dt|))
/// into the one number its step control compares with 1: their maximum (odeint's default), or their
/// root mean square sqrt(Σ r_i² / n) (how scipy's solve_ivp and MATLAB's ode45 aggregate theirs).
enum class ErrorNorm { kMax, kRms };

/// Whether RK4 and dopri5 keep their slopes' H parts low rank (low_rank_slope.hpp) with an objective
/// that takes them (LowRankSlopeObjective: the one-layer UFM, K ≤ 12): where it pays (the objective
/// says: H beyond the caches), always, or never. The trajectory agrees with the full slopes' to
/// rounding (the same stage points, update and error estimate, associated differently), not bit for
/// bit.
enum class LowRankSlopes { kAuto, kAlways, kNever };

class GradientFlow {
 public:
  struct Options {
    Integrator integrator = Integrator::kDopri5;
    double dt = 0.1;             ///< RK4 step; dopri5 initial step
    double abs_tol = 1e-10;      ///< dopri5 absolute tolerance
    double rel_tol = 1e-10;      ///< dopri5 relative tolerance
    ErrorNorm error_norm = ErrorNorm::kMax;  ///< dopri5: max or RMS of the scaled errors
    double max_time = 100.0;     ///< the run ends (kMaxTime) at exactly this time
    long max_steps = 100000000;  ///< accepted-step budget (kMaxSteps)
    double grad_tol = 0.0;       ///< stop (kConverged) once ||grad|| <= grad_tol; 0 disables
    LowRankSlopes low_rank_slopes = LowRankSlopes::kAuto;  ///< RK4, dopri5: slopes kept low rank
    /// Read once per step (RK4 step / accepted dopri5 step; e.g. set by a signal handler): once
    /// true, the current state is observed as the final checkpoint and the run ends as kStopped
    /// ("stopped on request at step k ...").
    const std::atomic<bool>* stop_request = nullptr;
    /// Throws std::invalid_argument("'dt' must be ...") on a bad field.
    void validate() const;
  };

  /// dopri5: the smallest trial step at time t that may still be rejected for a non-finite result.
  static double min_step(double t) { return 1e-14 * std::max(1.0, std::abs(t)); }

  explicit GradientFlow(Options options);
  const Options& options() const { return options_; }

  /// Integrates from t = 0 to max_time (or convergence, divergence, step budget, observer stop,
  /// stop request).
  /// \param theta In: theta(0). Out: the final state (kStopped: the state the observer stopped at,
  ///        or the first state reached after stop_request turned true;
  ///        kDiverged: with dopri5 the last finite accepted state, with RK4 the last observed
  ///        state, i.e. the trajectory's last checkpoint, or theta(0)).
  /// \param checkpoint_times sorted times to observe; times beyond max_time are ignored. The
  ///        final state is always observed, except on kDiverged (non-finite states never are).
  /// Checkpoint::step is the number of accepted steps taken when the checkpoint is reached.
  /// An odeint error (step size not found) ends the run as kDiverged with odeint's message; so
  /// does a dopri5 trial step that is non-finite at min_step (see above).
  /// Allocates only before the loop and during the first step.
  template <Objective F, Observer O>
  RunSummary run(const F& f, Vec& theta, std::span<const double> checkpoint_times, O&& observe) const;

 private:
  template <class F, class O>
  RunSummary run_rk4(const F& f, Vec& theta, std::span<const double> checkpoints, O& observe) const;
  template <class F, class O>
  RunSummary run_dopri5(const F& f, Vec& theta, std::span<const double> checkpoints, O& observe) const;

  Options options_;
};

}  // namespace ufm

#include "ufm/dynamics/gradient_flow_impl.hpp"
