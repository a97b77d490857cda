#include "ufm/sweep/run_point.hpp"

#include <stdexcept>

#include "ufm/app/exit_status.hpp"
#include "ufm/app/simulate.hpp"
#include "ufm/app/steady_seconds.hpp"
#include "ufm/app/theory_command.hpp"
#include "ufm/app/trajectory_writer.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/io/atomic_file.hpp"
#include "ufm/theory/toy_flow.hpp"
#include "ufm/version.hpp"

namespace ufm::sweep {
namespace {

using Json = nlohmann::ordered_json;

Json line_start(const SweepPoint& point) {
  Json line;
  line["type"] = "point";
  line["index"] = point.index;
  line["id"] = point.id;
  line["values"] = point.values;
  line["config"] = point.resolved->config;
  return line;
}

void run_simulation(const SweepPoint& point, bool keep, const std::atomic<bool>* stop, PointOutcome& out) {
  const ResolvedConfig& config = point.resolved->run;
  InitialModel init = initial_model(config);
  const DeepUfmObjective f = make_objective(config, init.labels);
  TrajectoryWriter writer{TrajectoryWriter::InMemory{}};
  const SimulationResult result = simulate(config, f, std::move(init.theta), writer, false, stop);
  const Json& doc = writer.document();
  if (result.summary.status == RunStatus::kStopped && stop && stop->load()) {
    out.stopped = true;
    return;
  }
  int exit_status = kExitOk;
  if (result.summary.status == RunStatus::kDiverged) exit_status = kExitDiverged;
  else if (result.theory_pass == false) exit_status = kExitTheoryFailed;
  out.line["status"] = to_string(result.summary.status);
  out.line["exit_status"] = exit_status;
  out.line["message"] = result.summary.message;
  out.line["final"] = result.final;
  if (doc.contains("theory_check")) out.line["theory_check"] = doc["theory_check"];
  out.failed = exit_status != kExitOk;
  if (keep) out.document = doc;
}

void run_theory(const SweepPoint& point, bool keep, PointOutcome& out) {
  const TheoryOutcome theory = predict_for(point.resolved->run);
  const Json prediction = prediction_json(theory);
  out.line["status"] = theory.outcome.prediction ? "predicted" : "no_prediction";
  out.line["exit_status"] = kExitOk;
  out.line["message"] = prediction.contains("reason") ? prediction["reason"] : Json("");
  out.line["prediction"] = prediction["prediction"];
  if (keep) {
    out.document["ufm_sim_version"] = kVersion;
    out.document["command"] = "theory";
    out.document["config"] = point.resolved->config;
    out.document["seed"] = nullptr;  // a closed form: nothing is drawn
    out.document.update(prediction);
  }
}

void run_toy(const SweepPoint& point, bool keep, PointOutcome& out) {
  const ToyFlowResult result = run_toy_flow(point.resolved->toy);
  const bool diverged = result.summary.status == RunStatus::kDiverged;
  out.line["status"] = to_string(result.summary.status);
  out.line["exit_status"] = diverged ? kExitDiverged : kExitOk;
  out.line["message"] = result.summary.message;
  Json final = Json::object();
  if (!result.trajectory.empty()) {
    const ToyCheckpoint& c = result.trajectory.back();
    final = {{"t", c.t}, {"a", c.a}, {"risk", c.risk}, {"gap", c.gap}, {"error", c.error}};
  }
  final["limit"] = result.limit;
  out.line["final"] = std::move(final);
  out.failed = diverged;
  if (keep) {
    out.document["ufm_sim_version"] = kVersion;
    out.document["command"] = "toy";
    out.document.update(to_json(result, point.resolved->toy));
  }
}

}  // namespace

PointOutcome run_point(SweepCommand command, const SweepPoint& point, bool keep_document,
                       const std::atomic<bool>* stop_request) {
  if (!point.resolved)
    throw std::invalid_argument("run_point: point " + std::to_string(point.index) + " was not kept resolved");
  const double start = steady_seconds();
  PointOutcome out;
  out.line = line_start(point);
  try {
    switch (command) {
      case SweepCommand::kRun:
        run_simulation(point, keep_document, stop_request, out);
        break;
      case SweepCommand::kTheory:
        run_theory(point, keep_document, out);
        break;
      case SweepCommand::kToy:
        run_toy(point, keep_document, out);
        break;
    }
  } catch (const std::exception& e) {
    const bool input = dynamic_cast<const ConfigError*>(&e) || dynamic_cast<const io::IoError*>(&e);
    out.line = line_start(point);
    out.line["status"] = "error";
    out.line["exit_status"] = input ? kExitBadInput : kExitInternal;
    out.line["message"] = e.what();
    out.line["final"] = nullptr;
    out.failed = true;
    out.document = Json();
  }
  const double wall = steady_seconds() - start;
  out.line["wall_seconds"] = wall;
  if (keep_document && !out.document.is_null() && !out.document.contains("wall_seconds")) out.document["wall_seconds"] = wall;
  return out;
}

}  // namespace ufm::sweep
