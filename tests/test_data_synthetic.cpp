#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "ufm/data/synthetic.hpp"
#include "ufm/random.hpp"

namespace ufm::data {
namespace {

TEST(DerivedSeed, IsSplitMix64) {
  // SplitMix64 from state 0: its published first outputs.
  EXPECT_EQ(derived_seed(0, 1), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(derived_seed(0, 2), 0x6E789E6AA1B965F4ull);
  EXPECT_NE(derived_seed(1, 1), derived_seed(0, 1));
}

TEST(GaussianMixture, FollowsItsDocumentedDefinitionBitForBit) {
  const Index K = 3, n = 4, D = 5, n_test = 2;
  const double s = 2.5;
  const std::uint64_t seed = 42;
  const DataSplit split = make_gaussian_mixture(K, n, D, s, seed, n_test);

  Mat mu(D, K);
  fill_gaussian(VecMap(mu.data(), mu.size()), 1.0, derived_seed(seed, 1));
  for (Index c = 0; c < K; ++c) {
    double sum_sq = 0;
    for (Index i = 0; i < D; ++i) sum_sq += mu(i, c) * mu(i, c);
    mu.col(c) *= s / std::sqrt(sum_sq);
  }
  const auto expected = [&](Index per_class, std::uint64_t k) {
    Mat X(D, K * per_class);
    fill_gaussian(VecMap(X.data(), X.size()), 1.0, derived_seed(seed, k));
    for (Index i = 0; i < X.cols(); ++i) X.col(i) += mu.col(i / per_class);
    return X;
  };
  EXPECT_EQ(split.train.X, expected(n, 2));
  ASSERT_TRUE(split.test.has_value());
  EXPECT_EQ(split.test->X, expected(n_test, 3));
  EXPECT_EQ(split.train.labels, (std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}));
  EXPECT_EQ(split.test->labels, (std::vector<int>{0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(split.train.K, K);
  EXPECT_EQ(split.test->K, K);
}

TEST(GaussianMixture, IsDeterministicForASeedAndChangesWithIt) {
  const DataSplit a = make_gaussian_mixture(4, 10, 8, 3.0, 7);
  const DataSplit b = make_gaussian_mixture(4, 10, 8, 3.0, 7);
  const DataSplit c = make_gaussian_mixture(4, 10, 8, 3.0, 8);
  EXPECT_EQ(a.train.X, b.train.X);
  EXPECT_EQ(a.test->X, b.test->X);
  EXPECT_NE(a.train.X, c.train.X);
  EXPECT_EQ(a.test->size(), 40);  // test_per_class defaults to per_class
  EXPECT_EQ(a.train.name, b.train.name);
  EXPECT_NE(a.train.name.find("seed=7"), std::string::npos);
}

TEST(GaussianMixture, TrainAndTestShareMeansWithIndependentNoise) {
  const Index K = 3, n = 4000, D = 20;
  const DataSplit split = make_gaussian_mixture(K, n, D, 6.0, 1);
  for (Index c = 0; c < K; ++c) {
    const Vec train_mean = split.train.X.middleCols(c * n, n).rowwise().mean();
    const Vec test_mean = split.test->X.middleCols(c * n, n).rowwise().mean();
    EXPECT_NEAR(train_mean.norm(), 6.0, 0.2);              // ‖μ_c‖ = separation
    EXPECT_LT((train_mean - test_mean).norm(), 0.3);         // same μ_c, noise ~ sqrt(2D/n) = 0.1
  }
  EXPECT_NE(split.train.X.leftCols(n), split.test->X.leftCols(n));
  // Unit-variance noise around the means.
  const Mat centered = split.train.X.middleCols(0, n).colwise() - split.train.X.middleCols(0, n).rowwise().mean();
  EXPECT_NEAR(centered.squaredNorm() / static_cast<double>(n * D), 1.0, 0.03);
}

TEST(GaussianMixture, ZeroSeparationPutsEveryMeanAtTheOrigin) {
  const DataSplit split = make_gaussian_mixture(2, 1, 3, 0.0, 5, 0);
  Vec z(6);
  fill_gaussian(z, 1.0, derived_seed(5, 2));
  EXPECT_EQ(Vec(split.train.X.reshaped()), z);
  EXPECT_FALSE(split.test.has_value());
}

TEST(GaussianMixture, RefusesBadArguments) {
  EXPECT_THROW(make_gaussian_mixture(1, 10, 4, 1.0, 0), std::invalid_argument);
  EXPECT_THROW(make_gaussian_mixture(3, 0, 4, 1.0, 0), std::invalid_argument);
  EXPECT_THROW(make_gaussian_mixture(3, 10, 0, 1.0, 0), std::invalid_argument);
  EXPECT_THROW(make_gaussian_mixture(3, 10, 4, -1.0, 0), std::invalid_argument);
  EXPECT_THROW(make_gaussian_mixture(3, 10, 4, NAN, 0), std::invalid_argument);
  EXPECT_THROW(make_gaussian_mixture(3, 10, 4, 1.0, 0, -1), std::invalid_argument);
}

}  // namespace
}  // namespace ufm::data
