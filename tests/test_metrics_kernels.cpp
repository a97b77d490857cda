// The metrics' own kernels against Eigen's products: the lower triangle of a Gram matrix
// (gram_kernel.hpp) and the product of a matrix with few rows by a wide one (few_rows_product.hpp),
// at sizes that exercise every tile, every tail and the fallbacks. Tolerances are relative to the
// largest entry: both sum the same products in another order.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <limits>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "test_util.hpp"
#include "ufm/metrics/few_rows_product.hpp"
#include "ufm/metrics/gram_kernel.hpp"
#include "ufm/objectives/detail/ufm_kernels.hpp"
#include "ufm/simd.hpp"

namespace ufm {
namespace {

using test::max_entry_gap;

TEST(GramKernel, LowerTriangleMatchesEigenAtEveryTileAndTailSize) {
  // With AVX-512: 1, 3 go to dsyrk (fewer rows than a tile), 8, 16 and 64 are whole tiles, 12 takes
  // 8-column tiles only (d < 16), 17, 67 and 100 end with tiles shifted back (each in both shapes;
  // 16×12 tiles need d ≥ 16). AVX2: 8×4 tiles up to d = 64 (12 and 17 end with shifted tiles), dsyrk
  // above. Without AVX: dsyrk at every size.
  for (const GramTiles tiles : {GramTiles::kRowsOf8, GramTiles::kRowsOf16, GramTiles::kRowsOf16Fused,
                                GramTiles::kRowsOf16FusedPanels})
    for (const Index d : {Index{1}, Index{3}, Index{8}, Index{12}, Index{16}, Index{17}, Index{64}, Index{67},
                          Index{100}})
      for (const Index n : {Index{1}, Index{5}, Index{300}}) {
        const Mat X = test::random_mat(d, n, 7 + static_cast<unsigned>(d * 31 + n));
        Mat G = Mat::Constant(d, d, 0.25);  // the kernel adds to what is there
        add_gram_lower(X.data(), d, d, n, G.data(), d, tiles);
        const Mat expected = (X * X.transpose()).array() + 0.25;
        const Mat lower = G.triangularView<Eigen::Lower>(), want = expected.triangularView<Eigen::Lower>();
        EXPECT_LT(max_entry_gap(lower, want), 1e-14) << "d = " << d << ", n = " << n;
        const Mat upper = G.triangularView<Eigen::StrictlyUpper>();
        EXPECT_EQ(upper, Mat(Mat::Constant(d, d, 0.25).triangularView<Eigen::StrictlyUpper>()))
            << "the upper triangle is not touched, d = " << d;
      }
}

/// Every entry of G's lower triangle (d×d) is base + Σ_i X(r, i) X(c, i) over X's n columns in order,
/// each product added by an FMA where the tiles fuse, else rounded and then added: bit for bit.
::testing::AssertionResult each_entry_is_its_sum_in_order(const Mat& X, const Mat& G, double base, GramTiles tiles) {
  for (Index c = 0; c < G.cols(); ++c)
    for (Index r = c; r < G.rows(); ++r) {
      double sum = 0.0;
      for (Index i = 0; i < X.cols(); ++i)
        sum = gram_fuses_multiply_add(tiles) ? std::fma(X(r, i), X(c, i), sum) : sum + X(r, i) * X(c, i);
      if (G(r, c) != base + sum)
        return ::testing::AssertionFailure() << "entry (" << r << ", " << c << "): " << G(r, c) << " against "
                                             << base + sum;
    }
  return ::testing::AssertionSuccess();
}

TEST(GramKernel, TiledEntriesAreEachSumInSampleOrderBitForBit) {
  // The tiles (AVX-512: 8×16 or 16×12, and 8 columns wide where a row block needs only 8 more
  // columns; AVX2: 8×4, up to d = 64, by FMAs) sum each entry over the samples in order, then add the
  // sum to G: a plain loop doing the same gives the same doubles, in each shape, by FMAs where the
  // tiles fuse (the two fused kinds with AVX-512, every tile with AVX2). Past the tiles' sizes dsyrk sums in
  // its own order.
  if (simd::kLanes < 4) GTEST_SKIP() << "the tiles run with AVX2 or AVX-512";
  EXPECT_EQ(gram_fuses_multiply_add(GramTiles::kRowsOf16Fused), true);
  EXPECT_EQ(gram_fuses_multiply_add(GramTiles::kRowsOf16FusedPanels), true);
  EXPECT_EQ(gram_fuses_multiply_add(GramTiles::kRowsOf16), kGramFusedMultiplyAdd);
  for (const GramTiles tiles : {GramTiles::kRowsOf8, GramTiles::kRowsOf16, GramTiles::kRowsOf16Fused,
                                GramTiles::kRowsOf16FusedPanels})
    for (const Index d : {Index{8}, Index{12}, Index{16}, Index{24}, Index{40}, Index{64}, Index{67}}) {
      if (simd::kLanes == 4 && d > 64) continue;  // dsyrk
      const Index n = 37;
      const Mat X = test::random_mat(d, n, 11 + static_cast<unsigned>(d));
      Mat G = Mat::Constant(d, d, 0.5);
      add_gram_lower(X.data(), d, d, n, G.data(), d, tiles);
      ASSERT_TRUE(each_entry_is_its_sum_in_order(X, G, 0.5, tiles)) << "d = " << d;
    }
}

TEST(GramKernel, PackedPanelsGiveEachSumInSampleOrderBitForBit) {
  // From d = 512, a multiple of 16, the 16-row tiles read the block packed in panels of 16 rows: each
  // entry is still the sum over the samples in order, added to G, read through a leading dimension
  // past d (whose extra rows hold NaN, never read).
  if (simd::kLanes != 8) GTEST_SKIP() << "the packed panels are AVX-512's (AVX2 takes dsyrk here)";
  for (const GramTiles tiles : {GramTiles::kRowsOf16, GramTiles::kRowsOf16Fused, GramTiles::kRowsOf16FusedPanels})
    for (const Index d : {Index{512}, Index{528}}) {
      const Index n = 37, ld = d + 3;
      Mat X = test::random_mat(ld, n, 13 + static_cast<unsigned>(d));
      X.bottomRows(3).setConstant(std::numeric_limits<double>::quiet_NaN());
      Mat G = Mat::Constant(d, d, 0.5);
      add_gram_lower(X.data(), ld, d, n, G.data(), d, tiles);
      ASSERT_TRUE(each_entry_is_its_sum_in_order(X, G, 0.5, tiles)) << "d = " << d;
    }
}

TEST(GramKernel, GemmTilesGiveEachSumInSampleOrderAndLeaveEverythingElse) {
  // From d = 256 the fused Gram runs gemm's 24×8 register tile on the block packed in panels of 24 and
  // of 8 rows (kRowsOf16FusedPanels: none of these sizes packs 16-row panels): each entry of the lower
  // triangle is still the FMA chain over the samples in order, added to G; the entries above the
  // diagonal and past d (G's leading dimension) keep their values, and X's rows past d (NaN) are never
  // read. d = 256 and 517 end in a panel of 16 and 13 rows, 263 in one of 23 (and a column panel of 7),
  // 264 fills its panels.
  if (simd::kLanes != 8) GTEST_SKIP() << "the gemm tile is AVX-512's";
  for (const GramTiles tiles : {GramTiles::kRowsOf16Fused, GramTiles::kRowsOf16FusedPanels})
    for (const Index d : {Index{256}, Index{263}, Index{264}, Index{517}})
      for (const Index n : {Index{1}, Index{37}}) {
        const Index ldx = d + 3, ldg = d + 2;
        Mat X = test::random_mat(ldx, n, 17 + static_cast<unsigned>(d + n));
        X.bottomRows(3).setConstant(std::numeric_limits<double>::quiet_NaN());
        Mat Gbig = Mat::Constant(ldg, d, 0.5);
        Gbig.bottomRows(2).setConstant(-7.0);
        add_gram_lower(X.data(), ldx, d, n, Gbig.data(), ldg, tiles);
        const Mat G = Gbig.topRows(d);
        ASSERT_TRUE(each_entry_is_its_sum_in_order(X.topRows(d), G, 0.5, tiles))
            << "d = " << d << ", n = " << n;
        EXPECT_EQ(Mat(G.triangularView<Eigen::StrictlyUpper>()),
                  Mat(Mat::Constant(d, d, 0.5).triangularView<Eigen::StrictlyUpper>()))
            << "the upper triangle is not touched, d = " << d;
        EXPECT_TRUE((Gbig.bottomRows(2).array() == -7.0).all()) << "rows past d are not touched, d = " << d;
      }
}

#ifdef _OPENMP
TEST(GramKernel, GivesTheSameBitsOnAnyNumberOfThreads) {
  // From 10⁷ multiply-adds the row blocks go to the threads (d = 200 and 203 with n = 300: the last
  // block shifted back; AVX2 from d = 64 is dsyrk, whose bits the tiles do not promise): each entry is
  // one tile's, the same sum on one thread or three.
  const int saved = omp_get_max_threads();
  for (const GramTiles tiles : {GramTiles::kRowsOf8, GramTiles::kRowsOf16, GramTiles::kRowsOf16Fused,
                                GramTiles::kRowsOf16FusedPanels})
    for (const Index d : {Index{200}, Index{203}, Index{512}}) {  // 512: the 16-row tiles on packed panels
      const Index n = 300;
      const Mat X = test::random_mat(d, n, 21 + static_cast<unsigned>(d));
      Mat one = Mat::Constant(d, d, 0.5), three = one;
      omp_set_num_threads(1);
      add_gram_lower(X.data(), d, d, n, one.data(), d, tiles);
      omp_set_num_threads(3);
      add_gram_lower(X.data(), d, d, n, three.data(), d, tiles);
      EXPECT_TRUE(one == three) << "d = " << d;
      const Mat lower = one.triangularView<Eigen::Lower>();
      const Mat want = (X * X.transpose()).array() + 0.5;
      EXPECT_LT(max_entry_gap(lower, Mat(want.triangularView<Eigen::Lower>())), 1e-12 * want.norm()) << "d = " << d;
    }
  omp_set_num_threads(saved);
}
#endif

TEST(GramKernel, ReadsAndWritesThroughLeadingDimensions) {
  // X is the top 20 rows of a 23×40 matrix, G the top-left 20×20 block of a 26×26 one.
  const Mat big = test::random_mat(23, 40, 3);
  Mat G = Mat::Zero(26, 26);
  add_gram_lower(big.data(), 23, 20, 40, G.data(), 26);
  const Mat X = big.topRows(20);
  const Mat want = (X * X.transpose()).triangularView<Eigen::Lower>();
  const Mat got = G.topLeftCorner(20, 20).triangularView<Eigen::Lower>();
  EXPECT_LT(max_entry_gap(got, want), 1e-14);
  EXPECT_EQ(G.bottomRows(6).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(G.rightCols(6).cwiseAbs().maxCoeff(), 0.0);
}

TEST(GramKernel, ZeroSamplesAddNothing) {
  const Mat X(16, 0);
  Mat G = Mat::Constant(16, 16, 2.0);
  add_gram_lower(X.data(), 16, 16, 0, G.data(), 16);
  EXPECT_EQ(G, Mat(Mat::Constant(16, 16, 2.0)));
}

TEST(FewRowsProduct, MatchesEigenAndReturnsTheColumnsSquaredNorms) {
  // K = 1, 4, 10, 12 (the transposed kernel on AVX-512), 13, 40 (class groups); N across block edges.
  for (const Index K : {Index{1}, Index{4}, Index{10}, Index{12}, Index{13}, Index{40}})
    for (const Index N : {Index{1}, Index{7}, Index{256}, Index{600}}) {
      const Index d = 19;
      const Mat A = test::random_mat(K, d, 5 + static_cast<unsigned>(K));
      const Mat X = test::random_mat(d, N, 9 + static_cast<unsigned>(N));
      Mat out;
      const double x_sq = few_rows_product(A, X, out);
      ASSERT_EQ(out.rows(), K);
      ASSERT_EQ(out.cols(), N);
      EXPECT_LT(max_entry_gap(out, A * X), 1e-14) << "K = " << K << ", N = " << N;
      EXPECT_NEAR(x_sq, X.squaredNorm(), 1e-13 * X.squaredNorm());
    }
}

TEST(FewRowsProduct, TransposedKernelEntriesAreOneFmaChainOverTheRowsBitForBit) {
  // The transposed logits kernels (AVX-512: logits_octet, 8 samples at a time; AVX2: logits_quartet,
  // 4) compute each entry of a full group of samples as one FMA chain over the rows in order, up to
  // the last full vector of rows, then the rows left by products and sums rounded on their own. A
  // plain loop doing the same gives the same doubles, whichever way the kernel vectorizes.
#if defined(__AVX512F__) || (defined(__AVX__) && defined(__FMA__))
  for (const Index K : {Index{1}, Index{3}, Index{4}, Index{5}, Index{8}, Index{10}})
    for (const Index d : {Index{3}, Index{4}, Index{8}, Index{19}, Index{64}}) {
      const Index nb = 3 * simd::kLanes;
      const Mat A = test::random_mat(K, d, static_cast<unsigned>(K * 100 + d)), At = A.transpose();
      const Mat X = test::random_mat(d, nb, static_cast<unsigned>(K * 100 + d + 1));
      Mat out_t = Mat::Zero(nb, K);
      few_rows_product_block(A, At, X.data(), nb, 0, out_t);
      const Index dv = d - d % simd::kLanes;
      for (Index s = 0; s < nb; ++s)
        for (Index k = 0; k < K; ++k) {
          double v = 0.0;
          for (Index r = 0; r < dv; ++r) v = std::fma(A(k, r), X(r, s), v);
          for (Index r = dv; r < d; ++r) v = v + A(k, r) * X(r, s);
          ASSERT_EQ(out_t(s, k), v) << "K = " << K << ", d = " << d << ", sample " << s << ", class " << k;
        }
    }
#else
  GTEST_SKIP() << "no transposed logits kernel in this build";
#endif
}

TEST(FewRowsProduct, WideKernelEntriesAreOneFmaChainOverTheRowsBitForBit) {
  // K > 24 with AVX-512 (logits_wide_tile): tiles of 24 classes × 8 samples, each entry one FMA chain
  // over all rows from zero, then its bias added. Classes past the last full group of 24 (1, 6, 23, 0
  // and 4 of them), samples past the last 8, rows past the assembly loop's four; the rows of out_t
  // outside the block untouched.
#if defined(__AVX512F__)
  for (const Index K : {Index{25}, Index{30}, Index{47}, Index{48}, Index{100}})
    for (const Index d : {Index{1}, Index{3}, Index{4}, Index{19}, Index{64}})
      for (const Index nb : {Index{1}, Index{7}, Index{8}, Index{20}}) {
        const unsigned seed = static_cast<unsigned>(K * 1000 + d * 10 + nb);
        const Mat A = test::random_mat(K, d, seed), At = A.transpose(), X = test::random_mat(d, nb, seed + 1);
        const Vec b = test::random_vec(K, seed + 2);
        const Index N = nb + 5, j0 = 3;
        Mat out_t = Mat::Constant(N, K, 7.0), with_bias(nb, K);
        few_rows_product_block(A, At, X.data(), nb, j0, out_t);
        detail::block_logits(d, K, A.data(), At.data(), X.data(), nb, b.data(), with_bias.data(), nullptr);
        const auto where = testing::Message() << "K = " << K << ", d = " << d << ", nb = " << nb;
        EXPECT_TRUE(out_t.topRows(j0).isConstant(7.0) && out_t.bottomRows(N - j0 - nb).isConstant(7.0)) << where;
        for (Index s = 0; s < nb; ++s)
          for (Index k = 0; k < K; ++k) {
            double v = 0.0;
            for (Index r = 0; r < d; ++r) v = std::fma(A(k, r), X(r, s), v);
            ASSERT_EQ(out_t(j0 + s, k), v) << where << ", sample " << s << ", class " << k;
            ASSERT_EQ(with_bias(s, k), v + b[k]) << where << ", sample " << s << ", class " << k;
          }
      }
#else
  GTEST_SKIP() << "the wide logits kernel is AVX-512 only";
#endif
}

TEST(FewRowsProduct, WideKernelReadsNothingPastTheEndOfItsMatrix) {
  // The last group's vector of classes is a masked load: with A's last column ending where an
  // unreadable page begins, a load of the 8 lanes would fault. K = 25: one class past 24 (the
  // intrinsics' tile); K = 47: 23 past 24 (the assembly's tile, its third vector masked).
  for (const Index K : {Index{25}, Index{47}}) {
    const Index d = 3, nb = 8;
    const long page = sysconf(_SC_PAGESIZE);
    void* region = mmap(nullptr, static_cast<std::size_t>(2 * page), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(region, MAP_FAILED);
    char* guard = static_cast<char*>(region) + page;
    ASSERT_EQ(mprotect(guard, static_cast<std::size_t>(page), PROT_NONE), 0);
    double* A = reinterpret_cast<double*>(guard) - K * d;  // K×d, column-major, its last double next to the guard
    const Mat a = test::random_mat(K, d, 3), at = a.transpose(), X = test::random_mat(d, nb, 4);
    std::copy(a.data(), a.data() + K * d, A);
    Mat out(nb, K);
    detail::block_logits(d, K, A, at.data(), X.data(), nb, nullptr, out.data(), nullptr);
    EXPECT_LT(max_entry_gap(out, (a * X).transpose()), 1e-14) << "K = " << K;
    munmap(region, static_cast<std::size_t>(2 * page));
  }
}

TEST(FewRowsProduct, StridedColumnsGoThroughEigensProduct) {
  const Mat big = test::random_mat(30, 50, 4);
  const Mat A = test::random_mat(6, 20, 8);
  const Eigen::Ref<const Mat> X = big.topRows(20);  // outer stride 30, not 20
  Mat out;
  const double x_sq = few_rows_product(A, X, out);
  EXPECT_LT(max_entry_gap(out, A * big.topRows(20)), 1e-14);
  EXPECT_NEAR(x_sq, big.topRows(20).squaredNorm(), 1e-13 * x_sq);
}

/// The inputs of the pair kernels' tests, for every K, d and nb of their grid (d = 19 and K = 11 take the
/// separate products only): two K×d matrices A and B with their transposes, μ, and a block H_b of nb
/// columns around 3μ, whose products go to rows j0.. of N×K matrices.
struct PairBlockCase {
  Index K, d, nb;
  Mat A, B, At, Bt;
  Vec mu;
  Mat Hb;
  Index N, j0;
};

template <class Check>
void for_each_pair_block_case(Check&& check) {
  for (const Index K : {Index{1}, Index{3}, Index{10}, Index{11}})
    for (const Index d : {Index{8}, Index{19}, Index{64}})
      for (const Index nb : {Index{1}, Index{7}, Index{8}, Index{20}, Index{256}}) {
        const unsigned seed = static_cast<unsigned>(K * 1000 + d * 10 + nb);
        PairBlockCase c{K, d, nb, test::random_mat(K, d, seed), test::random_mat(K, d, seed + 1), Mat(), Mat(),
                        test::random_vec(d, seed + 2), Mat(), nb + 5, 3};
        c.At = c.A.transpose();
        c.Bt = c.B.transpose();
        c.Hb = (test::random_mat(d, nb, seed + 3).colwise() + 3.0 * c.mu).eval();
        check(c, testing::Message() << "K = " << K << ", d = " << d << ", nb = " << nb);
      }
}

TEST(FewRowsProduct, CentredAndRawProductsAreTheSeparateProductsBitForBit) {
  // One pass (with AVX-512, d % 8 = 0 and K ≤ 10: one transpose per tile for both products) against
  // the centred block and the two separate block products: every double the same, and the rows of
  // Pᵀ and Zᵀ outside j0..j0+nb untouched. W is the case's B.
  for_each_pair_block_case([](const PairBlockCase& c, const testing::Message& where) {
    Mat P = Mat::Constant(c.N, c.K, 7.0), Z = P, want_P = P, want_Z = P, Xc(c.d, c.nb);
    const double x_sq =
        centred_and_raw_products_block(c.A, c.At, c.B, c.Bt, c.mu, c.Hb.data(), c.nb, c.j0, Xc.data(), P, Z);
    const Mat X = c.Hb.colwise() - c.mu;
    const double want_x_sq = few_rows_product_block(c.A, c.At, X.data(), c.nb, c.j0, want_P);
    few_rows_product_block(c.B, c.Bt, c.Hb.data(), c.nb, c.j0, want_Z);
    EXPECT_EQ(Xc, X) << where;
    EXPECT_EQ(P, want_P) << where;
    EXPECT_EQ(Z, want_Z) << where;
    EXPECT_EQ(x_sq, want_x_sq) << where;
  });
}

TEST(FewRowsProduct, TwoCentredProductsAreTheSeparateProductsBitForBit) {
  // Two levels' projections of one centred block in one pass (with AVX-512, d % 8 = 0 and K ≤ 10: one
  // transpose per tile) against the centred block's two separate block products: every double the
  // same, and the rows outside j0..j0+nb untouched.
  for_each_pair_block_case([](const PairBlockCase& c, const testing::Message& where) {
    Mat P = Mat::Constant(c.N, c.K, 7.0), Q = P, want_P = P, want_Q = P, Xc(c.d, c.nb);
    centred_two_products_block(c.A, c.At, c.B, c.Bt, c.mu, c.Hb.data(), c.nb, c.j0, Xc.data(), P, Q);
    const Mat X = c.Hb.colwise() - c.mu;
    few_rows_product_block(c.A, c.At, X.data(), c.nb, c.j0, want_P);
    few_rows_product_block(c.B, c.Bt, X.data(), c.nb, c.j0, want_Q);
    EXPECT_EQ(P, want_P) << where;
    EXPECT_EQ(Q, want_Q) << where;
  });
}

TEST(Simd, BroadcastKeepsNegativeZeroInfinityAndNan) {
  const simd::Doubles z = simd::broadcast(-0.0), inf = simd::broadcast(-std::numeric_limits<double>::infinity()),
                      nan = simd::broadcast(std::numeric_limits<double>::quiet_NaN());
  for (int l = 0; l < simd::kLanes; ++l) {
    EXPECT_EQ(z[l], 0.0);
    EXPECT_TRUE(std::signbit(z[l])) << "lane " << l;
    EXPECT_EQ(inf[l], -std::numeric_limits<double>::infinity());
    EXPECT_TRUE(std::isnan(nan[l]));
  }
}

}  // namespace
}  // namespace ufm
