#include "ufm/config/run_config.hpp"

#include <cmath>
#include <set>
#include <sstream>

#include "ufm/config/config_error.hpp"
#include "ufm/config/number_parse.hpp"

namespace ufm {
namespace {

std::string number(double x) { return format_number(x); }

void require(bool ok, const std::string& option, const std::string& value, const std::string& allowed) {
  if (!ok) throw ConfigError(option, value, allowed);
}

void require_nonnegative(const std::string& option, double x) {
  require(std::isfinite(x) && x >= 0, option, number(x), "a finite number >= 0");
}

void require_positive(const std::string& option, double x) {
  require(std::isfinite(x) && x > 0, option, number(x), "a finite number > 0");
}

/// An option that applies only to some dynamics was given for another.
void reject_for(bool given, const std::string& option, const std::string& applies_to, Dynamics dynamics) {
  if (given)
    throw ConfigError(option + ": applies only to " + applies_to + ", not to --dynamics " +
                          std::string(to_string(dynamics)),
                      option);
}

std::string join(const std::vector<Index>& v) {
  std::string s;
  for (Index x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

void validate_classes(const RunConfig& c) {
  if (!c.class_counts.empty()) {
    const std::string counts = join(c.class_counts);
    require(c.class_counts.size() >= 2, "--class-counts", counts, "at least two counts (K >= 2)");
    for (Index n : c.class_counts) require(n >= 1, "--class-counts", counts, "counts that are integers >= 1");
    if (c.classes_given && c.classes != static_cast<Index>(c.class_counts.size()))
      throw ConfigError("--class-counts: got " + std::to_string(c.class_counts.size()) + " counts (" + counts +
                            ") but --classes " + std::to_string(c.classes) + "; give one count per class",
                        "--class-counts");
    if (c.per_class_given) throw ConfigError("--per-class: conflicts with --class-counts; give one", "--per-class");
    if (c.imbalance) throw ConfigError("--imbalance: conflicts with --class-counts; give one", "--imbalance");
    return;
  }
  require(c.classes >= 2, "--classes", std::to_string(c.classes), "an integer >= 2");
  require(c.per_class >= 1, "--per-class", std::to_string(c.per_class), "an integer >= 1");
  if (c.imbalance)
    require(std::isfinite(*c.imbalance) && *c.imbalance >= 1, "--imbalance", number(*c.imbalance),
            "a finite ratio R >= 1");
  if (c.majority_classes) {
    if (!c.imbalance) throw ConfigError("--majority-classes: applies only with --imbalance", "--majority-classes");
    require(*c.majority_classes >= 1 && *c.majority_classes < c.classes, "--majority-classes",
            std::to_string(*c.majority_classes), "an integer in [1, K-1] = [1, " + std::to_string(c.classes - 1) + "]");
  }
}

}  // namespace

std::vector<Index> resolve_class_counts(const RunConfig& c) {
  if (!c.class_counts.empty()) return c.class_counts;
  std::vector<Index> counts(c.classes, c.per_class);
  if (c.imbalance) {
    const Index majority = c.majority_classes.value_or(std::max<Index>(1, c.classes / 2));
    const Index minority = std::max<Index>(1, std::llround(static_cast<double>(c.per_class) / *c.imbalance));
    for (Index k = majority; k < c.classes; ++k) counts[k] = minority;
  }
  return counts;
}

namespace {

/// --integrator, else dopri5; but rk4 with ReLU layers, whose kinks make the vector field
/// non-smooth, where an adaptive method stalls.
Integrator default_integrator(const RunConfig& c) {
  const bool relu = c.layers > 1 && c.activation == Activation::kRelu;
  return c.integrator.value_or(relu ? Integrator::kRk4 : DynamicsDefaults::kIntegrator);
}

/// d₁..d_{L−1}: --widths, or --width (default --dim) for every hidden layer.
std::vector<Index> hidden_widths(const RunConfig& c) {
  if (!c.widths.empty()) return c.widths;
  return std::vector<Index>(std::max<Index>(0, c.layers - 1), c.width.value_or(c.dim));
}

void validate_layers(const RunConfig& c) {
  require(c.layers >= 1, "--layers", std::to_string(c.layers), "an integer >= 1 (1 = the plain UFM)");
  if (!c.widths.empty()) {
    if (c.width) throw ConfigError("--width: conflicts with --widths; give one", "--width");
    if (static_cast<Index>(c.widths.size()) != c.layers - 1)
      throw ConfigError("--widths: got " + std::to_string(c.widths.size()) + " widths (" + join(c.widths) +
                            ") but --layers " + std::to_string(c.layers) + " needs L-1 = " +
                            std::to_string(c.layers - 1),
                        "--widths");
    for (Index w : c.widths) require(w >= 1, "--widths", join(c.widths), "integers >= 1");
  }
  if (c.width) {
    if (c.layers < 2) throw ConfigError("--width: applies only with --layers >= 2", "--width");
    require(*c.width >= 1, "--width", std::to_string(*c.width), "an integer >= 1");
  }
  if (c.layers < 2 && c.activation != Activation::kLinear)
    throw ConfigError("--activation: applies only with --layers >= 2 (hidden layers)", "--activation");
  if (!c.lambda_layer.empty() && c.layers < 2)
    throw ConfigError("--lambda-layer: applies only with --layers >= 2 (hidden weights W_1..W_{L-1}); the classifier's "
                      "decay is --lambda-w",
                      "--lambda-layer");
  for (const auto& [l, lambda] : c.lambda_layer) {
    require(l >= 1 && l < c.layers, "--lambda-layer", std::to_string(l) + "=" + number(lambda),
            "l=x with l in [1, L-1] = [1, " + std::to_string(c.layers - 1) + "] (the classifier W_L is --lambda-w)");
    require_nonnegative("--lambda-layer", lambda);
  }
}

void validate_model_variants(const RunConfig& c, Index K) {
  if (c.fixed_classifier == FixedClassifier::kEtf) {
    const std::vector<Index> widths = hidden_widths(c);
    const Index penultimate = widths.empty() ? c.dim : widths.back();
    if (penultimate < K - 1)
      throw ConfigError("--fixed-classifier: a simplex ETF of K = " + std::to_string(K) +
                            " classes needs a penultimate width >= " + std::to_string(K - 1) + ", got " +
                            std::to_string(penultimate),
                        "--fixed-classifier");
    if (c.classifier_norm) require_positive("--classifier-norm", *c.classifier_norm);
  } else if (c.classifier_norm) {
    throw ConfigError("--classifier-norm: applies only with --fixed-classifier etf", "--classifier-norm");
  }
  if (c.theory_tol) {
    if (!c.check_theory) throw ConfigError("--theory-tol: applies only with --check-theory", "--theory-tol");
    require_positive("--theory-tol", *c.theory_tol);
  }
}

}  // namespace

void validate(const RunConfig& c) {
  validate_classes(c);
  const Index K = c.class_counts.empty() ? c.classes : static_cast<Index>(c.class_counts.size());
  require(c.dim >= 1, "--dim", std::to_string(c.dim), "an integer >= 1");
  validate_layers(c);
  validate_model_variants(c, K);
  require_nonnegative("--lambda", c.lambda);
  if (c.lambda_w) require_nonnegative("--lambda-w", *c.lambda_w);
  if (c.lambda_h) require_nonnegative("--lambda-h", *c.lambda_h);
  if (c.lambda_b) {
    require_nonnegative("--lambda-b", *c.lambda_b);
    if (c.bias == BiasMode::kNone)
      throw ConfigError("--lambda-b: the model has no bias (--bias none); use --bias reg to regularize one",
                        "--lambda-b");
    if (c.bias == BiasMode::kFree && *c.lambda_b != 0.0)
      throw ConfigError("--lambda-b: got '" + number(*c.lambda_b) +
                            "', but --bias free means an unregularized bias (lambda_b = 0); use --bias reg",
                        "--lambda-b");
  }
  require_nonnegative("--init-scale", c.init_scale);
  if (!c.init_state.empty()) {
    const char* why = ": does not apply with --init-state, which replaces the random initialization";
    if (c.seed_given) throw ConfigError(std::string("--seed") + why, "--seed");
    if (c.init_scale_given) throw ConfigError(std::string("--init-scale") + why, "--init-scale");
  }

  const bool flow = c.dynamics == Dynamics::kFlow;
  const std::string flow_only = "--dynamics flow";
  reject_for(!flow && c.integrator.has_value(), "--integrator", flow_only, c.dynamics);
  reject_for(!flow && c.dt.has_value(), "--dt", flow_only, c.dynamics);
  reject_for(!flow && c.abs_tol.has_value(), "--abs-tol", flow_only, c.dynamics);
  reject_for(!flow && c.rel_tol.has_value(), "--rel-tol", flow_only, c.dynamics);
  reject_for(!flow && c.error_norm.has_value(), "--error-norm", flow_only, c.dynamics);
  reject_for(!flow && c.time.has_value(), "--time", flow_only, c.dynamics);
  reject_for(!flow && c.max_steps.has_value(), "--max-steps", flow_only + " (use --steps)", c.dynamics);
  reject_for(flow && c.lr.has_value(), "--lr", "--dynamics gd|momentum", c.dynamics);
  reject_for(flow && c.steps.has_value(), "--steps", "--dynamics gd|momentum (use --time)", c.dynamics);
  reject_for(c.dynamics != Dynamics::kMomentum && c.momentum.has_value(), "--momentum", "--dynamics momentum",
             c.dynamics);
  if (flow && default_integrator(c) == Integrator::kRk4) {
    const std::string why = c.integrator ? "" : " (the default with --activation relu)";
    if (c.abs_tol) throw ConfigError("--abs-tol: applies only to --integrator dopri5, not rk4" + why, "--abs-tol");
    if (c.rel_tol) throw ConfigError("--rel-tol: applies only to --integrator dopri5, not rk4" + why, "--rel-tol");
    if (c.error_norm)
      throw ConfigError("--error-norm: applies only to --integrator dopri5, not rk4" + why, "--error-norm");
  }
  if (c.dt) require_positive("--dt", *c.dt);
  if (c.abs_tol) require_positive("--abs-tol", *c.abs_tol);
  if (c.rel_tol) {
    require_positive("--rel-tol", *c.rel_tol);
    check_rel_tol("--rel-tol", *c.rel_tol);
  }
  if (c.time) require_positive("--time", *c.time);
  if (flow && default_integrator(c) == Integrator::kRk4)
    check_flow_step_count(c.time.value_or(DynamicsDefaults::kTime), c.dt.value_or(DynamicsDefaults::kDt));
  if (c.lr) require_positive("--lr", *c.lr);
  if (c.steps) require(*c.steps >= 0, "--steps", std::to_string(*c.steps), "an integer >= 0");
  if (c.momentum)
    require(std::isfinite(*c.momentum) && *c.momentum >= 0 && *c.momentum < 1, "--momentum", number(*c.momentum),
            "a number in [0, 1)");
  if (c.max_steps) require(*c.max_steps >= 1, "--max-steps", std::to_string(*c.max_steps), "an integer >= 1");
  require_nonnegative("--grad-tol", c.grad_tol);
  require(c.num_checkpoints >= 2, "--num-checkpoints", std::to_string(c.num_checkpoints), "an integer >= 2");
  require(c.max_singular_values >= 0, "--max-singular-values", std::to_string(c.max_singular_values),
          "an integer >= 0 (0 = all)");
}

ResolvedConfig resolve(const RunConfig& c) {
  validate(c);
  ResolvedConfig r;
  r.given = c;
  r.class_counts = resolve_class_counts(c);
  r.given.classes = static_cast<Index>(r.class_counts.size());
  r.classifier_norm = c.fixed_classifier == FixedClassifier::kEtf
                          ? c.classifier_norm.value_or(DynamicsDefaults::kClassifierNorm)
                          : 0.0;
  r.theory_tol = c.check_theory ? c.theory_tol.value_or(DynamicsDefaults::kTheoryTol) : 0.0;
  r.widths = hidden_widths(c);
  r.lambda_layers.assign(r.widths.size(), c.lambda);
  for (const auto& [l, lambda] : c.lambda_layer) r.lambda_layers[l - 1] = lambda;
  r.lambda.w = c.lambda_w.value_or(c.lambda);
  r.lambda.h = c.lambda_h.value_or(c.lambda);
  r.lambda.b = c.bias == BiasMode::kRegularized ? c.lambda_b.value_or(c.lambda) : 0.0;
  using D = DynamicsDefaults;
  if (c.dynamics == Dynamics::kFlow) {
    // ReLU layers make the vector field non-smooth: an adaptive method stalls at the kinks.
    r.integrator = default_integrator(c);
    r.dt = c.dt.value_or(D::kDt);
    r.abs_tol = c.abs_tol.value_or(D::kAbsTol);
    r.rel_tol = c.rel_tol.value_or(D::kRelTol);
    r.error_norm = c.error_norm.value_or(ErrorNorm::kMax);
    r.time = c.time.value_or(D::kTime);
    r.max_steps = c.max_steps.value_or(D::kMaxSteps);
  } else {
    r.lr = c.lr.value_or(D::kLr);
    r.steps = c.steps.value_or(D::kSteps);
    if (c.dynamics == Dynamics::kMomentum) r.momentum = c.momentum.value_or(D::kMomentum);
  }
  return r;
}

nlohmann::ordered_json to_json(const ResolvedConfig& r) {
  const RunConfig& c = r.given;
  const bool flow = c.dynamics == Dynamics::kFlow;
  const bool dopri5 = flow && r.integrator == Integrator::kDopri5;
  const auto or_null = [](bool applies, auto value) -> nlohmann::ordered_json {
    return applies ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
  };
  nlohmann::ordered_json j;
  const bool explicit_counts = !c.class_counts.empty();
  j["classes"] = c.classes;
  j["per_class"] = or_null(!explicit_counts, c.per_class);
  j["imbalance"] = or_null(c.imbalance.has_value(), c.imbalance.value_or(0.0));
  j["majority_classes"] =
      or_null(c.imbalance.has_value(), c.majority_classes.value_or(std::max<Index>(1, c.classes / 2)));
  j["class_counts"] = or_null(explicit_counts, c.class_counts);
  j["dim"] = c.dim;
  j["layers"] = c.layers;
  j["widths"] = or_null(c.layers > 1, r.widths);
  j["activation"] = or_null(c.layers > 1, std::string(to_string(c.activation)));
  nlohmann::ordered_json per_layer = nlohmann::ordered_json::array();
  for (std::size_t l = 0; l < r.lambda_layers.size(); ++l)
    per_layer.push_back(std::to_string(l + 1) + "=" + number(r.lambda_layers[l]));
  j["lambda_layer"] = or_null(c.layers > 1, per_layer);
  j["loss"] = to_string(c.loss);
  j["bias"] = to_string(c.bias);
  j["lambda"] = c.lambda;
  j["lambda_w"] = r.lambda.w;
  j["lambda_h"] = r.lambda.h;
  j["lambda_b"] = or_null(c.bias != BiasMode::kNone, r.lambda.b);
  j["fixed_classifier"] = to_string(c.fixed_classifier);
  j["classifier_norm"] = or_null(c.fixed_classifier == FixedClassifier::kEtf, r.classifier_norm);
  j["init_scale"] = or_null(c.init_state.empty(), c.init_scale);  // --init-state replaces the random init
  j["seed"] = or_null(c.init_state.empty(), c.seed);
  j["init_state"] = or_null(!c.init_state.empty(), c.init_state);
  j["dynamics"] = to_string(c.dynamics);
  j["integrator"] = or_null(flow, std::string(to_string(r.integrator)));
  j["dt"] = or_null(flow, r.dt);
  j["abs_tol"] = or_null(dopri5, r.abs_tol);
  j["rel_tol"] = or_null(dopri5, r.rel_tol);
  j["time"] = or_null(flow, r.time);
  j["max_steps"] = or_null(flow, r.max_steps);
  j["lr"] = or_null(!flow, r.lr);
  j["steps"] = or_null(!flow, r.steps);
  j["momentum"] = or_null(c.dynamics == Dynamics::kMomentum, r.momentum);
  j["grad_tol"] = c.grad_tol;
  j["checkpoints"] = to_string(c.checkpoints);
  j["num_checkpoints"] = c.num_checkpoints;
  j["max_singular_values"] = c.max_singular_values;
  // Only when set (not the default): a sweep point's id hashes the resolved config, and a key every
  // config carries would change every id and stop an older interrupted sweep from resuming.
  if (c.no_spectra) j["no_spectra"] = true;
  if (dopri5 && r.error_norm != ErrorNorm::kMax) j["error_norm"] = to_string(r.error_norm);
  j["format"] = to_string(c.format);
  j["out"] = or_null(!c.out.empty(), c.out);
  j["save_state"] = or_null(!c.save_state.empty(), c.save_state);
  j["quiet"] = c.quiet;
  j["check_theory"] = c.check_theory;
  j["theory_tol"] = or_null(c.check_theory, r.theory_tol);
  return j;
}

DeepUfmSpec deep_spec(const ResolvedConfig& r) {
  const RunConfig& c = r.given;
  DeepUfmSpec spec;
  spec.K = c.classes;
  spec.dim = c.dim;
  spec.widths = r.widths;
  spec.activation = c.activation;
  spec.loss = c.loss;
  spec.bias = c.bias;
  spec.lambda_h = r.lambda.h;
  spec.lambda_w = r.lambda_layers;
  spec.lambda_w.push_back(r.lambda.w);
  spec.lambda_b = r.lambda.b;
  spec.freeze_classifier = c.fixed_classifier == FixedClassifier::kEtf;
  return spec;
}

nlohmann::ordered_json model_json(const ResolvedConfig& config) {
  static const std::set<std::string> run_only = {
      "init_scale", "seed", "init_state", "dynamics", "integrator", "dt", "abs_tol", "rel_tol", "error_norm", "time",
      "max_steps", "lr", "steps", "momentum", "grad_tol", "checkpoints", "num_checkpoints", "max_singular_values",
      "format", "save_state", "quiet", "check_theory", "theory_tol"};
  nlohmann::ordered_json all = to_json(config), j;
  for (const auto& [key, value] : all.items())
    if (!run_only.count(key)) j[key] = value;
  return j;
}

std::string_view to_string(Dynamics d) {
  switch (d) {
    case Dynamics::kFlow: return "flow";
    case Dynamics::kGd: return "gd";
    case Dynamics::kMomentum: return "momentum";
  }
  return "flow";
}
std::string_view to_string(Integrator i) { return i == Integrator::kRk4 ? "rk4" : "dopri5"; }
std::string_view to_string(ErrorNorm n) { return n == ErrorNorm::kMax ? "max" : "rms"; }
std::string_view to_string(Spacing s) { return s == Spacing::kLog ? "log" : "linear"; }
std::string_view to_string(OutputFormat f) { return f == OutputFormat::kJson ? "json" : "jsonl"; }
std::string_view to_string(FixedClassifier f) { return f == FixedClassifier::kNone ? "none" : "etf"; }

}  // namespace ufm
