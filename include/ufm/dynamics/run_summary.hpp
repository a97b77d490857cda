#pragma once
/// How a dynamics run ended (Ceres `Solver::Summary`): a status, a message, counts and values.
#include <string>
#include <string_view>

namespace ufm {

enum class RunStatus {
  kConverged,  ///< grad_norm <= grad_tol (grad_tol > 0)
  kMaxSteps,   ///< the step budget (GD steps, or accepted flow steps) is used up
  kMaxTime,    ///< gradient flow reached max_time
  kDiverged,   ///< non-finite value or gradient, or an odeint error (step size not found)
  kStopped,    ///< the observer returned ObserverAction::kStop, or Options::stop_request was set
};

/// "converged" | "max_steps" | "max_time" | "diverged" | "stopped"
std::string_view to_string(RunStatus status);

/// The state left in theta is the one these fields describe: the last observed or reached
/// state, and on kDiverged the last state whose value and gradient were finite.
struct RunSummary {
  RunStatus status = RunStatus::kMaxSteps;
  std::string message;
  long steps = 0;                 ///< GD steps / accepted integrator steps up to the final state
  double time = 0.0;              ///< flow time of the final state (GD: steps * lr)
  long gradient_evaluations = 0;  ///< calls of value_and_gradient
  double initial_value = 0.0;     ///< F(theta_0)
  double final_value = 0.0;       ///< F at the final state
};

namespace detail {
/// "non-finite objective at step 12 (t = 1.2)" (or "gradient" when only the gradient is bad).
std::string non_finite_message(bool value_finite, long step, double time);
/// "<what> at step 12 (t = 1.2)"
std::string at_step_message(std::string_view what, long step, double time);
/// "gradient norm 1e-09 <= grad_tol 1e-08 at step 12 (t = 1.2)"
std::string converged_message(double grad_norm, double grad_tol, long step, double time);
/// Shortest round-trip-ish rendering of a double ("%.10g").
std::string format_number(double x);
}  // namespace detail

}  // namespace ufm
