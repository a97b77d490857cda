#pragma once
/// Closed-form global minimizers of the one-layer UFM (theory.md §5 (a), (b), (d)).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/linalg.hpp"
#include "ufm/objectives/model_spec.hpp"

namespace ufm {

/// The model a prediction is asked for: balanced classes of n samples.
struct PredictionInput {
  Index K = 0, n = 0, d = 0;
  Loss loss = Loss::kMse;
  BiasMode bias = BiasMode::kNone;
  Regularization lambda;
};

/// Summary of the global minimizers. Norms are Frobenius norms; spectra are descending.
struct Prediction {
  std::string theorem;      ///< "a" | "b" | "d" (theory.md §5)
  std::string description;
  double min_value = 0;     ///< F*
  double scale = 0;         ///< s for MSE (W H̄ = s·…), margin p for CE
  bool zero_solution = false;  ///< the global minimizer is W = 0, H = 0
  double w_norm = 0, h_norm = 0;
  std::optional<double> b_norm;  ///< null where b is not determined (CE, free bias: only up to c·1)
  std::vector<double> wwt_eigenvalues;     ///< K eigenvalues of W Wᵀ
  std::vector<double> wh_singular_values;  ///< K singular values of W H̄ (H̄: class means, d×K)
  nlohmann::ordered_json thresholds;       ///< the quantities deciding zero vs nonzero
};

/// A prediction, or the reason why theory.md has no closed form for this model.
struct PredictionOutcome {
  std::optional<Prediction> prediction;
  std::string reason;  ///< set when prediction is empty
};

PredictionOutcome predict_ufm(const PredictionInput& input);

nlohmann::ordered_json to_json(const Prediction& p);

}  // namespace ufm
