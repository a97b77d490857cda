#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "test_metrics_util.hpp"
#include "ufm/metrics/class_stats.hpp"
#include "ufm/metrics/nc.hpp"

namespace ufm {
namespace {

using test::metric;

/// (d, transformed): transformed = random rotation Q, H × 3.7, W × 0.2.
class ExactEtf : public ::testing::TestWithParam<std::tuple<Index, bool>> {};

TEST_P(ExactEtf, ExactSimplexEtfScoresZero) {
  const auto [d, transformed] = GetParam();
  const Index K = 4;
  test::Model m;
  m.K = K;
  m.labels = test::shuffled_labels({3, 5, 2, 4}, 7);  // imbalanced: μ_G ≠ sample mean
  Mat means = 2.0 * test::simplex_etf(d, K);
  const Mat Mt = means;  // centred means
  if (d > K - 1) means.row(d - 1).setConstant(1.5);  // offset ⊥ span(M̃): μ_G ≠ 0, W μ_G = 0
  m.H = test::collapsed_features(means, m.labels);
  m.W = 0.8 * Mt.transpose();  // self-dual
  m.b = Vec::Constant(K, 0.3) + test::random_vec(K, 3, 0.01);  // shifts far below the logit gaps
  if (transformed) {
    const Mat Q = test::random_orthogonal(d, 11);
    m.H = 3.7 * (Q * m.H);
    m.W = 0.2 * (m.W * Q.transpose());
  }
  const MetricSet out = collapse_metrics(m.snapshot());
  test::expect_no_nan(out);
  for (const char* name : {"nc1", "nc1_tr", "cdnv", "equinorm_h", "equinorm_w", "equiangle_h", "equiangle_w",
                           "etf_error_h", "etf_error_w", "nc3", "nc4", "nc1_unscaled", "nc4_no_bias"})
    EXPECT_NEAR(metric(out, name), 0.0, 1e-12) << name << " d=" << d << " transformed=" << transformed;
  EXPECT_EQ(metric(out, "accuracy"), 1.0);
  EXPECT_EQ(metric(out, "ncc_accuracy"), 1.0);
  EXPECT_GT(metric(out, "margin_mean"), 0.0);
  // Rank K−1: the remaining singular values are rounding noise, cut by the Gram floor.
  const auto sv = test::metric_array(out, "singular_values");
  ASSERT_EQ(sv.size(), static_cast<std::size_t>(d));
  for (Index k = K - 1; k < d; ++k) EXPECT_EQ(sv[k], 0.0) << k;
  EXPECT_NEAR(metric(out, "explained_variance"), 1.0, 1e-12);
  EXPECT_LT(metric(out, "effective_rank"), static_cast<double>(K - 1));  // < K−1: unequal class counts
  if (d > K - 1) {
    EXPECT_GT(metric(out, "mean_of_means_norm"), 1.0);
  }
}

INSTANTIATE_TEST_SUITE_P(DimensionsAndTransforms, ExactEtf,
                         ::testing::Combine(::testing::Values<Index>(3, 4, 9), ::testing::Bool()));

TEST(NcMetrics, Nc1MatchesHandComputedValue) {
  // K=2, d=1. Class 0: {0, 2} (mean 1, Var 1); class 1: {-3, -1, -2} (mean -2, Var 2/3).
  // μ_G = (1 - 2)/2 = -0.5, M̃ = [1.5, -1.5], Σ_B = (1.5² + 1.5²)/2 = 2.25.
  // Σ_W = (1 + 1 + 1 + 1 + 0)/5 = 0.8. nc1 = tr(Σ_W Σ_B⁺)/K = 0.8/2.25/2 = 8/45, nc1_tr = 16/45,
  // cdnv = (1 + 2/3)/(2·3²) = 5/54.
  test::Model m;
  m.K = 2;
  m.labels = {1, 0, 1, 0, 1};
  m.H = Mat(1, 5);
  m.H << -3, 0, -1, 2, -2;
  m.W = Mat::Ones(2, 1);
  m.b = Vec();
  const MetricSet out = collapse_metrics(m.snapshot());
  test::expect_no_nan(out);
  EXPECT_NEAR(metric(out, "nc1"), 8.0 / 45.0, 1e-14);
  EXPECT_NEAR(metric(out, "nc1_unscaled"), 16.0 / 45.0, 1e-14);
  EXPECT_NEAR(metric(out, "nc1_tr"), 16.0 / 45.0, 1e-14);
  EXPECT_NEAR(metric(out, "cdnv"), 5.0 / 54.0, 1e-14);
  EXPECT_NEAR(metric(out, "mean_of_means_norm"), 0.5, 1e-15);
  EXPECT_NEAR(metric(out, "global_mean_norm"), 0.8, 1e-15);  // (−3+0−1+2−2)/5
}

/// tr(Σ_W Σ_B⁺)/K with d×d matrices, Σ_B⁺ from Σ_B's eigenpairs above 1e-10 × the largest eigenvalue
/// (theory.md §4 as written): test-only reference.
double direct_nc1(const Mat& H, const std::vector<int>& y, Index K) {
  const Index d = H.rows(), N = H.cols();
  Mat mu = Mat::Zero(d, K);
  Vec n = Vec::Zero(K);
  for (Index i = 0; i < N; ++i) mu.col(y[i]) += H.col(i), n(y[i]) += 1;
  for (Index c = 0; c < K; ++c) mu.col(c) /= n(c);
  const Mat Mt = mu.colwise() - mu.rowwise().mean();
  Mat Sw = Mat::Zero(d, d);
  for (Index i = 0; i < N; ++i) Sw += (H.col(i) - mu.col(y[i])) * (H.col(i) - mu.col(y[i])).transpose();
  Sw /= static_cast<double>(N);
  const Mat Sb = Mt * Mt.transpose() / static_cast<double>(K);
  const Eigen::SelfAdjointEigenSolver<Mat> eig(Sb);
  const Vec& lambda = eig.eigenvalues();  // ascending
  Mat pinv = Mat::Zero(d, d);
  for (Index k = 0; k < d; ++k)
    if (lambda(k) > 1e-10 * lambda(d - 1))
      pinv += eig.eigenvectors().col(k) * eig.eigenvectors().col(k).transpose() / lambda(k);
  return (Sw * pinv).trace() / static_cast<double>(K);
}

TEST(NcMetrics, Nc1MatchesDirectPseudoInverse) {
  struct Case { Index d, K, per_class; };
  // d > K, d < K−1, d = K−1, N = 751 > 256 (several column blocks, the last one partial), and K = 30
  // and 40 (S = M̃ᵀΣ_W M̃ by one product rather than K² dot products).
  for (const Case c :
       {Case{6, 4, 6}, Case{2, 5, 6}, Case{4, 5, 6}, Case{5, 3, 250}, Case{40, 30, 8}, Case{20, 40, 5}}) {
    test::Model m;
    m.K = c.K;
    m.labels = test::shuffled_labels(std::vector<Index>(c.K, c.per_class), 5);
    m.labels.push_back(0);  // slightly imbalanced
    m.H = test::random_mat(c.d, static_cast<Index>(m.labels.size()), 21);
    for (Index i = 0; i < m.H.cols(); ++i) m.H(0, i) += 2.0 * m.labels[i];  // some class structure
    m.W = test::random_mat(c.K, c.d, 22);
    m.b = test::random_vec(c.K, 23);
    const MetricSet out = collapse_metrics(m.snapshot());
    test::expect_no_nan(out);
    const double ref = direct_nc1(m.H, m.labels, c.K);
    EXPECT_NEAR(metric(out, "nc1"), ref, 1e-10 * ref) << "d=" << c.d << " K=" << c.K;
    EXPECT_GT(ref, 1e-3);
  }
}

TEST(NcMetrics, Nc1TrAndCdnvMatchTheirDefinitionsWhateverTheVectorTails) {
  // tr(Σ_W)/tr(Σ_B) and the mean over class pairs of (Var_c + Var_e)/(2‖μ_c − μ_e‖²), from the
  // distances ‖h_i − μ_{y_i}‖² summed here one at a time, to 1e-13. The sizes give a vectorized
  // distance loop every tail: d a multiple of the vector width or not (16, 13, 3), N a multiple of it
  // or not, in one column block or two (256 and a partial one).
  struct Case { Index d, K, per_class; };
  for (const Case c : {Case{16, 3, 7}, Case{13, 4, 8}, Case{3, 2, 9}, Case{16, 5, 61}}) {
    test::Model m;
    m.K = c.K;
    m.labels = test::shuffled_labels(std::vector<Index>(c.K, c.per_class), 31);
    m.labels.push_back(1);  // imbalanced, and N one past a multiple of K
    const Index N = static_cast<Index>(m.labels.size());
    m.H = test::random_mat(c.d, N, 32);
    for (Index i = 0; i < N; ++i) m.H(0, i) += 3.0 * m.labels[i];
    m.W = test::random_mat(c.K, c.d, 33);
    m.b = Vec();
    const MetricSet out = collapse_metrics(m.snapshot());
    Mat mu = Mat::Zero(c.d, c.K);
    Vec n = Vec::Zero(c.K), var = Vec::Zero(c.K);
    for (Index i = 0; i < N; ++i) mu.col(m.labels[i]) += m.H.col(i), n(m.labels[i]) += 1;
    for (Index k = 0; k < c.K; ++k) mu.col(k) /= n(k);
    double within = 0.0;
    for (Index i = 0; i < N; ++i) {
      const double dist2 = (m.H.col(i) - mu.col(m.labels[i])).squaredNorm();
      within += dist2;
      var(m.labels[i]) += dist2;
    }
    const Mat Mt = mu.colwise() - mu.rowwise().mean();
    const double nc1_tr = (within / static_cast<double>(N)) / (Mt.squaredNorm() / static_cast<double>(c.K));
    double cdnv = 0.0;
    for (Index a = 0; a < c.K; ++a)
      for (Index e = a + 1; e < c.K; ++e)
        cdnv += (var(a) / n(a) + var(e) / n(e)) / (2.0 * (mu.col(a) - mu.col(e)).squaredNorm());
    cdnv /= 0.5 * static_cast<double>(c.K * (c.K - 1));
    EXPECT_NEAR(metric(out, "nc1_tr"), nc1_tr, 1e-13 * nc1_tr) << "d=" << c.d << " N=" << N;
    EXPECT_NEAR(metric(out, "cdnv"), cdnv, 1e-13 * cdnv) << "d=" << c.d << " N=" << N;
  }
}

TEST(NcMetrics, Nc1FollowsThePseudoInversesCutForNearlyDegenerateMeans) {
  // K = 4 means in d = 6 at the vertices of a tetrahedron squeezed by t along one axis, then rotated,
  // so G = M̃ᵀM̃ has eigenvalues of order 1, 1 and t². Each class is its mean ± 10 noise vectors: the
  // sample means are the means to rounding, however small t. t = 1 and 1e-2 take the Cholesky path,
  // 1e-4 (t² = 1e-8, kept by the 1e-10 cut) and 1e-7 (1e-14, dropped) the eigenpairs.
  const Index d = 6, K = 4, pairs = 10;
  const Mat Q = test::random_orthogonal(d, 31);
  const Mat noise = test::random_mat(d, K * pairs, 32, 0.1);
  for (const double t : {1.0, 1e-2, 1e-4, 1e-7}) {
    Mat means = Mat::Zero(d, K);
    const double vertex[4][3] = {{1, 1, 1}, {1, -1, -1}, {-1, 1, -1}, {-1, -1, 1}};
    for (Index c = 0; c < K; ++c)
      for (Index r = 0; r < 3; ++r) means(r, c) = vertex[c][r] * (r == 2 ? t : 1.0);
    means = Q * means + Mat::Constant(d, K, 0.3);
    test::Model m;
    m.K = K;
    m.H = Mat(d, 2 * K * pairs);
    for (Index c = 0; c < K; ++c)
      for (Index j = 0; j < pairs; ++j) {
        const Index i = 2 * (c * pairs + j);
        m.H.col(i) = means.col(c) + noise.col(c * pairs + j);
        m.H.col(i + 1) = means.col(c) - noise.col(c * pairs + j);
        m.labels.push_back(static_cast<int>(c));
        m.labels.push_back(static_cast<int>(c));
      }
    m.W = test::random_mat(K, d, 33);
    m.b = test::random_vec(K, 34);
    const MetricSet out = collapse_metrics(m.snapshot());
    const double ref = direct_nc1(m.H, m.labels, K);
    EXPECT_NEAR(metric(out, "nc1"), ref, 1e-7 * ref) << "t = " << t;
    if (t == 1e-4) {
      EXPECT_GT(ref, 1e4);  // the squeezed direction's share: its Σ_W over t²
    }
    if (t == 1e-7) {
      EXPECT_LT(ref, 1.0);  // dropped: the other directions' share only
    }
  }
}

TEST(NcMetrics, NearestClassCenterMatchesTheDirectDistancesWithTiesToTheLowestClass) {
  // Random features, several column blocks: the prediction is argmin_c ‖h_i − μ_c‖², found directly.
  const Index d = 7, K = 5;
  const std::vector<int> y = test::shuffled_labels({60, 70, 80, 90, 61}, 3);
  const Index N = static_cast<Index>(y.size());
  Mat H = test::random_mat(d, N, 4);
  for (Index i = 0; i < N; ++i) H(y[i] % d, i) += 0.5;  // some class structure
  const ClassStats s = class_stats(H, y, K, "test");
  const std::vector<int> ncc = nearest_class_center(s, centered_projections(H, s).transpose());
  ASSERT_EQ(ncc.size(), static_cast<std::size_t>(N));
  Index mixed = 0;
  for (Index i = 0; i < N; ++i) {
    Index best = 0;
    for (Index c = 1; c < K; ++c)
      if ((H.col(i) - s.means.col(c)).squaredNorm() < (H.col(i) - s.means.col(best)).squaredNorm()) best = c;
    EXPECT_EQ(ncc[i], best) << "sample " << i;
    mixed += (best != y[i]);
  }
  EXPECT_GT(mixed, 10);  // not every sample sits nearest its own class mean

  // Classes 1 and 3 with the same mean tie exactly for every sample: each goes to class 1, never 3.
  Mat T = Mat::Zero(2, 8);
  const std::vector<int> yt{0, 1, 2, 3, 0, 1, 2, 3};
  T << 0, 1, 0, 1, 0, 1, 0, 1,  //
      5, 2, -5, 2, 5, 2, -5, 2;
  const ClassStats ts = class_stats(T, yt, 4, "test");
  const std::vector<int> tied = nearest_class_center(ts, centered_projections(T, ts).transpose());
  EXPECT_EQ(tied, (std::vector<int>{0, 1, 2, 1, 0, 1, 2, 1}));
}

TEST(NcMetrics, ZeroFeaturesGiveNullWithReason) {
  test::Model m;
  m.K = 3;
  m.labels = {0, 1, 2, 2, 1, 0};
  m.H = Mat::Zero(4, 6);
  m.W = test::random_mat(3, 4, 1);
  m.b = Vec::Zero(3);
  const MetricSet out = collapse_metrics(m.snapshot());
  test::expect_no_nan(out);
  for (const char* name : {"nc1", "nc1_tr", "cdnv", "equinorm_h", "equiangle_h", "etf_error_h", "ncc_accuracy",
                           "nc3", "nc4", "nc1_unscaled", "nc4_no_bias", "snc_h", "singular_values",
                           "effective_rank", "stable_rank", "explained_variance", "nc3_uncentered"})
    EXPECT_TRUE(test::is_null_with_reason(out, name)) << name;
  EXPECT_EQ(metric(out, "h_norm"), 0.0);
  EXPECT_EQ(metric(out, "accuracy"), 2.0 / 6.0);  // all logits tie: class 0 everywhere
  EXPECT_TRUE(get_metric(out, "equiangle_w").has_value());  // the W side is still defined
  EXPECT_EQ(out[kNullReasons]["nc1"], "all class means coincide");
  EXPECT_EQ(std::prev(out.end()).key(), kNullReasons);  // reasons come after every metric
}

TEST(NcMetrics, CoincidingFeaturesFarFromOriginGiveNull) {
  // Every sample at the same point v ≠ 0: class means agree up to rounding, so M̃ counts as zero.
  test::Model m;
  m.K = 3;
  m.labels = {0, 1, 2, 0, 1, 2, 2};
  m.H = test::random_vec(5, 4) * Vec::Ones(7).transpose() * 1e3;
  m.W = test::random_mat(3, 5, 1);
  m.b = Vec();
  const MetricSet out = collapse_metrics(m.snapshot());
  test::expect_no_nan(out);
  for (const char* name : {"nc1", "cdnv", "equiangle_h", "nc3", "nc4", "effective_rank"})
    EXPECT_TRUE(test::is_null_with_reason(out, name)) << name;
}

TEST(NcMetrics, ZeroClassifierGivesNullForClassifierMetrics) {
  test::Model m;
  m.K = 3;
  m.labels = {0, 1, 2, 2, 1, 0};
  m.H = test::random_mat(4, 6, 2);
  m.W = Mat::Zero(3, 4);
  m.b = Vec();
  const MetricSet out = collapse_metrics(m.snapshot());
  test::expect_no_nan(out);
  for (const char* name : {"equinorm_w", "equiangle_w", "etf_error_w", "nc3", "nc4", "nc3_uncentered", "nc4_no_bias"})
    EXPECT_TRUE(test::is_null_with_reason(out, name)) << name;
  EXPECT_EQ(out[kNullReasons]["nc3"], "classifier is zero");
  EXPECT_EQ(metric(out, "w_norm"), 0.0);
  EXPECT_NEAR(metric(out, "snc_w"), 1.0, 1e-15);  // ‖0 − I‖_F/√K
  EXPECT_NEAR(metric(out, "snc_h"), 1.0, 1e-15);  // ‖H − 0‖/‖H‖
  EXPECT_GT(metric(out, "nc1"), 0.0);             // features are untouched
}

TEST(NcMetrics, ZeroRowOfClassifierNullsOnlyItsCosines) {
  test::Model m;
  m.K = 3;
  m.labels = {0, 1, 2, 2, 1, 0};
  m.H = test::random_mat(4, 6, 2);
  m.W = test::random_mat(3, 4, 3);
  m.W.row(1).setZero();
  m.b = Vec();
  const MetricSet out = collapse_metrics(m.snapshot());
  test::expect_no_nan(out);
  EXPECT_TRUE(test::is_null_with_reason(out, "equiangle_w"));
  EXPECT_TRUE(test::is_null_with_reason(out, "etf_error_w"));
  EXPECT_GT(metric(out, "equinorm_w"), 0.0);
  EXPECT_GT(metric(out, "nc3"), 0.0);
}

TEST(NcMetrics, EmptyClassGivesNullInsteadOfCrashing) {
  test::Model m;
  m.K = 3;
  m.labels = {0, 1, 0, 1};  // class 2 has no samples
  m.H = test::random_mat(3, 4, 5);
  m.W = test::random_mat(3, 3, 6);
  m.b = Vec::Zero(3);
  const MetricSet out = collapse_metrics(m.snapshot());
  test::expect_no_nan(out);
  for (const char* name : {"nc1", "cdnv", "equinorm_h", "nc3", "nc4", "ncc_accuracy", "snc_w", "singular_values",
                           "wh_singular_values"})
    EXPECT_TRUE(test::is_null_with_reason(out, name)) << name;
  EXPECT_EQ(out[kNullReasons]["nc1"], "class 2 has no samples");
  EXPECT_TRUE(get_metric(out, "accuracy").has_value());
  EXPECT_TRUE(get_metric(out, "snc_h").has_value());
  EXPECT_TRUE(get_metric(out, "eps_avg").has_value());
}

TEST(NcMetrics, BadShapesThrow) {
  test::Model m;
  m.K = 2;
  m.labels = {0, 1, 1};
  m.H = Mat::Ones(2, 3);
  m.W = Mat::Ones(2, 3);  // needs 2×2
  m.b = Vec();
  EXPECT_THROW(collapse_metrics(m.snapshot()), std::invalid_argument);
  m.W = Mat::Ones(2, 2);
  m.labels = {0, 2, 1};  // label outside [0, K)
  EXPECT_THROW(collapse_metrics(m.snapshot()), std::invalid_argument);
  m.labels = {0, 1};  // too few
  EXPECT_THROW(collapse_metrics(m.snapshot()), std::invalid_argument);
}

}  // namespace
}  // namespace ufm
