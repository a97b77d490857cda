#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "test_data_util.hpp"
#include "ufm/data/subsets.hpp"
#include "ufm/data/synthetic.hpp"
#include "ufm/data/transforms.hpp"

namespace ufm::data {
namespace {

using test::expect_data_error;

Dataset tiny(const Mat& X, std::vector<int> labels, Index K) {
  Dataset ds;
  ds.X = X;
  ds.labels = std::move(labels);
  ds.K = K;
  ds.name = "tiny";
  return ds;
}

TEST(ScalePixels, DividesRawBytesBy255OnceOnly) {
  Dataset ds = tiny((Mat(2, 2) << 0, 255, 51, 17).finished(), {0, 1}, 2);
  ds.raw_bytes = true;
  scale_pixels(ds);
  EXPECT_EQ(ds.X, (Mat(2, 2) << 0, 1, 0.2, 17.0 / 255.0).finished());
  EXPECT_FALSE(ds.raw_bytes);
  EXPECT_THROW(scale_pixels(ds), std::invalid_argument);
}

TEST(ScalePixels, ScalesBothSplits) {
  DataSplit split{tiny(Mat::Constant(1, 2, 255), {0, 1}, 2), tiny(Mat::Constant(1, 1, 51), {1}, 2)};
  split.train.raw_bytes = split.test->raw_bytes = true;
  scale_pixels(split);
  EXPECT_EQ(split.train.X(0, 0), 1.0);
  EXPECT_EQ(split.test->X(0, 0), 0.2);
}

TEST(Standardize, GivesTrainingFeaturesMeanZeroAndStdOneAndAppliesThemToTest) {
  Dataset train = tiny((Mat(2, 4) << 1, 2, 3, 4, 10, 10, 30, 30).finished(), {0, 0, 1, 1}, 2);
  Dataset test = tiny((Mat(2, 2) << 5, 0, 20, 40).finished(), {0, 1}, 2);
  train.raw_bytes = true;
  const Standardization s = standardize(train, test);
  EXPECT_EQ(s.mean, Vec::LinSpaced(2, 2.5, 20));
  EXPECT_NEAR(s.scale(0), std::sqrt(1.25), 1e-15);  // population std (÷N)
  EXPECT_EQ(s.scale(1), 10);
  EXPECT_LT(train.X.rowwise().mean().norm(), 1e-15);
  EXPECT_NEAR((train.X.array().square().rowwise().mean() - 1).abs().maxCoeff(), 0, 1e-14);
  EXPECT_NEAR(test.X(0, 0), 2.5 / std::sqrt(1.25), 1e-15);  // training statistics, not the test set's
  EXPECT_EQ(test.X(1, 0), 0);
  EXPECT_EQ(test.X(1, 1), 2);
  EXPECT_FALSE(train.raw_bytes);
}

TEST(Standardize, CentersAConstantFeatureWithoutDividingByZero) {
  Dataset train = tiny((Mat(2, 3) << 0.1, 0.1, 0.1, 1, 2, 3).finished(), {0, 1, 1}, 2);
  Dataset test = tiny((Mat(2, 1) << 0.5, 2).finished(), {0}, 2);
  const Standardization s = standardize(train, test);
  EXPECT_EQ(s.scale(0), 1);
  EXPECT_EQ(train.X.row(0), Eigen::RowVector3d::Zero());  // exactly 0, not rounding noise
  EXPECT_EQ(test.X(0, 0), 0.5 - 0.1);
  EXPECT_TRUE(train.X.allFinite());
}

TEST(Standardize, RefusesATestSetOfAnotherDimension) {
  Dataset train = tiny(Mat::Ones(2, 2), {0, 1}, 2);
  Dataset test = tiny(Mat::Ones(3, 1), {0}, 2);
  EXPECT_THROW(standardize(train, test), std::invalid_argument);
}

TEST(StratifiedIndices, PicksPerClassSamplesInClassBlocksTheSameWayForASeed) {
  const std::vector<int> labels{2, 0, 1, 0, 2, 1, 0, 2, 1, 0, 0, 2};
  const std::vector<Index> a = stratified_indices(labels, 2, 11);
  EXPECT_EQ(a, stratified_indices(labels, 2, 11));
  ASSERT_EQ(a.size(), 6u);
  for (std::size_t k = 0; k < a.size(); ++k) EXPECT_EQ(labels[static_cast<std::size_t>(a[k])], static_cast<int>(k / 2));
  for (std::size_t k = 0; k < a.size(); k += 2) EXPECT_LT(a[k], a[k + 1]);  // increasing within a class
  std::set<std::vector<Index>> seen;
  for (std::uint64_t seed = 0; seed < 20; ++seed) seen.insert(stratified_indices(labels, 2, seed));
  EXPECT_GT(seen.size(), 5u);  // the seed matters
}

TEST(StratifiedIndices, IsPinnedForAFixedSeed) {
  // The documented algorithm (mt19937_64, partial Fisher–Yates, uniform_below) for seed 3:
  // a change here changes every subset drawn so far.
  const std::vector<int> labels{0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
  std::mt19937_64 rng(3);
  std::vector<Index> c0{0, 2, 4, 6, 8}, c1{1, 3, 5, 7, 9};
  for (auto* a : {&c0, &c1}) {
    for (std::uint64_t j = 0; j < 2; ++j) std::swap((*a)[j], (*a)[j + uniform_below(rng, 5 - j)]);
    std::sort(a->begin(), a->begin() + 2);
  }
  EXPECT_EQ(stratified_indices(labels, 2, 3), (std::vector<Index>{c0[0], c0[1], c1[0], c1[1]}));
}

TEST(UniformBelow, StaysInRangeAndCoversIt) {
  std::mt19937_64 rng(1);
  std::vector<int> hits(7, 0);
  for (int i = 0; i < 7000; ++i) {
    const std::uint64_t r = uniform_below(rng, 7);
    ASSERT_LT(r, 7u);
    ++hits[r];
  }
  for (int h : hits) EXPECT_GT(h, 800);
  EXPECT_EQ(uniform_below(rng, 1), 0u);
}

TEST(StratifiedIndices, NamesAClassWithTooFewSamples) {
  expect_data_error([] { stratified_indices(std::vector<int>{0, 0, 1, 1, 1}, 3, 0, "mine"); },
                    {"mine", "class 0", "has 2 samples", "3 per class"});
}

TEST(BalancedSubset, CopiesTheSelectedColumnsAndLabels) {
  const DataSplit split = make_gaussian_mixture(3, 10, 4, 1.0, 2);
  const Dataset sub = balanced_subset(split.train, 4, 99);
  const std::vector<Index> idx = stratified_indices(split.train.labels, 4, 99);
  ASSERT_EQ(sub.size(), 12);
  for (Index k = 0; k < 12; ++k) {
    EXPECT_EQ(sub.X.col(k), split.train.X.col(idx[static_cast<std::size_t>(k)]));
    EXPECT_EQ(sub.labels[static_cast<std::size_t>(k)], k / 4);
  }
  EXPECT_EQ(sub.K, 3);
  EXPECT_EQ(balanced_subset(split.train, 4, 99).X, sub.X);
  EXPECT_NE(balanced_subset(split.train, 4, 100).X, sub.X);
}

TEST(BalancedSubset, NamesAnEmptyClassAboveTheLargestLabel) {
  const Dataset ds = tiny(Mat::Ones(1, 4), {0, 1, 0, 1}, 3);
  expect_data_error([&] { balanced_subset(ds, 1, 0); }, {"tiny", "class 2", "has 0 samples"});
}

}  // namespace
}  // namespace ufm::data
