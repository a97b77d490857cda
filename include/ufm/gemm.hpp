#pragma once
/// C = β·C + op(A)·op(B) in double precision, with our own AVX-512 kernel where the build has
/// AVX-512: a 24×8 register tile over packed panels (the BLIS loop nest). It exists because the
/// BLAS behind Eigen's products may not use the machine's widest vectors: Debian's OpenBLAS 0.3.21
/// runs its Haswell (AVX2) kernels on a Zen 5 (it does not know the CPU, and these machines set
/// OPENBLAS_CORETYPE=Haswell), 49 GFLOP/s on one core where the AVX-512 FMA peak is 115. Without
/// AVX-512 the same call is Eigen's product (through the BLAS when the build uses one).
///
/// One thread computes one call, so results never depend on the thread count. With the own kernel,
/// each entry of C is also Σ_p a_ip b_pj summed in p order, in blocks of 256, whatever the shapes
/// around it: the bits do not depend on how a caller splits the rows or columns of C (Eigen's
/// product and the BLAS do not promise that).
#include <vector>

#include "ufm/linalg.hpp"

namespace ufm {

/// One operand of gemm: the column-major matrix at data (leading dimension ld), used as it is or
/// transposed.
struct GemmOperand {
  const double* data;
  Index ld;
  bool transposed = false;
};

/// C (m×n, column-major, leading dimension ldc) = β·C + op(A)·op(B), op(A) m×k, op(B) k×n. With
/// β = 0, C is not read (it may hold anything, NaN included).
void gemm(Index m, Index n, Index k, GemmOperand A, GemmOperand B, double beta, double* C, Index ldc);

/// op(A) packed once for many products with it: the panels gemm packs its A into on every call,
/// kept for the calls that share A (the deep model's column chunks all multiply by the same W_l and
/// W_lᵀ: packing them for each chunk was 6.5% of the 2-layer paper step's profile on the Xeon, 2.4%
/// once per pass). The products have the same bits as gemm's with the operand itself. Without the
/// own kernel it only remembers the operand, which must then stay as it was packed. Movable, not
/// copyable (it points into its own storage).
class PackedA {
 public:
  PackedA() = default;
  PackedA(const PackedA&) = delete;
  PackedA& operator=(const PackedA&) = delete;
  PackedA(PackedA&&) = default;
  PackedA& operator=(PackedA&&) = default;
  /// Room for op(A) up to m×k: allocates here, so that pack never does.
  void reserve(Index m, Index k);
  /// Packs op(A) (m×k, within the reserved room).
  void pack(Index m, Index k, GemmOperand A);
  Index rows() const { return m_; }
  Index depth() const { return k_; }
  /// Rows i0 … of the packed depths p0 … p0 + kc − 1, kc the block depth gemm uses there.
  const double* block(Index i0, Index p0) const;
  const GemmOperand& source() const { return source_; }

 private:
  Index m_ = 0, k_ = 0, padded_rows_ = 0, capacity_ = 0;
  GemmOperand source_{nullptr, 0};
  std::vector<double> storage_;  ///< the panels, from the first 64-byte boundary in it
  double* panels_ = nullptr;
};

/// C (A.rows()×n) = β·C + op(A)·op(B), op(A) the packed operand: the same bits as gemm's.
void gemm(Index n, const PackedA& A, GemmOperand B, double beta, double* C, Index ldc);

/// True when gemm runs its own kernel (an AVX-512 build), false when it is Eigen's product.
bool gemm_has_own_kernel();

/// The own kernel's register tile, for other kernels that lay their operands out as gemm packs them
/// (the Gram's, gram_kernel.cpp): out[(3j + v)·8 + l] = Σ_p a[24p + 8v + l] · b[8p + j] for
/// v < 3, l < 8, j < 8, over p = 0 … depth − 1 in order, each a chain of fused multiply-adds from +0
/// (its bits are those of the same loop with std::fma). a and out 64-byte aligned, out 192 doubles.
/// Throws std::logic_error where gemm_has_own_kernel() is false.
inline constexpr Index kGemmTileRows = 24;
inline constexpr Index kGemmTileCols = 8;
void gemm_tile(Index depth, const double* a, const double* b, double* out);

/// Gives every thread of an OpenMP team of omp_get_max_threads() its packing buffers now (the own
/// kernel's; nothing without it). gemm allocates a thread's buffers on that thread's first call, and
/// the objectives hand their chunks to threads dynamically, so a worker that took no chunk while a
/// run warmed up (descheduled on a loaded machine) would allocate in the middle of the run. The
/// objectives that call gemm call this when they are built; the buffers are the full blocks' size,
/// and pages no product reaches are never touched.
void gemm_prepare_threads();

/// Eigen-friendly forms: C = β·C + op(A)·op(B) for matrices or blocks with contiguous columns.
template <class CM>
void gemm_into(CM&& C, const Eigen::Ref<const Mat>& A, bool transpose_a, const Eigen::Ref<const Mat>& B,
               bool transpose_b, double beta) {
  const Index k = transpose_a ? A.rows() : A.cols();
  gemm(C.rows(), C.cols(), k, {A.data(), A.outerStride(), transpose_a}, {B.data(), B.outerStride(), transpose_b},
       beta, C.data(), C.outerStride());
}

/// C = β·C + op(A)·op(B) with op(A) packed, for a matrix or block with contiguous columns.
template <class CM>
void gemm_into(CM&& C, const PackedA& A, const Eigen::Ref<const Mat>& B, bool transpose_b, double beta) {
  gemm(C.cols(), A, {B.data(), B.outerStride(), transpose_b}, beta, C.data(), C.outerStride());
}

}  // namespace ufm
