#include <gtest/gtest.h>

#include "test_data_util.hpp"
#include "ufm/data/source.hpp"

namespace ufm::data {
namespace {

using test::expect_data_error;
using test::TempDir;

TEST(DataSource, DispatchesCsvWithItsLabelColumn) {
  TempDir tmp;
  test::write_bytes(tmp / "d.csv", "0,1,2\n1,3,4\n");
  DataSourceOptions options;
  options.label_column = "0";
  const DataSplit split = load_data("csv:" + (tmp / "d.csv").string(), options);
  EXPECT_EQ(split.train.labels, (std::vector<int>{0, 1}));
  EXPECT_EQ(split.train.X(1, 1), 4);
}

TEST(DataSource, DispatchesSyntheticWithItsOptions) {
  DataSourceOptions options;
  options.synthetic.classes = 3;
  options.synthetic.per_class = 5;
  options.synthetic.input_dim = 7;
  options.synthetic.test_per_class = 2;
  const DataSplit split = load_data("synthetic", options);
  EXPECT_EQ(split.train.K, 3);
  EXPECT_EQ(split.train.size(), 15);
  EXPECT_EQ(split.train.input_dim(), 7);
  EXPECT_EQ(split.test->size(), 6);
}

TEST(DataSource, PassesReaderErrorsThrough) {
  TempDir tmp;
  expect_data_error([&] { load_data("idx:" + (tmp / "none").string()); }, {"none", "no such directory"});
  expect_data_error([&] { load_data("cifar10:" + (tmp / "none").string()); }, {"none", "no such directory"});
}

TEST(DataSource, RefusesAnUnknownOrIncompleteSpec) {
  expect_data_error([] { load_data("mnist"); }, {"mnist", "unknown data source", "idx:DIR"});
  expect_data_error([] { load_data("csv:"); }, {"csv:", "no path"});
}

}  // namespace
}  // namespace ufm::data
