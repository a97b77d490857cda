#pragma once
/// The lower triangle of a Gram matrix X Xᵀ of a d×n block of columns: the spectrum's d×d Gram
/// (feature_level.cpp). With AVX-512 a register-tiled kernel (8×16 tiles, one pass over the block
/// per row of tiles; with 16×8 tiles it took 0.45 and 0.65 of the time of OpenBLAS's dsyrk at d = 64
/// and 512, which packs both operands). With AVX2 the same kernel in 8×4 tiles up to d = 64 (there on
/// par with dsyrk's Haswell kernels and faster than its Cooperlake ones; from d = 256 slower than
/// either). Otherwise, and for d < 8, that dsyrk.
#include "ufm/linalg.hpp"

namespace ufm {

/// true when the tiles add each product with an FMA (rounded once): the AVX2 tiles. The AVX-512 ones
/// round each product and sum on their own, as the rest of the library does.
#if defined(__FMA__) && !defined(__AVX512F__) && defined(__AVX__)
inline constexpr bool kGramFusedMultiplyAdd = true;
#else
inline constexpr bool kGramFusedMultiplyAdd = false;
#endif

/// G[r, c] += Σ_i X[r, i] X[c, i] for c ≤ r < d (the lower triangle; the upper one is not touched).
/// X: d×n column-major with leading dimension ldx ≥ d; G: d×d column-major with leading dimension
/// ldg ≥ d. Deterministic for given sizes and ISA (the tiles sum each entry over i in order, then
/// add it to G; each product and sum rounded on its own, or with kGramFusedMultiplyAdd each product
/// added by an FMA).
void add_gram_lower(const double* X, Index ldx, Index d, Index n, double* G, Index ldg);

}  // namespace ufm
