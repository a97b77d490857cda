#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_data_util.hpp"
#include "ufm/data/cifar.hpp"

namespace ufm::data {
namespace {

using test::expect_data_error;
using test::TempDir;
using test::write_bytes;

/// One 3073-byte record: the label, then pixel p = (seed + p) mod 256.
std::string record(int label, int seed) {
  std::string out(1, static_cast<char>(label));
  for (int p = 0; p < 3072; ++p) out.push_back(static_cast<char>((seed + p) % 256));
  return out;
}

/// Five training batches of two records each (labels 2b−2, 2b−1: every class once) and a
/// test batch of three.
void write_cifar_dir(const TempDir& tmp) {
  for (int b = 1; b <= 5; ++b)
    write_bytes(tmp / ("data_batch_" + std::to_string(b) + ".bin"), record(2 * b - 2, 10 * b) + record(2 * b - 1, 10 * b + 1));
  write_bytes(tmp / "test_batch.bin", record(9, 200) + record(0, 201) + record(5, 202));
}

TEST(Cifar10, ReadsRecordsInFileOrderWithPixelsInOneColumn) {
  TempDir tmp;
  write_cifar_dir(tmp);
  const DataSplit split = load_cifar10_dir(tmp.path());
  const Dataset& train = split.train;
  EXPECT_EQ(train.input_dim(), 3072);
  ASSERT_EQ(train.size(), 10);
  EXPECT_EQ(train.K, 10);
  EXPECT_TRUE(train.raw_bytes);
  EXPECT_EQ(train.labels, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  for (int i : {0, 3, 9}) {
    const int seed = 10 * (i / 2 + 1) + i % 2;
    for (int p : {0, 1023, 1024, 2048, 3071}) EXPECT_EQ(train.X(p, i), (seed + p) % 256) << i << "," << p;
  }
  ASSERT_TRUE(split.test.has_value());
  EXPECT_EQ(split.test->labels, (std::vector<int>{9, 0, 5}));
  EXPECT_EQ(split.test->X(0, 2), 202);
  EXPECT_EQ(split.test->K, 10);
}

TEST(Cifar10, HasNoTestSplitWithoutTestBatch) {
  TempDir tmp;
  write_cifar_dir(tmp);
  std::filesystem::remove(tmp / "test_batch.bin");
  EXPECT_FALSE(load_cifar10_dir(tmp.path()).test.has_value());
}

TEST(Cifar10, RefusesATruncatedBatchNamingTheIncompleteRecord) {
  TempDir tmp;
  write_cifar_dir(tmp);
  write_bytes(tmp / "data_batch_3.bin", record(4, 0) + record(5, 0) + record(6, 0).substr(0, 100));
  expect_data_error([&] { load_cifar10_dir(tmp.path()); },
                    {"data_batch_3.bin", "record 2 (byte 6146)", "truncated", "not a multiple of the 3073", "only 100 bytes"});
}

TEST(Cifar10, RefusesALabelAboveNine) {
  TempDir tmp;
  write_cifar_dir(tmp);
  write_bytes(tmp / "test_batch.bin", record(3, 0) + record(10, 0));
  expect_data_error([&] { load_cifar10_dir(tmp.path()); },
                    {"test_batch.bin", "record 1 (byte 3073)", "label 10 out of range 0..9"});
}

TEST(Cifar10, NamesAMissingBatch) {
  TempDir tmp;
  write_cifar_dir(tmp);
  std::filesystem::remove(tmp / "data_batch_4.bin");
  expect_data_error([&] { load_cifar10_dir(tmp.path()); }, {"data_batch_4.bin", "no such file"});
}

TEST(Cifar10, NamesABatchThatIsADeviceNotMissing) {
  TempDir tmp;
  write_cifar_dir(tmp);
  std::filesystem::remove(tmp / "data_batch_2.bin");
  std::filesystem::create_symlink("/dev/zero", tmp / "data_batch_2.bin");
  expect_data_error([&] { load_cifar10_dir(tmp.path()); }, {"data_batch_2.bin", "is a device, not a regular file"});
}

TEST(Cifar10, RefusesAnEmptyBatch) {
  TempDir tmp;
  write_cifar_dir(tmp);
  write_bytes(tmp / "data_batch_1.bin", "");
  expect_data_error([&] { load_cifar10_dir(tmp.path()); }, {"data_batch_1.bin", "empty file"});
}

TEST(Cifar10, RefusesATrainingSetMissingAClass) {
  TempDir tmp;
  write_cifar_dir(tmp);
  write_bytes(tmp / "data_batch_5.bin", record(8, 0) + record(8, 1));  // no 9
  expect_data_error([&] { load_cifar10_dir(tmp.path()); }, {"class 9", "no sample"});
}

TEST(Cifar10, RefusesAMissingDirectory) {
  TempDir tmp;
  expect_data_error([&] { load_cifar10_dir(tmp / "nowhere"); }, {"nowhere", "no such directory"});
}

}  // namespace
}  // namespace ufm::data
