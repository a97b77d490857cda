#pragma once
/// The objective of a homogeneous ReLU network on data (theory.md §1 "Real network", §2):
///   F = (1/N) Σ_i l(z_i, y_i) + Σ_l (λ_l/2)||W_l||² + (λ_b/2)||b||²,  z_i = f_θ(x_i),
/// with no λ_H (the bottom is the data X, not a parameter), and its minibatch version
///   F_B = (1/|B|) Σ_{i∈B} l(z_i, y_i) + the same full penalties.
///
/// It is the deep UFM's LayerStack (layer_stack.hpp) with X at the bottom: the same forward and
/// backward passes over column chunks, on OpenMP threads, added in chunk order, so value and
/// gradient are bit-identical for any thread count. X is shared, never copied: the full set runs
/// over X's own columns, a minibatch over a buffer its columns are gathered into.
///
/// Sweeps over more columns than the stack's capacity (max(max_batch, min(N, 4096)) columns) run
/// as consecutive passes of `capacity` columns, their partial sums added in pass order, so the
/// workspaces stay O(Σ_l d_l · capacity) whatever N is.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ufm/linalg.hpp"
#include "ufm/objectives/layer_stack.hpp"
#include "ufm/objectives/network_layout.hpp"
#include "ufm/objectives/objective.hpp"

namespace ufm {

class NetworkObjective {
 public:
  /// \param X input_dim × N data, one column per sample (shared, never copied; to share a
  ///   data::Dataset's X without a copy, use shared_ptr's aliasing constructor).
  /// \param labels y_i in [0, K), one per column of X.
  /// \param max_batch the largest minibatch that runs as one pass (and so allocation-free); 0:
  ///   min(N, 4096).
  /// Throws std::invalid_argument naming the bad field: "NetworkObjective: 'widths' must be ...".
  NetworkObjective(NetworkSpec spec, std::shared_ptr<const Mat> X, std::vector<int> labels, Index max_batch = 0);

  Index num_params() const { return layout_.size(); }
  const NetworkLayout& layout() const { return layout_; }
  const NetworkSpec& spec() const { return spec_; }
  const Mat& data() const { return *X_; }
  std::span<const int> labels() const { return labels_; }
  Index num_samples() const { return static_cast<Index>(labels_.size()); }
  /// Columns of one pass: a minibatch up to this size is one pass.
  Index capacity() const { return stack_.capacity(); }

  /// F(θ) over the whole set. Does not allocate.
  double value(const Vec& theta) const;
  /// F(θ) and ∇F(θ) over the whole set (the Objective concept: GD and gradient flow drive it).
  /// \param grad Out: dF/dθ; resized only if its size is wrong. Does not allocate.
  double value_and_gradient(const Vec& theta, Vec& grad) const;
  /// value_and_gradient, then θ ← θ − lr ∇F(θ) (DescentStepObjective). grad: workspace.
  double value_and_descend(Vec& theta, Vec& grad, double lr) const;

  /// The minibatch objective F_B(θ) and its gradient: the mean loss over the samples `batch`
  /// (indices into X's columns, repeats allowed) plus the full penalties. Their columns are
  /// gathered into a buffer allocated by the constructor, one pass of up to capacity() columns at a
  /// time: no allocation, whatever |B| is (one pass when |B| <= capacity()).
  /// A batch of every index in order gives value_and_gradient's value and gradient bit for bit
  /// when N <= capacity(). Throws std::invalid_argument on an empty batch or an index outside [0, N).
  double value_and_gradient_batch(const Vec& theta, Vec& grad, std::span<const Index> batch) const;
  /// F_B(θ) alone.
  double value_batch(const Vec& theta, std::span<const Index> batch) const;

  /// The mean loss over the whole set and each penalty (penalty_h = 0: no free features).
  DeepObjectiveParts parts(const Vec& theta) const;
  /// Feature levels for metrics, over every sample or the columns `subset`: levels[0] = the input
  /// X itself (the network's S₀, so that the input's own collapse is the baseline), levels[l] = S_l
  /// (l = 1..L−1); the last is the penultimate level S_{L−1}, the one the output layer sees. The same
  /// indexing as DeepUfmObjective's, where levels[0] is H₁. levels is resized to L.
  void feature_levels(const Vec& theta, std::vector<Mat>& levels) const;
  void feature_levels(const Vec& theta, std::vector<Mat>& levels, std::span<const Index> subset) const;
  /// Logits Z = W_L S_{L−1} + b 1ᵀ (K×n) over every sample or the columns `subset`, written into Z.
  void logits(const Vec& theta, Mat& Z) const;
  void logits(const Vec& theta, Mat& Z, std::span<const Index> subset) const;

 private:
  /// Runs the stack over every sample (subset == nullptr) or the given columns, in passes of at
  /// most capacity() columns; returns the loss sum. With grad: the W- and b-gradients of the mean
  /// loss (plus decay). after_pass(first column, columns) reads the stack's levels of each pass.
  template <class AfterPass>
  double sweep(const Vec& theta, const std::span<const Index>* subset, Vec* grad, AfterPass&& after_pass) const;
  double sweep(const Vec& theta, const std::span<const Index>* subset, Vec* grad) const;
  double penalties(const Vec& theta, DeepObjectiveParts* parts) const;
  void check_batch(std::span<const Index> batch) const;

  NetworkSpec spec_;
  std::shared_ptr<const Mat> X_;
  std::vector<int> labels_;
  NetworkLayout layout_;
  LayerStack stack_;
  mutable Mat gathered_;                ///< input_dim × capacity: a minibatch's columns of X
  mutable std::vector<int> gathered_y_;  ///< capacity: their labels
};

static_assert(DescentStepObjective<NetworkObjective>);

/// Kaiming (He) initialization for ReLU networks: W_l ~ N(0, 2/d_{l−1}) entrywise, b = 0.
/// Deterministic: the standard normals of fill_gaussian(seed) over all of θ, scaled per layer.
/// theta is resized to layout.size().
void init_kaiming(const NetworkLayout& layout, Vec& theta, std::uint64_t seed);
/// Every entry of θ (W_l and b) ~ N(0, σ²), from fill_gaussian(seed). theta is resized.
void init_gaussian(const NetworkLayout& layout, Vec& theta, double sigma, std::uint64_t seed);

}  // namespace ufm
