/// Margins (theory.md §5 (e)) and minority-collapse metrics (§5 (f)) on hand-built configurations.
#include <gtest/gtest.h>

#include "test_metrics_util.hpp"
#include "ufm/metrics/nc.hpp"
#include "ufm/objectives/labels.hpp"

namespace ufm {
namespace {

using test::metric;

TEST(MarginMetrics, MinAndNormalizedMarginOnAHandExample) {
  // K=2, d=1: H = [2, 1, -3], labels (0, 0, 1), W = [1; -1], no bias.
  // Logits z_i = (h, -h): margins 2h for class 0 (4, 2) and -2h for class 1 (6): min 2.
  test::Model m{Mat(1, 3), Mat(2, 1), Vec(), {0, 0, 1}, 2};
  m.H << 2, 1, -3;
  m.W << 1, -1;
  const MetricSet out = collapse_metrics(m.snapshot());
  EXPECT_DOUBLE_EQ(metric(out, "min_margin"), 2.0);
  EXPECT_DOUBLE_EQ(metric(out, "margin_mean"), 4.0);
  EXPECT_DOUBLE_EQ(metric(out, "normalized_min_margin"), 2.0 / (2.0 + 14.0));  // ‖W‖² = 2, ‖H‖² = 14
  test::expect_no_nan(out);
}

TEST(MarginMetrics, SelfDualEtfDistanceIsZeroOnlyAtASelfDualEtf) {
  const Index K = 4, d = 6;
  const std::vector<Index> counts(K, 3);
  const Mat M = test::simplex_etf(d, K);  // d×K
  test::Model m{test::collapsed_features(M, block_labels(counts)), 0.5 * M.transpose(), Vec(), block_labels(counts), K};
  m.H = test::collapsed_features(M, m.labels);
  EXPECT_LT(metric(collapse_metrics(m.snapshot()), "self_dual_etf_distance"), 1e-7);
  m.W(0, 0) += 0.2;  // break self-duality and the W-side ETF
  EXPECT_GT(metric(collapse_metrics(m.snapshot()), "self_dual_etf_distance"), 1e-2);
}

TEST(MinorityMetrics, AreNullForBalancedClasses) {
  const std::vector<Index> counts(3, 2);
  test::Model m{test::random_mat(4, 6, 1), test::random_mat(3, 4, 2), Vec(), block_labels(counts), 3};
  const MetricSet out = collapse_metrics(m.snapshot());
  for (const char* name : {"minority_w_norm_mean", "majority_w_norm_mean", "minority_cosine_mean"})
    EXPECT_TRUE(test::is_null_with_reason(out, name)) << name;
}

TEST(MinorityMetrics, MeasureTheMinorityRowsOfW) {
  // Counts (4, 4, 1, 1): classes 2 and 3 are the minority.
  const std::vector<Index> counts{4, 4, 1, 1};
  Mat W(4, 3);
  W << 3, 0, 0,   //
      0, 4, 0,    //
      1, 1, 0,    // minority rows at 60 degrees: cos = 1/2
      0, 2, 2;
  test::Model m{test::random_mat(3, 10, 5), W, Vec(), block_labels(counts), 4};
  const MetricSet out = collapse_metrics(m.snapshot());
  EXPECT_DOUBLE_EQ(metric(out, "majority_w_norm_mean"), 3.5);
  EXPECT_NEAR(metric(out, "minority_w_norm_mean"), (std::sqrt(2.0) + std::sqrt(8.0)) / 2, 1e-15);
  EXPECT_NEAR(metric(out, "minority_cosine_mean"), 0.5, 1e-15);
  m.W.row(3) << 2, 2, 0;  // collapsed onto the other minority row
  EXPECT_NEAR(metric(collapse_metrics(m.snapshot()), "minority_cosine_mean"), 1.0, 1e-15);
}

}  // namespace
}  // namespace ufm
