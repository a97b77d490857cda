#pragma once
/// Gradient descent and heavy-ball momentum (theory.md §3):
///   v_{k+1} = beta v_k + grad F(theta_k),  theta_{k+1} = theta_k - lr v_{k+1},  v_0 = 0
/// (beta = 0 is plain GD). Step k is reported at time t_k = k * lr, the gradient-flow time
/// that GD approximates.
#include <cmath>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

#include "ufm/dynamics/observer.hpp"
#include "ufm/dynamics/run_summary.hpp"
#include "ufm/dynamics/schedule.hpp"
#include "ufm/linalg.hpp"
#include "ufm/objectives/objective.hpp"

namespace ufm {

class GradientDescent {
 public:
  struct Options {
    double lr = 0.1;        ///< step size eta > 0
    long max_steps = 1000;  ///< number of updates; the state after the last one is observed
    double momentum = 0.0;  ///< heavy-ball beta in [0, 1)
    double grad_tol = 0.0;  ///< stop (kConverged) once ||grad|| <= grad_tol; 0 disables
    /// Throws std::invalid_argument("'lr' must be ...") on a bad field.
    void validate() const;
  };

  explicit GradientDescent(Options options);
  const Options& options() const { return options_; }

  /// Runs from theta_0 = theta until max_steps, convergence, divergence or an observer stop.
  /// The value and gradient of each state come from the step's own evaluation.
  /// \param theta In: theta_0. Out: the final state (on kDiverged the last finite state,
  ///        on kStopped the state the observer stopped at).
  /// \param checkpoints sorted step indices to observe; the final state is always observed
  ///        (except on kDiverged: a non-finite state is never observed).
  /// Allocates only before the loop.
  template <Objective F, Observer O>
  RunSummary run(const F& f, Vec& theta, std::span<const long> checkpoints, O&& observe) const;

 private:
  Options options_;
};

template <Objective F, Observer O>
RunSummary GradientDescent::run(const F& f, Vec& theta, std::span<const long> checkpoints, O&& observe) const {
  const Index n = static_cast<Index>(f.num_params());
  if (theta.size() != n)
    throw std::invalid_argument("GradientDescent::run(): theta has " + std::to_string(theta.size()) +
                                " entries, the objective needs " + std::to_string(n));
  detail::check_schedule(checkpoints, "GradientDescent::run()");
  const double lr = options_.lr, beta = options_.momentum, tol = options_.grad_tol;
  const long max_steps = options_.max_steps;

  Vec grad(n), previous(n), velocity;
  if (beta != 0.0) velocity = Vec::Zero(n);
  RunSummary s;
  std::size_t next = 0;  // first checkpoint not yet passed
  double value = 0.0, previous_value = 0.0;
  for (long k = 0;; ++k) {
    value = f.value_and_gradient(theta, grad);
    ++s.gradient_evaluations;
    if (k == 0) s.initial_value = value;
    const double t = static_cast<double>(k) * lr;
    const double grad_norm = grad.norm();  // NaN/Inf if an entry is, or if the norm overflows
    if (!std::isfinite(value) || !std::isfinite(grad_norm)) {
      s.status = RunStatus::kDiverged;
      s.message = detail::non_finite_message(std::isfinite(value), k, t);
      if (k > 0) {  // end the trajectory at the last finite state
        theta = previous;
        value = previous_value;
        --k;
      }
      s.steps = k;
      s.time = static_cast<double>(k) * lr;
      s.final_value = value;
      return s;
    }
    bool scheduled = false;
    while (next < checkpoints.size() && checkpoints[next] <= k) scheduled |= checkpoints[next++] == k;
    const auto budget = k >= max_steps ? std::optional(RunStatus::kMaxSteps) : std::nullopt;
    if (detail::settle(observe, Checkpoint{k, t, value, grad_norm, theta, grad}, scheduled, tol, budget, s)) return s;
    previous = theta;  // kept to end a diverging run at its last finite state
    previous_value = value;
    if (beta == 0.0) {
      theta.noalias() -= lr * grad;
    } else {
      velocity = beta * velocity + grad;
      theta.noalias() -= lr * velocity;
    }
  }
}

}  // namespace ufm
