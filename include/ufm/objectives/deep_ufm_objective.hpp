#pragma once
/// The deep / extended UFM objective of theory.md §2:
///   F = (1/N) Σ_i l(z_i, y_i) + (λ_H/2)||H₁||² + Σ_{l=1..L} (λ_l/2)||W_l||² + (λ_b/2)||b||²,
/// with Z = W_L S_{L−1} + b 1ᵀ (see deep_ufm_layout.hpp). L = 1 is the one-layer UfmObjective,
/// with the same theta layout, value and gradient.
///
/// Evaluation runs over a fixed set of column chunks of H₁ (set by the sizes only): per chunk the
/// forward pass, loss, residual, backward pass, H₁-gradient and partial W-gradients. OpenMP threads
/// take whole chunks and the partials are added in chunk order, so value and gradient are
/// bit-identical for any thread count.
#include <optional>
#include <span>
#include <vector>

#include "ufm/linalg.hpp"
#include "ufm/objectives/deep_ufm_layout.hpp"
#include "ufm/objectives/model_spec.hpp"
#include "ufm/objectives/objective.hpp"
#include "ufm/objectives/ufm_objective.hpp"

namespace ufm {

/// The data part and each penalty of F (theory.md's JSON names; penalty_w per layer).
struct DeepObjectiveParts {
  double loss = 0.0;
  double penalty_h = 0.0;
  std::vector<double> penalty_w;  ///< size L: (λ_l/2)||W_l||², l = 1..L
  double penalty_b = 0.0;
  double total() const {
    double t = loss + penalty_h + penalty_b;
    for (double p : penalty_w) t += p;
    return t;
  }
};

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
  /// F(theta), then theta ← theta − lr ∇F(theta) (DescentStepObjective). L = 1: UfmObjective's
  /// one-pass step; deeper: value_and_gradient, then the update. grad: workspace.
  double value_and_descend(Vec& theta, Vec& grad, double lr) const;
  DeepObjectiveParts parts(const Vec& theta) const;
  /// Feature levels for metrics: levels[0] = H₁, levels[l] = S_l (l = 1..L−1); the last is the
  /// penultimate level S_{L−1}, the one the classifier sees. levels is resized to L.
  void feature_levels(const Vec& theta, std::vector<Mat>& levels) const;
  /// Logits Z = W_L S_{L−1} + b 1ᵀ (K×N), written into Z.
  void logits(const Vec& theta, Mat& Z) const;

 private:
  /// Per-chunk partial sums, added in chunk order after the parallel loop.
  struct Chunk {
    Index begin = 0, cols = 0;  ///< columns [begin, begin + cols) of H₁
    std::vector<Mat> gW;        ///< gW[l]: Σ over the chunk of dL/dA_l S_{l−1}ᵀ (l = 1..L; [0] unused)
    Vec gb;                     ///< K: Σ over the chunk of g_i
    double loss = 0.0;          ///< Σ over the chunk of l(z_i, y_i)
  };
  /// Fills A_l, S_l (l = 1..L−1) and the logits Z_, and returns the loss sum Σ_i l(z_i, y_i).
  /// With grad: also the residual in Z_ (scaled by 1/N), the chunks' partial gradients and the
  /// H₁-gradient in *grad.
  double evaluate(const Vec& theta, Vec* grad) const;
  /// One chunk of evaluate.
  void run_chunk(Chunk& c, const Vec& theta, Vec* grad) const;
  /// S_l as a view: H₁ for l = 0, A_l for linear layers, else the ReLU buffer.
  ConstMatMap level(Index l, const Vec& theta) const;
  /// Σ of the penalties; per layer into penalty_w when it is not null.
  double penalties(const Vec& theta, DeepObjectiveParts* parts) const;

  DeepUfmSpec spec_;
  std::vector<int> labels_;
  DeepUfmLayout layout_;
  /// L = 1: the (benchmarked, optimized) one-layer objective does value and gradient; same θ layout.
  std::optional<UfmObjective> shallow_;
  mutable Mat Z_;               ///< K×N: logits, then G = dL/dZ
  mutable std::vector<Mat> A_;  ///< A_[l] = W_l S_{l−1} (d_l×N), l = 1..L−1; [0] unused
  mutable std::vector<Mat> S_;  ///< S_[l] = σ(A_l), ReLU only (linear layers alias A_l)
  mutable std::vector<Mat> D_;  ///< D_[l] = dL/dA_l (d_l×N) during backprop
  mutable std::vector<Chunk> chunks_;
  bool parallel_ = false;  ///< large enough for a fork/join per evaluation to pay
};

static_assert(DescentStepObjective<DeepUfmObjective>);

}  // namespace ufm
