#include "ufm/dynamics/run_summary.hpp"

#include <cmath>
#include <cstdio>

namespace ufm {

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::kConverged:
      return "converged";
    case RunStatus::kMaxSteps:
      return "max_steps";
    case RunStatus::kMaxTime:
      return "max_time";
    case RunStatus::kDiverged:
      return "diverged";
    case RunStatus::kStopped:
      return "stopped";
  }
  return "unknown";
}

namespace detail {

std::string format_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

std::string at_step_message(std::string_view what, long step, double time) {
  return std::string(what) + " at step " + std::to_string(step) + " (t = " + format_number(time) + ")";
}

std::string non_finite_message(bool value_finite, long step, double time) {
  return at_step_message(value_finite ? "non-finite gradient" : "non-finite objective", step, time);
}

std::string converged_message(double grad_norm, double grad_tol, long step, double time) {
  return at_step_message("gradient norm " + format_number(grad_norm) + " <= grad_tol " + format_number(grad_tol), step,
                         time);
}

}  // namespace detail
}  // namespace ufm
