// tridiagonal_eigenvalues (dsterf's root-free QL/QR with a shorter dependency chain) against closed
// forms, Eigen's tridiagonal QR and, with OpenBLAS, LAPACK's dsterf itself. Tolerances are relative
// to the largest eigenvalue (what a backward-stable method guarantees) unless said otherwise.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

#include <Eigen/Eigenvalues>

#include "test_util.hpp"
#include "ufm/metrics/tridiagonal_eigenvalues.hpp"

#ifdef UFM_USE_OPENBLAS
extern "C" void dsterf_(const int* n, double* d, double* e, int* info);
#endif

namespace ufm {
namespace {

/// The eigenvalues of the tridiagonal matrix (d, e), ascending, by tridiagonal_eigenvalues
/// (EXPECTs that it converged).
Vec tridiagonal_values(Vec d, Vec e) {
  EXPECT_TRUE(tridiagonal_eigenvalues(std::span<double>(d.data(), d.size()), std::span<double>(e.data(), e.size())));
  return d;
}

/// Eigen's implicit symmetric QR on the same tridiagonal matrix, ascending.
Vec tridiagonal_values_eigen(const Vec& d, const Vec& e) {
  Eigen::SelfAdjointEigenSolver<Mat> eig;
  eig.computeFromTridiagonal(d, e, Eigen::EigenvaluesOnly);
  return eig.eigenvalues();
}

TEST(TridiagonalEigenvalues, SecondDifferenceMatrixHasItsClosedFormSpectrum) {
  // tridiag(−1, 2, −1) of order n: λ_k = 2 − 2 cos(kπ/(n + 1)), k = 1..n.
  for (const Index n : {Index{1}, Index{2}, Index{3}, Index{10}, Index{64}, Index{200}}) {
    Vec want(n);
    for (Index k = 0; k < n; ++k)
      want(k) = 2.0 - 2.0 * std::cos(static_cast<double>(k + 1) * std::numbers::pi / static_cast<double>(n + 1));
    const Vec got = tridiagonal_values(Vec::Constant(n, 2.0), Vec::Constant(n - 1, -1.0));
    EXPECT_LT(test::spectrum_gap(got, want), 1e-14) << "n = " << n;
  }
}

TEST(TridiagonalEigenvalues, MatchEigensTridiagonalQrOnRandomMatricesInAscendingOrder) {
  for (const Index n : {Index{2}, Index{3}, Index{5}, Index{17}, Index{64}, Index{200}}) {
    const unsigned seed = 5 + static_cast<unsigned>(n);
    const Vec d = test::random_vec(n, seed), e = test::random_vec(n - 1, seed + 100);
    const Vec got = tridiagonal_values(d, e);
    EXPECT_LT(test::spectrum_gap(got, tridiagonal_values_eigen(d, e)), 1e-13) << "n = " << n;
    for (Index k = 1; k < n; ++k) EXPECT_LE(got(k - 1), got(k)) << "n = " << n;
  }
}

TEST(TridiagonalEigenvalues, AGradedMatrixKeepsItsSmallEigenvaluesInEitherOrientation) {
  // d_i = 10^(−i), e_i = 10^(−i − 0.5): eigenvalues from 1 down to about 1e-15. Reversed, the
  // block is deflated from its other end (its smaller diagonal entry); both orientations give the
  // same values, each to a small multiple of ε relative to itself where it is above 1e-12.
  const Index n = 16;
  Vec d(n), e(n - 1);
  for (Index i = 0; i < n; ++i) d(i) = std::pow(10.0, -static_cast<double>(i));
  for (Index i = 0; i + 1 < n; ++i) e(i) = std::pow(10.0, -static_cast<double>(i) - 0.5);
  const Vec forward = tridiagonal_values(d, e);
  const Vec backward = tridiagonal_values(d.reverse(), e.reverse());
  const Vec reference = tridiagonal_values_eigen(d, e);
  // 2e-15 (9ε): with FMA both read under 1e-15; a build without it (-DUFM_NATIVE=OFF) 1.2e-15.
  EXPECT_LT(test::spectrum_gap(forward, reference), 2e-15);
  EXPECT_LT(test::spectrum_gap(backward, reference), 2e-15);
  for (Index k = 0; k < n; ++k)
    if (std::abs(reference(k)) > 1e-12) {
      EXPECT_LT(test::rel(forward(k), reference(k)), 1e-12) << k;
      EXPECT_LT(test::rel(backward(k), reference(k)), 1e-12) << k;
    }
}

TEST(TridiagonalEigenvalues, SplitsAtZeroOffDiagonalsAndKeepsRepeatedValues) {
  // Blocks {3}, {3, 3 with coupling 1}, {0}, {1, 1, 1 coupled by 0.5}, {−2}: the zeros split it.
  const Vec d = (Vec(8) << 3.0, 3.0, 3.0, 0.0, 1.0, 1.0, 1.0, -2.0).finished();
  const Vec e = (Vec(7) << 0.0, 1.0, 0.0, 0.0, 0.5, 0.5, 0.0).finished();
  const double r = 0.5 * std::sqrt(2.0);  // the 3×3 block with 0.5 couplings: 1 − r, 1, 1 + r
  const Vec want = (Vec(8) << -2.0, 0.0, 1.0 - r, 1.0, 1.0 + r, 2.0, 3.0, 4.0).finished();
  EXPECT_LT(test::spectrum_gap(tridiagonal_values(d, e), want), 1e-15);
  // All off-diagonals zero: the diagonal, sorted, exactly. The zero matrix: zeros.
  const Vec diagonal = (Vec(5) << 2.0, -1.0, 2.0, 7.0, -1.0).finished();
  const Vec sorted = (Vec(5) << -1.0, -1.0, 2.0, 2.0, 7.0).finished();
  EXPECT_EQ(tridiagonal_values(diagonal, Vec::Zero(4)), sorted);
  EXPECT_EQ(tridiagonal_values(Vec::Zero(6), Vec::Zero(5)), Vec::Zero(6));
}

TEST(TridiagonalEigenvalues, WilkinsonsMatrixResolvesItsNearlyEqualPairs) {
  // W21+: d = |i − 10|, e = 1. Its largest pairs agree to about 1e-14 of each other; each value
  // must still come out to 1e-14 of the largest.
  const Index n = 21;
  Vec d(n);
  for (Index i = 0; i < n; ++i) d(i) = std::abs(static_cast<double>(i) - 10.0);
  const Vec e = Vec::Ones(n - 1);
  const Vec got = tridiagonal_values(d, e), want = tridiagonal_values_eigen(d, e);
  EXPECT_LT(test::spectrum_gap(got, want), 1e-14);
  EXPECT_NEAR(got(n - 1), 10.746194182903393, 1e-13);  // the largest, as tabulated by Wilkinson
}

TEST(TridiagonalEigenvalues, HugeAndTinyMatricesAreScaledNotOverflowed) {
  // The sweep multiplies three entry magnitudes: near 1e300 they would overflow, near 1e-300
  // underflow. Each block is scaled by a power of 4 first, exactly, so a matrix scaled by a power
  // of 2 has its values scaled by it bit for bit, and any other factor to rounding.
  const Index n = 30;
  const Vec d = test::random_vec(n, 41), e = test::random_vec(n - 1, 42);
  const Vec unit = tridiagonal_values(d, e);
  for (const double factor : {0x1p900, 0x1p-900, 0x1p3, 0x1p-1}) {
    const Vec got = tridiagonal_values(d * factor, e * factor);
    EXPECT_EQ(got / factor, unit) << factor;
  }
  for (const double factor : {1e300, 1e-300}) {
    const Vec got = tridiagonal_values(d * factor, e * factor);
    EXPECT_TRUE(got.allFinite()) << factor;
    EXPECT_LT(test::spectrum_gap(got / factor, unit), 1e-14) << factor;
  }
}

TEST(TridiagonalEigenvalues, AnOffDiagonalWhoseSquareIsSubnormalIsNegligible) {
  // e₀ = 1.4e-162 scales to about 1e-160, whose square is subnormal: kept, its few bits made the
  // sweep's c = p/r inexact and moved the ±0.00973 pair by 4e-5 (relative). It is set to zero.
  const Vec d = (Vec(3) << 2.8494561533082855e-239, 6.3967249287808723e-169, -1.3278946944125107e-173).finished();
  const Vec e = (Vec(2) << 1.3963194694232498e-162, -0.0097307324614386292).finished();
  const Vec got = tridiagonal_values(d, e);
  EXPECT_LT(test::rel(got(0), -0.0097307324614386292), 1e-15);
  EXPECT_LT(test::rel(got(2), 0.0097307324614386292), 1e-15);
  EXPECT_LT(std::abs(got(1)), 1e-150);
}

TEST(TridiagonalEigenvalues, AStepWhoseQuotientOverflowsTakesDsterfsDivisionsAndStaysFinite) {
  // Found by a search over matrices with entries from 1e-320 to 1: a sweep step where r/p
  // overflows. The rearranged step would give inf · 0 = NaN; dsterf's divisions stay finite.
  const Vec d = (Vec(4) << -1.7747071030910763e-227, 4.7255984737618844e-86, 0.57182942557651684,
                 1.7578098770462123e-316).finished();
  const Vec e = (Vec(3) << 0.86450753103689149, 0.34226064193675576, -1.9651058977263197e-134).finished();
  const Vec got = tridiagonal_values(d, e);
  EXPECT_TRUE(got.allFinite());
  EXPECT_LT(test::spectrum_gap(got, tridiagonal_values_eigen(d, e)), 2e-15);  // a few ulps of the largest
}

TEST(TridiagonalEigenvalues, AStepWhoseNumeratorSquaredIsSubnormalKeepsItsAccuracy) {
  // Found by a search over matrices with entries from 1e-320 to 1: steps where u = p(α − σ) − bb γ'
  // and r are tiny, so that u² is subnormal. The next p as u²/(rp) was off by 1e-2 and by 1e44 of
  // the largest eigenvalue; γ² (r/p), taken there, keeps the values to a few ulps.
  const std::vector<std::pair<Vec, Vec>> cases{
      {(Vec(7) << -1.4937383018054398e-290, -1.366477728346268e-50, -0.5256870258620675, 2.3025356500191421e-168,
        1.1702571498076978e-309, 8.2937469768531378e-158, 2.6321392547641402e-291)
           .finished(),
       (Vec(6) << -5.2896068915966879e-88, -0.37352333333688037, 1.014887355366025e-28, -2.740215322204697e-218,
        -0.91356437715437822, -3.6158430918999405e-200)
           .finished()},
      {(Vec(6) << -4.2212425859348874e-313, 0.53750929712500684, -0.57537784443744178, 1.0561298023291951e-154,
        4.2855348250605177e-311, 1.1058310449936056e-37)
           .finished(),
       (Vec(5) << -3.1408022398909692e-45, -0.83979893127243921, 0.26542437129186935, 2.3576774454130069e-134,
        8.0296419583768779e-145)
           .finished()},
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const auto& [d, e] = cases[k];
    const Vec got = tridiagonal_values(d, e);
    EXPECT_TRUE(got.allFinite()) << "case " << k;
    EXPECT_LT(test::spectrum_gap(got, tridiagonal_values_eigen(d, e)), 1e-15) << "case " << k;
  }
}

TEST(TridiagonalEigenvalues, EmptyIsFineAndAMismatchedOffDiagonalThrows) {
  std::vector<double> none;
  EXPECT_TRUE(tridiagonal_eigenvalues(none, none));
  std::vector<double> d(4, 1.0), e(4, 0.5);
  EXPECT_THROW(tridiagonal_eigenvalues(d, e), std::invalid_argument);
  e.resize(2);
  EXPECT_THROW(tridiagonal_eigenvalues(d, e), std::invalid_argument);
}

#ifdef UFM_USE_OPENBLAS
TEST(TridiagonalEigenvalues, AgreeWithLapacksDsterfInTheLastBits) {
  // Same method, one rearranged recurrence: the values may differ from dsterf's in the last bits
  // only (up to about 30 ulps of the largest at n = 150, the rounding of several hundred sweeps).
  // Random matrices and the tridiagonal form of a Gram matrix (what the spectra reduce).
  for (const Index n : {Index{3}, Index{8}, Index{64}, Index{150}}) {
    const unsigned seed = 70 + static_cast<unsigned>(n);
    for (int kind = 0; kind < 2; ++kind) {
      Vec d, e;
      if (kind == 0) {
        d = test::random_vec(n, seed);
        e = test::random_vec(n - 1, seed + 1);
      } else {
        const Mat X = test::random_mat(n, 3 * n, seed);
        Mat A = X * X.transpose();
        A /= A.cwiseAbs().maxCoeff();
        Eigen::Tridiagonalization<Mat> tri(A);
        d = tri.diagonal();
        e = tri.subDiagonal();
      }
      Vec ref_d = d, ref_e = e;
      int info = 0;
      const int order = static_cast<int>(n);
      dsterf_(&order, ref_d.data(), ref_e.data(), &info);
      ASSERT_EQ(info, 0);
      EXPECT_LT(test::spectrum_gap(tridiagonal_values(d, e), ref_d), 1e-14)
          << "n = " << n << ", kind " << kind;
    }
  }
}

TEST(TridiagonalEigenvalues, FuzzedMatricesWithEntriesDownToSubnormalStayFiniteAndAsAccurateAsDsterf) {
  // 100,000 matrices of order 2 to 10, two thirds of them with entries scaled by 10^−320..1 (the
  // hostile range of squares, quotients and shifts), against Eigen's implicit QR: never a
  // non-finite value, and no more misses of 1e-13 (relative to the largest) than dsterf's own.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(-1.0, 1.0), exponent(-320.0, 0.0);
  int ours_missed = 0, dsterf_missed = 0, nonfinite = 0;
  for (int trial = 0; trial < 100'000; ++trial) {
    const Index n = 2 + static_cast<Index>(rng() % 9);
    const bool hostile = trial % 3 != 0;
    // One draw after another (the operands of * are unsequenced): a value in [−1, 1), then
    // whether (1 in 3 on the diagonal, 1 in 2 off it) and by how much it is scaled down.
    const auto entry = [&](unsigned one_in) {
      const double value = unit(rng);
      const bool scaled = hostile && rng() % one_in == 0;
      return scaled ? value * std::pow(10.0, exponent(rng)) : value;
    };
    Vec d(n), e(n - 1);
    for (Index i = 0; i < n; ++i) d(i) = entry(3);
    for (Index i = 0; i + 1 < n; ++i) e(i) = entry(2);
    const Vec reference = tridiagonal_values_eigen(d, e);
    Vec ours = d, scratch = e, lapack = d, lapack_e = e;
    ASSERT_TRUE(tridiagonal_eigenvalues(std::span<double>(ours.data(), n), std::span<double>(scratch.data(), n - 1)));
    int info = 0;
    const int order = static_cast<int>(n);
    dsterf_(&order, lapack.data(), lapack_e.data(), &info);
    ASSERT_EQ(info, 0);
    nonfinite += !ours.allFinite();
    ours_missed += !(test::spectrum_gap(ours, reference) < 1e-13);
    dsterf_missed += !(test::spectrum_gap(lapack, reference) < 1e-13);
  }
  EXPECT_EQ(nonfinite, 0);
  EXPECT_LE(ours_missed, dsterf_missed) << "ours " << ours_missed << ", dsterf " << dsterf_missed;
}
#endif

}  // namespace
}  // namespace ufm
