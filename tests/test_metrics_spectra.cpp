#include <gtest/gtest.h>

#include <cmath>

#include "test_metrics_util.hpp"
#include "ufm/metrics/nc.hpp"
#include "ufm/metrics/spectra.hpp"

namespace ufm {
namespace {

using test::metric;

/// Features H = U diag(sigma) Vᵀ + v 1ᵀ whose centring H − μ_G 1ᵀ (μ_G the mean of the class means) is
/// exactly U diag(sigma) Vᵀ: V is orthonormal and orthogonal to a, a_i = 1/(K n_{y_i}), so that μ_G = v.
Mat features_with_spectrum(const Vec& sigma, Index d, const std::vector<int>& labels, Index K, unsigned seed) {
  const Index N = static_cast<Index>(labels.size()), r = sigma.size();
  Vec n = Vec::Zero(K);
  for (int y : labels) n(y) += 1;
  Vec a(N);
  for (Index i = 0; i < N; ++i) a(i) = 1.0 / (static_cast<double>(K) * n(labels[i]));
  Mat R = test::random_mat(N, r, seed);
  R -= a * (a.transpose() * R) / a.squaredNorm();
  Eigen::HouseholderQR<Mat> qr_v(R);
  const Mat V = qr_v.householderQ() * Mat::Identity(N, r);
  const Mat U = test::random_orthogonal(d, seed + 1).leftCols(r);
  Mat H = U * sigma.asDiagonal() * V.transpose();
  H.colwise() += test::random_vec(d, seed + 2);
  return H;
}

MetricSet features_only(const Mat& H, const std::vector<int>& labels, Index K, MetricOptions opt = {}) {
  MetricSet out = MetricSet::object();
  feature_metrics(ConstMatMap(H.data(), H.rows(), H.cols()), labels, K, opt, out);
  test::expect_no_nan(out);
  return out;
}

TEST(SpectraMetrics, RecoversKnownSingularValuesOfCentredFeatures) {
  const Index K = 3, d = 6;
  const std::vector<int> labels = test::shuffled_labels({4, 6, 5}, 9);
  Vec sigma(4);
  sigma << 5, 3, 2, 1;
  const Mat H = features_with_spectrum(sigma, d, labels, K, 31);
  const MetricSet out = features_only(H, labels, K);
  const auto sv = test::metric_array(out, "singular_values");
  ASSERT_EQ(sv.size(), static_cast<std::size_t>(d));  // min(d, N) values, zeros included
  for (Index k = 0; k < d; ++k) EXPECT_NEAR(sv[k], k < 4 ? sigma(k) : 0.0, 1e-12) << k;
  const double sq = sigma.squaredNorm();  // 39
  EXPECT_NEAR(metric(out, "explained_variance"), (25.0 + 9.0) / sq, 1e-14);  // top K−1 = 2
  EXPECT_NEAR(metric(out, "stable_rank"), sq / 25.0, 1e-13);
  double entropy = 0.0;
  for (Index k = 0; k < 4; ++k) entropy -= sigma(k) / 11.0 * std::log(sigma(k) / 11.0);
  EXPECT_NEAR(metric(out, "effective_rank"), std::exp(entropy), 1e-12);
}

TEST(SpectraMetrics, EqualSingularValuesGiveEffectiveRankEqualToTheirCount) {
  const Index K = 4;
  const std::vector<int> labels = test::shuffled_labels({3, 3, 4, 3}, 2);
  for (const Index d : {Index{12}, Index{30}}) {  // d < N (d×d Gram) and d > N (N×N Gram)
    const Mat H = features_with_spectrum(Vec::Constant(5, 2.0), d, labels, K, 41);
    const MetricSet out = features_only(H, labels, K);
    EXPECT_NEAR(metric(out, "effective_rank"), 5.0, 1e-11) << d;
    EXPECT_NEAR(metric(out, "stable_rank"), 5.0, 1e-11) << d;
    EXPECT_NEAR(metric(out, "explained_variance"), 3.0 / 5.0, 1e-12) << d;
    EXPECT_EQ(test::metric_array(out, "singular_values").size(), static_cast<std::size_t>(std::min<Index>(d, 13)));
  }
}

TEST(SpectraMetrics, MaxSingularValuesTruncatesOnlyTheReport) {
  const Index K = 3;
  const std::vector<int> labels = test::shuffled_labels({5, 5, 5}, 3);
  Vec sigma(4);
  sigma << 4, 3, 2, 1;
  const Mat H = features_with_spectrum(sigma, 8, labels, K, 51);
  const MetricSet all = features_only(H, labels, K, {.max_singular_values = 0});
  const MetricSet two = features_only(H, labels, K, {.max_singular_values = 2});
  EXPECT_EQ(test::metric_array(all, "singular_values").size(), 8u);
  const auto sv = test::metric_array(two, "singular_values");
  ASSERT_EQ(sv.size(), 2u);
  EXPECT_NEAR(sv[0], 4.0, 1e-12);
  EXPECT_NEAR(sv[1], 3.0, 1e-12);
  EXPECT_EQ(metric(two, "effective_rank"), metric(all, "effective_rank"));
  EXPECT_NEAR(metric(two, "stable_rank"), 30.0 / 16.0, 1e-13);
}

TEST(SpectraMetrics, GramSingularValuesMatchJacobiSvd) {
  for (const auto& [d, N] : {std::pair<Index, Index>{7, 20}, {20, 7}}) {
    const Mat X = test::random_mat(d, N, 61);
    const Vec sv = singular_values_via_gram(X);
    const Vec ref = Eigen::JacobiSVD<Mat>(X).singularValues();
    ASSERT_EQ(sv.size(), ref.size());
    EXPECT_LT((sv - ref).norm(), 1e-12 * ref(0)) << d << "x" << N;
  }
}

TEST(SpectraMetrics, BlockedGramMatchesSvdOfTheCentredCopy) {
  // N = 600 > 256 columns: the d×d Gram is accumulated over three blocks, the last one partial.
  const Index K = 4, d = 9;
  const std::vector<int> labels = test::shuffled_labels({100, 200, 120, 180}, 8);
  Mat H = test::random_mat(d, 600, 81);
  for (Index i = 0; i < H.cols(); ++i) H(labels[i], i) += 3.0;
  const MetricSet out = features_only(H, labels, K, {.max_singular_values = 0});
  Mat mu = Mat::Zero(d, K);
  Vec n = Vec::Zero(K);
  for (Index i = 0; i < H.cols(); ++i) mu.col(labels[i]) += H.col(i), n(labels[i]) += 1;
  const Vec mu_G = (mu * n.cwiseInverse().asDiagonal()).rowwise().mean();
  const Vec ref = Eigen::JacobiSVD<Mat>(H.colwise() - mu_G).singularValues();
  const auto sv = test::metric_array(out, "singular_values");
  ASSERT_EQ(sv.size(), static_cast<std::size_t>(d));
  for (Index k = 0; k < d; ++k) EXPECT_NEAR(sv[k], ref(k), 1e-11 * ref(0)) << k;
}

TEST(SpectraMetrics, SpectraCanBeSkipped) {
  const std::vector<int> labels = test::shuffled_labels({3, 3, 3}, 4);
  const Mat H = test::random_mat(4, 9, 71);
  const MetricSet out = features_only(H, labels, 3, {.spectra = false});
  for (const char* name : {"singular_values", "explained_variance", "effective_rank", "stable_rank"})
    EXPECT_FALSE(out.contains(name)) << name;
  EXPECT_TRUE(get_metric(out, "nc1").has_value());
}

TEST(SpectraMetrics, FeatureMetricsKeepTheDocumentedOrder) {
  const std::vector<int> labels = test::shuffled_labels({3, 3, 3}, 4);
  const Mat H = test::random_mat(4, 9, 71);
  const MetricSet out = features_only(H, labels, 3);
  std::vector<std::string> keys;
  for (const auto& [key, value] : out.items()) keys.push_back(key);
  const std::vector<std::string> expected{"h_norm", "nc1", "nc1_tr", "cdnv", "equinorm_h", "equiangle_h",
                                          "etf_error_h", "ncc_accuracy", "singular_values", "explained_variance",
                                          "effective_rank", "stable_rank", "nc1_unscaled", "global_mean_norm",
                                          "mean_of_means_norm"};
  EXPECT_EQ(keys, expected);
}

}  // namespace
}  // namespace ufm
