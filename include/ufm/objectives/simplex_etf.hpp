#pragma once
/// The simplex equiangular tight frame used as a fixed classifier (Zhu et al.; theory.md §1).
#include "ufm/linalg.hpp"

namespace ufm {

/// K×d matrix whose rows form a simplex ETF: W Wᵀ = (norm² / (K−1)) (I − 11ᵀ/K), so ‖W‖_F = norm,
/// rows of equal length with pairwise cosine −1/(K−1). Spans the first K−1 coordinates
/// (Helmert basis of 1^⊥), so d ≥ K−1 is required (throws std::invalid_argument otherwise).
Mat simplex_etf_classifier(Index K, Index d, double norm);

}  // namespace ufm
