#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "allocation_counter.hpp"
#include "ufm/gemm.hpp"

namespace ufm {
namespace {

struct Shape {
  Index m, n, k;
};

// The shapes cross every boundary of the kernel's blocking: the 24×8 register tile, the 256-deep
// blocks, the 240-row blocks of A and the 1,024-column blocks of B, and the tails of each.
const std::vector<Shape> kShapes = {{1, 1, 1},   {24, 8, 256},  {25, 9, 257},   {23, 7, 255},  {100, 37, 600},
                                    {7, 21, 3},  {269, 61, 513}, {30, 1037, 40}, {9, 16, 0},   {241, 3, 17}};

// op(X) of a stored matrix: X itself, or Xᵀ.
Mat op(const Mat& X, bool transposed) { return transposed ? Mat(X.transpose()) : X; }

// A stored operand with a leading dimension 3 larger than its rows: the gemm must use ld.
struct Stored {
  Mat storage;
  GemmOperand operand(bool transposed) const { return {storage.data(), storage.outerStride(), transposed}; }
};

Stored stored(const Mat& X) {
  Stored s{Mat::Constant(X.rows() + 3, X.cols(), std::numeric_limits<double>::quiet_NaN())};
  s.storage.topRows(X.rows()) = X;
  return s;
}

// Σ_p a_ip b_pj in long double, and Σ_p |a_ip b_pj|: the reference and the scale of its rounding.
void reference(const Mat& A, const Mat& B, Mat& exact, Mat& magnitude) {
  exact.resize(A.rows(), B.cols());
  magnitude.resize(A.rows(), B.cols());
  for (Index j = 0; j < B.cols(); ++j)
    for (Index i = 0; i < A.rows(); ++i) {
      long double s = 0.0L, a = 0.0L;
      for (Index p = 0; p < A.cols(); ++p) {
        const long double t = static_cast<long double>(A(i, p)) * B(p, j);
        s += t;
        a += std::fabs(t);
      }
      exact(i, j) = static_cast<double>(s);
      magnitude(i, j) = static_cast<double>(a);
    }
}

TEST(Gemm, MatchesALongDoubleProductForEveryTransposeBetaAndBlockEdge) {
  std::srand(11);
  for (const Shape& s : kShapes) {
    const Mat A = Mat::Random(s.m, s.k), B = Mat::Random(s.k, s.n), C0 = Mat::Random(s.m, s.n);
    Mat exact, magnitude;
    reference(A, B, exact, magnitude);
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (double beta : {0.0, 1.0, -0.5}) {
          const Stored a = stored(op(A, ta)), b = stored(op(B, tb));
          Mat C = Mat::Constant(s.m + 2, s.n, 7.0);  // ldc = m + 2: the two rows below C must stay 7
          C.topRows(s.m) = C0;
          gemm(s.m, s.n, s.k, a.operand(ta), b.operand(tb), beta, C.data(), C.outerStride());
          for (Index j = 0; j < s.n; ++j) {
            for (Index i = 0; i < s.m; ++i) {
              const double want = exact(i, j) + beta * C0(i, j);
              const double scale = magnitude(i, j) + std::abs(C0(i, j));
              const double bound = 4.0 * static_cast<double>(s.k + 2) * 0x1p-53 * scale;
              ASSERT_LE(std::abs(C(i, j) - want), bound) << s.m << "x" << s.n << "x" << s.k << " ta " << ta << " tb "
                                                         << tb << " beta " << beta << " at " << i << "," << j;
            }
            ASSERT_EQ(C(s.m, j), 7.0);
            ASSERT_EQ(C(s.m + 1, j), 7.0);
          }
        }
  }
}

TEST(Gemm, DoesNotReadCWhenBetaIsZero) {
  const Mat A = Mat::Random(30, 40), B = Mat::Random(40, 20);
  Mat C = Mat::Constant(30, 20, std::numeric_limits<double>::quiet_NaN());
  gemm_into(C, A, false, B, false, 0.0);
  EXPECT_TRUE(C.allFinite());
  EXPECT_LT((C - A * B).cwiseAbs().maxCoeff(), 1e-12);
  Mat D = Mat::Constant(30, 20, std::numeric_limits<double>::infinity());
  gemm(30, 20, 0, {A.data(), 30}, {B.data(), 40}, 0.0, D.data(), 30);  // k = 0: C = β·C = 0
  EXPECT_EQ(D, Mat::Zero(30, 20));
}

TEST(Gemm, GivesEachEntryTheSameBitsWhateverRowsAndColumnsSurroundIt) {
  // What makes results independent of how a caller splits the columns (the objectives' chunks):
  // each entry's sum runs over p in the same order in any call that contains it. Eigen's product and
  // the BLAS behind it do not promise this (their blocking follows the shapes).
  if (!gemm_has_own_kernel()) GTEST_SKIP() << "gemm is Eigen's product in this build";
  const Mat A = Mat::Random(269, 600), B = Mat::Random(600, 1037), C0 = Mat::Random(269, 1037);
  for (double beta : {0.0, -0.3}) {  // β·C (β not a power of 2) in whole tiles and at a call's edges alike
    Mat full = C0;
    gemm_into(full, A, false, B, false, beta);
    for (const auto [i0, rows, j0, cols] : std::vector<std::array<Index, 4>>{
             {0, 269, 5, 33}, {31, 17, 1000, 37}, {100, 1, 0, 1037}, {7, 250, 3, 1}, {24, 24, 8, 8}}) {
      Mat part = C0.block(i0, j0, rows, cols);
      gemm(rows, cols, 600, {A.data() + i0, A.outerStride()}, {B.data() + j0 * B.outerStride(), B.outerStride()},
           beta, part.data(), rows);
      EXPECT_EQ(part, full.block(i0, j0, rows, cols)) << beta << ": " << i0 << " " << rows << " " << j0 << " " << cols;
    }
  }
}

TEST(Gemm, SumsEachEntryInDepthOrderByFusedMultiplyAddsPerBlock) {
  // gemm.hpp's promise, bit for bit: each 256-deep block's sum is a chain of fused multiply-adds from
  // zero in p order, the first block's is β·C + sum (one rounding), each later one's C + sum. Full
  // tiles (the assembly loop) and edge panels (rows past 16, past 8, under 8) alike; depths that are
  // and are not a multiple of the loop's four.
  if (!gemm_has_own_kernel()) GTEST_SKIP() << "gemm is Eigen's product in this build";
  for (const Shape& s : std::vector<Shape>{{48, 16, 600}, {41, 11, 258}, {13, 9, 7}, {24, 8, 1}}) {
    const Mat A = Mat::Random(s.m, s.k), B = Mat::Random(s.k, s.n), C0 = Mat::Random(s.m, s.n);
    Mat C = C0;
    gemm_into(C, A, false, B, false, -0.3);
    for (Index j = 0; j < s.n; ++j)
      for (Index i = 0; i < s.m; ++i) {
        double c = C0(i, j);
        for (Index p0 = 0; p0 < s.k; p0 += 256) {
          double sum = 0.0;
          for (Index p = p0; p < std::min<Index>(p0 + 256, s.k); ++p) sum = std::fma(A(i, p), B(p, j), sum);
          c = p0 == 0 ? std::fma(-0.3, c, sum) : c + sum;
        }
        ASSERT_EQ(C(i, j), c) << s.m << "x" << s.n << "x" << s.k << " at (" << i << ", " << j << ")";
      }
  }
}

TEST(Gemm, AllocatesNothingAfterItsFirstCallInAThread) {
#ifndef UFM_USE_OPENBLAS
  if (!gemm_has_own_kernel()) GTEST_SKIP() << "Eigen's own product (a build without OpenBLAS) allocates its blocks";
#endif
  const Mat A = Mat::Random(300, 600), B = Mat::Random(600, 1100);
  Mat C(300, 1100);
  std::size_t first = 0, before = 0, after = 0;
  std::thread([&] {  // a new thread: its packing buffers do not exist yet
    first = test::malloc_calls();
    gemm(8, 8, 8, {A.data(), 300}, {B.data(), 600}, 0.0, C.data(), 300);  // the first call, a small one
    before = test::malloc_calls();
    gemm_into(C, A, false, B, false, 0.0);  // every block at its largest
    gemm_into(C, A, false, B, false, 1.0);
    after = test::malloc_calls();
  }).join();
  if (gemm_has_own_kernel()) {
    EXPECT_GT(before, first);  // the counter sees the buffers' allocation
  }
  EXPECT_EQ(after, before);
}

TEST(Gemm, PreparedThreadsAllocateNothingOnTheirFirstCall) {
  // The objectives hand their chunks to OpenMP threads dynamically: a worker may make its first
  // product in the middle of a run. gemm_prepare_threads gives each thread of the team its buffers
  // beforehand. Three threads, so that workers exist even on one core.
  if (!gemm_has_own_kernel()) GTEST_SKIP() << "Eigen's product: no packing buffers of ours";
#ifdef _OPENMP
  omp_set_num_threads(3);
  gemm_prepare_threads();  // also starts OpenMP's thread pool, which allocates once
  const Mat A = Mat::Random(40, 50), B = Mat::Random(50, 30);
  std::vector<Mat> C(3, Mat(40, 30));
  const std::size_t before = test::malloc_calls();
  int team = 0;
#pragma omp parallel
  {
    const int t = omp_get_thread_num();
#pragma omp single
    team = omp_get_num_threads();
    gemm_into(C[static_cast<std::size_t>(t)], A, false, B, false, 0.0);  // each thread's first product
  }
  const std::size_t after = test::malloc_calls();
  ASSERT_EQ(team, 3);
  EXPECT_EQ(after, before);
  for (const Mat& c : C) EXPECT_LT((c - A * B).cwiseAbs().maxCoeff(), 1e-12);
#else
  GTEST_SKIP() << "no OpenMP";
#endif
}

TEST(Gemm, PackedOperandGivesTheSameBitsAsTheOperandItself) {
  // One PackedA, reserved once for the largest shape and packed again for each: the objectives pack
  // W_l once per pass and hand it to every chunk's product.
  std::srand(12);
  PackedA packed;
  packed.reserve(269, 600);
  for (const Shape& s : kShapes) {
    const Mat A = Mat::Random(s.m, s.k), B = Mat::Random(s.k, s.n), C0 = Mat::Random(s.m, s.n);
    for (bool ta : {false, true}) {
      const Stored a = stored(op(A, ta)), b = stored(B);
      packed.pack(s.m, s.k, a.operand(ta));
      for (double beta : {0.0, -0.3}) {
        Mat want = C0, got = C0;
        gemm(s.m, s.n, s.k, a.operand(ta), b.operand(false), beta, want.data(), want.outerStride());
        gemm(s.n, packed, b.operand(false), beta, got.data(), got.outerStride());
        EXPECT_EQ(got, want) << s.m << "x" << s.n << "x" << s.k << " ta " << ta << " beta " << beta;
      }
    }
  }
}

TEST(Gemm, PackedOperandAllocatesOnlyWhenReserved) {
  const Mat A = Mat::Random(400, 600);
  PackedA packed;
  const std::size_t before_reserve = test::malloc_calls();
  packed.reserve(300, 600);
  const std::size_t before_pack = test::malloc_calls();
  packed.pack(300, 600, {A.data(), 400});
  packed.pack(25, 257, {A.data(), 400, true});
  EXPECT_EQ(test::malloc_calls(), before_pack);
  if (!gemm_has_own_kernel()) GTEST_SKIP() << "Eigen's product: nothing packed";
  EXPECT_GT(before_pack, before_reserve);
  EXPECT_THROW(packed.pack(400, 600, {A.data(), 400}), std::logic_error);  // beyond the room reserved
}

}  // namespace
}  // namespace ufm
