#include "ufm/metrics/dense_spectra.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "ufm/metrics/tridiagonal_eigenvalues.hpp"
#include "ufm/metrics/tridiagonal_reduction.hpp"

#ifdef UFM_USE_OPENBLAS
extern "C" {
// LAPACK as OpenBLAS exports it (gfortran calling convention: trailing hidden lengths of the
// character arguments).
void dsyev_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
            const int* lwork, int* info, std::size_t jobz_len, std::size_t uplo_len);
void dsytrd_(const char* uplo, const int* n, double* a, const int* lda, double* d, double* e, double* tau,
             double* work, const int* lwork, int* info, std::size_t uplo_len);
void dgesvd_(const char* jobu, const char* jobvt, const int* m, const int* n, double* a, const int* lda, double* s,
             double* u, const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* info,
             std::size_t jobu_len, std::size_t jobvt_len);
}
#endif

namespace ufm {

namespace detail {

// Eigen's solvers read an empty matrix's largest entry (a segfault in a build without OpenBLAS, whose
// spectra go through them): no values, then, as the LAPACK route gives.
Vec symmetric_eigenvalues_eigen(const Mat& A) {
  if (A.size() == 0) return Vec(0);
  return Eigen::SelfAdjointEigenSolver<Mat>(A, Eigen::EigenvaluesOnly).eigenvalues();
}

Vec singular_values_eigen(const Mat& A) {
  if (A.size() == 0) return Vec(0);
  return Eigen::JacobiSVD<Mat>(A).singularValues();
}

}  // namespace detail

#ifdef UFM_USE_OPENBLAS
namespace {

int lapack_int(Index n, const char* who) {
  if (n > 1'000'000) throw std::length_error(std::string(who) + ": matrix too large for LAPACK's 32-bit sizes");
  return static_cast<int>(n);
}

void check_info(int info, const char* routine) {
  if (info != 0)  // info < 0: a bad argument (a bug here); info > 0: QR did not converge
    throw std::runtime_error(std::string(routine) + " failed with info = " + std::to_string(info));
}

/// Up to this size Eigen's unblocked Householder reduction to tridiagonal form is faster than
/// LAPACK's dsytrd here (Zen 5, one thread: 26 against 40 µs at m = 64, 143 against 171 at 128,
/// even at 256, 9.0 against 7.2 ms at 512).
constexpr Index kEigenReductionUpTo = 200;

/// The lower triangle's largest |a_ij|, what the matrix is scaled by before it is reduced; NaN if
/// an entry is NaN.
double lower_max_abs(const Mat& A) {
  double scale = 0.0;
  for (Index j = 0; j < A.cols(); ++j)
    for (Index i = j; i < A.rows(); ++i) {
      const double v = std::abs(A(i, j));
      if (v != v) return v;
      scale = std::max(scale, v);
    }
  return scale;
}

/// The eigenvalues of A (m ≤ kEigenReductionUpTo, largest |a_ij| = scale > 0, finite), ascending:
/// A scaled to entries of at most 1 as Eigen's own solver does (no overflow in the reduction),
/// reduced to tridiagonal T (up to m = 64 with AVX or AVX-512 by tridiagonal_reduction.hpp, its
/// vectors in registers: 19 against 27 µs at m = 64; else Eigen's reduction of the lower triangle),
/// T's eigenvalues by root-free QL/QR (tridiagonal_eigenvalues.hpp: dsterf's method, the one dsyev
/// calls for values only, with a shorter dependency chain: 46 against 64 µs at m = 64 on the Zen 4),
/// scaled back.
Vec reduced_eigenvalues(const Mat& A, double scale) {
  const int m = static_cast<int>(A.rows());
  Vec w(m), sub(m - 1);
  if (!tridiagonalize_in_registers(A, scale, std::span<double>(w.data(), m), std::span<double>(sub.data(), m - 1))) {
    Mat a = A / scale;
    Vec hcoeffs(m - 1);
    Eigen::internal::tridiagonalization_inplace(a, w, sub, hcoeffs, false);
  }
  if (!tridiagonal_eigenvalues(std::span<double>(w.data(), m), std::span<double>(sub.data(), m - 1)))
    throw std::runtime_error("symmetric_eigenvalues(): QL/QR did not converge in " + std::to_string(30 * m) +
                             " sweeps");
  return w * scale;
}

/// The same for larger A: A/scale reduced by LAPACK's blocked dsytrd (what dsyev calls), then T's
/// eigenvalues by our QL/QR instead of dsterf (the Xeon, one core, m = 512: 1.2 against 3.6 ms, with
/// dsytrd's 7.9; the values within 1e-14 of dsyev's at the largest's scale).
Vec lapack_reduced_eigenvalues(const Mat& A, double scale) {
  const int m = static_cast<int>(A.rows());
  Mat a = A / scale;  // dsytrd overwrites its input
  Vec w(m), sub(m - 1), tau(m - 1);
  int info = 0, lwork = -1;
  double best_lwork = 0.0;
  dsytrd_("L", &m, a.data(), &m, w.data(), sub.data(), tau.data(), &best_lwork, &lwork, &info, 1);  // query
  check_info(info, "dsytrd");
  lwork = std::max(1, static_cast<int>(best_lwork));
  std::vector<double> work(static_cast<std::size_t>(lwork));
  dsytrd_("L", &m, a.data(), &m, w.data(), sub.data(), tau.data(), work.data(), &lwork, &info, 1);
  check_info(info, "dsytrd");
  if (!tridiagonal_eigenvalues(std::span<double>(w.data(), m), std::span<double>(sub.data(), m - 1)))
    throw std::runtime_error("symmetric_eigenvalues(): QL/QR did not converge in " + std::to_string(30 * m) +
                             " sweeps");
  return w * scale;
}

}  // namespace

bool dense_spectra_use_lapack() { return true; }

Vec symmetric_eigenvalues(const Mat& A) {
  const int m = lapack_int(A.rows(), "symmetric_eigenvalues()");
  Vec w(m);
  if (m == 0) return w;
  const double scale = lower_max_abs(A);
  if (scale == 0.0) return Vec::Zero(m);
  if (std::isfinite(scale)) return m <= kEigenReductionUpTo ? reduced_eigenvalues(A, scale)
                                                             : lapack_reduced_eigenvalues(A, scale);
  // else (a NaN or ∞ entry) dsyev as a whole
  Mat a = A;  // dsyev overwrites its input
  const int lda = m;
  int info = 0, lwork = -1;
  double best_lwork = 0.0;
  dsyev_("N", "L", &m, a.data(), &lda, w.data(), &best_lwork, &lwork, &info, 1, 1);  // workspace query
  check_info(info, "dsyev");
  lwork = std::max(3 * m, static_cast<int>(best_lwork));
  std::vector<double> work(static_cast<std::size_t>(lwork));
  dsyev_("N", "L", &m, a.data(), &lda, w.data(), work.data(), &lwork, &info, 1, 1);
  check_info(info, "dsyev");
  return w;  // ascending
}

Vec singular_values(const Mat& A) {
  const int m = lapack_int(A.rows(), "singular_values()"), n = lapack_int(A.cols(), "singular_values()");
  Vec s(std::min(m, n));
  if (s.size() == 0) return s;
  Mat a = A;  // dgesvd overwrites its input
  const int lda = m, one = 1;
  double none = 0.0;  // U and Vᵀ are not referenced with jobu = jobvt = 'N'
  int info = 0, lwork = -1;
  double best_lwork = 0.0;
  dgesvd_("N", "N", &m, &n, a.data(), &lda, s.data(), &none, &one, &none, &one, &best_lwork, &lwork, &info, 1, 1);
  check_info(info, "dgesvd");
  lwork = std::max(5 * std::min(m, n) + std::max(m, n), static_cast<int>(best_lwork));
  std::vector<double> work(static_cast<std::size_t>(lwork));
  dgesvd_("N", "N", &m, &n, a.data(), &lda, s.data(), &none, &one, &none, &one, work.data(), &lwork, &info, 1, 1);
  check_info(info, "dgesvd");
  return s;  // descending
}

#else

bool dense_spectra_use_lapack() { return false; }
Vec symmetric_eigenvalues(const Mat& A) { return detail::symmetric_eigenvalues_eigen(A); }
Vec singular_values(const Mat& A) { return detail::singular_values_eigen(A); }

#endif

}  // namespace ufm
