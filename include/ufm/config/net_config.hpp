#pragma once
/// Every option of `ufm-sim net` (a bias-free ReLU network trained on data, theory.md §1), as given
/// and as validated; the same conventions as `run` (config files, messages, exit 2 before any work).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/config/run_config.hpp"
#include "ufm/dynamics/lr_schedule.hpp"
#include "ufm/linalg.hpp"
#include "ufm/objectives/model_spec.hpp"

namespace ufm {

enum class NetInit { kKaiming, kGaussian };

struct NetConfig {
  // data
  std::string data = "synthetic";  ///< fashion-mnist | idx:DIR | cifar10:DIR | csv:FILE | synthetic
  std::string label_column = "-1";  ///< csv only
  Index classes = 4, per_class = 100, input_dim = 16, test_per_class = 100;  ///< synthetic only
  double separation = 3.0;                                                  ///< synthetic only
  std::optional<Index> train_per_class;  ///< a balanced, seeded subset of the training set
  bool standardize = false;
  // model
  std::vector<Index> widths = {512, 512};
  Activation activation = Activation::kRelu;
  bool last_bias = false;
  NetInit init = NetInit::kKaiming;
  std::optional<double> init_scale;  ///< --init gaussian only
  Loss loss = Loss::kMse;
  double lambda = 5e-4;
  std::vector<std::pair<Index, double>> lambda_layer;  ///< (l, λ_l), l in [1, L]
  std::optional<double> lambda_b;                      ///< --last-bias only; default --lambda
  // training
  std::optional<Index> batch_size;  ///< 0 = full
  bool full_batch = false;
  double lr = 0.01, momentum = 0.9;
  long epochs = 10;
  LrSchedule lr_schedule;
  std::optional<Dynamics> dynamics;  ///< --batch-size full only
  // --dynamics flow only (gradient flow of the full objective, as `run` integrates the UFM's)
  std::optional<Integrator> integrator;
  std::optional<double> dt, time, abs_tol, rel_tol;
  std::optional<ErrorNorm> error_norm;  ///< flow, dopri5: as `run --error-norm`
  std::uint64_t seed = 0;
  std::string init_state;  ///< resume from a network state directory (replaces --init, --seed's init)
  // metrics and output
  Index metric_samples = 2000;
  int num_checkpoints = 30;
  Index max_singular_values = 100;
  OutputFormat format = OutputFormat::kJson;
  std::string out;
  std::string save_state;  ///< the network, and its penultimate features for `run --init-state`
  bool quiet = false;
  bool given_synthetic = false;  ///< a synthetic-only option was given
  std::vector<std::string> given;  ///< names of the options given (for "does not apply" checks)
};

/// Parses `ufm-sim net` options (without the subcommand); `--config FILE` first, the command line
/// wins. help: the help text was requested (printed by the caller). Throws ConfigError, whose
/// messages send the user to `command --help` (`ufm-sim compare` parses its network options here).
NetConfig parse_net_options(const std::vector<std::string>& args, bool& help,
                            const std::string& command = "ufm-sim net");

/// Ranges and combinations; throws ConfigError naming the option.
void validate(const NetConfig& config);

/// Defaults of the options that are optional above.
struct NetDefaults {
  static constexpr Integrator kIntegrator = Integrator::kRk4;  ///< ReLU makes F only piecewise smooth
  static constexpr double kDt = 0.01, kTime = 10, kAbsTol = 1e-8, kRelTol = 1e-8;
};

/// λ_1..λ_L (λ_L on the output layer).
std::vector<double> layer_decays(const NetConfig& config);

/// The output's `config`: every option, resolved; options that do not apply are null.
nlohmann::ordered_json to_json(const NetConfig& config);

std::string net_help_text();

}  // namespace ufm
