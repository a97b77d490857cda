#pragma once
/// The one-layer unconstrained features model of theory.md §1–2:
///   F(H, W, b) = (1/N) Σ_i l(W h_i + b, y_i) + (λ_W/2)||W||² + (λ_H/2)||H||² + (λ_b/2)||b||².
///
/// Evaluation streams H once, in blocks of columns: per block the logits, the loss and residual, the
/// H-gradient and a partial W-gradient, while the block is in cache. The blocks are grouped into a
/// fixed number of chunks (set by K, d and N only); OpenMP threads take whole chunks and the chunk
/// partials are added in chunk order, so value and gradient are bit-identical for any thread count.
#include <span>
#include <vector>

#include "ufm/gemm.hpp"
#include "ufm/linalg.hpp"
#include "ufm/linear_combination.hpp"
#include "ufm/low_rank_slope.hpp"
#include "ufm/objectives/model_spec.hpp"
#include "ufm/objectives/objective.hpp"
#include "ufm/objectives/ufm_layout.hpp"
#include "ufm/scaled_error.hpp"

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

  /// Equal to value_and_gradient's value, bit for bit (same arithmetic). Does not allocate.
  double value(const Vec& theta) const;
  /// \param grad Out: dF/dtheta; resized only if its size is wrong (never in a step loop).
  /// Does not allocate when K ≤ 24 (own kernels); above, Eigen's products may.
  double value_and_gradient(const Vec& theta, Vec& grad) const;
  /// value_and_gradient, bit for bit, and the logits without the bias as the pass forms them,
  /// logits_t = (W H)ᵀ (N×K, class-major; resized only if its size is wrong): what a checkpoint of
  /// theta reads instead of forming W H again (CheckpointLogitsObjective).
  double value_gradient_and_logits(const Vec& theta, Vec& grad, Mat& logits_t) const;
  /// F(theta), then theta ← theta − lr ∇F(theta) (DescentStepObjective), in the same pass over H:
  /// for K ≤ 12 the backward kernel writes the new H in place of the old; above, each block's
  /// H-gradient goes to a cache-resident scratch block and updates H there. Bit-identical to
  /// value_and_gradient followed by t − lr·g. grad: workspace (its W and b parts hold their
  /// gradient after the call).
  double value_and_descend(Vec& theta, Vec& grad, double lr) const;
  /// F and ∇F at x = Σ a_j x_j (StagePointObjective): each block of H is formed while its logits
  /// and gradient are computed, W and b before the pass; store (or null) receives x on the way.
  /// Bit-identical to forming x and value_and_gradient. store and grad may be sources of x.
  double value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store) const;
  /// The same, and the logits without the bias at x as value_gradient_and_logits hands them.
  double value_gradient_and_logits_at(const LinearCombination& x, Vec& grad, double* store, Mat& logits_t) const;
  /// The same, and norm receives the error norm `error` describes (ErrorNormObjective), each block's
  /// scaled errors taken right after the block's gradient is written (the estimate may read grad),
  /// W's and b's after the pass: per chunk, the chunks' partials in chunk order, then W's and b's.
  double value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store, const ScaledErrorSpec& error,
                               double& norm) const;
  /// value_and_gradient_at, and `update`, a combination that may read the gradient (RK4's
  /// x + h/6 (k1 + 2k2 + 2k3 + k4), k4 being it), formed into update_out in the same pass
  /// (UpdateInPassObjective): each block of H's entries right after the block's gradient is made,
  /// from a scratch block where update reads grad, and W's and b's after the pass. grad's H part is
  /// never written (its W and b parts are): the update is all that reads it. update_out may be a
  /// source of update and of x (x's block is formed before the block's update is written, x's W and
  /// b before the pass). The update is bit-identical to value_and_gradient_at, then update formed.
  double value_gradient_and_update_at(const LinearCombination& x, Vec& grad, double* store,
                                      const LinearCombination& update, double* update_out) const;
  /// Both: the error norm and the logits (dopri5's last stage where its state is sure to be observed).
  double value_gradient_and_logits_at(const LinearCombination& x, Vec& grad, double* store,
                                      const ScaledErrorSpec& error, double& norm, Mat& logits_t) const;
  /// Whether gradient_low_rank_at runs here: K ≤ 12 (its W-gradient kernel's classes).
  bool takes_low_rank_slopes() const;
  /// Whether the RK4 flow's low-rank slopes pay by default (GradientFlow::Options::low_rank_slopes):
  /// where H is too large for the caches (16 MiB, as for the streamed gradient), each stage then reads
  /// the state alone instead of the state and a slope, and a step streams θ 5 times instead of 13.
  bool low_rank_slopes_pay() const;
  /// The RK4 flow's stage with a low-rank slope (LowRankSlopeObjective, low_rank_slope.hpp): ∇F at
  /// x = Σ_t a_t x_t, whose sources are one explicit vector (the state) and low-rank slopes, written
  /// with its H part low rank: W's and b's gradients into grad's entries past H (grad's H range is
  /// not written), the residual into slope.Rt, the point's Wᵀ into slope.Wt, and slope.h =
  /// λ_H·(x's H) + Wᵀ R. One pass over the state's H: per block the logits alpha·W x_H plus the stored
  /// residuals' K×K products, the loss and residual, and the partial W-gradient (block_gw); then
  /// W's gradient alpha·R x_Hᵀ plus K×K products of the residuals. Returns F at x when x is the state
  /// alone (then its logits without the bias go to logits_t, if not null: N×K, resized if needed),
  /// else NaN (a stage point's value would take products of its own; the flow reads the state's).
  /// update (or null): RK4's state update, formed into update_out in the same pass (its H entries
  /// block by block once the block's residual is made, a product of the state's block and the
  /// step's factors; W's and b's after the pass). update_out may be the state itself.
  /// update == &x (dopri5's last stage, at the trial state): x is formed into update_out, F is
  /// returned at it, and slope.h is rebased onto it (λ_H·update_out + Wᵀ R; slope.at_step keeps the
  /// expansion over the state). error (then norm too, and update == &x): the step's error norm into
  /// *norm, each block's scaled errors once its residual is made (the estimate and, where
  /// error->g_low_rank, the old slope formed from the state's block and the residuals), W's and b's
  /// after the pass, as value_and_gradient_at takes them.
  /// Throws std::logic_error where !takes_low_rank_slopes(), or x or update is not of that form.
  double gradient_low_rank_at(const LinearCombination& x, double* grad, LowRankSlope& slope, Mat* logits_t,
                              const LinearCombination* update, double* update_out,
                              const ScaledErrorSpec* error = nullptr, double* norm = nullptr) const;
  /// The value's parts and (gH, gwb not null) the gradient, with H and (W, b) apart: H (d×N) at H,
  /// W (K×d) then b at wb; gH receives dF/dH (d×N), gwb dF/dW then dF/db. Bit for bit
  /// value_and_gradient on [H | W | b]. The deep linear UFM evaluates its end-to-end classifier
  /// P = W_L⋯W_1 here, with H₁ in place in its own θ. gH and gwb: both or neither.
  ObjectiveParts parts_and_gradient_apart(const double* H, const double* wb, double* gH, double* gwb) const;
  /// The same, and the logits without the bias as value_gradient_and_logits hands them.
  ObjectiveParts parts_gradient_and_logits_apart(const double* H, const double* wb, double* gH, double* gwb,
                                                 Mat& logits_t) const;
  /// The same, with H ← H − lr·dF/dH in the pass instead of dF/dH written (value_and_descend's step
  /// for H); gwb receives dF/dW and dF/db. W and b are not updated.
  ObjectiveParts parts_and_descend_apart(double* H, const double* wb, double lr, double* gwb) const;
  /// parts_and_gradient_apart at a stage point whose H is x's entries [0, d·N), formed block by block
  /// in the pass (into store when not null), as value_and_gradient_at forms it; W and b at wb.
  ObjectiveParts parts_and_gradient_at_apart(const LinearCombination& x, double* store, const double* wb,
                                             double* gH, double* gwb) const;
  /// The same, and each chunk's scaled errors of H's entries (their indices in error's vectors: H
  /// comes first, [0, d·N)) taken block by block in the pass, as value_and_gradient_at takes them:
  /// error_norm_after combines them with the rest of the entries.
  ObjectiveParts parts_and_gradient_at_apart(const LinearCombination& x, double* store, const double* wb,
                                             double* gH, double* gwb, const ScaledErrorSpec& error) const;
  /// The same, with `update` formed into update_out for H's entries in the pass, as
  /// value_gradient_and_update_at forms them (gH's entries are never written); the rest of the update
  /// is the caller's to form once the rest of the gradient is written.
  ObjectiveParts parts_gradient_and_update_at_apart(const LinearCombination& x, double* store, const double* wb,
                                                    double* gH, double* gwb, const LinearCombination& update,
                                                    double* update_out) const;
  /// Either, with the error's scaled errors where error is not null, and the logits at x without the
  /// bias as value_gradient_and_logits_at hands them.
  ObjectiveParts parts_gradient_and_logits_at_apart(const LinearCombination& x, double* store, const double* wb,
                                                    double* gH, double* gwb, const ScaledErrorSpec* error,
                                                    Mat& logits_t) const;
  /// The error norm `error` describes over entries [0, n): the chunks' scaled errors of H's entries from
  /// the last pass that took them, in chunk order, then those of entries [d·N, n), read now (every
  /// source of the estimate there must be written).
  double error_norm_after(const ScaledErrorSpec& error, Index n) const;
  /// parts(theta).total() == value(theta).
  ObjectiveParts parts(const Vec& theta) const;
  /// Logits Z = W H + b 1ᵀ (K×N), written into Z.
  void logits(const Vec& theta, Mat& Z) const;

 private:
  /// A chunk's blocks and partial results.
  struct Chunk {
    Index first_block = 0, end_block = 0;
    Mat gWt;      ///< d×K: this chunk's Σ_i h_i g_iᵀ
    Vec gb;       ///< K: this chunk's Σ_i g_i
    double loss = 0.0, h_squared = 0.0;
    ScaledErrorSum error;  ///< the chunk's scaled errors (value_and_gradient_at with an error norm)
    Mat rr;       ///< K×(terms·K): this chunk's R Rₜᵀ of a low-rank stage point (gradient_low_rank_at)
  };
  /// Per-thread workspace for the block in hand: one per OpenMP thread, not one per chunk, so that it
  /// stays in L2 from one block to the next (16 chunks' blocks of H, 128–256 KiB each, and at K = 100
  /// their logits of 50 KiB each, cycled through the Xeon's 2 MiB L2; bench/HISTORY.md, session 40).
  struct BlockScratch {
    Mat Zt;    ///< block×K: class-major logits, then the residual G (scaled by 1/N)
    Vec work;  ///< 3·block scratch of the softmax
    Vec Hp;    ///< block·d: the block of H, packed by row tiles (large H only)
    Vec Hs;    ///< block·d: the block of a stage point's H (no store, or large H), or of a descent
               ///< step's H-gradient when the kernel cannot take the step in place (K > kMaxDescendK)
    Vec Hg;    ///< block·d: the block's H-gradient, which an update formed in the pass reads
    Mat Rg;    ///< block×(terms·K): the block's rows of a low-rank update's residuals (gradient_low_rank_at)
  };
  /// Value parts, and the gradient into *grad when grad is not null.
  /// descend (== &theta, with grad): a descent step of size lr instead of the H-gradient.
  ObjectiveParts evaluate(const Vec& theta, Vec* grad, Vec* descend = nullptr, double lr = 0.0) const;
  /// The same at a point: theta's data (stage null), or a stage point formed block by block on the
  /// way (theta null), also written to store when store is not null.
  /// error (with grad): also its norm, into *norm.
  /// logits_t: (W H)ᵀ without the bias, N×K class-major, copied from each block.
  /// update (with grad): formed into update_out in the pass (value_gradient_and_update_at).
  ObjectiveParts evaluate_at(const double* theta, const LinearCombination* stage, double* store, Vec* grad,
                             Vec* descend, double lr, const ScaledErrorSpec* error = nullptr,
                             double* norm = nullptr, double* logits_t = nullptr,
                             const LinearCombination* update = nullptr, double* update_out = nullptr) const;
  /// evaluate_at's pass with H (or the stage) and the tail W, b apart, and the gradient apart: gH
  /// the H-gradient or the new H (descend_lr), gwb (or null: no gradient) W's, then b's.
  ObjectiveParts evaluate_apart(const double* H, const double* tail, const LinearCombination* stage, double* store,
                                double* gH, double* gwb, const double* descend_lr, const ScaledErrorSpec* error,
                                double* logits_t, const LinearCombination* update = nullptr,
                                double* update_out = nullptr) const;
  /// gH: the H-gradient, or (descend_lr not null) H itself, which receives the descent step.
  /// stage: H is formed block by block from it, by the logits kernel where it can
  /// (detail::block_logits_formed), into store when not null, else into s.Hs; with the streaming
  /// path, into s.Hs and copied to store. H is then unused.
  /// error (with gH): each block's scaled errors into c.error once its gradient is written.
  /// logits_t: each block's logits without the bias copied there before the bias is added (the
  /// kernels add it last, so the block's logits are the same doubles).
  /// update (with gH): each block's entries formed into update_out once the block's gradient is written.
  void run_chunk(Chunk& c, BlockScratch& s, const double* H, const LinearCombination* stage, double* store,
                 const double* W, const double* b, double* gH, bool stream, const double* descend_lr,
                 const ScaledErrorSpec* error, double* logits_t, const LinearCombination* update,
                 double* update_out) const;
  /// The chunks' gradient partials added in chunk order: gW (K×d, or null: W frozen) = (Σ_c gWt_c)ᵀ
  /// and, with a bias, gb (K) = Σ_c gb_c; no weight decay added.
  void sum_chunk_gradients(double* gW, double* gb) const;
  /// logits_t sized N×K (resized only if its size is wrong), for the pass to write.
  double* logits_out(Mat& logits_t) const;

  UfmLayout layout_;
  std::vector<int> labels_;
  Loss loss_;
  BiasMode bias_;
  Regularization lambda_;
  bool freeze_w_;
  Index block_ = 0;               ///< columns of H per block
  bool backward_kernels_ = true;  ///< own backward kernels (K ≤ 24), else Eigen products per block
  bool stream_gradient_ = false;  ///< write the H-gradient and a stored stage point with non-temporal stores (large H)
  mutable Mat Wt_;                ///< d×K: Wᵀ of the current call
  mutable PackedA Wt_packed_;     ///< Wᵀ packed for gemm once per call (K > kMaxKernelK)
  mutable Vec stage_wb_;          ///< W and b of a stage point (value_and_gradient_at)
  mutable std::vector<Chunk> chunks_;
  /// gradient_low_rank_at's products of the call: alpha·W and its transpose, the logits' K×K
  /// corrections [coef_t W Wt_t …] and their sum over the residuals (N×K, by chunk), the update's
  /// factors [coef_u Wt_u …] packed, and R Rₜᵀ summed over the chunks.
  mutable Mat low_rank_aW_, low_rank_aWt_, low_rank_corrections_, low_rank_offset_, low_rank_factors_, low_rank_rr_;
  mutable PackedA low_rank_update_;
  /// dopri5's error estimate and old slope: their factors [coef_t Wt_t …], and packed.
  mutable Mat low_rank_error_factors_, low_rank_g_factors_;
  mutable PackedA low_rank_error_, low_rank_g_;
  /// One per thread of the largest team the chunks have run on (made for omp_get_max_threads() when
  /// built; a team grown since gets its own before the chunks run).
  mutable std::vector<BlockScratch> scratch_;
  void ensure_scratch(std::size_t threads) const;
};

static_assert(DescentStepObjective<UfmObjective>);
static_assert(ErrorNormObjective<UfmObjective>);
static_assert(CheckpointLogitsObjective<UfmObjective>);

}  // namespace ufm
