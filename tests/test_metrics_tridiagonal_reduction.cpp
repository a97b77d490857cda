// tridiagonalize_in_registers (the Householder reduction of the spectra's small Gram matrices, its
// vectors in registers) against Eigen's tridiagonalization_inplace, the reduction it replaces, and
// Eigen's eigensolver: every size it takes, rank-deficient and diagonal matrices, garbage above the
// diagonal. Built twice on an AVX-512 machine (8 lanes, and as avx2.* with 4); without AVX the
// function declines every matrix, and the tests that need it skip.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <span>
#include <stdexcept>

#include <Eigen/Eigenvalues>

#include "test_util.hpp"
#include "ufm/metrics/tridiagonal_eigenvalues.hpp"
#include "ufm/metrics/tridiagonal_reduction.hpp"

namespace ufm {
namespace {

struct ReducedTridiagonal {
  Vec d, e;
};

/// The reduction of A / scale, or nothing when this build declines it.
std::optional<ReducedTridiagonal> reduction_in_registers(const Mat& A, double scale) {
  const Index m = A.rows();
  ReducedTridiagonal t{Vec(m), Vec(std::max<Index>(m - 1, 0))};
  if (!tridiagonalize_in_registers(A, scale, std::span<double>(t.d.data(), t.d.size()),
                                   std::span<double>(t.e.data(), t.e.size())))
    return std::nullopt;
  return t;
}

/// Eigen's reduction of A / scale (lower triangle), as dense_spectra.cpp ran it before.
ReducedTridiagonal reduction_by_eigen(const Mat& A, double scale) {
  const Index m = A.rows();
  Mat a = A / scale;
  ReducedTridiagonal t{Vec(m), Vec(m - 1)};
  Vec hcoeffs(m - 1);
  Eigen::internal::tridiagonalization_inplace(a, t.d, t.e, hcoeffs, false);
  return t;
}

/// The tridiagonal matrix's eigenvalues, ascending.
Vec reduced_eigenvalues_of(ReducedTridiagonal t) {
  EXPECT_TRUE(tridiagonal_eigenvalues(std::span<double>(t.d.data(), t.d.size()),
                                      std::span<double>(t.e.data(), t.e.size())));
  return t.d;
}

Mat reduction_symmetric(Index m, unsigned seed) {
  const Mat A = test::random_mat(m, m, seed);
  return A + A.transpose();
}

TEST(TridiagonalReduction, MatchesEigensReductionAndSpectrumAtEverySizeItTakes) {
  // 1 to 64: every count of 8-lane vectors and every position of the pivot in its vector.
  for (Index m = 1; m <= kRegisterTridiagonalUpTo; ++m) {
    const Mat A = reduction_symmetric(m, 100 + static_cast<unsigned>(m));
    const double scale = A.cwiseAbs().maxCoeff();
    const auto got = reduction_in_registers(A, scale);
    if (!got) GTEST_SKIP() << "no AVX in this build";
    const ReducedTridiagonal want = reduction_by_eigen(A, scale);
    // The first step is Eigen's to rounding (d₀ exactly, e₀ = −sign(a₁₀)·‖A[1:, 0]‖ / scale with
    // Eigen's sign). Later entries are not compared: a reduced matrix is as sensitive to rounding as
    // the reflectors before it (here up to 8e-12 from Eigen's entries at m = 55, where the spectra
    // agree to 1e-15). What must hold is what similarity keeps: the Frobenius norm, the eigenvalues.
    EXPECT_EQ(got->d(0), A(0, 0) / scale) << "m = " << m;
    if (m > 1) {
      EXPECT_NEAR(got->e(0), want.e(0), 1e-15) << "m = " << m;
    }
    const double frobenius = std::sqrt(got->d.squaredNorm() + 2.0 * got->e.squaredNorm());
    EXPECT_NEAR(frobenius, (A / scale).norm(), 1e-13 * frobenius) << "m = " << m;
    const Vec reference = Eigen::SelfAdjointEigenSolver<Mat>(A / scale, Eigen::EigenvaluesOnly).eigenvalues();
    EXPECT_LT(test::spectrum_gap(reduced_eigenvalues_of(*got), reference), 1e-13) << "m = " << m;
  }
}

TEST(TridiagonalReduction, RankDeficientGramKeepsItsZeroEigenvalues) {
  // G = X Xᵀ, X 40×90 of rank 5: a reflector per column although most of G's spectrum is zero.
  const Mat X = test::random_mat(40, 5, 7) * test::random_mat(5, 90, 8);
  const Mat G = X * X.transpose();
  const double scale = G.cwiseAbs().maxCoeff();
  const auto got = reduction_in_registers(G, scale);
  if (!got) GTEST_SKIP() << "no AVX in this build";
  const Vec lambda = reduced_eigenvalues_of(*got).reverse() * scale;
  const Vec sigma = Eigen::JacobiSVD<Mat>(X).singularValues();
  EXPECT_LT(test::spectrum_gap(lambda, sigma.array().square().matrix()), 1e-13);
  for (Index k = 5; k < 40; ++k) EXPECT_LT(std::abs(lambda(k)), 1e-13 * lambda(0)) << k;
}

TEST(TridiagonalReduction, DiagonalAndBlockDiagonalMatricesNeedNoReflector) {
  // Every column's tail is zero: each step is the identity (e = 0), d the diagonal. Then two
  // diagonal blocks with zero coupling: the first block's reflectors must leave the second alone.
  Vec diagonal(13);
  for (Index i = 0; i < 13; ++i) diagonal(i) = 1.0 - 0.125 * static_cast<double>(i);
  const auto plain = reduction_in_registers(Mat(diagonal.asDiagonal()), 1.0);
  if (!plain) GTEST_SKIP() << "no AVX in this build";
  EXPECT_EQ(plain->d, diagonal);
  EXPECT_EQ(plain->e, Vec::Zero(12));

  Mat B = Mat::Zero(20, 20);
  B.topLeftCorner(9, 9) = reduction_symmetric(9, 31);
  B.bottomRightCorner(11, 11) = reduction_symmetric(11, 32);
  const double scale = B.cwiseAbs().maxCoeff();
  const Vec reference = Eigen::SelfAdjointEigenSolver<Mat>(B / scale, Eigen::EigenvaluesOnly).eigenvalues();
  EXPECT_LT(test::spectrum_gap(reduced_eigenvalues_of(*reduction_in_registers(B, scale)), reference), 1e-13);
}

TEST(TridiagonalReduction, ReadsOnlyTheLowerTriangle) {
  const Mat A = reduction_symmetric(29, 41);
  Mat lower_only = A;
  lower_only.triangularView<Eigen::StrictlyUpper>().setConstant(1e6);  // garbage above the diagonal
  const double scale = A.cwiseAbs().maxCoeff();
  const auto clean = reduction_in_registers(A, scale);
  if (!clean) GTEST_SKIP() << "no AVX in this build";
  const auto dirty = reduction_in_registers(lower_only, scale);
  EXPECT_EQ(dirty->d, clean->d);
  EXPECT_EQ(dirty->e, clean->e);
}

TEST(TridiagonalReduction, DeclinesSizesItDoesNotTakeAndRejectsWrongSpans) {
  const Mat big = reduction_symmetric(kRegisterTridiagonalUpTo + 1, 51);
  Vec d = Vec::Constant(big.rows(), 7.0), e = Vec::Constant(big.rows() - 1, 7.0);
  EXPECT_FALSE(tridiagonalize_in_registers(big, 1.0, std::span<double>(d.data(), d.size()),
                                           std::span<double>(e.data(), e.size())));
  EXPECT_EQ(d, Vec::Constant(big.rows(), 7.0));  // untouched
  EXPECT_EQ(e, Vec::Constant(big.rows() - 1, 7.0));
  EXPECT_FALSE(tridiagonalize_in_registers(Mat(0, 0), 1.0, {}, {}));
  Vec short_e(2);
  EXPECT_THROW(tridiagonalize_in_registers(Mat::Identity(4, 4), 1.0, std::span<double>(d.data(), 4),
                                           std::span<double>(short_e.data(), 2)),
               std::invalid_argument);
}

}  // namespace
}  // namespace ufm
