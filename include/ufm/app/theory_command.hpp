#pragma once
/// `ufm-sim theory` and `run --check-theory`: the closed-form prediction for a configured model,
/// and its comparison with where a simulation ended.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/config/run_config.hpp"
#include "ufm/theory/ufm_predictions.hpp"

namespace ufm {

/// The theory.md §5 prediction for this model, or the assumption that fails (imbalance, a fixed
/// classifier, d < K, a zero weight decay, a regularized bias, ReLU layers, ...).
PredictionOutcome predict_for(const ResolvedConfig& config);

/// {"prediction": {...}} or {"prediction": null, "reason": "..."}.
nlohmann::ordered_json prediction_json(const PredictionOutcome& outcome);

/// Relative error (absolute where the prediction is 0) of the minimum value, ‖W‖, ‖H‖, ‖b‖, the
/// eigenvalues of W Wᵀ and the singular values of W H̄ against the final checkpoint, and pass/fail
/// against tol: {"tolerance", "pass", "quantities": {name: {"predicted", "simulated", "error", "pass"}}}.
nlohmann::ordered_json check_against(const Prediction& prediction, const nlohmann::ordered_json& final_checkpoint,
                                     double tol);

/// `ufm-sim theory [model options]`: prints the prediction as JSON. Returns the exit status
/// (0, also when there is no closed form; 2 on bad options).
int theory_command(const std::vector<std::string>& args);

}  // namespace ufm
