#pragma once
/// `ufm-sim run`: build the model a config describes, drive its dynamics, record the trajectory.
#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/app/trajectory_writer.hpp"
#include "ufm/config/run_config.hpp"
#include "ufm/dynamics/run_summary.hpp"
#include "ufm/objectives/deep_ufm_objective.hpp"

namespace ufm {

/// Labels and parameters a run starts from.
struct InitialModel {
  std::vector<int> labels;  ///< N, class blocks unless read from --init-state
  Vec theta;                ///< DeepUfmLayout order: H₁, W_1, …, W_L, b
};

/// Gaussian init (init_scale, seed) in θ order, or the --init-state directory (H.npy = H₁, W.npy = W_L,
/// W1.npy … = hidden weights, b.npy, labels.npy), whose labels must have the configured class counts.
/// Either way a fixed classifier (--fixed-classifier etf) is then set to its simplex ETF: W.npy is
/// read (and its shape checked) but replaced. Throws io::IoError or ConfigError on a bad state.
InitialModel initial_model(const ResolvedConfig& config);

/// The model of any depth (L = 1 is the plain UFM).
DeepUfmObjective make_objective(const ResolvedConfig& config, std::vector<int> labels);

/// --save-state: H.npy (H₁), W.npy (W_L), b.npy, labels.npy, state.json, and W1.npy … for L ≥ 2.
void save_model_state(const ResolvedConfig& config, const DeepUfmObjective& f, const Vec& theta);

struct SimulationResult {
  RunSummary summary;
  nlohmann::ordered_json final;  ///< the last (finite) checkpoint
  Vec theta;                     ///< parameters at the end of the run
  std::optional<bool> theory_pass;  ///< --check-theory: whether the prediction matched (none: not checked)
};

/// Runs the dynamics from theta, writing header, checkpoints and the footer to writer.
/// \param stop_request read once per step (see GradientFlow::Options): when it turns true the run
///        ends with its current state as the final checkpoint, status "stopped", and, when
///        interrupt_signal() names a signal, the message "stopped by SIGINT at step k (t = ...)".
///        --check-theory is skipped for stopped and diverged runs.
SimulationResult simulate(const ResolvedConfig& config, const DeepUfmObjective& f, Vec theta,
                          TrajectoryWriter& writer, bool progress, const std::atomic<bool>* stop_request = nullptr);

/// The whole command: parse args (without the program name and "run"), validate, run, write.
/// Every check (options, --init-state, --out, --save-state) comes before anything is created.
/// --save-state is written at the end of every run, diverged (its last finite state) and stopped
/// ones included. SIGINT / SIGTERM (see interrupt.hpp) stop the run after its current step; the
/// outputs are then written with status "stopped" and the exit status is 128 + the signal.
/// Returns the exit status; errors are reported on stderr as one line.
int run_command(const std::vector<std::string>& args);

}  // namespace ufm
