#pragma once
/// The SIMD kernels behind UfmObjective (src/objectives/ufm_kernels.cpp): the logits and the
/// backward pass of one block of columns of H. Internal to ufm_objective.cpp.
///
/// Everything is column-major: h_i = H[i·d ..], w_k = Wt[k·d ..] (Wt = Wᵀ, d×K), and the logits /
/// residual of a block are class-major, Zt[k·ldz + i].

#include "ufm/linalg.hpp"

namespace ufm {
struct LinearCombination;
}

namespace ufm::detail {

/// Doubles per SIMD packet (Eigen's, at the compiled SIMD level).
inline constexpr Index kLanes = Eigen::internal::packet_traits<double>::size;

/// block_backward handles K up to this; above, Eigen's GEMM is faster.
inline constexpr Index kMaxKernelK = 24;

/// block_backward takes a descent step in place (descend_lr set) up to this K (one class group).
inline constexpr Index kMaxDescendK = 12;

/// The most samples (columns) a block passed to block_backward may have.
inline constexpr Index kMaxBlockColumns = 256;

/// Blocks block_backward prefetches into L2 while it runs: the next block of H, or the next block of
/// every source of a stage point (LinearCombination).
struct NextBlocks {
  int count = 0;
  const double* first[16] = {};
};

/// Logits of a block (class-major: Zt[k·ldz + i], ldz = nb when 0) with the kernels: per group of
/// samples, every class group while those columns are in L1. pack (streaming mode): receives the
/// block's columns in the packed layout of block_backward (pack[(r / kLanes)·nb·kLanes + i·kLanes +
/// r % kLanes] = h_i[r]).
/// W: K×d column-major (theta's own layout); Wt = Wᵀ; b: K biases, or null.
/// Returns Σ_i ||h_i||² over the block (accumulated on the way, in a fixed order), or with `squares`
/// false 0 (the transposed kernels then spend no multiply-add on it: a caller that needs the logits
/// alone). With AVX-512 and K > kMaxKernelK (no pack), each logit is one multiply-add chain over
/// all d rows from zero, then its bias added, and the squares a pass of their own.
double block_logits(Index d, Index K, const double* W, const double* Wt, const double* Hb, Index nb, const double* b,
                    double* Zt, double* pack, Index ldz = 0, bool squares = true);

/// block_logits of the nb columns of a stage point x = Σ_t a_t x_t (a LinearCombination) that start
/// at its entry `begin`, with the block of x formed on the way into out (d×nb): out, Zt (ldz = nb) and
/// the returned sum of squares are bit for bit those of LinearCombination::form followed by
/// block_logits. With the transposed logits kernels (AVX-512: K ≤ 12, d % 8 = 0; AVX2: K ≤ 10,
/// d % 4 = 0) each packet of x is formed where the kernel loads it, so the sources are read among
/// the kernel's own loads and multiply-adds, not in a pass of their own; otherwise the block is
/// formed first. out may be one of the sources at the same
/// entries (a kept state formed in place): each packet is read from every source before it is written.
double block_logits_formed(Index d, Index K, const double* W, const double* Wt, const LinearCombination& stage,
                           Index begin, Index nb, const double* b, double* Zt, double* out);

/// A level's two products over a block of nb columns H_b (d×nb), for its metrics (few_rows_product.hpp):
/// Pt[k·ldz + i] = (A x_i)_k with x_i = h_i − μ, Zt[k·ldz + i] = (W h_i)_k, and the centred columns into
/// Xc (d×nb). A, W: K×d column-major, At, Wt their transposes. Each entry of Pt and Zt is the one
/// block_logits computes from the same columns, bit for bit; with AVX-512, d % 8 = 0 and K ≤ 10 both
/// come from one transpose of each tile of H_b. W (and Wt, Zt) null: Pt and Xc only. Returns Σ_i ‖x_i‖².
/// second_centred: Zt[k·ldz + i] = (W x_i)_k instead, a second level's projections of the same centred
/// columns (linear_images.cpp); Xc is then scratch (the kernel stores no centred column) and the
/// return value 0.
double block_centred_pair(Index d, Index K, const double* A, const double* At, const double* W, const double* Wt,
                          const double* mu, const double* Hb, Index nb, double* Xc, double* Pt, double* Zt, Index ldz,
                          bool second_centred = false);

/// H-gradient of a block and (if gWt) its W-gradient contribution, with the kernels (K ≤ kMaxKernelK):
///   gHb[:, i] = λ h_i + Σ_k G_ki w_k,   gWt[:, k] += Σ_i G_ki h_i.
/// packed: the block's columns from block_logits, or null to read Hb. For large H: the packed copy
/// keeps the loads of H off the 4 KiB-aliased addresses of the gH stores (theta and grad are both
/// page-aligned allocations and d·8 is often a multiple of 4096), `stream` writes gH with
/// non-temporal stores (gHb 64-byte aligned, d a multiple of kLanes), and `next` (the next blocks of
/// H, or null) is prefetched into L2.
/// descend_lr → lr (K ≤ kMaxDescendK; null: none): a gradient-descent step instead; gHb is the block
/// of H itself and receives h_i − lr·(λ h_i + Σ_k G_ki w_k), a product then a difference, as GradientDescent's update
/// (gWt still receives the W-gradient contribution of the old H).
void block_backward(Index d, Index K, const double* Wt, const double* Hb, const double* packed, Index nb,
                    const double* Gt, double* gHb, double* gWt, double lambda, const double* descend_lr, bool stream,
                    const NextBlocks* next);

/// The W-gradient contribution of a block alone, gWt[:, k] += Σ_i G_ki h_i (G class-major, Gt[k·ldg + i]),
/// for K ≤ kMaxDescendK: what an RK4 stage with a low-rank slope needs (UfmObjective::gradient_low_rank_at
/// writes no H-gradient). Each entry's sum runs over the samples in order from zero, then is added to gWt.
void block_gw(Index d, Index K, const double* Hb, Index nb, const double* Gt, Index ldg, double* gWt);

}  // namespace ufm::detail
