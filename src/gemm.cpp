#include "ufm/gemm.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__AVX512F__)
#include <immintrin.h>

#include "ufm/transpose_8x8.hpp"
#include "ufm/zmm_tile_asm.hpp"
#endif

namespace ufm {

#if defined(__AVX512F__)
namespace {

constexpr Index kMr = 24;   ///< rows of the register tile: three vectors of 8
static_assert(kMr == kGemmTileRows);
constexpr Index kNr = 8;    ///< columns of the register tile: 24 accumulators of the 32 registers
static_assert(kNr == kGemmTileCols);
constexpr Index kKc = 256;  ///< depth of a packed block: an 8-column panel of B is 16 KiB, in L1
constexpr Index kMc = 240;  ///< rows of a packed block of A: 480 KiB, in L2 (1 MiB on Zen 4 and 5)
constexpr Index kNc = 1024; ///< columns of a packed block of B: 2 MiB, in L3

/// Rows i0 … i0 + mc − 1 and depths p0 … p0 + kc − 1 of op(A), in panels of kMr rows: panel r holds,
/// depth after depth, its kMr rows (rows past m as zeros).
void pack_a(const GemmOperand& A, Index i0, Index mc, Index p0, Index kc, double* out) {
  for (Index r0 = 0; r0 < mc; r0 += kMr) {
    const Index rows = std::min(kMr, mc - r0);
    double* panel = out + r0 * kc;
    if (!A.transposed && rows == kMr) {
      for (Index p = 0; p < kc; ++p) {
        const double* col = A.data + (i0 + r0) + (p0 + p) * A.ld;
        for (int v = 0; v < 3; ++v) _mm512_store_pd(panel + p * kMr + 8 * v, _mm512_loadu_pd(col + 8 * v));
      }
      continue;
    }
    for (Index r = 0; r < kMr; ++r) {
      if (r >= rows) {
        for (Index p = 0; p < kc; ++p) panel[p * kMr + r] = 0.0;
      } else if (A.transposed) {  // row i of op(A) is column i of A: contiguous in p
        const double* src = A.data + p0 + (i0 + r0 + r) * A.ld;
        for (Index p = 0; p < kc; ++p) panel[p * kMr + r] = src[p];
      } else {  // op(A)(i, p) = A(i, p)
        const double* src = A.data + (i0 + r0 + r) + p0 * A.ld;
        for (Index p = 0; p < kc; ++p) panel[p * kMr + r] = src[p * A.ld];
      }
    }
  }
}

/// Depths p0 … p0 + kc − 1 and columns j0 … j0 + nc − 1 of op(B), in panels of kNr columns: panel c
/// holds, depth after depth, its kNr columns (columns past n as zeros).
void pack_b(const GemmOperand& B, Index p0, Index kc, Index j0, Index nc, double* out) {
  for (Index c0 = 0; c0 < nc; c0 += kNr) {
    const Index cols = std::min(kNr, nc - c0);
    double* panel = out + c0 * kc;
    if (B.transposed && cols == kNr) {  // op(B)(p, j) = B(j, p): the 8 columns contiguous at each depth
      for (Index p = 0; p < kc; ++p)
        _mm512_store_pd(panel + p * kNr, _mm512_loadu_pd(B.data + (j0 + c0) + (p0 + p) * B.ld));
      continue;
    }
    Index p = 0;
    if (!B.transposed && cols == kNr)  // 8 columns × 8 depths at a time, transposed in registers
      for (; p + 8 <= kc; p += 8) {
        __m512d col[8], depth[8];
        for (Index c = 0; c < kNr; ++c) col[c] = _mm512_loadu_pd(B.data + (p0 + p) + (j0 + c0 + c) * B.ld);
        transpose_8x8(col, depth);
        for (Index q = 0; q < 8; ++q) _mm512_store_pd(panel + (p + q) * kNr, depth[q]);
      }
    if (p == kc) continue;
    for (Index c = 0; c < kNr; ++c) {
      if (c >= cols) {
        for (Index q = p; q < kc; ++q) panel[q * kNr + c] = 0.0;
      } else if (!B.transposed) {  // column j of op(B) is column j of B: contiguous in p
        const double* src = B.data + p0 + (j0 + c0 + c) * B.ld;
        for (Index q = p; q < kc; ++q) panel[q * kNr + c] = src[q];
      } else {  // op(B)(p, j) = B(j, p)
        const double* src = B.data + (j0 + c0 + c) + p0 * B.ld;
        for (Index q = p; q < kc; ++q) panel[q * kNr + c] = src[q * B.ld];
      }
    }
  }
}

// The full 24×8 tile's depth loop in assembly. From the intrinsics (edge_tile_depths<3>) GCC 12 kept
// two of the 24 accumulators on the stack and copied registers around the four unrolled depths; with
// every register fixed, products of the shapes the objectives make ran 4% faster on an Intel Xeon
// (512³ 77 → 80 GFLOP/s; bench/HISTORY.md, session 47). acc[v][j] lives in zmm(3j + v), a depth's
// three A vectors in zmm24–26, b's broadcasts alternate in zmm27/28: the same multiply-adds in the
// same order as the intrinsics, so the same bits.
#define UFM_GEMM_COLUMN(P, J, B, R0, R1, R2)              \
  "vbroadcastsd " #P "*64+" #J "*8(%[b]), %%zmm" #B "\n\t" \
  "vfmadd231pd %%zmm" #B ", %%zmm24, %%zmm" #R0 "\n\t"     \
  "vfmadd231pd %%zmm" #B ", %%zmm25, %%zmm" #R1 "\n\t"     \
  "vfmadd231pd %%zmm" #B ", %%zmm26, %%zmm" #R2 "\n\t"
#define UFM_GEMM_DEPTH(P)                                                                        \
  "vmovapd " #P "*192(%[a]), %%zmm24\n\t"                                                          \
  "vmovapd " #P "*192+64(%[a]), %%zmm25\n\t"                                                       \
  "vmovapd " #P "*192+128(%[a]), %%zmm26\n\t"                                                      \
  UFM_GEMM_COLUMN(P, 0, 27, 0, 1, 2) UFM_GEMM_COLUMN(P, 1, 28, 3, 4, 5)                          \
  UFM_GEMM_COLUMN(P, 2, 27, 6, 7, 8) UFM_GEMM_COLUMN(P, 3, 28, 9, 10, 11)                        \
  UFM_GEMM_COLUMN(P, 4, 27, 12, 13, 14) UFM_GEMM_COLUMN(P, 5, 28, 15, 16, 17)                    \
  UFM_GEMM_COLUMN(P, 6, 27, 18, 19, 20) UFM_GEMM_COLUMN(P, 7, 28, 21, 22, 23)

/// out[(3j + v)·8 ..] = Σ_p a(8v.., p) b(p, j), p in order: the full tile's depth loop.
void full_tile_depths(Index kc, const double* a, const double* b, double* out) {
  Index fours = kc / 4, ones = kc % 4;
  asm volatile(
      UFM_ZMM_ZERO_0_23
      "test %[fours], %[fours]\n\t"
      "jz 2f\n\t"
      "1:\n\t" UFM_GEMM_DEPTH(0) UFM_GEMM_DEPTH(1) UFM_GEMM_DEPTH(2) UFM_GEMM_DEPTH(3)
      "add $768, %[a]\n\t"
      "add $256, %[b]\n\t"
      "dec %[fours]\n\t"
      "jnz 1b\n\t"
      "2:\n\t"
      "test %[ones], %[ones]\n\t"
      "jz 4f\n\t"
      "3:\n\t" UFM_GEMM_DEPTH(0)
      "add $192, %[a]\n\t"
      "add $64, %[b]\n\t"
      "dec %[ones]\n\t"
      "jnz 3b\n\t"
      "4:\n\t"
      UFM_ZMM_STORE_0_23("%[out]")
      : [a] "+r"(a), [b] "+r"(b), [fours] "+r"(fours), [ones] "+r"(ones)
      : [out] "r"(out)
      : UFM_ZMM_CLOBBERS_0_28, "memory", "cc");
}
#undef UFM_GEMM_DEPTH
#undef UFM_GEMM_COLUMN

/// acc[v][j] = Σ_p a(8v.., p) b(p, j), p in order, for the first 8V rows of an a panel (kMr×kc) and a b
/// panel (kc×kNr): the intrinsics, for the panels of fewer rows (V < 3).
template <int V>
void edge_tile_depths(Index kc, const double* a, const double* b, __m512d (&acc)[V][kNr]) {
  for (int v = 0; v < V; ++v)
    for (Index j = 0; j < kNr; ++j) acc[v][j] = _mm512_setzero_pd();
  const auto depth = [&](Index p) {  // acc += a(:, p) b(p, :)
    __m512d av[V];
    for (int v = 0; v < V; ++v) av[v] = _mm512_load_pd(a + p * kMr + 8 * v);
    const double* bp = b + p * kNr;
    for (Index j = 0; j < kNr; ++j) {
      const __m512d bj = _mm512_set1_pd(bp[j]);
      for (int v = 0; v < V; ++v) acc[v][j] = _mm512_fmadd_pd(av[v], bj, acc[v][j]);
    }
  };
  // Four depths per iteration: 10% more multiply-adds per second on an Intel Xeon with the A panel
  // streaming from L2 than one (the same products in the same order).
  Index p = 0;
  for (; p + 4 <= kc; p += 4) {
    depth(p);
    depth(p + 1);
    depth(p + 2);
    depth(p + 3);
  }
  for (; p < kc; ++p) depth(p);
}

/// acc = the first 8V rows of an a panel (kMr×kc) times a b panel (kc×kNr), p in order; then the
/// tile of C (rows ≤ 8V × cols of it, leading dimension ldc) = acc + (first ? β·C : C), C not read
/// when first and β = 0. V < 3 for the last panel of a block whose rows end within it.
template <int V>
void kernel(Index kc, const double* a, const double* b, double* C, Index ldc, Index rows, Index cols, bool first,
            double beta) {
  __m512d acc[V][kNr];
  if constexpr (V == 3) {
    alignas(64) double sums[3 * kNr * 8];
    full_tile_depths(kc, a, b, sums);
    for (int v = 0; v < V; ++v)
      for (Index j = 0; j < kNr; ++j) acc[v][j] = _mm512_load_pd(sums + (3 * j + v) * 8);
  } else {
    edge_tile_depths<V>(kc, a, b, acc);
  }
  const bool read_c = !first || beta != 0.0;
  const double s = first ? beta : 1.0;
  if (rows == 8 * V && cols == kNr) {
    const __m512d scale = _mm512_set1_pd(s);
    for (Index j = 0; j < kNr; ++j) {
      double* cj = C + j * ldc;
      for (int v = 0; v < V; ++v) {
        const __m512d r = read_c ? _mm512_fmadd_pd(scale, _mm512_loadu_pd(cj + 8 * v), acc[v][j]) : acc[v][j];
        _mm512_storeu_pd(cj + 8 * v, r);
      }
    }
    return;
  }
  alignas(64) double tile[8 * V * kNr];
  for (Index j = 0; j < kNr; ++j)
    for (int v = 0; v < V; ++v) _mm512_store_pd(tile + j * 8 * V + 8 * v, acc[v][j]);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) {
      double& cij = C[i + j * ldc];
      cij = read_c ? std::fma(s, cij, tile[i + j * 8 * V]) : tile[i + j * 8 * V];  // as the whole tiles
    }
}

/// The kernel for a panel with `rows` rows of C: as many vectors as they need.
void panel_kernel(Index kc, const double* a, const double* b, double* C, Index ldc, Index rows, Index cols,
                  bool first, double beta) {
  if (rows > 16)
    kernel<3>(kc, a, b, C, ldc, rows, cols, first, beta);
  else if (rows > 8)
    kernel<2>(kc, a, b, C, ldc, rows, cols, first, beta);
  else
    kernel<1>(kc, a, b, C, ldc, rows, cols, first, beta);
}

struct AlignedFree {
  void operator()(double* p) const { ::operator delete[](p, std::align_val_t{64}); }
};

/// This thread's packing buffer of n doubles, allocated on its first call and kept: always of the
/// full block's size, so that no later call allocates (a thread may meet a larger product than its
/// first), and pages a small product does not reach are never touched.
double* scratch(std::unique_ptr<double[], AlignedFree>& buf, Index n) {
  if (!buf)
    buf.reset(static_cast<double*>(::operator new[](static_cast<std::size_t>(n) * sizeof(double),
                                                    std::align_val_t{64})));
  return buf.get();
}

thread_local std::unique_ptr<double[], AlignedFree> a_buf, b_buf;  ///< this thread's packed A and B

/// This thread's packing buffers for a block of A and a block of B (allocated on the first call).
struct Packing {
  double* a;
  double* b;
};
Packing this_threads_packing() { return {scratch(a_buf, kMc * kKc), scratch(b_buf, kNc * kKc)}; }

/// C = β·C for a product of depth 0.
void scale_c(Index m, Index n, double beta, double* C, Index ldc) {
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < m; ++i) C[i + j * ldc] = beta == 0.0 ? 0.0 : beta * C[i + j * ldc];
}

/// The BLIS loop nest over packed blocks; a_block(i0, mc, p0, kc) gives the block of A's panels.
template <class ABlock>
void blocked_product(Index m, Index n, Index k, ABlock&& a_block, GemmOperand B, double beta, double* C,
                     Index ldc, double* Bp) {
  for (Index j0 = 0; j0 < n; j0 += kNc) {
    const Index nc = std::min(kNc, n - j0);
    for (Index p0 = 0; p0 < k; p0 += kKc) {
      const Index kc = std::min(kKc, k - p0);
      const bool first = p0 == 0;
      pack_b(B, p0, kc, j0, nc, Bp);
      for (Index i0 = 0; i0 < m; i0 += kMc) {
        const Index mc = std::min(kMc, m - i0);
        const double* Ap = a_block(i0, mc, p0, kc);
        for (Index c0 = 0; c0 < nc; c0 += kNr)
          for (Index r0 = 0; r0 < mc; r0 += kMr)
            panel_kernel(kc, Ap + r0 * kc, Bp + c0 * kc, C + (i0 + r0) + (j0 + c0) * ldc, ldc,
                         std::min(kMr, mc - r0), std::min(kNr, nc - c0), first, beta);
      }
    }
  }
}

Index padded_rows(Index m) { return (m + kMr - 1) / kMr * kMr; }

}  // namespace

void gemm(Index m, Index n, Index k, GemmOperand A, GemmOperand B, double beta, double* C, Index ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) return scale_c(m, n, beta, C, ldc);
  const auto [Ap, Bp] = this_threads_packing();
  const auto pack_block = [&, Ap = Ap](Index i0, Index mc, Index p0, Index kc) {
    pack_a(A, i0, mc, p0, kc, Ap);
    return static_cast<const double*>(Ap);
  };
  blocked_product(m, n, k, pack_block, B, beta, C, ldc, Bp);
}

// The packed operand holds every block gemm would pack, depth block after depth block: the block of
// depths p0 … (kc deep) starts at p0·padded_rows, and within it the panel of rows r0 … at r0·kc, as in
// pack_a's output.
void PackedA::reserve(Index m, Index k) {
  const Index need = padded_rows(std::max<Index>(m, 0)) * std::max<Index>(k, 0);
  if (need <= capacity_) return;
  storage_.assign(static_cast<std::size_t>(need + 8), 0.0);
  const auto address = reinterpret_cast<std::uintptr_t>(storage_.data());
  panels_ = storage_.data() + ((64 - address % 64) % 64) / sizeof(double);
  capacity_ = need;
}

void PackedA::pack(Index m, Index k, GemmOperand A) {
  m_ = m, k_ = k, source_ = A, padded_rows_ = padded_rows(m);
  if (m <= 0 || k <= 0) return;
  if (padded_rows_ * k > capacity_)
    throw std::logic_error("PackedA::pack: op(A) is larger than reserve() made room for");
  for (Index p0 = 0; p0 < k; p0 += kKc) {
    const Index kc = std::min(kKc, k - p0);
    for (Index i0 = 0; i0 < m; i0 += kMc)
      pack_a(A, i0, std::min(kMc, m - i0), p0, kc, panels_ + p0 * padded_rows_ + i0 * kc);
  }
}

const double* PackedA::block(Index i0, Index p0) const {
  return panels_ + p0 * padded_rows_ + i0 * std::min(kKc, k_ - p0);
}

void gemm(Index n, const PackedA& A, GemmOperand B, double beta, double* C, Index ldc) {
  const Index m = A.rows(), k = A.depth();
  if (m <= 0 || n <= 0) return;
  if (k <= 0) return scale_c(m, n, beta, C, ldc);
  const auto block = [&](Index i0, Index, Index p0, Index) { return A.block(i0, p0); };
  blocked_product(m, n, k, block, B, beta, C, ldc, this_threads_packing().b);
}

bool gemm_has_own_kernel() { return true; }

void gemm_tile(Index depth, const double* a, const double* b, double* out) { full_tile_depths(depth, a, b, out); }

void gemm_prepare_threads() {
#ifdef _OPENMP
  if (!omp_in_parallel()) {
#pragma omp parallel
    this_threads_packing();
    return;
  }
#endif
  this_threads_packing();
}

#else

void gemm(Index m, Index n, Index k, GemmOperand A, GemmOperand B, double beta, double* C, Index ldc) {
  if (m <= 0 || n <= 0) return;
  Eigen::Map<Mat, 0, Eigen::OuterStride<>> c(C, m, n, Eigen::OuterStride<>(ldc));
  if (beta == 0.0)
    c.setZero();
  else if (beta != 1.0)
    c *= beta;
  if (k <= 0) return;
  using Operand = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;
  const Operand a(A.data, A.transposed ? k : m, A.transposed ? m : k, Eigen::OuterStride<>(A.ld));
  const Operand b(B.data, B.transposed ? n : k, B.transposed ? k : n, Eigen::OuterStride<>(B.ld));
  if (A.transposed && B.transposed)
    c.noalias() += a.transpose() * b.transpose();
  else if (A.transposed)
    c.noalias() += a.transpose() * b;
  else if (B.transposed)
    c.noalias() += a * b.transpose();
  else
    c.noalias() += a * b;
}

void PackedA::reserve(Index, Index) {}

void PackedA::pack(Index m, Index k, GemmOperand A) { m_ = m, k_ = k, source_ = A; }

const double* PackedA::block(Index, Index) const { return nullptr; }

void gemm(Index n, const PackedA& A, GemmOperand B, double beta, double* C, Index ldc) {
  gemm(A.rows(), n, A.depth(), A.source(), B, beta, C, ldc);
}

bool gemm_has_own_kernel() { return false; }

void gemm_tile(Index, const double*, const double*, double*) {
  throw std::logic_error("gemm_tile: this build has no AVX-512 kernel of its own");
}

void gemm_prepare_threads() {}

#endif

}  // namespace ufm
