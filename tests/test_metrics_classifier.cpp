#include <gtest/gtest.h>

#include <cmath>

#include "test_metrics_util.hpp"
#include "ufm/metrics/class_stats.hpp"
#include "ufm/metrics/few_rows_product.hpp"
#include "ufm/metrics/nc.hpp"

namespace ufm {
namespace {

using test::metric;

/// d=2, K=3. Class 0: (1,1), (1,-1) → μ_0 = (1,0); class 1: (-1,1), (-1,-1) → μ_1 = (-1,0);
/// class 2: (0,6), (0,0) → μ_2 = (0,3). W rows (1,0), (-1,0), (0,1).
test::Model tie_model() {
  test::Model m;
  m.K = 3;
  m.labels = {0, 0, 1, 1, 2, 2};
  m.H = Mat(2, 6);
  m.H << 1, 1, -1, -1, 0, 0,  //
      1, -1, 1, -1, 6, 0;
  m.W = Mat(3, 2);
  m.W << 1, 0, -1, 0, 0, 1;
  m.b = Vec::Zero(3);
  return m;
}

TEST(NcMetrics, TiesGoToLowestClassIndex) {
  // Logits z = W h: s0 (1,-1,1) tie 0/2 → 0; s1 (1,-1,-1) → 0; s2 (-1,1,1) tie 1/2 → 1; s3 (-1,1,-1) → 1;
  // s4 (0,0,6) → 2; s5 (0,0,0) tie → 0 (wrong, label 2).
  // Nearest centre: s5 = (0,0) is at distance 1 from μ_0 and μ_1 (tie → 0), 3 from μ_2; the rest are right.
  // So accuracy = ncc_accuracy = 5/6 and the two rules agree everywhere: nc4 = 0. Ties to the highest index
  // would give accuracy 4/6 and nc4 = 3/6.
  const test::Model m = tie_model();
  const MetricSet out = collapse_metrics(m.snapshot());
  test::expect_no_nan(out);
  EXPECT_DOUBLE_EQ(metric(out, "accuracy"), 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(metric(out, "ncc_accuracy"), 5.0 / 6.0);
  EXPECT_EQ(metric(out, "nc4"), 0.0);
  EXPECT_EQ(metric(out, "nc4_no_bias"), 0.0);
  // margins z_y − max_{c≠y} z_c: 0, 2, 0, 2, 6, 0.
  EXPECT_DOUBLE_EQ(metric(out, "margin_mean"), 10.0 / 6.0);
}

TEST(NcMetrics, FrameGeometryOfHandExample) {
  // W rows (1,0), (-1,0), (0,1): equal norms; cosines -1, 0, 0 → equiangle_w = (0.5 + 0.5 + 0.5)/3.
  // Unit Gram U = [[1,-1,0],[-1,1,0],[0,0,1]], ‖U‖_F = √5, ⟨U, J⟩ = tr U − 1ᵀU1/3 = 3 − 1/3, ‖J‖_F = √2:
  // etf_error_w² = 2 − 2(8/3)/√10.
  // μ_G = (0,1), M̃ = [(1,-1), (-1,-1), (0,2)]: norms √2, √2, 2; cosines 0, -1/√2, -1/√2.
  // nc3 = 2 − 2⟨Wᵀ, M̃⟩/(‖W‖‖M̃‖) = 2 − 2·4/(√3·√8); uncentred H̄: 2 − 2·5/(√3·√11).
  const test::Model m = tie_model();
  const MetricSet out = collapse_metrics(m.snapshot());
  EXPECT_NEAR(metric(out, "equinorm_w"), 0.0, 1e-15);
  EXPECT_NEAR(metric(out, "equiangle_w"), 0.5, 1e-15);
  EXPECT_NEAR(metric(out, "etf_error_w"), std::sqrt(2.0 - 16.0 / (3.0 * std::sqrt(10.0))), 1e-15);
  const double a = std::sqrt(2.0), mean = (2 * a + 2) / 3;
  const double std_pop = std::sqrt((2 * (a - mean) * (a - mean) + (2 - mean) * (2 - mean)) / 3);
  EXPECT_NEAR(metric(out, "equinorm_h"), std_pop / mean, 1e-15);
  const double off = std::abs(-1 / std::sqrt(2.0) + 0.5);
  EXPECT_NEAR(metric(out, "equiangle_h"), (0.5 + 2 * off) / 3, 1e-15);
  EXPECT_NEAR(metric(out, "nc3"), 2.0 - 8.0 / std::sqrt(24.0), 1e-15);
  EXPECT_NEAR(metric(out, "nc3_uncentered"), 2.0 - 10.0 / std::sqrt(33.0), 1e-15);
}

TEST(NcMetrics, BiasEntersAccuracyAndNc4ButNotNc4NoBias) {
  // b = (0, 0, 0.5): s0 → 2, s1 → 0, s2 → 2, s3 → 1, s4 → 2, s5 → 2. Right: s1, s3, s4, s5 → 4/6.
  // Nearest centres (0,0,1,1,2,0): disagreements at s0, s2, s5 → nc4 = 3/6; without b still 0.
  test::Model m = tie_model();
  m.b << 0, 0, 0.5;
  const MetricSet out = collapse_metrics(m.snapshot());
  EXPECT_DOUBLE_EQ(metric(out, "accuracy"), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(metric(out, "nc4"), 3.0 / 6.0);
  EXPECT_EQ(metric(out, "nc4_no_bias"), 0.0);
  EXPECT_DOUBLE_EQ(metric(out, "b_norm"), 0.5);
  // margins: s0 1-1.5, s1 1-(-0.5), s2 1-1.5, s3 1-(-0.5), s4 6.5-0, s5 0.5-0 → (−0.5+1.5−0.5+1.5+6.5+0.5)/6
  EXPECT_DOUBLE_EQ(metric(out, "margin_mean"), 9.0 / 6.0);
}

TEST(NcMetrics, ClassifierMetricsAloneMatchCollapseMetrics) {
  test::Model m;
  m.K = 4;
  m.labels = test::shuffled_labels({5, 3, 4, 6}, 2);
  m.H = test::random_mat(7, 18, 8);
  m.W = test::random_mat(4, 7, 9);
  m.b = test::random_vec(4, 10);
  const MetricSet all = collapse_metrics(m.snapshot());
  MetricSet part = MetricSet::object();
  classifier_metrics(m.snapshot(), part);
  test::expect_no_nan(part);
  EXPECT_EQ(part.begin().key(), "accuracy");
  for (const auto& [key, value] : part.items())
    if (key != kNullReasons) {
      EXPECT_EQ(value, all[key]) << key;
    }
}

TEST(NcMetrics, BiasFreeMseOptimumHasOrthogonalFrameGeometry) {
  // theory.md §5(a): W H̄ = s I with W's rows and the uncentred means a self-dual orthogonal frame.
  const Index K = 4, d = 6;
  const double s = 0.6;
  test::Model m;
  m.K = K;
  m.labels = test::shuffled_labels(std::vector<Index>(K, 3), 4);
  const Mat Q = test::random_orthogonal(d, 5);
  const Mat means = 2.0 * Q.leftCols(K);  // orthogonal, equal norms
  m.H = test::collapsed_features(means, m.labels);
  m.W = (s / 4.0) * means.transpose();  // W H̄ = s I
  m.b = Vec();
  const MetricSet out = collapse_metrics(m.snapshot());
  test::expect_no_nan(out);
  const double kk = static_cast<double>(K);
  EXPECT_NEAR(metric(out, "equiangle_w"), 1.0 / (kk - 1.0), 1e-14);
  EXPECT_NEAR(metric(out, "etf_error_w"), std::sqrt(2.0 - 2.0 * std::sqrt((kk - 1.0) / kk)), 1e-14);
  EXPECT_NEAR(metric(out, "nc3"), 2.0 - 2.0 * std::sqrt((kk - 1.0) / kk), 1e-14);
  EXPECT_NEAR(metric(out, "nc3_uncentered"), 0.0, 1e-14);
  EXPECT_NEAR(metric(out, "etf_error_h"), 0.0, 1e-14);  // the centred means are still a simplex ETF
  for (double v : test::metric_array(out, "wh_singular_values")) EXPECT_NEAR(v, s, 1e-14);
  for (double v : test::metric_array(out, "wwt_eigenvalues")) EXPECT_NEAR(v, s * s / 4.0, 1e-14);
  EXPECT_NEAR(metric(out, "sqi_avg_gap"), 1.0 - s, 1e-14);
}

TEST(NcMetrics, WhSingularValuesAndWwtEigenvaluesOfHandExample) {
  // μ_0 = (1,0), μ_1 = (0,2); W = [[1,1],[0,1]].
  // W Wᵀ = [[2,1],[1,1]]: eigenvalues (3 ± √5)/2.
  // W H̄ = [[1,2],[0,2]]; (W H̄)ᵀ(W H̄) = [[1,2],[2,8]]: eigenvalues (9 ± √65)/2, σ = their square roots.
  test::Model m;
  m.K = 2;
  m.labels = {1, 0, 0, 1};
  m.H = Mat(2, 4);
  m.H << 0, 1, 1, 0,  //
      2, 0, 0, 2;
  m.W = Mat(2, 2);
  m.W << 1, 1, 0, 1;
  m.b = Vec();
  const MetricSet out = collapse_metrics(m.snapshot());
  const auto wwt = test::metric_array(out, "wwt_eigenvalues");
  ASSERT_EQ(wwt.size(), 2u);
  EXPECT_NEAR(wwt[0], (3 + std::sqrt(5.0)) / 2, 1e-14);
  EXPECT_NEAR(wwt[1], (3 - std::sqrt(5.0)) / 2, 1e-14);
  const auto wh = test::metric_array(out, "wh_singular_values");
  ASSERT_EQ(wh.size(), 2u);
  EXPECT_NEAR(wh[0], std::sqrt((9 + std::sqrt(65.0)) / 2), 1e-14);
  EXPECT_NEAR(wh[1], std::sqrt((9 - std::sqrt(65.0)) / 2), 1e-14);
}

/// W = diag(n_c^{1/4}) Uᵀ with orthonormal rows Uᵀ (so W Wᵀ = D = diag(√n_c)) and H = Wᵀ D⁻¹ Y.
test::Model strong_nc_model(const std::vector<Index>& counts, Index d) {
  const Index K = static_cast<Index>(counts.size());
  test::Model m;
  m.K = K;
  m.labels = test::shuffled_labels(counts, 3);
  Vec quarter(K);
  for (Index c = 0; c < K; ++c) quarter(c) = std::pow(static_cast<double>(counts[c]), 0.25);
  m.W = quarter.asDiagonal() * test::random_orthogonal(d, 6).leftCols(K).transpose();
  m.H = Mat(d, static_cast<Index>(m.labels.size()));
  for (Index i = 0; i < m.H.cols(); ++i) {
    const int y = m.labels[i];
    m.H.col(i) = m.W.row(y).transpose() / std::sqrt(static_cast<double>(counts[y]));
  }
  m.b = Vec();
  return m;
}

TEST(NcMetrics, StrongNcIsZeroAtTheMixonSolutionAndGrowsWithPerturbation) {
  // d = 5 is all leftover rows for snc_h's register blocks; 37 and 64 take whole blocks (and 37 a tail).
  for (const Index d : {Index{5}, Index{37}, Index{64}})
    for (const auto& counts : {std::vector<Index>{1, 4, 9}, std::vector<Index>{3, 3, 3, 3}}) {
      test::Model m = strong_nc_model(counts, d);
      const MetricSet out = collapse_metrics(m.snapshot());
      test::expect_no_nan(out);
      EXPECT_NEAR(metric(out, "snc_w"), 0.0, 1e-14);
      EXPECT_NEAR(metric(out, "snc_h"), 0.0, 1e-14);

      const Mat E = test::random_mat(m.H.rows(), m.H.cols(), 12, 1e-3);
      test::Model p = m;
      p.H += E;  // snc_h = ‖E‖_F/‖H + E‖_F exactly; snc_w unchanged
      const MetricSet out_h = collapse_metrics(p.snapshot());
      EXPECT_NEAR(metric(out_h, "snc_h"), E.norm() / p.H.norm(), 1e-12);
      EXPECT_NEAR(metric(out_h, "snc_w"), 0.0, 1e-14);

      p = m;
      p.W.row(0) *= 1.01;  // both move off zero
      const MetricSet out_w = collapse_metrics(p.snapshot());
      EXPECT_GT(metric(out_w, "snc_w"), 1e-3);
      EXPECT_GT(metric(out_w, "snc_h"), 1e-4);
    }
}

TEST(NcMetrics, StrongNcIsTheSameFromTheLevelsPassAndFromItsOwnBitForBit) {
  // collapse_metrics' level carries strong NC's residual from its class_stats pass (given W; its sums
  // against a plain loop: test_metrics_class_stats.cpp); with a level measured without W the
  // classifier metrics take class_stats' pass again, with W. Both give the same snc_h, to the bit.
  // d = 5: rows after the packets only; 37, 64: register slices; 100: sample by sample.
  const std::vector<Index> counts{7, 19, 3, 11};
  for (const Index d : {Index{5}, Index{37}, Index{64}, Index{100}}) {
    test::Model m;
    m.K = 4;
    m.labels = test::shuffled_labels(counts, 5);
    m.H = test::random_mat(d, static_cast<Index>(m.labels.size()), 21);
    m.W = test::random_mat(m.K, d, 22);
    m.b = Vec();
    const Snapshot sn = m.snapshot();
    const Eigen::Ref<const Mat> W = sn.W;
    const ClassStats fused = class_stats(sn.H, sn.labels, m.K, "test", &W);
    ASSERT_EQ(fused.strong_residual_sq.size(), d);
    EXPECT_EQ(class_stats(sn.H, sn.labels, m.K, "test").strong_residual_sq.size(), 0);

    const MetricSet with_level = collapse_metrics(sn);
    Mat WHt;
    few_rows_product_t(W, sn.H, WHt);
    const MetricSet own_pass = collapse_metrics(sn, level_metrics(sn.H, sn.labels, m.K, MetricOptions{}), WHt);
    EXPECT_EQ(metric(with_level, "snc_h"), metric(own_pass, "snc_h")) << "d = " << d;
    EXPECT_NEAR(metric(with_level, "snc_h"), std::sqrt(fused.strong_residual_sq.sum()) / m.H.norm(), 1e-14);
  }
}

TEST(NcMetrics, ClassStatsRefusesAClassifierOfTheWrongShape) {
  const Mat H = test::random_mat(4, 6, 1), W = test::random_mat(3, 5, 2);
  const std::vector<int> labels{0, 1, 2, 0, 1, 2};
  const Eigen::Ref<const Mat> w = W;
  EXPECT_THROW(class_stats(H, labels, 3, "test", &w), std::invalid_argument);
}

}  // namespace
}  // namespace ufm
