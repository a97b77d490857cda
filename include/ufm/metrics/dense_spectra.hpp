#pragma once
/// Values-only spectra of dense matrices: eigenvalues of a symmetric matrix, singular values of any
/// matrix. With OpenBLAS (UFM_USE_OPENBLAS) they go to the LAPACK it carries (dsyev: blocked
/// Householder tridiagonalization and root-free QL/QR, dsterf; up to m = 200 an unblocked reduction,
/// faster there (up to 64 with AVX or AVX-512 ours, tridiagonal_reduction.hpp, its vectors in
/// registers; else Eigen's), then dsterf's method with a shorter chain, tridiagonal_eigenvalues.hpp;
/// dgesvd: bidiagonalization and bidiagonal QR), 1.4× (symmetric, m = 64 to 512) to 15× (SVD,
/// 100×100) faster than Eigen's SelfAdjointEigenSolver and JacobiSVD; without it, those two. Both
/// are backward stable: every value to ~1e-16 × the largest.
#include "ufm/linalg.hpp"

namespace ufm {

/// Eigenvalues of the symmetric m×m matrix A, ascending. Reads only the lower triangle of A.
Vec symmetric_eigenvalues(const Mat& A);

/// Singular values of the m×n matrix A, descending, min(m, n) of them.
Vec singular_values(const Mat& A);

/// true when the two functions above run through LAPACK, false when through Eigen.
bool dense_spectra_use_lapack();

namespace detail {
/// Eigen's SelfAdjointEigenSolver and JacobiSVD: the fallback, and the reference of the tests.
Vec symmetric_eigenvalues_eigen(const Mat& A);
Vec singular_values_eigen(const Mat& A);
}  // namespace detail

}  // namespace ufm
