#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_metrics_util.hpp"
#include "ufm/metrics/metric_set.hpp"
#include "ufm/metrics/nc.hpp"

namespace ufm {
namespace {

TEST(MetricSet, NulloptAndNonFiniteBecomeNullWithReason) {
  MetricSet m = MetricSet::object();
  put_metric(m, "a", 1.5);
  put_metric(m, "b", std::nullopt, "all class means coincide");
  put_metric(m, "c", std::numeric_limits<double>::quiet_NaN());
  put_metric(m, "d", std::vector<double>{1.0, std::numeric_limits<double>::infinity()});
  put_metric(m, "e", std::nullopt);
  EXPECT_EQ(get_metric(m, "a"), 1.5);
  EXPECT_FALSE(get_metric(m, "b").has_value());
  EXPECT_FALSE(get_metric(m, "missing").has_value());
  EXPECT_TRUE(m["b"].is_null());
  EXPECT_EQ(m[kNullReasons]["b"], "all class means coincide");
  EXPECT_EQ(m[kNullReasons]["c"], "non-finite value");
  EXPECT_EQ(m[kNullReasons]["d"], "non-finite value");
  EXPECT_EQ(m[kNullReasons]["e"], "undefined");
  EXPECT_EQ(m.dump().find("NaN"), std::string::npos);
  test::expect_no_nan(m);
}

TEST(MetricSet, StoringAValueClearsAStaleReasonAndReasonsMoveLast) {
  MetricSet m = MetricSet::object();
  put_metric(m, "x", std::nullopt, "why");
  put_metric(m, "y", 2.0);
  put_metric(m, "x", 3.0);
  EXPECT_FALSE(m[kNullReasons].contains("x"));
  move_null_reasons_last(m);
  EXPECT_FALSE(m.contains(kNullReasons));  // empty reasons are dropped
  put_metric(m, "z", std::nullopt, "why");
  put_metric(m, "w", std::vector<double>{1.0, 2.0});
  move_null_reasons_last(m);
  std::vector<std::string> keys;
  for (const auto& [key, value] : m.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"x", "y", "z", "w", kNullReasons}));
  EXPECT_EQ(m["w"], MetricSet::array({1.0, 2.0}));
}

TEST(MetricSet, CollapseMetricsFollowsTheDocumentedOrder) {
  test::Model m;
  m.K = 3;
  m.labels = {0, 1, 2, 0, 1, 2};
  m.H = test::random_mat(4, 6, 1);
  m.W = test::random_mat(3, 4, 2);
  m.b = Vec::Zero(3);
  const MetricSet out = collapse_metrics(m.snapshot());
  std::vector<std::string> keys;
  for (const auto& [key, value] : out.items()) keys.push_back(key);
  const std::vector<std::string> expected{
      "h_norm", "nc1", "nc1_tr", "cdnv", "equinorm_h", "equiangle_h", "etf_error_h", "ncc_accuracy",
      "singular_values", "explained_variance", "effective_rank", "stable_rank", "nc1_unscaled", "global_mean_norm",
      "mean_of_means_norm", "accuracy", "w_norm", "b_norm", "margin_mean", "equinorm_w", "equiangle_w",
      "etf_error_w", "nc3", "nc4", "snc_w", "snc_h", "eps_avg", "eps_tilde_avg", "eps_std", "eps_tilde_std",
      "eps_rel_std", "eps_tilde_rel_std", "sqi_avg_gap", "sqi_pointwise_gap", "nc3_uncentered", "nc4_no_bias",
      "wh_singular_values", "wwt_eigenvalues", "min_margin", "normalized_min_margin", "minority_w_norm_mean",
      "majority_w_norm_mean", "minority_cosine_mean", "self_dual_etf_distance", "null_reasons"};
  EXPECT_EQ(keys, expected);
}

}  // namespace
}  // namespace ufm
