#pragma once
/// Eigen aliases used across ufm-sim (double precision, column-major).
#include <Eigen/Dense>

namespace ufm {
using Index = Eigen::Index;
using Vec = Eigen::VectorXd;
using Mat = Eigen::MatrixXd;
using VecMap = Eigen::Map<Vec>;
using ConstVecMap = Eigen::Map<const Vec>;
using MatMap = Eigen::Map<Mat>;
using ConstMatMap = Eigen::Map<const Mat>;

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
