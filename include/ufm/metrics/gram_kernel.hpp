#pragma once
/// The lower triangle of a Gram matrix X Xᵀ of a d×n block of columns, accumulated by a register-
/// tiled kernel: the spectrum's d×d Gram (feature_level.cpp) at 2–3× OpenBLAS's dsyrk for the
/// d ≤ a few hundred of the metrics (OpenBLAS packs both operands and pays its call overhead per
/// block).
#include "ufm/linalg.hpp"

namespace ufm {

/// G[r, c] += Σ_i X[r, i] X[c, i] for c ≤ r < d (the lower triangle; the upper one is not touched).
/// X: d×n column-major with leading dimension ldx ≥ d; G: d×d column-major with leading dimension
/// ldg ≥ d. Every entry is summed over i in order, then added to G: deterministic, the same for
/// any caller's thread count. Each product and sum is rounded on its own (no FMA), as in the rest of
/// the library.
void add_gram_lower(const double* X, Index ldx, Index d, Index n, double* G, Index ldg);

}  // namespace ufm
