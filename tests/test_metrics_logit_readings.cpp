// read_logits (class-at-a-time, vectorized) against the per-sample loops it replaced in the
// classifier metrics: argmax with ties to the lowest class, and the margin z_y − max_{c≠y} z_c.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <span>
#include <stdexcept>
#include <vector>

#include "test_util.hpp"
#include "ufm/metrics/class_stats.hpp"
#include "ufm/metrics/logit_readings.hpp"

namespace ufm {
namespace {

/// K×N logits rounded to a coarse grid, so that ties (within and across columns) are common.
Mat logit_readings_tied_logits(Index K, Index N, unsigned seed) {
  return (test::random_mat(K, N, seed) * 2.0).array().round().matrix();
}

std::vector<int> logit_readings_labels(Index K, Index N, unsigned seed) {
  std::vector<int> y(static_cast<std::size_t>(N));
  const Vec u = test::random_vec(N, seed);
  for (Index i = 0; i < N; ++i) y[static_cast<std::size_t>(i)] = static_cast<int>(std::abs(std::floor(u(i) * 1000.0))) % K;
  return y;
}

TEST(LogitReadings, MatchThePerSampleLoopsWithTiesToTheLowestClass) {
  for (const Index K : {Index{2}, Index{3}, Index{10}, Index{17}}) {
    for (const bool tied : {false, true}) {
      const Index N = 203;
      const Mat Z = tied ? logit_readings_tied_logits(K, N, 7) : test::random_mat(K, N, 8);
      const std::vector<int> y = logit_readings_labels(K, N, 9);
      const LogitReadings r = read_logits(Z, y, true);
      ASSERT_EQ(r.argmax.size(), static_cast<std::size_t>(N));
      ASSERT_EQ(r.margin.size(), N);
      for (Index i = 0; i < N; ++i) {
        EXPECT_EQ(r.argmax[i], argmax_lowest(Z.col(i))) << "K " << K << " i " << i;
        double other = -std::numeric_limits<double>::infinity();
        for (Index c = 0; c < K; ++c)
          if (c != y[i]) other = std::max(other, Z(c, i));
        EXPECT_EQ(r.margin(i), Z(y[i], i) - other) << "K " << K << " i " << i;  // bit for bit
      }
    }
  }
}

TEST(LogitReadings, AllEqualLogitsPredictClassZeroAndMarginZero) {
  const Mat Z = Mat::Constant(4, 6, 0.25);
  const std::vector<int> y{3, 2, 1, 0, 3, 2};
  const LogitReadings r = read_logits(Z, y, true);
  for (int p : r.argmax) EXPECT_EQ(p, 0);
  EXPECT_EQ(r.margin, Vec::Zero(6));
  EXPECT_EQ(read_logits(Z, y, false).margin.size(), 0);
}

TEST(LogitReadings, TheComparisonSeesALaterTieWinning) {
  // The tests above can fail: a rule that lets the later of two tied classes win differs here.
  Mat Z(3, 1);
  Z << 1.0, 2.0, 2.0;
  EXPECT_EQ(read_logits(Z, std::vector<int>{0}, false).argmax[0], 1);
  Index later = 0;
  for (Index c = 1; c < 3; ++c)
    if (Z(c, 0) >= Z(later, 0)) later = c;
  EXPECT_NE(later, 1);
}

TEST(LogitReadings, ABiasAddedAsReadGivesTheReadingsOfTheBiasedCopy) {
  // The bias changes the winner of many samples here (it is as large as the logits), and ties
  // stay common on the coarse grid: the readings equal those of Zᵀ + 1bᵀ formed first, bit for bit.
  for (const Index K : {Index{2}, Index{10}, Index{17}}) {
    const Index N = 131;
    const Mat Zt = logit_readings_tied_logits(K, N, 11).transpose();
    const Vec b = (test::random_vec(K, 12) * 2.0).array().round().matrix();
    const std::vector<int> y = logit_readings_labels(K, N, 13);
    Mat biased = Zt;
    biased.rowwise() += b.transpose();
    const LogitReadings in_place = read_logits_class_major(Zt, y, true, std::span<const double>(b.data(), K));
    const LogitReadings copied = read_logits_class_major(biased, y, true);
    EXPECT_EQ(in_place.argmax, copied.argmax) << "K " << K;
    EXPECT_EQ(in_place.margin, copied.margin) << "K " << K;
    EXPECT_NE(in_place.argmax, read_logits_class_major(Zt, y, false).argmax) << "K " << K;
  }
  const Mat Zt = Mat::Zero(4, 3);
  const std::vector<double> two{1.0, 2.0};
  EXPECT_THROW(read_logits_class_major(Zt, std::vector<int>{0, 1, 2, 0}, true, two), std::invalid_argument);
}

TEST(LogitReadings, NanLogitsAndStridedColumnsReadAsThePerSampleLoopsDo) {
  // A NaN is never higher than the best so far (a NaN in class 0 keeps class 0), and the others' max
  // is std::max's, which keeps a NaN met first and skips one met later. The logits are read from a
  // block of a taller matrix (outer stride 70 for 37 samples: four full vectors and a tail).
  const Index K = 5, N = 37;
  Mat tall = test::random_mat(70, K, 21);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const Index i : {Index{0}, Index{9}, Index{17}, Index{33}}) tall(i, 0) = nan;
  for (const Index i : {Index{3}, Index{9}, Index{20}, Index{36}}) tall(i, 2) = nan;
  for (Index i = 1; i < N; i += 3) tall(i, K - 1) = nan;  // the last class: no later class overwrites it
  const auto Zt = tall.topRows(N);
  const std::vector<int> y = logit_readings_labels(K, N, 22);
  const LogitReadings r = read_logits_class_major(Zt, y, true);
  for (Index i = 0; i < N; ++i) {
    Index best = 0;
    for (Index c = 1; c < K; ++c)
      if (Zt(i, c) > Zt(i, best)) best = c;
    double other = -std::numeric_limits<double>::infinity();
    for (Index c = 0; c < K; ++c)
      if (c != y[i]) other = std::max(other, Zt(i, c));
    const double want = Zt(i, y[i]) - other;
    EXPECT_EQ(r.argmax[i], best) << "i " << i;
    if (std::isnan(want))
      EXPECT_TRUE(std::isnan(r.margin(i))) << "i " << i;
    else
      EXPECT_EQ(r.margin(i), want) << "i " << i;
  }
}

}  // namespace
}  // namespace ufm
