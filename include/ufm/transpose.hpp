#pragma once
/// Aᵀ of a small column-major matrix, for the objective's per-call transposes (Wᵀ for its kernels,
/// the W-gradient from their d×K partials). At K = 4, d = 16 Eigen's assignment of a transpose moved
/// one entry at a time and took 20 ns of a 0.55 µs gradient.
#include "ufm/linalg.hpp"

namespace ufm {

/// At = Aᵀ: A is rows×cols, At cols×rows, both column-major and not overlapping. Entries are copied,
/// so the result is exact.
void transpose(const double* A, Index rows, Index cols, double* At);

}  // namespace ufm
