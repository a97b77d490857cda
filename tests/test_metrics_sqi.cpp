#include <gtest/gtest.h>

#include <cmath>

#include "test_metrics_util.hpp"
#include "ufm/metrics/nc.hpp"
#include "ufm/metrics/sqi.hpp"

namespace ufm {
namespace {

using test::metric;

TEST(SqiMetrics, SymmetricMseLogitsSatisfyAssumptionOne) {
  // z_i = (1 − ε) e_y + ε/(K−1) (1 − e_y): ε_i = ε for all i and (K−1) ε̃ = ε.
  const Index K = 4, N = 6;
  const double eps = 0.3;
  const std::vector<int> y{2, 0, 3, 1, 1, 0};
  Mat Z = Mat::Constant(K, N, eps / (K - 1));
  for (Index i = 0; i < N; ++i) Z(y[i], i) = 1.0 - eps;
  MetricSet out = MetricSet::object();
  put_sqi(Z, y, Loss::kMse, out);
  test::expect_no_nan(out);
  EXPECT_NEAR(metric(out, "eps_avg"), eps, 1e-15);
  EXPECT_NEAR(metric(out, "eps_tilde_avg"), eps / 3, 1e-15);
  EXPECT_NEAR(metric(out, "eps_std"), 0.0, 1e-15);
  EXPECT_NEAR(metric(out, "eps_tilde_std"), 0.0, 1e-15);
  EXPECT_NEAR(metric(out, "eps_rel_std"), 0.0, 1e-14);
  EXPECT_NEAR(metric(out, "sqi_avg_gap"), 0.0, 1e-15);
  EXPECT_NEAR(metric(out, "sqi_pointwise_gap"), 0.0, 1e-15);
}

TEST(SqiMetrics, HandExampleWithVaryingErrors) {
  // K=3. Sample 0 (y=0): z = (0.8, 0.1, 0.1), ε = 0.2; sample 1 (y=1): z = (0.2, 0.6, 0.2), ε = 0.4.
  // eps_avg = 0.3, ε̃ ∈ {0.1, 0.1, 0.2, 0.2}: avg 0.15, std 0.05; eps_std = 0.1.
  // avg gap |0.3 − 2·0.15| = 0; pointwise gap max|ε − 0.3| + max|2ε̃ − 0.3| = 0.1 + 0.1.
  Mat Z(3, 2);
  Z << 0.8, 0.2, 0.1, 0.6, 0.1, 0.2;
  const std::vector<int> y{0, 1};
  MetricSet out = MetricSet::object();
  put_sqi(Z, y, Loss::kMse, out);
  EXPECT_NEAR(metric(out, "eps_avg"), 0.3, 1e-15);
  EXPECT_NEAR(metric(out, "eps_tilde_avg"), 0.15, 1e-15);
  EXPECT_NEAR(metric(out, "eps_std"), 0.1, 1e-15);
  EXPECT_NEAR(metric(out, "eps_tilde_std"), 0.05, 1e-15);
  EXPECT_NEAR(metric(out, "eps_rel_std"), 0.1 / 0.3, 1e-14);
  EXPECT_NEAR(metric(out, "eps_tilde_rel_std"), 0.05 / 0.15, 1e-14);
  EXPECT_NEAR(metric(out, "sqi_avg_gap"), 0.0, 1e-15);
  EXPECT_NEAR(metric(out, "sqi_pointwise_gap"), 0.2, 1e-15);
}

TEST(SqiMetrics, BiasFreeOptimumHasGapOneMinusS) {
  // theory.md §5(a): z_i = s e_y, so ε = 1 − s, ε̃ = 0: eps_tilde_rel_std is null, avg gap 1 − s.
  const Index K = 3, d = 5;
  const double s = 0.7;
  test::Model m;
  m.K = K;
  m.labels = test::shuffled_labels({2, 3, 2}, 1);
  const Mat means = test::random_orthogonal(d, 2).leftCols(K);
  m.H = test::collapsed_features(means, m.labels);
  m.W = s * means.transpose();
  m.b = Vec();
  const MetricSet out = collapse_metrics(m.snapshot());
  test::expect_no_nan(out);
  EXPECT_NEAR(metric(out, "eps_avg"), 1.0 - s, 1e-14);
  EXPECT_NEAR(metric(out, "eps_tilde_avg"), 0.0, 1e-14);
  EXPECT_TRUE(test::is_null_with_reason(out, "eps_tilde_rel_std"));
  EXPECT_NEAR(metric(out, "sqi_avg_gap"), 1.0 - s, 1e-14);
  EXPECT_NEAR(metric(out, "sqi_pointwise_gap"), 1.0 - s, 1e-14);  // 0 + |(K−1)·0 − (1 − s)|
}

TEST(SqiMetrics, CrossEntropyUsesSoftmaxAndIgnoresShifts) {
  // z = a e_y (+ any constant): p_y = e^a/(e^a + K − 1), p_c = 1/(e^a + K − 1), so (K−1) ε̃ = ε exactly.
  const Index K = 4, N = 5;
  const double a = 2.5;
  const std::vector<int> y{0, 3, 2, 1, 3};
  Mat Z = Mat::Zero(K, N);
  for (Index i = 0; i < N; ++i) Z(y[i], i) = a;
  Z.array() += 40.0;  // a free bias shift: softmax is shift-invariant (and no overflow)
  MetricSet out = MetricSet::object();
  put_sqi(Z, y, Loss::kCrossEntropy, out);
  const double eps = (K - 1) / (std::exp(a) + K - 1);
  EXPECT_NEAR(metric(out, "eps_avg"), eps, 1e-15);
  EXPECT_NEAR(metric(out, "eps_tilde_avg"), eps / (K - 1), 1e-15);
  EXPECT_NEAR(metric(out, "sqi_avg_gap"), 0.0, 1e-15);
  EXPECT_NEAR(metric(out, "sqi_pointwise_gap"), 0.0, 1e-15);

  // An asymmetric output: z = (1, 0.5, 0) for one sample of class 0.
  Mat Z1(3, 1);
  Z1 << 1.0, 0.5, 0.0;
  const std::vector<int> y1{0};
  MetricSet one = MetricSet::object();
  put_sqi(Z1, y1, Loss::kCrossEntropy, one);
  const double sum = std::exp(1.0) + std::exp(0.5) + 1.0;
  const double p1 = std::exp(0.5) / sum, p2 = 1.0 / sum, e = 1.0 - std::exp(1.0) / sum;
  EXPECT_NEAR(metric(one, "eps_avg"), e, 1e-15);
  EXPECT_NEAR(metric(one, "sqi_avg_gap"), std::abs(e - (p1 + p2)), 1e-15);  // 0 up to rounding
  EXPECT_NEAR(metric(one, "sqi_pointwise_gap"), std::max(std::abs(2 * p1 - e), std::abs(2 * p2 - e)), 1e-15);
  EXPECT_GT(metric(one, "sqi_pointwise_gap"), 0.1);
  EXPECT_NEAR(metric(one, "eps_tilde_std"), std::abs(p1 - p2) / 2, 1e-15);
}

/// The SQI block of theory.md §4 one sample at a time, from its own softmax: test-only reference.
/// Returns eps_avg, eps_tilde_avg, eps_std, eps_tilde_std, sqi_avg_gap, sqi_pointwise_gap.
std::vector<double> direct_sqi(const Mat& Z, const std::vector<int>& y, Loss loss) {
  const Index K = Z.rows(), N = Z.cols();
  Mat F = Z;
  if (loss == Loss::kCrossEntropy)
    for (Index i = 0; i < N; ++i) {
      const Vec e = (Z.col(i).array() - Z.col(i).maxCoeff()).exp();
      F.col(i) = e / e.sum();
    }
  std::vector<double> eps, tilde;
  for (Index i = 0; i < N; ++i)
    for (Index c = 0; c < K; ++c) (c == y[i] ? eps.push_back(1.0 - F(c, i)) : tilde.push_back(F(c, i)));
  const auto mean = [](const std::vector<double>& v) {
    double t = 0.0;
    for (double x : v) t += x;
    return t / static_cast<double>(v.size());
  };
  const double ea = mean(eps), ta = mean(tilde), km1 = static_cast<double>(K - 1);
  double ev = 0.0, tv = 0.0, ed = 0.0, td = 0.0;
  for (double e : eps) ev += (e - ea) * (e - ea), ed = std::max(ed, std::abs(e - ea));
  for (double t : tilde) tv += (t - ta) * (t - ta), td = std::max(td, std::abs(km1 * t - ea));
  return {ea, ta, std::sqrt(ev / eps.size()), std::sqrt(tv / tilde.size()), std::abs(ea - km1 * ta), ed + td};
}

TEST(SqiMetrics, RandomLogitsMatchTheSampleBySampleDefinition) {
  // Imbalanced labels, logits of several scales, K from 2 to 12, N not a multiple of any vector width.
  const char* names[] = {"eps_avg", "eps_tilde_avg", "eps_std", "eps_tilde_std", "sqi_avg_gap", "sqi_pointwise_gap"};
  for (const Loss loss : {Loss::kMse, Loss::kCrossEntropy})
    for (const Index K : {Index{2}, Index{3}, Index{10}, Index{12}}) {
      const Index N = 203;
      std::vector<int> y(N);
      for (Index i = 0; i < N; ++i) y[i] = static_cast<int>((i * i + 3 * i) % K);
      Mat Z = test::random_mat(K, N, 31, 3.0);
      Z.row(0).array() += 2.0;  // class 0 mostly wins
      MetricSet out = MetricSet::object();
      put_sqi(Z, y, loss, out);
      test::expect_no_nan(out);
      const std::vector<double> ref = direct_sqi(Z, y, loss);
      for (std::size_t k = 0; k < ref.size(); ++k)
        EXPECT_NEAR(metric(out, names[k]), ref[k], 1e-14 * std::max(1.0, std::abs(ref[k])))
            << names[k] << " K " << K << (loss == Loss::kMse ? " mse" : " ce");
      EXPECT_GT(metric(out, "sqi_pointwise_gap"), 0.05);
    }
}

TEST(SqiMetrics, CollapseMetricsUsesBiasForSqi) {
  // MSE with free bias 1/K on collapsed zero features: z_i = 1/K everywhere, so ε = (K−1)/K, ε̃ = 1/K.
  const Index K = 3;
  test::Model m;
  m.K = K;
  m.labels = {0, 1, 2, 1};
  m.H = Mat::Zero(2, 4);
  m.W = Mat::Zero(K, 2);
  m.b = Vec::Constant(K, 1.0 / K);
  const MetricSet out = collapse_metrics(m.snapshot());
  test::expect_no_nan(out);
  EXPECT_NEAR(metric(out, "eps_avg"), 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(metric(out, "eps_tilde_avg"), 1.0 / 3.0, 1e-15);
  EXPECT_NEAR(metric(out, "sqi_avg_gap"), 0.0, 1e-15);
}

}  // namespace
}  // namespace ufm
