#pragma once
/// One sweep point, run in this process: the same entry points as `ufm-sim run` / `theory` / `toy`
/// (initial_model, make_objective, simulate; predict_for; run_toy_flow), with the output document
/// kept in memory instead of printed.
#include <atomic>

#include <nlohmann/json.hpp>

#include "ufm/sweep/grid.hpp"

namespace ufm::sweep {

struct PointOutcome {
  /// {"type": "point", "index", "id", "values", "config", "status", "exit_status", "message",
  ///  "final" (run, toy) or "prediction" (theory), ["theory_check"], "wall_seconds"}
  nlohmann::ordered_json line;
  nlohmann::ordered_json document;  ///< the whole output document (when asked for)
  bool stopped = false;             ///< stopped by stop_request: not a result, never written
  bool failed = false;              ///< exit_status != 0 (diverged, theory mismatch, error)
};

/// Runs `point` single-threaded-ish (the caller decides the OpenMP context) and never prints.
/// \param stop_request passed to the dynamics: a run that sees it ends as "stopped".
/// Exceptions of the run are caught and recorded as status "error" (exit_status 1, or 2 for an
/// unreadable --init-state). `point` must have been kept resolved (std::invalid_argument otherwise).
PointOutcome run_point(SweepCommand command, const SweepPoint& point, bool keep_document,
                       const std::atomic<bool>* stop_request);

}  // namespace ufm::sweep
