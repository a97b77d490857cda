#pragma once
/// The deep / extended UFM objective of theory.md §2:
///   F = (1/N) Σ_i l(z_i, y_i) + (λ_H/2)||H₁||² + Σ_{l=1..L} (λ_l/2)||W_l||² + (λ_b/2)||b||²,
/// with Z = W_L S_{L−1} + b 1ᵀ (see deep_ufm_layout.hpp). L = 1 is the one-layer UfmObjective,
/// with the same theta layout, value and gradient.
///
/// Evaluation is one pass of the LayerStack (layer_stack.hpp) with H₁ as its bottom: over a fixed
/// set of column chunks of H₁ (set by the sizes only), per chunk the forward pass, loss, residual,
/// backward pass, H₁-gradient (the stack's dF/dS₀ with bottom decay λ_H) and partial W-gradients.
/// OpenMP threads take whole chunks and the partials are added in chunk order, so value and
/// gradient are bit-identical for any thread count. NetworkObjective runs the same stack over data.
///
/// Linear layers (L ≥ 2) go another way where it takes fewer flops (K·d₀ < Σ_l d_l d_{l−1}, so
/// whenever every width is at least K): the loss depends on the weights only through the end-to-end
/// classifier P = W_L⋯W_1 (K×d₀), Z = P H₁ + b 1ᵀ. The value and the (H₁, P, b)-gradient are then
/// the one-layer objective's at (H₁, P, b) with no decay on P, and by the chain rule
///   dF/dW_l = (W_L⋯W_{l+1})ᵀ (dF/dP) (W_{l−1}⋯W_1)ᵀ + λ_l W_l,
/// formed through K-row products: O(K d₀ N + L K d²) flops a step instead of O(d² N), 30–50× fewer
/// at the paper size. The same F and ∇F in exact arithmetic; in floating point they differ from the
/// layered pass's in the last bits (the products are associated differently). The features
/// S_l = W_l⋯W_1 H₁ are formed only where they are asked for (feature_levels: the checkpoints).
#include <optional>
#include <span>
#include <vector>

#include "ufm/linalg.hpp"
#include "ufm/objectives/deep_ufm_layout.hpp"
#include "ufm/objectives/layer_stack.hpp"
#include "ufm/objectives/model_spec.hpp"
#include "ufm/objectives/objective.hpp"
#include "ufm/objectives/ufm_objective.hpp"

namespace ufm {

class DeepUfmObjective {
 public:
  /// \param labels y_i in [0, K), one per sample (N = labels.size()).
  /// Throws std::invalid_argument naming the bad field: "DeepUfmObjective: 'widths' must be ...".
  /// A frozen classifier keeps its (constant) penalty in F, like UfmObjective's freeze_w.
  DeepUfmObjective(DeepUfmSpec spec, std::vector<int> labels);

  Index num_params() const { return layout_.size(); }
  const DeepUfmLayout& layout() const { return layout_; }
  const DeepUfmSpec& spec() const { return spec_; }
  std::span<const int> labels() const { return labels_; }

  /// Does not allocate.
  double value(const Vec& theta) const;
  /// One forward and one backward pass into workspaces allocated by the constructor: no allocation.
  /// \param grad Out: dF/dtheta; resized only if its size is wrong (never in a step loop).
  double value_and_gradient(const Vec& theta, Vec& grad) const;
  /// value_and_gradient, and the logits without the bias, logits_t = (W_L S_{L−1})ᵀ (N×K), where the
  /// evaluation forms them in one pass (CheckpointLogitsObjective): one layer (UfmObjective's), and
  /// linear layers end to end, (P H₁)ᵀ; a layer-by-layer stack leaves logits_t empty (0×0).
  double value_gradient_and_logits(const Vec& theta, Vec& grad, Mat& logits_t) const;
  /// F(theta), then theta ← theta − lr ∇F(theta) (DescentStepObjective). L = 1: UfmObjective's
  /// one-pass step; linear end to end: H₁'s step in that objective's pass, then the weights' and b's
  /// from their gradient; else value_and_gradient, then the update. grad: workspace.
  double value_and_descend(Vec& theta, Vec& grad, double lr) const;
  DeepObjectiveParts parts(const Vec& theta) const;
  /// Feature levels for metrics: levels[0] = H₁, levels[l] = S_l (l = 1..L−1); the last is the
  /// penultimate level S_{L−1}, the one the classifier sees. levels is resized to L.
  void feature_levels(const Vec& theta, std::vector<Mat>& levels) const;
  /// The same levels as views, without copying them: levels[0] is H₁ in theta, levels[l] (l ≥ 1) the
  /// objective's own workspace, valid until its next evaluation (a checkpoint report reads them
  /// between two steps; at the paper size the copies were 40 MB of fresh pages per checkpoint).
  void feature_level_views(const Vec& theta, std::vector<ConstMatMap>& levels) const;
  /// Logits Z = W_L S_{L−1} + b 1ᵀ (K×N), written into Z.
  void logits(const Vec& theta, Mat& Z) const;
  /// L = 1: the UfmObjective every call above forwards to (the same θ layout), or null. A gradient
  /// flow drives it directly: it forms each stage point inside its own pass (StagePointObjective,
  /// ErrorNormObjective), which this class does not model for every depth.
  const UfmObjective* one_layer() const { return shallow_ ? &*shallow_ : nullptr; }
  /// True when value and gradient go through the end-to-end classifier (linear layers, see above).
  bool end_to_end() const { return chain_.has_value(); }
  /// End to end only (EndToEndFlowObjective): F and ∇F at a stage point x = Σ a_j x_j, the weights
  /// and b of x formed first (into store, else scratch), then H₁ block by block inside the one-layer
  /// pass (into store when not null). Bit-identical to forming x and value_and_gradient; store and
  /// grad may be sources of x.
  double end_to_end_value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store) const;
  /// The same, and norm receives the error norm `error` describes (ErrorNormObjective): H₁'s scaled
  /// errors block by block in the one-layer pass, the weights' and b's once their gradient is written.
  double end_to_end_value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store,
                                          const ScaledErrorSpec& error, double& norm) const;
  /// Both, and the logits at x without the bias, (P H₁)ᵀ (N×K), from the one-layer pass
  /// (value_gradient_and_logits_at, for a flow's states sure to be observed).
  double end_to_end_value_gradient_and_logits_at(const LinearCombination& x, Vec& grad, double* store,
                                                 Mat& logits_t) const;
  double end_to_end_value_gradient_and_logits_at(const LinearCombination& x, Vec& grad, double* store,
                                                 const ScaledErrorSpec& error, double& norm, Mat& logits_t) const;
  /// end_to_end_value_and_gradient_at, and `update` formed into update_out in the same pass
  /// (UpdateInPassObjective, RK4's state update): H₁'s entries block by block in the one-layer pass
  /// from a scratch block of their gradient (grad's H₁ part is never written), the weights' and b's
  /// once their gradient is written.
  double end_to_end_value_gradient_and_update_at(const LinearCombination& x, Vec& grad, double* store,
                                                 const LinearCombination& update, double* update_out) const;

 private:
  /// One pass of the stack over H₁: fills the levels and the logits and returns the loss sum
  /// Σ_i l(z_i, y_i). With grad: also the W- and b-gradients of the loss and the whole H₁-gradient;
  /// with descend (θ's own storage, whose first block is H₁) H₁ then takes GD's step chunk by chunk.
  double evaluate(const Vec& theta, Vec* grad, double* descend = nullptr, double lr = 0.0) const;
  /// S_l as a view: H₁ for l = 0, else the stack's level l of the last pass.
  ConstMatMap level(Index l, const Vec& theta) const;
  /// Σ of the penalties; per layer into penalty_w when it is not null.
  double penalties(const Vec& theta, DeepObjectiveParts* parts) const;
  /// End to end (chain_): the value of F, and with grad the whole gradient; with descend (== &theta,
  /// with grad), H₁'s descent step of size lr taken in the pass instead of its gradient written (the
  /// weights' and b's gradient still are; they are not updated).
  /// H₁ at H, or (stage, with grad) formed from the stage point in the pass, into store when not
  /// null; W_1, …, W_L, b laid out from `weights` on.
  /// With error (stage only), norm receives the error norm it describes. With logits_t (grad given, no
  /// descent), the one-layer pass hands out (P H₁)ᵀ without the bias, N×K.
  double evaluate_end_to_end(const double* H, const LinearCombination* stage, double* store, const double* weights,
                             Vec* grad, Vec* descend = nullptr, double lr = 0.0, DeepObjectiveParts* parts = nullptr,
                             const ScaledErrorSpec* error = nullptr, double* norm = nullptr,
                             Mat* logits_t = nullptr, const LinearCombination* update = nullptr,
                             double* update_out = nullptr) const;
  /// Every end_to_end_value_and_gradient_at: with error, norm receives its error norm; with logits_t,
  /// the logits; with update, the update into update_out.
  double end_to_end_at(const LinearCombination& x, Vec& grad, double* store, const ScaledErrorSpec* error,
                       double* norm, Mat* logits_t = nullptr, const LinearCombination* update = nullptr,
                       double* update_out = nullptr) const;
  /// θ's weights: W_1, …, W_L, b from θ's entry offsets[1] on.
  const double* weights(const Vec& theta) const { return theta.data() + layout_.offsets[1]; }
  /// End to end: Q_l = W_L⋯W_{l+1} (K×d_l) for l = L−1 … 0, the last (P) into Pb_, b after it.
  void form_end_to_end(const double* weights) const;
  /// Q_l's first entry (l = 0 … L−1): W_L's own for l = L−1, else the workspace's.
  const double* Q(Index l, const double* weights) const;

  DeepUfmSpec spec_;
  std::vector<int> labels_;
  DeepUfmLayout layout_;
  /// L = 1: the (benchmarked, optimized) one-layer objective does value and gradient; same θ layout.
  std::optional<UfmObjective> shallow_;
  LayerStack stack_;  ///< W_1..W_L over N columns: workspaces, chunk plan, partial gradients
  /// Linear layers, end to end: the one-layer objective in (H₁, P, b), λ_W = 0, and its workspaces.
  std::optional<UfmObjective> chain_;
  mutable std::vector<Mat> Q_;  ///< Q_[l] = W_L⋯W_{l+1} (K×d_l), l = 1 … L−2 (W_L itself at L−1)
  mutable Vec Pb_;              ///< [vec P (K×d₀) | b]
  mutable Vec gPb_;             ///< [vec dF/dP | dF/db]
  mutable Mat E_[2];            ///< K×max d: (dF/dP)(W_{l−1}⋯W_1)ᵀ, alternating between l and l + 1
  mutable Vec stage_weights_;   ///< the weights and b of a stage point formed without a store
};

static_assert(DescentStepObjective<DeepUfmObjective>);

/// A linear DeepUfmObjective that goes end to end, as a gradient flow drives it: a StagePointObjective
/// whose stage points' H₁ is formed inside the one-layer pass (their weights, a small part, first).
/// dopri5's error norm is taken in the pass of its last stage (ErrorNormObjective). A state sure to be
/// observed hands its logits to the checkpoint (CheckpointLogitsObjective), as the one-layer objective's.
class EndToEndFlowObjective {
 public:
  explicit EndToEndFlowObjective(const DeepUfmObjective& f) : f_(&f) {}
  Index num_params() const { return f_->num_params(); }
  double value(const Vec& theta) const { return f_->value(theta); }
  double value_and_gradient(const Vec& theta, Vec& grad) const { return f_->value_and_gradient(theta, grad); }
  double value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store) const {
    return f_->end_to_end_value_and_gradient_at(x, grad, store);
  }
  double value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store, const ScaledErrorSpec& error,
                               double& norm) const {
    return f_->end_to_end_value_and_gradient_at(x, grad, store, error, norm);
  }
  double value_gradient_and_logits(const Vec& theta, Vec& grad, Mat& logits_t) const {
    return f_->value_gradient_and_logits(theta, grad, logits_t);
  }
  double value_gradient_and_logits_at(const LinearCombination& x, Vec& grad, double* store, Mat& logits_t) const {
    return f_->end_to_end_value_gradient_and_logits_at(x, grad, store, logits_t);
  }
  double value_gradient_and_logits_at(const LinearCombination& x, Vec& grad, double* store,
                                      const ScaledErrorSpec& error, double& norm, Mat& logits_t) const {
    return f_->end_to_end_value_gradient_and_logits_at(x, grad, store, error, norm, logits_t);
  }
  double value_gradient_and_update_at(const LinearCombination& x, Vec& grad, double* store,
                                      const LinearCombination& update, double* update_out) const {
    return f_->end_to_end_value_gradient_and_update_at(x, grad, store, update, update_out);
  }

 private:
  const DeepUfmObjective* f_;
};

static_assert(ErrorNormObjective<EndToEndFlowObjective>);
static_assert(UpdateInPassObjective<EndToEndFlowObjective>);
static_assert(CheckpointLogitsObjective<EndToEndFlowObjective>);

/// run(objective) with the objective a gradient flow of f drives: f.one_layer() for one layer (a
/// StagePointObjective and ErrorNormObjective: stage points formed inside its pass); linear layers
/// end to end, an EndToEndFlowObjective; else f itself.
template <class Run>
auto with_flow_objective(const DeepUfmObjective& f, Run&& run) {
  if (const UfmObjective* one = f.one_layer()) return run(*one);
  if (f.end_to_end()) return run(EndToEndFlowObjective(f));
  return run(f);
}
static_assert(CheckpointLogitsObjective<DeepUfmObjective>);

}  // namespace ufm
