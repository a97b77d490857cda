// The fast values-only spectra (dense_spectra.hpp: LAPACK when built with OpenBLAS) against the slow
// references they replace: Eigen's SelfAdjointEigenSolver and JacobiSVD, on random, rank-deficient,
// zero and degenerate-size matrices. Tolerances are relative to the largest value: the accuracy
// every backward-stable method guarantees.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_util.hpp"
#include "ufm/metrics/dense_spectra.hpp"
#include "ufm/metrics/spectra.hpp"

namespace ufm {
namespace {

/// d×N matrix of rank r (a product of Gaussian d×r and r×N factors).
Mat dense_spectra_rank_r(Index d, Index N, Index r, unsigned seed) {
  return test::random_mat(d, r, seed) * test::random_mat(r, N, seed + 1);
}

/// Symmetric m×m matrix with Gaussian entries.
Mat dense_spectra_symmetric(Index m, unsigned seed) {
  const Mat A = test::random_mat(m, m, seed);
  return A + A.transpose();
}

TEST(DenseSpectra, SymmetricEigenvaluesMatchEigenSelfAdjointSolverOnRandomMatrices) {
  // Up to 200 through our or Eigen's reduction, above through LAPACK's dsytrd; then our QL/QR.
  for (const Index m : {Index{1}, Index{2}, Index{7}, Index{64}, Index{130}, Index{200}, Index{250}}) {
    const Mat A = dense_spectra_symmetric(m, 11 + static_cast<unsigned>(m));
    const Vec fast = symmetric_eigenvalues(A), slow = detail::symmetric_eigenvalues_eigen(A);
    EXPECT_LT(test::spectrum_gap(fast, slow), 1e-13) << "m = " << m;
    for (Index k = 1; k < fast.size(); ++k) EXPECT_LE(fast(k - 1), fast(k)) << "ascending, m = " << m;
  }
}

TEST(DenseSpectra, SymmetricEigenvaluesOfARankDeficientGramAreTheSquaredSingularValues) {
  // G = X Xᵀ with X of rank 5 in 40 dimensions: 35 eigenvalues are zero up to rounding of G.
  const Mat X = dense_spectra_rank_r(40, 90, 5, 21);
  const Mat G = X * X.transpose();
  const Vec lambda = symmetric_eigenvalues(G).reverse();  // descending
  const Vec sigma = Eigen::JacobiSVD<Mat>(X).singularValues();
  EXPECT_LT(test::spectrum_gap(lambda, sigma.array().square().matrix()), 1e-13);
  for (Index k = 5; k < 40; ++k) EXPECT_LT(std::abs(lambda(k)), 1e-13 * lambda(0)) << k;
}

TEST(DenseSpectra, SymmetricEigenvaluesOfHugeAndTinyMatricesAreScaledNotOverflowed) {
  // Entries near 1e300 would overflow the reduction's Householder norms, near 1e-300 underflow;
  // the matrix is scaled first. Both sides of the size switch (Eigen's reduction, dsytrd).
  for (const Index m : {Index{12}, Index{230}}) {
    const Mat A = dense_spectra_symmetric(m, 81);
    const Vec lambda = symmetric_eigenvalues(A);
    for (const double factor : {1e300, 1e-300}) {
      const Vec scaled = symmetric_eigenvalues(factor * A);
      ASSERT_TRUE(scaled.allFinite()) << "m = " << m << ", factor " << factor;
      EXPECT_LT(test::spectrum_gap(scaled / factor, lambda), 1e-13) << "m = " << m << ", factor " << factor;
    }
  }
}

TEST(DenseSpectra, SymmetricEigenvaluesReadOnlyTheLowerTriangle) {
  for (const Index m : {Index{9}, Index{250}}) {  // both sides of the size switch
    const Mat A = dense_spectra_symmetric(m, 31);
    Mat lower_only = A;
    lower_only.triangularView<Eigen::StrictlyUpper>().setConstant(1e6);  // garbage above the diagonal
    EXPECT_EQ(symmetric_eigenvalues(lower_only), symmetric_eigenvalues(A)) << "m = " << m;
    EXPECT_LT(test::spectrum_gap(symmetric_eigenvalues(lower_only), detail::symmetric_eigenvalues_eigen(A)), 1e-13)
        << "m = " << m;
  }
}

TEST(DenseSpectra, SingularValuesMatchJacobiSvdOnRandomAndRankDeficientMatrices) {
  struct Shape {
    Index rows, cols, rank;
  };
  for (const Shape s : {Shape{10, 10, 10}, Shape{100, 100, 100}, Shape{30, 12, 12}, Shape{12, 30, 12},
                        Shape{25, 25, 3}, Shape{40, 17, 1}, Shape{1, 6, 1}}) {
    const Mat A = dense_spectra_rank_r(s.rows, s.cols, s.rank, 41 + static_cast<unsigned>(s.rows + s.cols));
    const Vec fast = singular_values(A), slow = detail::singular_values_eigen(A);
    EXPECT_LT(test::spectrum_gap(fast, slow), 1e-13) << s.rows << "x" << s.cols << " rank " << s.rank;
    for (Index k = 1; k < fast.size(); ++k) EXPECT_GE(fast(k - 1), fast(k)) << "descending";
    for (Index k = s.rank; k < fast.size(); ++k) EXPECT_LT(fast(k), 1e-13 * fast(0)) << k;
  }
}

TEST(DenseSpectra, ZeroAndEmptyMatricesGiveZerosAndNothing) {
  EXPECT_EQ(singular_values(Mat::Zero(4, 3)), Vec::Zero(3));
  EXPECT_EQ(symmetric_eigenvalues(Mat::Zero(5, 5)), Vec::Zero(5));
  EXPECT_EQ(singular_values(Mat(0, 3)).size(), 0);
  EXPECT_EQ(symmetric_eigenvalues(Mat(0, 0)).size(), 0);
  // Eigen's routes, which a build without OpenBLAS takes for both.
  EXPECT_EQ(detail::singular_values_eigen(Mat(0, 3)).size(), 0);
  EXPECT_EQ(detail::symmetric_eigenvalues_eigen(Mat(0, 0)).size(), 0);
}

TEST(DenseSpectra, TheComparisonSeesAWrongSpectrum) {
  // The tests above can fail: a spectrum off by 1e-10 of its largest value is caught.
  const Mat A = dense_spectra_symmetric(20, 51);
  Vec wrong = symmetric_eigenvalues(A);
  wrong(3) += 1e-10 * wrong.cwiseAbs().maxCoeff();
  EXPECT_GT(test::spectrum_gap(wrong, detail::symmetric_eigenvalues_eigen(A)), 1e-13);
}

TEST(SpectraMetrics, GramSingularValuesOfRankDeficientMatricesMatchJacobiSvd) {
  // Both Gram sides (d ≤ N: X Xᵀ; d > N: Xᵀ X), rank 4: the zero values come out exactly 0 (floor).
  for (const auto& [d, N] : {std::pair<Index, Index>{30, 80}, {80, 30}}) {
    const Mat X = dense_spectra_rank_r(d, N, 4, 61);
    const Vec sv = singular_values_via_gram(X);
    const Vec ref = Eigen::JacobiSVD<Mat>(X).singularValues();
    ASSERT_EQ(sv.size(), ref.size());
    EXPECT_LT((sv.head(4) - ref.head(4)).norm(), 1e-12 * ref(0)) << d << "x" << N;
    for (Index k = 4; k < sv.size(); ++k) EXPECT_EQ(sv(k), 0.0) << k;
  }
}

TEST(SpectraMetrics, SmallMatrixSpectraAreDescendingAndMatchTheReferences) {
  const Mat S = dense_spectra_symmetric(6, 71);
  const std::vector<double> ev = eigenvalues_descending(S);
  const Vec ref_ev = detail::symmetric_eigenvalues_eigen(S).reverse();
  ASSERT_EQ(ev.size(), 6u);
  for (std::size_t k = 0; k < ev.size(); ++k) EXPECT_NEAR(ev[k], ref_ev(static_cast<Index>(k)), 1e-13 * ref_ev.cwiseAbs().maxCoeff());
  const Mat A = dense_spectra_rank_r(6, 6, 5, 72);
  const std::vector<double> sv = singular_values_descending(A);
  const Vec ref_sv = Eigen::JacobiSVD<Mat>(A).singularValues();
  ASSERT_EQ(sv.size(), 6u);
  for (std::size_t k = 0; k < sv.size(); ++k) EXPECT_NEAR(sv[k], ref_sv(static_cast<Index>(k)), 1e-13 * ref_sv(0));
}

}  // namespace
}  // namespace ufm
