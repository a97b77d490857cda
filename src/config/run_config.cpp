#include "ufm/config/run_config.hpp"

#include <cmath>
#include <sstream>

#include "ufm/config/config_error.hpp"

namespace ufm {
namespace {

std::string number(double x) {
  std::ostringstream s;
  s.precision(17);
  s << x;
  return s.str();
}

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

}  // namespace

void validate(const RunConfig& c) {
  require(c.classes >= 2, "--classes", std::to_string(c.classes), "an integer >= 2");
  require(c.per_class >= 1, "--per-class", std::to_string(c.per_class), "an integer >= 1");
  require(c.dim >= 1, "--dim", std::to_string(c.dim), "an integer >= 1");
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

  const bool flow = c.dynamics == Dynamics::kFlow;
  const std::string flow_only = "--dynamics flow";
  reject_for(!flow && c.integrator.has_value(), "--integrator", flow_only, c.dynamics);
  reject_for(!flow && c.dt.has_value(), "--dt", flow_only, c.dynamics);
  reject_for(!flow && c.abs_tol.has_value(), "--abs-tol", flow_only, c.dynamics);
  reject_for(!flow && c.rel_tol.has_value(), "--rel-tol", flow_only, c.dynamics);
  reject_for(!flow && c.time.has_value(), "--time", flow_only, c.dynamics);
  reject_for(!flow && c.max_steps.has_value(), "--max-steps", flow_only + " (use --steps)", c.dynamics);
  reject_for(flow && c.lr.has_value(), "--lr", "--dynamics gd|momentum", c.dynamics);
  reject_for(flow && c.steps.has_value(), "--steps", "--dynamics gd|momentum (use --time)", c.dynamics);
  reject_for(c.dynamics != Dynamics::kMomentum && c.momentum.has_value(), "--momentum", "--dynamics momentum",
             c.dynamics);
  if (flow && c.integrator == Integrator::kRk4) {
    if (c.abs_tol) throw ConfigError("--abs-tol: applies only to --integrator dopri5, not rk4", "--abs-tol");
    if (c.rel_tol) throw ConfigError("--rel-tol: applies only to --integrator dopri5, not rk4", "--rel-tol");
  }
  if (c.dt) require_positive("--dt", *c.dt);
  if (c.abs_tol) require_positive("--abs-tol", *c.abs_tol);
  if (c.rel_tol) require_positive("--rel-tol", *c.rel_tol);
  if (c.time) require_positive("--time", *c.time);
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
  r.lambda.w = c.lambda_w.value_or(c.lambda);
  r.lambda.h = c.lambda_h.value_or(c.lambda);
  r.lambda.b = c.bias == BiasMode::kRegularized ? c.lambda_b.value_or(c.lambda) : 0.0;
  using D = DynamicsDefaults;
  if (c.dynamics == Dynamics::kFlow) {
    r.integrator = c.integrator.value_or(D::kIntegrator);
    r.dt = c.dt.value_or(D::kDt);
    r.abs_tol = c.abs_tol.value_or(D::kAbsTol);
    r.rel_tol = c.rel_tol.value_or(D::kRelTol);
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
  j["classes"] = c.classes;
  j["per_class"] = c.per_class;
  j["dim"] = c.dim;
  j["loss"] = to_string(c.loss);
  j["bias"] = to_string(c.bias);
  j["lambda"] = c.lambda;
  j["lambda_w"] = r.lambda.w;
  j["lambda_h"] = r.lambda.h;
  j["lambda_b"] = or_null(c.bias != BiasMode::kNone, r.lambda.b);
  j["init_scale"] = c.init_scale;
  j["seed"] = c.seed;
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
  j["format"] = to_string(c.format);
  j["out"] = or_null(!c.out.empty(), c.out);
  j["save_state"] = or_null(!c.save_state.empty(), c.save_state);
  j["quiet"] = c.quiet;
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
std::string_view to_string(Spacing s) { return s == Spacing::kLog ? "log" : "linear"; }
std::string_view to_string(OutputFormat f) { return f == OutputFormat::kJson ? "json" : "jsonl"; }

}  // namespace ufm
