#pragma once
/// Every option of `ufm-sim run`, as given (unset optionals = "not given") and as resolved.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/dynamics/schedule.hpp"
#include "ufm/linalg.hpp"
#include "ufm/objectives/deep_ufm_layout.hpp"
#include "ufm/objectives/model_spec.hpp"

namespace ufm {

enum class Dynamics { kFlow, kGd, kMomentum };
enum class FixedClassifier { kNone, kEtf };
enum class OutputFormat { kJson, kJsonl };

/// Options as the user gave them. Optionals distinguish "not given" from a value, so that
/// impossible combinations (--lambda-b with --bias none) can be rejected.
struct RunConfig {
  // model
  Index classes = 4;
  Index per_class = 10;
  Index dim = 16;                          ///< d₀: rows of H (H₁ in the deep model)
  Index layers = 1;                        ///< L: 1 = the plain UFM
  std::optional<Index> width;              ///< every hidden width d₁..d_{L−1} (default: dim)
  std::vector<Index> widths;               ///< explicit d₁..d_{L−1}
  Activation activation = Activation::kLinear;
  std::vector<std::pair<Index, double>> lambda_layer;  ///< (l, λ_l) overrides, l in [1, L−1]
  std::optional<double> imbalance;         ///< R >= 1: minority classes get round(n / R) samples
  std::optional<Index> majority_classes;   ///< K_maj (with --imbalance); default K / 2
  std::vector<Index> class_counts;         ///< explicit n_1..n_K; empty = from the options above
  bool classes_given = false;              ///< --classes was given (checked against --class-counts)
  bool per_class_given = false;
  Loss loss = Loss::kMse;
  BiasMode bias = BiasMode::kNone;
  double lambda = 5e-4;
  std::optional<double> lambda_w, lambda_h, lambda_b;
  FixedClassifier fixed_classifier = FixedClassifier::kNone;
  std::optional<double> classifier_norm;   ///< ‖W‖_F of the fixed ETF classifier
  // initialization
  double init_scale = 0.1;
  std::uint64_t seed = 0;
  bool seed_given = false;        ///< --seed / --init-scale given: an error with --init-state
  bool init_scale_given = false;
  std::string init_state;  ///< directory written by --save-state; empty = Gaussian init
  // dynamics
  Dynamics dynamics = Dynamics::kFlow;
  std::optional<Integrator> integrator;  ///< flow only
  std::optional<double> dt, abs_tol, rel_tol, time;  ///< flow only
  std::optional<ErrorNorm> error_norm;   ///< flow, dopri5 only
  std::optional<double> lr;              ///< gd, momentum
  std::optional<long> steps;             ///< gd, momentum
  std::optional<double> momentum;        ///< momentum only
  double grad_tol = 0.0;
  std::optional<long> max_steps;         ///< flow: cap on accepted integrator steps
  // output
  Spacing checkpoints = Spacing::kLog;
  int num_checkpoints = 100;
  Index max_singular_values = 100;
  bool no_spectra = false;               ///< skip the feature spectra (MetricOptions::spectra)
  OutputFormat format = OutputFormat::kJson;
  std::string out;                       ///< empty = stdout
  std::string save_state;                ///< empty = none
  bool quiet = false;
  // theory
  bool check_theory = false;
  std::optional<double> theory_tol;
};

/// Defaults of the options that depend on the dynamics.
struct DynamicsDefaults {
  static constexpr Integrator kIntegrator = Integrator::kDopri5;
  static constexpr double kDt = 0.1;
  static constexpr double kAbsTol = 1e-10;
  static constexpr double kRelTol = 1e-10;
  static constexpr double kTime = 2e4;
  static constexpr long kMaxSteps = 100000000;
  static constexpr double kLr = 0.1;
  static constexpr long kSteps = 10000;
  static constexpr double kMomentum = 0.9;
  static constexpr double kClassifierNorm = 1.0;
  static constexpr double kTheoryTol = 1e-5;
};

/// Options after defaults and overrides are applied; what the output's `config` records.
struct ResolvedConfig {
  RunConfig given;
  std::vector<Index> class_counts;  ///< n_1..n_K, resolved
  Regularization lambda;  ///< per factor; b = 0 unless bias is reg; w = the classifier's
  std::vector<Index> widths;        ///< d₁..d_{L−1}, resolved (empty for L = 1)
  std::vector<double> lambda_layers;  ///< λ_1..λ_{L−1} of the hidden weights, resolved
  double classifier_norm = 0;
  double theory_tol = 0;
  Integrator integrator = DynamicsDefaults::kIntegrator;
  double dt = 0, abs_tol = 0, rel_tol = 0, time = 0;
  ErrorNorm error_norm = ErrorNorm::kMax;
  double lr = 0, momentum = 0;
  long steps = 0, max_steps = 0;
};

/// Checks ranges and combinations; throws ConfigError naming the option.
void validate(const RunConfig& config);
/// validate() then fill in defaults.
ResolvedConfig resolve(const RunConfig& config);

/// The `config` object of the output: every option, resolved; options that do not apply are null.
/// Fed back through --config it reproduces the run.
nlohmann::ordered_json to_json(const ResolvedConfig& config);

/// to_json without the dynamics and output options: the model part, what `ufm-sim theory` records.
nlohmann::ordered_json model_json(const ResolvedConfig& config);

std::string_view to_string(Dynamics dynamics);
std::string_view to_string(Integrator integrator);
std::string_view to_string(ErrorNorm norm);
std::string_view to_string(Spacing spacing);
std::string_view to_string(OutputFormat format);
std::string_view to_string(FixedClassifier fixed);

/// n_1..n_K: --class-counts, or n for the first K_maj classes and max(1, round(n / R)) for the rest,
/// or K classes of n.
std::vector<Index> resolve_class_counts(const RunConfig& config);

/// The deep-UFM specification of a resolved config (L = 1 included).
DeepUfmSpec deep_spec(const ResolvedConfig& config);

}  // namespace ufm
