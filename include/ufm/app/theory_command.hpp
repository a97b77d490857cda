#pragma once
/// `ufm-sim theory` and `run --check-theory`: the closed-form prediction for a configured model,
/// and its comparison with where a simulation ended.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/config/run_config.hpp"
#include "ufm/theory/two_layer_prediction.hpp"
#include "ufm/theory/ufm_predictions.hpp"

namespace ufm {

/// A prediction of theory.md §5 for a configured model: (a), (b), (d) for one layer, (c) for two
/// linear layers (then `two_layer` holds ‖W₁‖ and its spectra too).
struct TheoryOutcome {
  PredictionOutcome outcome;  ///< outcome.prediction is the common summary (for (c): W = W₂, H = H₁)
  std::optional<TwoLayerPrediction> two_layer;
};

/// The prediction for this model, or the assumption that fails (imbalance, a fixed classifier,
/// d < K, a zero weight decay, a regularized bias, ReLU layers, L ≥ 3, ...).
TheoryOutcome predict_for(const ResolvedConfig& config);

/// {"prediction": {...}} or {"prediction": null, "reason": "..."}.
nlohmann::ordered_json prediction_json(const TheoryOutcome& theory);

/// Relative error (absolute where the prediction is 0) of the minimum value, ‖W‖, ‖H‖ (H₁ for a
/// deep model), ‖b‖, the eigenvalues of W Wᵀ, the singular values of W H̄ (W₂W₁H̄₁ for (c)) and, for
/// (c), ‖W₁‖, against the final checkpoint, with pass/fail against tol:
/// {"tolerance", "pass", "quantities": {name: {"predicted", "simulated", "error", "pass"}}}.
nlohmann::ordered_json check_against(const TheoryOutcome& theory, const nlohmann::ordered_json& final_checkpoint,
                                     double tol);

/// `ufm-sim theory [model options]`: prints the prediction as JSON. Returns the exit status
/// (0, also when there is no closed form; 2 on bad options).
int theory_command(const std::vector<std::string>& args);

}  // namespace ufm
