#pragma once
/// The layered model shared by the deep UFM and the network (theory.md §1):
///   A_l = W_l S_{l−1}, S_l = σ(A_l) (l = 1..L−1);  Z = W_L S_{L−1} + b 1ᵀ,
/// whatever the bottom S₀ is: the free features H₁ of the deep UFM, or the data X (or a minibatch
/// of its columns) of a network. LayerStackLayout says where W_1..W_L and b live in a flat θ;
/// LayerStack runs the forward pass, the loss, the residual and the backward pass over column
/// chunks into buffers allocated once.
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include "ufm/gemm.hpp"
#include "ufm/linalg.hpp"
#include "ufm/objectives/model_spec.hpp"

namespace ufm {

/// σ of the hidden layers. ReLU uses σ'(0) = 0.
enum class Activation { kLinear, kRelu };

std::string_view to_string(Activation activation);  // "linear" | "relu"

/// The data part and each penalty of F (theory.md's JSON names; penalty_w per layer). A network
/// has no free bottom: its penalty_h is 0.
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

/// theta = [bottom block (bottom_size entries; H₁ of the deep UFM, none for a network) |
/// vec W_1 (d₁×d₀) | … | vec W_L (K×d_{L−1}) | b (K, only with a bias)], every block column-major.
struct LayerStackLayout {
  Index K = 0;                 ///< classes (= dims.back())
  bool has_bias = false;
  std::vector<Index> dims;     ///< d₀, d₁, …, d_{L−1}, K (size L+1): W_l is dims[l]×dims[l−1]
  std::vector<Index> offsets;  ///< block starts (size L+2): [0] bottom, [l] W_l (l = 1..L), [L+1] b

  LayerStackLayout() = default;
  /// \param dims d₀, …, d_{L−1}, K. \param bottom_size entries of θ before W_1.
  LayerStackLayout(std::vector<Index> dims, bool has_bias, Index bottom_size);

  Index layers() const { return static_cast<Index>(dims.size()) - 1; }
  Index rows(Index l) const { return dims[l]; }      ///< of W_l, l = 1..L
  Index cols(Index l) const { return dims[l - 1]; }  ///< of W_l, l = 1..L
  Index b_size() const { return has_bias ? K : 0; }
  Index size() const { return offsets.back() + b_size(); }
  /// Σ_l d_l d_{l−1}: entries of the W_l, and half the flops per sample of a forward pass.
  double weight_count() const;

  /// W_l, l = 1..L (W_L is the classifier).
  ConstMatMap W(Index l, const Vec& t) const { return {t.data() + offsets[l], rows(l), cols(l)}; }
  MatMap W(Index l, Vec& t) const { return {t.data() + offsets[l], rows(l), cols(l)}; }
  /// W_l in the weights laid out from `weights` on (θ's entries from offsets[1]: W_1 first).
  ConstMatMap W_from(Index l, const double* weights) const {
    return {weights + (offsets[l] - offsets[1]), rows(l), cols(l)};
  }
  /// b in the same weights (empty when the model is bias-free).
  ConstVecMap b_from(const double* weights) const { return {weights + (offsets.back() - offsets[1]), b_size()}; }
  /// Empty when the model is bias-free.
  ConstVecMap b(const Vec& t) const { return {t.data() + offsets.back(), b_size()}; }
  VecMap b(Vec& t) const { return {t.data() + offsets.back(), b_size()}; }
};

/// Forward and backward passes of the layered model over up to `capacity` columns at a time.
///
/// One pass takes n ≤ capacity columns of a bottom S₀ (d₀×n, contiguous column-major: H₁, a block
/// of columns of X, or a gathered minibatch) and their labels, splits them into a fixed set of column chunks chosen from n and the
/// layer sizes alone, and runs each chunk (forward, loss, residual, backward, partial W-gradients,
/// optionally dF/dS₀) on OpenMP threads when the pass is large enough. Chunk partials are added in
/// chunk order, so results are bit-identical for any thread count. Passes allocate nothing.
///
/// The activations of the last pass stay readable (level, logits) until the next pass.
class LayerStack {
 public:
  struct Options {
    Activation activation = Activation::kLinear;
    Loss loss = Loss::kMse;
    bool freeze_classifier = false;  ///< no gradient for W_L (a fixed classifier)
  };

  LayerStack() = default;
  /// Allocates every workspace for passes of up to `capacity` columns.
  LayerStack(LayerStackLayout layout, Options options, Index capacity);

  const LayerStackLayout& layout() const { return layout_; }
  const Options& options() const { return options_; }
  Index capacity() const { return capacity_; }
  /// Chunks of a pass over n columns (from the sizes only: at least 64 columns each, at most 8).
  Index chunks_for(Index n) const;

  /// What a pass computes besides the loss sum.
  struct Backward {
    double scale = 1.0;    ///< dF/dZ = scale · residual (1/N for a mean over N samples)
    double* dS0 = nullptr; ///< if set: d₀×n, column-major, receives bottom_decay·S₀ + dF/dS₀
    double bottom_decay = 0.0;
    /// If set (with dS0): S₀'s own storage (d₀×n, column-major; S₀ is a view of it). Each chunk's
    /// columns take GD's step t − lr·g (descent_update.hpp) once the chunk's dS₀ is complete, as no
    /// product of the chunk reads them after that: the deep model's H₁ steps while its chunk is in
    /// cache instead of in a pass of its own over θ. S₀ then holds the new iterate on return.
    double* descend = nullptr;
    double lr = 0.0;
  };

  /// Forward pass over S₀ (d₀×n, n ≤ capacity): fills the levels and the logits and returns the
  /// loss sum Σ_i l(z_i, y_i) (no 1/n). Does not allocate.
  double forward(const Vec& theta, ConstMatMap S0, std::span<const int> labels) const;
  /// Forward and backward pass: as forward, and the chunks' partial W_l- and b-gradients
  /// (read them with add_weight_gradient); with back.dS0 also the gradient with respect to S₀.
  /// The logits buffer then holds dF/dZ. Does not allocate.
  double forward_backward(const Vec& theta, ConstMatMap S0, std::span<const int> labels,
                          const Backward& back) const;
  /// Adds the last forward_backward's partial gradients, chunk by chunk in chunk order, into the
  /// W_l and b blocks of grad; `first`: assign the first chunk instead (the first pass of a sweep).
  /// A frozen classifier's block is set to zero.
  void add_weight_gradient(Vec& grad, bool first) const;
  /// grad_W_l += λ_l W_l (l = 1..L, but W_L when frozen), grad_b += λ_b b.
  void add_weight_decay(const Vec& theta, Vec& grad, std::span<const double> lambda_w, double lambda_b) const;
  /// add_weight_gradient(grad, true) then add_weight_decay, bit for bit, in one pass over each block
  /// when the last forward_backward used at most two chunks (a minibatch): grad_W_l = (c₀ + c₁) +
  /// λ_l W_l read and written once, instead of three passes over the parameters.
  void set_weight_gradient_with_decay(const Vec& theta, Vec& grad, std::span<const double> lambda_w,
                                      double lambda_b) const;
  /// sum + Σ_l (λ_l/2)||W_l||² + (λ_b/2)||b||², added in that order; per layer into parts when it
  /// is not null.
  double weight_penalties(const Vec& theta, std::span<const double> lambda_w, double lambda_b,
                          DeepObjectiveParts* parts, double sum = 0.0) const;
  /// The same over W_1, …, W_L, b laid out from `weights` on (θ's entries from offsets[1]).
  double weight_penalties(const double* weights, std::span<const double> lambda_w, double lambda_b,
                          DeepObjectiveParts* parts, double sum = 0.0) const;

  /// S_l of the last pass, l = 1..L−1 (d_l×n: the ReLU output, or A_l for linear layers).
  ConstMatMap level(Index l) const;
  /// Logits Z (K×n) of the last forward pass (dF/dZ after forward_backward).
  ConstMatMap logits() const { return {Z_.data(), Z_.rows(), cols_}; }
  /// Columns of the last pass.
  Index last_cols() const { return cols_; }

 private:
  /// Per-chunk partial sums, added in chunk order after the parallel loop.
  struct Chunk {
    std::vector<Mat> gW;  ///< gW[l]: Σ over the chunk of dF/dA_l S_{l−1}ᵀ (l = 1..L; [0] unused)
    Mat gW_top_t;         ///< d_{L−1}×K: the classifier's gradient made transposed, then copied into gW[L]
    Vec gb;               ///< K: Σ over the chunk of dF/dz_i
    double loss = 0.0;    ///< Σ over the chunk of l(z_i, y_i)
  };
  double pass(const Vec& theta, ConstMatMap S0, std::span<const int> labels,
              const Backward* back) const;
  /// Packs W_l, and the W_lᵀ the backward pass multiplies by, for every chunk's products.
  void pack_weights(const Vec& theta, const Backward* back) const;
  void run_chunk(Chunk& c, Index i0, Index n, const Vec& theta, ConstMatMap S0,
                 std::span<const int> labels, const Backward* back) const;

  LayerStackLayout layout_;
  Options options_;
  Index capacity_ = 0;
  double weights_ = 0.0;        ///< layout_.weight_count()
  mutable Index cols_ = 0;      ///< columns of the last pass
  mutable Index chunks_used_ = 0;
  mutable Mat Z_;               ///< K×capacity: logits, then dF/dZ
  /// A_[l] = W_l S_{l−1}, then σ applied in place: S_l (d_l×capacity), l = 1..L−1; [0] unused
  mutable std::vector<Mat> A_;
  mutable std::vector<Mat> D_;  ///< D_[l] = dF/dA_l (d_l×capacity) during backprop
  mutable std::vector<Chunk> chunks_;
  mutable std::vector<PackedA> W_packed_;   ///< W_l packed for gemm once per pass (l = 1..L; [0] unused)
  mutable std::vector<PackedA> Wt_packed_;  ///< W_lᵀ, packed once per backward pass
};

/// The checks every model on the stack shares; throws std::invalid_argument("<who>: '<field>' must
/// ...") unless K >= 2, the bottom dimension (`bottom_name`) >= 1, every hidden width >= 1, one
/// decay per layer (lambda_w has widths + 1 entries) and every decay finite and >= 0.
void check_stack_spec(const std::string& who, Index K, const char* bottom_name, Index bottom,
                      const std::vector<Index>& widths, const std::vector<double>& lambda_w, double lambda_b);

}  // namespace ufm
