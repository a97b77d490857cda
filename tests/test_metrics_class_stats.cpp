// class_stats' sums against plain sample-order loops, bit for bit. Built into both test programs: the
// native one and, on an AVX-512 machine, the x86-64-v3 one, whose 4-lane packets take the register
// path in slices of 16 rows (four passes at d = 64) where AVX-512 takes one.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_metrics_util.hpp"
#include "ufm/metrics/class_stats.hpp"
#include "ufm/objectives/labels.hpp"

namespace ufm {
namespace {

/// d = 3: rows after the packets only; 16, 20: one slice (and a tail); 32, 37: two slices with AVX2;
/// 64: four with AVX2, one with AVX-512; 70, 100: beyond the register path, sample by sample.
const std::vector<Index> kClassStatsRows{3, 16, 20, 32, 37, 64, 70, 100};

TEST(ClassCounts, CountsRunsAndScatteredLabelsAlikeAndRefusesALabelOutOfRange) {
  const std::vector<int> scattered = {0, 0, 1, 0, 2, 2, 2, 1, 3};
  EXPECT_EQ(class_counts(scattered, 5), (std::vector<Index>{3, 2, 3, 1, 0}));
  EXPECT_EQ(class_counts(std::vector<int>(7, 1), 2), (std::vector<Index>{0, 7}));
  EXPECT_TRUE(class_counts(std::vector<int>{}, 3) == std::vector<Index>(3, 0));
  for (const std::vector<int>& bad : {std::vector<int>{0, 0, 5}, std::vector<int>{1, 1, -1, 1}, std::vector<int>{3}}) {
    try {
      class_counts(bad, 3);
      ADD_FAILURE() << "a label outside [0, 3) was counted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("outside [0, 3)"), std::string::npos) << e.what();
    }
  }
}

TEST(ClassStats, MeansAndSquaredNormAreSampleOrderSumsBitForBit) {
  // class_stats keeps a class's running sum in registers over a run of its samples (whole packets of
  // rows up to d = 64, the rows left sample by sample; larger d all sample by sample) and promises the
  // sums of updating the means sample by sample. Labels in runs and shuffled.
  const std::vector<int> runs{0, 0, 0, 1, 1, 2, 0, 0, 2, 2, 2, 1, 0, 1, 1, 1, 2};
  const std::vector<int> shuffled = test::shuffled_labels({5, 6, 6}, 9);
  for (const Index d : kClassStatsRows)
    for (const auto* y : {&runs, &shuffled}) {
      const Index N = static_cast<Index>(y->size());
      const Mat H = test::random_mat(d, N, 13 + static_cast<unsigned>(d));
      const ClassStats s = class_stats(H, *y, 3, "test");
      Mat sums = Mat::Zero(d, 3);
      Vec sq = Vec::Zero(d);
      for (Index i = 0; i < N; ++i)
        for (Index r = 0; r < d; ++r) {
          sums(r, (*y)[i]) += H(r, i);
          sq(r) += H(r, i) * H(r, i);
        }
      for (Index c = 0; c < 3; ++c) sums.col(c) /= static_cast<double>(s.counts[c]);
      EXPECT_EQ(s.means, sums) << "d = " << d;
      EXPECT_EQ(s.h_sq, sq.sum()) << "d = " << d;
    }
}

TEST(ClassStats, StrongResidualGivenTheClassifierIsTheSampleOrderSumBitForBit) {
  // With W, the same pass sums strong NC's residual Σ_i (h_i − w_{y_i}/√n_{y_i})² row by row.
  // Imbalanced, shuffled labels: runs of one class are short.
  const std::vector<Index> counts{7, 19, 3, 11};
  const std::vector<int> y = test::shuffled_labels(counts, 5);
  const Index K = 4, N = static_cast<Index>(y.size());
  for (const Index d : kClassStatsRows) {
    const Mat H = test::random_mat(d, N, 21);
    const Mat W = test::random_mat(K, d, 22);
    const Eigen::Ref<const Mat> Wr = W;
    const ClassStats s = class_stats(H, y, K, "test", &Wr);
    ASSERT_EQ(s.strong_residual_sq.size(), d);
    Vec plain = Vec::Zero(d);
    for (Index i = 0; i < N; ++i) {
      const double a = 1.0 / std::sqrt(static_cast<double>(counts[static_cast<std::size_t>(y[i])]));
      for (Index r = 0; r < d; ++r) {
        const double e = H(r, i) - a * W(y[i], r);
        plain(r) += e * e;
      }
    }
    EXPECT_EQ(s.strong_residual_sq, plain) << "d = " << d;
  }
}

}  // namespace
}  // namespace ufm
