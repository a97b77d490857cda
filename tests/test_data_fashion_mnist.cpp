#include <gtest/gtest.h>

#include <filesystem>

#include "ufm/data/idx.hpp"
#include "ufm/data/transforms.hpp"

namespace ufm::data {
namespace {

TEST(FashionMnist, LoadsTheDebianPackageWith6000ImagesPerClass) {
  if (!std::filesystem::is_directory(kFashionMnistDir))
    GTEST_SKIP() << kFashionMnistDir << " is absent (apt-get install dataset-fashion-mnist)";
  DataSplit split = load_fashion_mnist();
  ASSERT_TRUE(split.test.has_value());
  EXPECT_EQ(split.train.size(), 60000);
  EXPECT_EQ(split.test->size(), 10000);
  EXPECT_EQ(split.train.input_dim(), 784);
  EXPECT_EQ(split.test->input_dim(), 784);
  EXPECT_EQ(split.train.K, 10);
  EXPECT_EQ(split.test->K, 10);
  EXPECT_EQ(split.train.name, "fashion-mnist (train)");
  EXPECT_EQ(split.train.X.maxCoeff(), 255);  // raw bytes until scaled
  scale_pixels(split);
  for (const Dataset* ds : {&split.train, &*split.test}) {
    EXPECT_GE(ds->X.minCoeff(), 0.0);
    EXPECT_LE(ds->X.maxCoeff(), 1.0);
    EXPECT_EQ(ds->X.maxCoeff(), 1.0);
  }
  EXPECT_EQ(class_counts(split.train.labels, 10), std::vector<Index>(10, 6000));
  EXPECT_EQ(class_counts(split.test->labels, 10), std::vector<Index>(10, 1000));
}

}  // namespace
}  // namespace ufm::data
