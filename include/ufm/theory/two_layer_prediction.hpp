#pragma once
/// Closed-form global minimizers of the extended 2-layer linear UFM, MSE, bias-free
/// (Tirer & Bruna; theory.md §5 (c)):
///   F = (1/(2N))‖W₂W₁H₁ − Y‖²_F + (λ_{W2}/2)‖W₂‖²_F + (λ_{W1}/2)‖W₁‖²_F + (λ_{H1}/2)‖H₁‖²_F,
/// W₂: K×d₁, W₁: d₁×d₀, H₁: d₀×N, K balanced classes of n samples (N = Kn).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/linalg.hpp"
#include "ufm/theory/ufm_predictions.hpp"

namespace ufm {

/// The model a prediction is asked for.
struct TwoLayerInput {
  Index K = 0, n = 0, d0 = 0, d1 = 0;
  double lambda_w2 = 0, lambda_w1 = 0, lambda_h1 = 0;
};

/// \f$2^{-4/3}\f$: the nonzero solution is the unique global minimum iff κ is below it.
inline constexpr double kTwoLayerKappaThreshold = 0.39685026299204984;

/// The scalar problem: s minimizes φ(s) = ½(1 − s)² + (3/2)κ s^{2/3} over s ≥ 0.
struct TwoLayerSolution {
  double kappa = 0;
  double s = 0;                     ///< the global minimizer (0 on the zero solution)
  bool zero_solution = true;        ///< κ ≥ 2^{−4/3}: s = 0 (at equality s = ½ ties)
  double min_value = 0;             ///< φ(s)
  std::vector<double> stationary_s; ///< u³ for every root u ≥ 0 of u⁴ − u + κ = 0, ascending
};

/// φ(s) = ½(1 − s)² + (3/2)κ s^{2/3}.
double two_layer_phi(double kappa, double s);

/// Roots of g(u) = u⁴ − u + κ on [0, 1]: g(0) = g(1) = κ ≥ 0 and g is convex with its minimum at
/// u* = 4^{−1/3}, so there are none (g(u*) > 0), one double root u*, or one root in each of
/// [0, u*] and [u*, 1]; each is found by bisection to adjacent doubles. The larger root is the
/// local minimum of φ, the smaller a local maximum. The decision zero/nonzero is the theorem's
/// (κ < 2^{−4/3}), which equals comparing φ at the larger root with φ(0) = ½.
/// Throws std::invalid_argument unless κ is finite and ≥ 0.
TwoLayerSolution solve_two_layer(double kappa);

/// The full prediction: `base` is filled as for §5 (a) with W := W₂, H := H₁:
///   theorem "c", min_value F*, scale s (W₂W₁H̄₁ = s I_K), w_norm = ‖W₂‖_F, h_norm = ‖H₁‖_F,
///   b_norm = 0, wwt_eigenvalues: K eigenvalues of W₂W₂ᵀ, wh_singular_values: K singular values
///   of W₂W₁H̄₁ (H̄₁: class means, d₀×K; those of W₂W₁H₁ are √n times larger).
struct TwoLayerPrediction {
  Prediction base;
  double w1_norm = 0;                      ///< ‖W₁‖_F
  std::vector<double> w1_singular_values;  ///< min(d₁, d₀) singular values of W₁, descending
  std::vector<double> h1_singular_values;  ///< K singular values of H₁ (= √n × those of H̄₁)
};

struct TwoLayerPredictionOutcome {
  std::optional<TwoLayerPrediction> prediction;
  std::string reason;  ///< set when prediction is empty
};

/// Needs K ≥ 2, n ≥ 1, d₀ ≥ K, d₁ ≥ K and every λ > 0; otherwise returns the reason.
TwoLayerPredictionOutcome predict_two_layer(const TwoLayerInput& input);

/// to_json(base) plus "kappa", "w1_norm", "w1_singular_values", "h1_singular_values".
nlohmann::ordered_json to_json(const TwoLayerPrediction& p);

}  // namespace ufm
