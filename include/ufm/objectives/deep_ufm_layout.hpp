#pragma once
/// The deep / extended unconstrained features model of theory.md §1 (`--layers L`): its
/// specification, and where H₁, W_1..W_L and b live in the flat parameter vector.
///   A_l = W_l S_{l−1}, S_l = σ(A_l) (l = 1..L−1), S₀ = H₁;  Z = W_L S_{L−1} + b 1ᵀ.
#include <vector>

#include "ufm/linalg.hpp"
#include "ufm/objectives/layer_stack.hpp"
#include "ufm/objectives/model_spec.hpp"

namespace ufm {

struct DeepUfmSpec {
  Index K = 0;                     ///< classes
  Index dim = 0;                   ///< d₀, rows of H₁
  std::vector<Index> widths;       ///< d₁..d_{L−1} (size L−1; empty for L = 1)
  Activation activation = Activation::kLinear;
  Loss loss = Loss::kMse;
  BiasMode bias = BiasMode::kNone;
  double lambda_h = 0.0;           ///< on H₁
  std::vector<double> lambda_w;    ///< size L: λ_1..λ_L (λ_L = classifier)
  double lambda_b = 0.0;           ///< ignored (0) unless bias == kRegularized
  bool freeze_classifier = false;  ///< W_L is a constant (fixed ETF classifier): zero gradient
  /// Linear layers through the layer stack even where the end-to-end product is cheaper
  /// (DeepUfmObjective::end_to_end): for checks and for timing the layered products.
  bool layered = false;
  Index layers() const { return static_cast<Index>(widths.size()) + 1; }
};

/// theta = [vec H₁ (d₀×N) | vec W_1 (d₁×d₀) | … | vec W_L (K×d_{L−1}) | b (K, only with a bias)],
/// every block column-major: the layer stack's layout with H₁ as its bottom block. With L = 1 this
/// is exactly UfmLayout.
struct DeepUfmLayout : LayerStackLayout {
  Index N = 0;  ///< samples

  DeepUfmLayout() = default;
  /// Shapes only; DeepUfmObjective validates the spec.
  DeepUfmLayout(const DeepUfmSpec& spec, Index N);

  ConstMatMap H1(const Vec& t) const { return {t.data(), dims[0], N}; }
  MatMap H1(Vec& t) const { return {t.data(), dims[0], N}; }
};

}  // namespace ufm
