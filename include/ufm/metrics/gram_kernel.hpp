#pragma once
/// The lower triangle of a Gram matrix X Xᵀ of a d×n block of columns: the spectrum's d×d Gram
/// (feature_level.cpp). With AVX-512 a register-tiled kernel (8×16 or 16×12 tiles by the CPU, one
/// pass over the block per row of tiles; on the Zen 4 its 16×8 tiles took 0.45 and 0.65 of the time
/// of OpenBLAS's dsyrk at d = 64 and 512, which packs both operands). With AVX2 the same kernel in
/// 8×4 tiles up to d = 64 (there on par with dsyrk's Haswell kernels and faster than its Cooperlake
/// ones; from d = 256 slower than either). Otherwise, and for d < 8, that dsyrk. From d = 512 (a
/// multiple of 16) the 16-row tiles read a copy of a block of up to 2 MiB packed in panels of 16 rows;
/// with kRowsOf16Fused (Intel), from d = 256, gemm's 24×8 register tile reads the block packed as gemm
/// packs its operands (kRowsOf16FusedPanels, the Zen 5: only where no 16-row panels are packed): bit
/// for bit the same sums either way.
#include "ufm/linalg.hpp"

namespace ufm {

/// true when every tile adds each product with an FMA (rounded once): the AVX2 tiles. The AVX-512
/// ones do where their GramTiles say so (gram_fuses_multiply_add).
#if defined(__FMA__) && !defined(__AVX512F__) && defined(__AVX__)
inline constexpr bool kGramFusedMultiplyAdd = true;
#else
inline constexpr bool kGramFusedMultiplyAdd = false;
#endif

/// The register tiles' shape with AVX-512, and how they add each product (the AVX2 tiles have one
/// shape, 8×4). Every entry is the same sum in the same order whatever the shape: the shape changes
/// the speed, never a bit; a fused kind rounds each product and its sum once.
enum class GramTiles {
  kRowsOf8,        ///< 8×16: one row vector, each column's broadcast folded into its multiply
  kRowsOf16,       ///< 16×12: two row vectors sharing each column's broadcast
  kRowsOf16Fused,  ///< 16×12, each product added by an FMA; from d = 256 gemm's 24×8 tile (the same bits)
  /// As kRowsOf16Fused, but where the 16-row tiles read packed panels (d ≥ 512, a multiple of 16) they
  /// stay: gemm's tile only where no panels are packed (the same bits either way).
  kRowsOf16FusedPanels,
};

/// The shape measured faster on this CPU (d = 64 and 512, N = 1,000 and 5,000): kRowsOf8 on AMD's
/// family 25 (Zen 4, whose AVX-512 runs as two 256-bit halves and where a broadcast of its own took
/// a slot of the floating-point pipes: 55 against 39 GFLOP/s in one tile), kRowsOf16Fused on Intel
/// (two FMA pipes, which take a separate multiply and add as two operations: at d = 64, N = 1,000 62
/// against 87 µs on a Xeon with AVX-512), kRowsOf16FusedPanels on AMD's family 26 (the Zen 5,
/// full-width AVX-512; session 50, one core, best of 3–50: d = 64, N = 1,000 50–58 µs against the
/// unfused tiles' 54–63; d = 384 in blocks of 128, gemm's tile 9.2 ms against 11.3 for the fused 16-row
/// tiles and 12.5 unfused; d = 512 in blocks of 128 to 512, the fused panels 16.2 ms per 5,000 samples
/// against gemm's tile's 18.8–19.2 and the unfused panels' 16.9–17.2), kRowsOf16 elsewhere. Session 38
/// had found the unfused tiles faster on the Zen 5 (56–58 against 68–76 µs at d = 64), before the
/// fused tiles' later changes. The Gram's bits differ between a CPU whose kind fuses (Intel, the
/// Zen 5) and one whose kind does not (the Zen 4, others), and so do the spectra's last bits; on one
/// machine they are the same in every run.
GramTiles preferred_gram_tiles();

/// true when `tiles` add each product by an FMA (rounded once): the fused AVX-512 tiles, and every
/// AVX2 tile (kGramFusedMultiplyAdd). Under AVX2 and without AVX the shape is not used.
bool gram_fuses_multiply_add(GramTiles tiles);

/// G[r, c] += Σ_i X[r, i] X[c, i] for c ≤ r < d (the lower triangle; the upper one is not touched).
/// X: d×n column-major with leading dimension ldx ≥ d; G: d×d column-major with leading dimension
/// ldg ≥ d. Deterministic for given sizes, ISA and tiles (the tiles sum each entry over i in order,
/// then add it to G; each product and sum rounded on its own, or, where gram_fuses_multiply_add, each
/// product added by an FMA). `tiles` defaults to preferred_gram_tiles().
void add_gram_lower(const double* X, Index ldx, Index d, Index n, double* G, Index ldg);
void add_gram_lower(const double* X, Index ldx, Index d, Index n, double* G, Index ldg, GramTiles tiles);

}  // namespace ufm
