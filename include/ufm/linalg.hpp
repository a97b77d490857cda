#pragma once
/// Eigen aliases used across ufm-sim (double precision, column-major).
#include <cmath>
#include <Eigen/Dense>

namespace ufm {
using Index = Eigen::Index;
using Vec = Eigen::VectorXd;
using Mat = Eigen::MatrixXd;
using VecMap = Eigen::Map<Vec>;
using ConstVecMap = Eigen::Map<const Vec>;
using MatMap = Eigen::Map<Mat>;
using ConstMatMap = Eigen::Map<const Mat>;

/// Asks the kernel for transparent huge pages (madvise MADV_HUGEPAGE) over the 2 MiB-aligned
/// interior of v's storage when v holds at least 8 MiB; no effect otherwise, or where the kernel
/// does not have them. Call it after allocating and before the first write: the pages a θ-sized
/// vector is first written into then fault in 2 MiB at a time instead of 4 KiB (at the paper size,
/// half of a short flow run's wall time was those faults on a VM). Advice only: values, results and
/// errors are unaffected.
void advise_huge_pages(Vec& v);

/// ‖v‖ from its sum of squares; where that sum overflows with every entry finite (a gradient whose entries
/// pass 1e154, as at λ = 1e155), Eigen's scaled stableNorm instead: only a non-finite entry gives a
/// non-finite norm, which the dynamics report as divergence.
inline double norm_from_squares(double sum_of_squares, const Vec& v) {
  if (std::isfinite(sum_of_squares) || !v.allFinite()) return std::sqrt(sum_of_squares);
  return v.stableNorm();
}
inline double finite_norm(const Vec& v) { return norm_from_squares(v.squaredNorm(), v); }

/// v resized to n entries (contents unspecified) with advise_huge_pages applied.
void resize_large(Vec& v, Index n);

/// "OpenBLAS 0.3.21 … (1 thread)" when Eigen's products go through OpenBLAS, else "Eigen".
const char* blas_backend();

#ifdef UFM_USE_OPENBLAS
namespace detail {
/// Pins OpenBLAS to the calling thread; true. Our own OpenMP chunks are the parallelism, and
/// OpenBLAS's thread splits would make results depend on the thread count.
bool pin_openblas_to_one_thread();
/// Runs once per program, before main, in any program that includes this header.
inline const bool kOpenBlasPinned = pin_openblas_to_one_thread();
}  // namespace detail
#endif
}  // namespace ufm
