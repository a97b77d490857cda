#pragma once
/// The K×K-sized products of the low-rank slopes' residuals (low_rank_slope.hpp,
/// UfmObjective::gradient_low_rank_at), for K ≤ kMaxDescendK: the logits' corrections Σ_t R_t M_tᵀ and
/// the W-gradient's R Rₜᵀ. Through gemm, each call packed its operands and ran K = 10 columns on
/// 8-column tiles (two tiles, the second a quarter full): at the paper size about 11% of a dopri5
/// stage for under 10% of its flops (bench/HISTORY.md, session 65). These are register kernels over
/// the samples, with no packing.
///
/// Both are class-major: a residual block R holds sample r of class k at R[r + k·ld].
#include "ufm/linalg.hpp"

namespace ufm::detail {

/// out[r + k·ldo] = Σ_t Σ_j R_t[r + j·ldr] · M[k + (t·K + j)·K] for r < rows, k < K: Σ_t R_t M_tᵀ, with
/// M = [M_0 M_1 …] (K×(terms·K), column-major). Each entry is one multiply-add chain, in t then j
/// order, from zero. K in [2, kMaxDescendK] (std::invalid_argument otherwise).
void residuals_times_transposed(Index rows, Index K, int terms, const double* const* R, Index ldr, const double* M,
                                double* out, Index ldo);

/// out[k + j·K] = Σ_{r < rows} A[r + k·lda] · B[r + j·ldb] (Aᵀ B, K×K, column-major): per entry a
/// multiply-add chain per vector lane over the samples, the lanes then added in order, then the last
/// rows. The same K range.
void residual_cross_product(Index rows, Index K, const double* A, Index lda, const double* B, Index ldb, double* out);

}  // namespace ufm::detail
