#pragma once
/// Observers: called by the dynamics at scheduled checkpoints; their answer can stop a run
/// (odeint's `obs(x, t)` plus ensmallen's / Ceres' stop signal).
///
/// | expression | meaning                                                       |
/// |------------|---------------------------------------------------------------|
/// | o(c)       | c: const Checkpoint&; returns ObserverAction::kContinue/kStop |
#include <atomic>
#include <concepts>
#include <optional>

#include "ufm/dynamics/run_summary.hpp"
#include "ufm/linalg.hpp"

namespace ufm {

/// One observed state. `theta` and `grad` are views of the dynamics' own buffers: valid only
/// during the call, copy what you keep.
struct Checkpoint {
  long step;         ///< GD step k, or number of accepted integrator steps so far
  double time;       ///< flow time (GD: k * lr)
  double value;      ///< F(theta)
  double grad_norm;  ///< ||grad F(theta)||_2
  const Vec& theta;  ///< the state
  const Vec& grad;   ///< grad F(theta)
  /// The classifier's logits at theta without the bias, N×K class-major, from the evaluation that gave
  /// value and grad (CheckpointLogitsObjective), or null: checkpoint_report then forms them itself.
  const Mat* logits_t = nullptr;
};

enum class ObserverAction { kContinue, kStop };

template <class O>
concept Observer = requires(O o, const Checkpoint& c) {
  { o(c) } -> std::same_as<ObserverAction>;
};

/// An observer that records nothing and never stops the run.
struct NullObserver {
  ObserverAction operator()(const Checkpoint&) const { return ObserverAction::kContinue; }
};

namespace detail {
/// The common end-of-state logic of every dynamics: a finite state is observed when it is
/// scheduled, converged (grad_tol > 0 and grad_norm <= grad_tol) or the last one allowed by a
/// budget (`budget_end` = kMaxSteps / kMaxTime, or kStopped when a stop was requested). Returns
/// true when the run ends at this state, after filling status, message, steps, time and
/// final_value of `s`. Allocates only then.
template <class O>
bool settle(O& observe, const Checkpoint& c, bool scheduled, double grad_tol, std::optional<RunStatus> budget_end,
            RunSummary& s) {
  const bool converged = grad_tol > 0.0 && c.grad_norm <= grad_tol;
  if (!scheduled && !converged && !budget_end) return false;
  if (observe(c) == ObserverAction::kStop) {
    s.status = RunStatus::kStopped;
    s.message = at_step_message("stopped by the observer", c.step, c.time);
  } else if (converged) {
    s.status = RunStatus::kConverged;
    s.message = converged_message(c.grad_norm, grad_tol, c.step, c.time);
  } else if (budget_end) {
    s.status = *budget_end;
    s.message = at_step_message(s.status == RunStatus::kMaxTime    ? "reached max_time"
                                : s.status == RunStatus::kMaxSteps ? "reached max_steps"
                                                                   : "stopped on request",
                                c.step, c.time);
  } else {
    return false;
  }
  s.steps = c.step;
  s.time = c.time;
  s.final_value = c.value;
  return true;
}

/// Options::stop_request of the dynamics, read once per step (relaxed: a flag, no data with it).
inline bool stop_requested(const std::atomic<bool>* stop_request) {
  return stop_request != nullptr && stop_request->load(std::memory_order_relaxed);
}
}  // namespace detail

}  // namespace ufm
