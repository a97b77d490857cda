#pragma once
/// `ufm-sim run`: build the model a config describes, drive its dynamics, record the trajectory.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/app/trajectory_writer.hpp"
#include "ufm/config/run_config.hpp"
#include "ufm/dynamics/run_summary.hpp"
#include "ufm/objectives/ufm_objective.hpp"

namespace ufm {

/// Labels and parameters a run starts from.
struct InitialModel {
  std::vector<int> labels;  ///< N, class blocks unless read from --init-state
  Vec theta;                ///< UfmLayout order: H, W, b
};

/// Gaussian init (init_scale, seed) in the order H, W, b; or the --init-state directory, whose
/// labels must have the configured class counts. Throws io::IoError or ConfigError on a bad state.
InitialModel initial_model(const ResolvedConfig& config);

UfmObjective make_objective(const ResolvedConfig& config, std::vector<int> labels);

struct SimulationResult {
  RunSummary summary;
  nlohmann::ordered_json final;  ///< the last (finite) checkpoint
  Vec theta;                     ///< parameters at the end of the run
  std::optional<bool> theory_pass;  ///< --check-theory: whether the prediction matched (none: not checked)
};

/// Runs the dynamics from theta, writing header, checkpoints and the footer to writer.
SimulationResult simulate(const ResolvedConfig& config, const UfmObjective& f, Vec theta,
                          TrajectoryWriter& writer, bool progress);

/// The whole command: parse args (without the program name and "run"), validate, run, write.
/// Returns the exit status; errors are reported on stderr as one line.
int run_command(const std::vector<std::string>& args);

}  // namespace ufm
