#include "ufm/app/simulate.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <cmath>
#include <iostream>
#include <sstream>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ufm/app/checkpoint_report.hpp"
#include "ufm/app/environment.hpp"
#include "ufm/app/exit_status.hpp"
#include "ufm/app/interrupt.hpp"
#include "ufm/app/output_paths.hpp"
#include "ufm/app/progress_bar.hpp"
#include "ufm/app/run_timing.hpp"
#include "ufm/app/steady_seconds.hpp"
#include "ufm/app/theory_command.hpp"
#include "ufm/config/cli.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/config/resources.hpp"
#include "ufm/dynamics/gradient_descent.hpp"
#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/dynamics/observer.hpp"
#include "ufm/dynamics/schedule.hpp"
#include "ufm/io/atomic_file.hpp"
#include "ufm/io/state_dir.hpp"
#include "ufm/metrics/nc.hpp"
#include "ufm/metrics/snapshot.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/simplex_etf.hpp"
#include "ufm/random.hpp"
#include "ufm/version.hpp"

namespace ufm {
namespace {

nlohmann::ordered_json model_json(const DeepUfmObjective& f) {
  const DeepUfmLayout& L = f.layout();
  nlohmann::ordered_json m;
  m["K"] = L.K;
  m["d"] = L.dims.front();
  m["N"] = L.N;
  m["layers"] = L.layers();
  m["dims"] = L.dims;
  m["class_counts"] = class_counts(f.labels(), L.K);
  m["num_params"] = f.num_params();
  return m;
}


std::string short_number(const nlohmann::ordered_json& v) {
  if (!v.is_number()) return "null";
  std::ostringstream s;
  s.precision(3);
  s << v.get<double>();
  return s.str();
}

}  // namespace

InitialModel initial_model(const ResolvedConfig& config) {
  const RunConfig& c = config.given;
  InitialModel m;
  m.labels = block_labels(config.class_counts);
  const DeepUfmSpec spec = deep_spec(config);
  const DeepUfmLayout layout(spec, static_cast<Index>(m.labels.size()));
  const Index L = layout.layers();
  resize_large(m.theta, layout.size());
  if (c.init_state.empty()) {
    fill_gaussian(m.theta, c.init_scale, c.seed);
    if (c.fixed_classifier == FixedClassifier::kEtf)
      layout.W(L, m.theta) = simplex_etf_classifier(layout.K, layout.cols(L), config.classifier_norm);
    return m;
  }
  // H.npy is H₁ (d₀×N), W1.npy … the hidden weights, W.npy the classifier W_L (K×d_{L−1}).
  const std::vector<Index> dims(layout.dims.begin(), layout.dims.end() - 1);
  io::ModelState state = io::load_state(c.init_state, dims, layout.N, layout.K, layout.has_bias);
  if (class_counts(state.labels, layout.K) != class_counts(m.labels, layout.K))
    throw ConfigError("--init-state", c.init_state,
                      "a state whose labels have the configured class counts " +
                          nlohmann::json(class_counts(m.labels, layout.K)).dump() + "; its labels.npy has " +
                          nlohmann::json(class_counts(state.labels, layout.K)).dump());
  m.labels = std::move(state.labels);
  layout.H1(m.theta) = state.H;
  for (Index l = 1; l < L; ++l) layout.W(l, m.theta) = state.hidden[l - 1];
  layout.W(L, m.theta) = state.W;
  if (layout.has_bias) layout.b(m.theta) = state.b;
  // A fixed classifier is the simplex ETF whatever W.npy holds: --fixed-classifier etf trains H (and
  // the hidden weights, b) from the state against the ETF, as it does from a random init.
  if (c.fixed_classifier == FixedClassifier::kEtf)
    layout.W(L, m.theta) = simplex_etf_classifier(layout.K, layout.cols(L), config.classifier_norm);
  return m;
}

DeepUfmObjective make_objective(const ResolvedConfig& config, std::vector<int> labels) {
  return DeepUfmObjective(deep_spec(config), std::move(labels));
}

void save_model_state(const ResolvedConfig& config, const DeepUfmObjective& f, const Vec& theta) {
  const DeepUfmLayout& L = f.layout();
  const Index layers = L.layers();
  io::ModelState state{L.H1(theta), L.W(layers, theta), {}, L.b(theta),
                       std::vector<int>(f.labels().begin(), f.labels().end()),
                       {{"ufm_sim_version", kVersion}, {"config", to_json(config)}},
                       {}};
  for (Index l = 1; l < layers; ++l) state.hidden.emplace_back(L.W(l, theta));
  io::save_state(config.given.save_state, state);
}

SimulationResult simulate(const ResolvedConfig& config, const DeepUfmObjective& f, Vec theta, TrajectoryWriter& writer,
                          bool progress, const std::atomic<bool>* stop_request) {
  const double start = steady_seconds();
  const RunConfig& c = config.given;
  nlohmann::ordered_json header;
  header["ufm_sim_version"] = kVersion;
  header["command"] = "run";
  header["config"] = to_json(config);
  header["seed"] = c.init_state.empty() ? nlohmann::ordered_json(c.seed) : nlohmann::ordered_json(nullptr);
  header["model"] = model_json(f);
  header["environment"] = environment_json();
  writer.header(header);

  const MetricOptions metric_options{c.max_singular_values, !c.no_spectra};
  ProgressBar bar(progress);
  const double horizon = c.dynamics == Dynamics::kFlow ? config.time : static_cast<double>(config.steps);
  SimulationResult result;
  auto observe = [&](const Checkpoint& cp) {
    nlohmann::ordered_json j = checkpoint_report(f, cp, metric_options);
    const double done = c.dynamics == Dynamics::kFlow ? cp.time : static_cast<double>(cp.step);
    bar.update(horizon > 0 ? done / horizon : 1.0,
               "step " + std::to_string(cp.step) + " nc1=" + short_number(j["nc1"]) +
                   " F=" + short_number(j["objective"]));
    writer.checkpoint(j);
    result.final = std::move(j);
    return ObserverAction::kContinue;
  };
  RunTiming timing;
  auto timed_observe = timing.timed(observe);

  if (c.dynamics == Dynamics::kFlow) {
    GradientFlow::Options o;
    o.integrator = config.integrator;
    o.dt = config.dt;
    o.abs_tol = config.abs_tol;
    o.rel_tol = config.rel_tol;
    o.error_norm = config.error_norm;
    o.max_time = config.time;
    o.max_steps = config.max_steps;
    o.grad_tol = c.grad_tol;
    o.stop_request = stop_request;
    const std::vector<double> times = flow_checkpoint_times(config.integrator == Integrator::kRk4, config.time,
                                                             config.dt, c.num_checkpoints, c.checkpoints);
    // One layer: the flow drives the UfmObjective itself, which forms each stage point (and dopri5's
    // error norm) inside its pass over H; bit for bit the DeepUfmObjective's flow, one pass fewer
    // per stage. Linear layers end to end: an EndToEndFlowObjective, which forms a stage point's H₁
    // inside the one-layer pass the same way. The report still reads f.
    result.summary = timing.time_run([&] {
      return with_flow_objective(
          f, [&](const auto& objective) { return GradientFlow(o).run(objective, theta, times, timed_observe); });
    });
  } else {
    GradientDescent::Options o;
    o.lr = config.lr;
    o.max_steps = config.steps;
    o.momentum = config.momentum;
    o.grad_tol = c.grad_tol;
    o.stop_request = stop_request;
    const std::vector<long> steps = checkpoint_steps(config.steps, c.num_checkpoints, c.checkpoints);
    result.summary = timing.time_run([&] { return GradientDescent(o).run(f, theta, steps, timed_observe); });
  }
  bar.done();
  name_the_signal(result.summary);  // "stopped by SIGINT at step ..."

  nlohmann::ordered_json footer;
  footer["final"] = result.final;
  footer["status"] = to_string(result.summary.status);
  footer["message"] = result.summary.message;
  footer["summary"] = {{"steps", result.summary.steps},
                       {"time", result.summary.time},
                       {"gradient_evaluations", result.summary.gradient_evaluations}};
  const bool ended = result.summary.status != RunStatus::kDiverged && result.summary.status != RunStatus::kStopped;
  if (c.check_theory && ended) {  // a diverged or interrupted run has no final state to judge
    const TheoryOutcome theory = predict_for(config);
    footer["theory"] = prediction_json(theory);
    footer["theory_check"] = nullptr;
    if (theory.outcome.prediction) {
      footer["theory_check"] = check_against(theory, result.final, config.theory_tol);
      result.theory_pass = footer["theory_check"]["pass"].get<bool>();
    }
  }
  footer["timing"] = to_json(timing);
  footer["wall_seconds"] = steady_seconds() - start;
  writer.finish(footer);
  result.theta = std::move(theta);
  return result;
}

int run_command(const std::vector<std::string>& args) {
  ResolvedConfig config;
  InitialModel init;
  std::unique_ptr<TrajectoryWriter> writer;
  try {
    const ParsedRun parsed = parse_run_options(args);
    if (parsed.help) {
      std::cout << parsed.help_text;
      return kExitOk;
    }
    validate(parsed.config);
    require_memory(parsed.config, estimated_run_bytes(parsed.config), "the run");  // before anything is allocated
    config = resolve(parsed.config);
    if (config.given.check_theory) {  // nothing to check against: say so before any work
      const TheoryOutcome theory = predict_for(config);
      if (!theory.outcome.prediction)
        throw ConfigError("--check-theory: no closed form applies to this model (" + theory.outcome.reason +
                              "); drop --check-theory, or see ufm-sim theory",
                          "--check-theory");
    }
    init = initial_model(config);
    // Every check before anything is created: the state directory is made only when saving.
    check_output_paths(config.given.out, config.given.save_state);
    // From here a SIGINT / SIGTERM stops the run after its current step, with every output written.
    install_interrupt_handlers();
    writer = std::make_unique<TrajectoryWriter>(config.given.format, config.given.out);  // jsonl: opens the temp file
  } catch (const ConfigError& e) {
    std::cerr << "ufm-sim: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim: error: " << e.what() << "\n";
    return kExitBadInput;
  }
  const DeepUfmObjective f = make_objective(config, init.labels);
  const bool progress = !config.given.quiet && stderr_is_terminal();
  const SimulationResult result = simulate(config, f, std::move(init.theta), *writer, progress, interrupt_flag());
  // Saved whatever the status: a diverged run keeps its last finite state, a stopped one its last.
  try {
    if (!config.given.save_state.empty()) save_model_state(config, f, result.theta);
  } catch (const io::IoError& e) {  // the trajectory is written; the state could not be (disk full, ...)
    throw io::IoError(std::string("--save-state: ") + e.what());
  }
  if (result.summary.status == RunStatus::kDiverged) {
    std::cerr << "ufm-sim: diverged: " << result.summary.message << "\n";
    return kExitDiverged;
  }
  if (result.summary.status == RunStatus::kStopped && interrupt_requested()) {
    std::cerr << "ufm-sim: " << result.summary.message << "\n";
    return exit_status_for_signal(interrupt_signal());
  }
  if (result.theory_pass == false) {
    std::cerr << "ufm-sim: the final state does not match the theory.md §5 prediction within --theory-tol "
              << config.theory_tol << " (see theory_check)\n";
    return kExitTheoryFailed;
  }
  return kExitOk;
}

}  // namespace ufm
