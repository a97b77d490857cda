#pragma once
/// The one-layer unconstrained features model of theory.md §1–2:
///   F(H, W, b) = (1/N) Σ_i l(W h_i + b, y_i) + (λ_W/2)||W||² + (λ_H/2)||H||² + (λ_b/2)||b||².
#include <span>
#include <vector>

#include "ufm/linalg.hpp"
#include "ufm/objectives/model_spec.hpp"
#include "ufm/objectives/ufm_layout.hpp"

namespace ufm {

class UfmObjective {
 public:
  /// \param labels y_i in [0, K), one per sample (N = labels.size()).
  /// \param freeze_w when true, W is a constant: its gradient is zero (fixed classifiers).
  UfmObjective(Index K, Index d, std::vector<int> labels, Loss loss, BiasMode bias, Regularization lambda,
               bool freeze_w = false);

  Index num_params() const { return layout_.size(); }
  const UfmLayout& layout() const { return layout_; }
  std::span<const int> labels() const { return labels_; }
  Loss loss() const { return loss_; }
  BiasMode bias() const { return bias_; }
  const Regularization& lambda() const { return lambda_; }

  double value(const Vec& theta) const;
  /// \param grad Out: dF/dtheta; resized only if its size is wrong (never in a step loop).
  double value_and_gradient(const Vec& theta, Vec& grad) const;
  ObjectiveParts parts(const Vec& theta) const;
  /// Logits Z = W H + b 1ᵀ (K×N), written into Z.
  void logits(const Vec& theta, Mat& Z) const;

 private:
  UfmLayout layout_;
  std::vector<int> labels_;
  Loss loss_;
  BiasMode bias_;
  Regularization lambda_;
  bool freeze_w_;
  mutable Mat Z_;  ///< K×N workspace: logits, then the residual
};

}  // namespace ufm
