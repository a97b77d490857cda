#pragma once
/// Where a run's wall time goes. The dynamics call the observer at every checkpoint, inside their
/// own run(); RunTiming times that run() and each observer call, so the output can say how much of
/// the run was the dynamics (steps, integrator stages, gradient evaluations, their vectors'
/// allocation) and how much the checkpoints (every metric of the state, and writing its record).
/// The rest of wall_seconds is set-up and the output's header and end (reading a state, the theory
/// check, the full-set reports of `net`). Two clock reads per checkpoint, none per step.
#include <utility>

#include <nlohmann/json.hpp>

#include "ufm/app/steady_seconds.hpp"
#include "ufm/dynamics/observer.hpp"

namespace ufm {

class RunTiming {
 public:
  /// observe, its calls timed into checkpoint_seconds() and counted. `observe` must outlive the result.
  template <class Observe>
  auto timed(Observe& observe) {
    return [this, &observe](const Checkpoint& c) {
      const double start = steady_seconds();
      const ObserverAction action = observe(c);
      checkpoint_seconds_ += steady_seconds() - start;
      ++checkpoints_;
      return action;
    };
  }

  /// run() (the dynamics, calling a timed() observer), timed into run_seconds(); returns its result.
  template <class Run>
  auto time_run(Run&& run) {
    const double start = steady_seconds();
    auto result = std::forward<Run>(run)();
    run_seconds_ += steady_seconds() - start;
    return result;
  }

  double run_seconds() const { return run_seconds_; }
  double checkpoint_seconds() const { return checkpoint_seconds_; }
  /// The run's seconds less its checkpoints' (never below zero).
  double dynamics_seconds() const;
  long checkpoints() const { return checkpoints_; }

 private:
  double run_seconds_ = 0.0;
  double checkpoint_seconds_ = 0.0;
  long checkpoints_ = 0;
};

/// {"dynamics_seconds", "checkpoint_seconds", "checkpoints"}: an output's "timing".
nlohmann::ordered_json to_json(const RunTiming& timing);

}  // namespace ufm
