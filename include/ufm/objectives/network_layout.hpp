#pragma once
/// The real network of theory.md §1 (`ufm-sim net`): a homogeneous (bias-free) MLP
///   x ↦ W_L σ(W_{L−1} ⋯ σ(W_1 x)) (+ b on the output layer only, with last_bias),
/// its specification, and where W_1..W_L and b live in the flat parameter vector. It is the deep
/// UFM's layer stack with the data X at the bottom instead of free features H₁.
#include <utility>
#include <vector>

#include "ufm/linalg.hpp"
#include "ufm/objectives/layer_stack.hpp"
#include "ufm/objectives/model_spec.hpp"

namespace ufm {

struct NetworkSpec {
  Index input_dim = 0;                        ///< d₀, rows of the data X
  std::vector<Index> widths;                  ///< hidden widths d₁..d_{L−1} (empty: a linear classifier)
  Index K = 0;                                ///< classes, the output width
  Activation activation = Activation::kRelu;  ///< σ between layers (linear: a deep linear network)
  Loss loss = Loss::kCrossEntropy;
  bool last_bias = false;                     ///< a bias b (K) on the output layer only
  std::vector<double> lambda_w;               ///< size L: λ_1..λ_L (λ_L on the output layer)
  double lambda_b = 0.0;                      ///< on b (only with last_bias)
  Index layers() const { return static_cast<Index>(widths.size()) + 1; }
};

/// theta = [vec W_1 (d₁×d₀) | … | vec W_L (K×d_{L−1}) | b (K, only with last_bias)], every block
/// column-major: the layer stack's layout with no bottom block (the bottom is data, not a parameter).
struct NetworkLayout : LayerStackLayout {
  NetworkLayout() = default;
  /// Shapes only; NetworkObjective validates the spec.
  explicit NetworkLayout(const NetworkSpec& spec) : LayerStackLayout(dims_of(spec), spec.last_bias, 0) {}

 private:
  static std::vector<Index> dims_of(const NetworkSpec& spec) {
    std::vector<Index> dims{spec.input_dim};
    dims.insert(dims.end(), spec.widths.begin(), spec.widths.end());
    dims.push_back(spec.K);
    return dims;
  }
};

}  // namespace ufm
