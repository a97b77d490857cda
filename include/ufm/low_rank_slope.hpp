#pragma once
/// Low-rank slopes of the one-layer UFM's RK4 flow. The H-gradient at a point X is
/// ∇_H F = Wᵀ R + λ_H X_H, with R = ∂(loss)/∂Z the residual (K×N) and W the point's classifier (K×d).
/// RK4's stage points are the state plus multiples of earlier slopes, so every slope and stage point
/// of a step has an H part of the form
///   alpha·x_H + Σ_t coef_t · Wt_t Rt_tᵀ   (Wt_t = W_tᵀ, d×K; Rt_t = R_tᵀ, N×K),
/// exactly (an identity of the algebra, not an approximation). Kept so, a slope costs K·(N + d)
/// numbers instead of d·N, and a stage reads the state alone: its logits are alpha·W x_H plus K×K
/// products of the stored residuals, and its W-gradient alpha·R x_Hᵀ plus K×K products
/// (UfmObjective::gradient_low_rank_at). The state's update, a 4K-row product, is formed in the last
/// stage's pass. At the paper size a step then streams θ 5 times instead of 13
/// (bench/HISTORY.md, session 64).
#include <array>

#include "ufm/linalg.hpp"
#include "ufm/linear_combination.hpp"

namespace ufm {

/// H = alpha·base + Σ_t coef[t]·Wt[t] Rt[t]ᵀ (d×N). base: the state's H (d×N), or null with alpha 0.
struct LowRankH {
  static constexpr int kMaxTerms = 8;  ///< RK4 needs 4 (a step's slopes); room for any explicit RK
  const double* base = nullptr;
  double alpha = 0.0;
  int terms = 0;
  std::array<double, kMaxTerms> coef{};
  std::array<const double*, kMaxTerms> Wt{}, Rt{};

  /// this += a·base_; false (this then partly changed) when this already has another base.
  bool add_base(double a, const double* base_);
  /// this += a·h, terms with the same factors merged; false when the bases differ or the terms
  /// overflow kMaxTerms.
  bool add(double a, const LowRankH& h);
};

/// m sized rows × (kMaxTerms·K), once, where it has other rows or fewer than `needed` columns: room
/// for the per-term blocks of any expansion, so that no later call allocates.
inline void reserve_term_columns(Mat& m, Index rows, Index K, Index needed) {
  if (m.rows() != rows || m.cols() < needed) m.resize(rows, LowRankH::kMaxTerms * K);
}

/// A slope's H part kept low rank (LazyVec::low_rank()): its own factors and its expansion `h`,
/// which has (Wt, Rt) as a term. Written by UfmObjective::gradient_low_rank_at.
///
/// dopri5's last stage (FSAL) is the slope at the trial state, which its pass writes: `h` is then
/// rebased onto that state (λ_H·x_new + Wᵀ R), the first slope of the next step, and `at_step` keeps
/// its expansion over the step's start state, which the step's error estimate and dense output read.
struct LowRankSlope {
  bool active = false;  ///< the H part is h (the storage's H range is not written, unless `formed`)
  bool formed = false;  ///< h's value has been written into the storage's H range too
  Mat Wt;               ///< d×K: the stage point's Wᵀ
  Mat Rt;               ///< N×K: the stage's residual, transposed
  LowRankH h;
  LowRankH at_step;     ///< h over the step's start state, where h was rebased (else no base, no terms)
  Mat scratch;          ///< form_low_rank's scaled factors
};

/// h += a·(s's expansion): `h`, or where its base differs, `at_step`. False where neither fits (h
/// unchanged) or the terms overflow (h then partly changed).
bool add_expansion(LowRankH& h, double a, const LowRankSlope& s);

/// c's H part as one LowRankH: its explicit sources (one base at most) and its low-rank slopes'
/// expansions. False where c has two bases or too many terms.
bool flatten_low_rank(const LinearCombination& c, LowRankH& h);

/// out (d×N, column-major) = h's value, by fixed blocks of columns (the same bits for any thread
/// count). K: the factors' columns. scratch: resized to d×(kMaxTerms·K) if smaller than h needs.
void form_low_rank(const LowRankH& h, Index d, Index N, Index K, double* out, Mat& scratch);

/// Whether a source of c is a low-rank slope (active): its H range must be formed before c is read
/// entry by entry (LazyVec::settle), or c's H part flattened (UfmObjective::gradient_low_rank_at).
inline bool has_low_rank_terms(const LinearCombination& c) {
  for (int t = 0; t < c.terms; ++t) {
    const LowRankSlope* s = c.slope[static_cast<std::size_t>(t)];
    if (s != nullptr && s->active) return true;
  }
  return false;
}

}  // namespace ufm
