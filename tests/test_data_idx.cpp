#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>
#include <random>
#include <string>

#include "allocation_counter.hpp"
#include "test_data_util.hpp"
#include "ufm/data/idx.hpp"

namespace ufm::data {
namespace {

using test::expect_data_error;
using test::idx_images;
using test::idx_labels;
using test::TempDir;
using test::write_bytes;
using test::write_gzip;

using AllocationWatch = test::LargestAllocationWatch;

TEST(AllocationWatch, SeesEigenAndVectorAllocations) {
  AllocationWatch watch;
  const Mat big(512, 512);  // 2 MiB through Eigen's malloc
  EXPECT_GE(watch.largest(), std::size_t{2} << 20);
  watch.reset();
  std::vector<char> v(3 << 20);  // 3 MiB through operator new
  EXPECT_GE(watch.largest(), std::size_t{3} << 20);
}

std::vector<int> iota_bytes(int n, int start = 0) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = (start + i) % 256;
  return v;
}

/// Writes a 4-file IDX directory: 6 train images (labels 0,1,2,0,1,2) and 3 test images, 2×3 each.
void write_idx_dir(const TempDir& tmp, bool gzip_test) {
  write_bytes(tmp / "train-images-idx3-ubyte", idx_images(6, 2, 3, iota_bytes(36)));
  write_bytes(tmp / "train-labels-idx1-ubyte", idx_labels({0, 1, 2, 0, 1, 2}));
  const auto test_images = idx_images(3, 2, 3, iota_bytes(18, 100));
  const auto test_labels = idx_labels({2, 0, 1});
  if (gzip_test) {
    write_gzip(tmp / "t10k-images-idx3-ubyte.gz", test_images);
    write_gzip(tmp / "t10k-labels-idx1-ubyte.gz", test_labels);
  } else {
    write_bytes(tmp / "t10k-images-idx3-ubyte", test_images);
    write_bytes(tmp / "t10k-labels-idx1-ubyte", test_labels);
  }
}

TEST(IdxImages, ReadsEachImageIntoOneColumnInRowMajorOrder) {
  TempDir tmp;
  write_bytes(tmp / "img", idx_images(3, 2, 3, iota_bytes(18, 250)));
  const IdxImages images = read_idx_images(tmp / "img");
  EXPECT_EQ(images.rows, 2);
  EXPECT_EQ(images.cols, 3);
  ASSERT_EQ(images.X.rows(), 6);
  ASSERT_EQ(images.X.cols(), 3);
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 6; ++k) EXPECT_EQ(images.X(k, i), (250 + 6 * i + k) % 256) << i << "," << k;
}

TEST(IdxImages, DetectsGzipByItsMagicBytesNotByItsName) {
  TempDir tmp;
  const std::string bytes = idx_images(2, 1, 4, {1, 2, 3, 4, 5, 6, 7, 255});
  write_gzip(tmp / "compressed-without-suffix", bytes);
  write_bytes(tmp / "plain-with-suffix.gz", bytes);
  const IdxImages a = read_idx_images(tmp / "compressed-without-suffix");
  const IdxImages b = read_idx_images(tmp / "plain-with-suffix.gz");
  EXPECT_EQ(a.X, b.X);
  EXPECT_EQ(a.X(3, 1), 255);
}

TEST(IdxLabels, ReadsPlainAndGzipLabels) {
  TempDir tmp;
  write_bytes(tmp / "y", idx_labels({3, 0, 254, 7}));
  write_gzip(tmp / "y.gz", idx_labels({3, 0, 254, 7}));
  EXPECT_EQ(read_idx_labels(tmp / "y"), (std::vector<int>{3, 0, 254, 7}));
  EXPECT_EQ(read_idx_labels(tmp / "y.gz"), (std::vector<int>{3, 0, 254, 7}));
}

TEST(IdxDir, LoadsPlainTrainAndGzipTestFiles) {
  TempDir tmp;
  write_idx_dir(tmp, /*gzip_test=*/true);
  const DataSplit split = load_idx_dir(tmp.path());
  EXPECT_EQ(split.train.input_dim(), 6);
  EXPECT_EQ(split.train.size(), 6);
  EXPECT_EQ(split.train.K, 3);
  EXPECT_TRUE(split.train.raw_bytes);
  EXPECT_EQ(split.train.labels, (std::vector<int>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(split.train.X(5, 5), 35);
  ASSERT_TRUE(split.test.has_value());
  EXPECT_EQ(split.test->size(), 3);
  EXPECT_EQ(split.test->K, 3);
  EXPECT_EQ(split.test->labels, (std::vector<int>{2, 0, 1}));
  EXPECT_EQ(split.test->X(0, 0), 100);
  EXPECT_NE(split.train.name.find("train"), std::string::npos);
  EXPECT_NE(split.test->name.find("test"), std::string::npos);
}

TEST(IdxDir, HasNoTestSplitWhenBothTestFilesAreAbsent) {
  TempDir tmp;
  write_idx_dir(tmp, false);
  std::filesystem::remove(tmp / "t10k-images-idx3-ubyte");
  std::filesystem::remove(tmp / "t10k-labels-idx1-ubyte");
  EXPECT_FALSE(load_idx_dir(tmp.path()).test.has_value());
}

TEST(IdxDir, NamesAMissingTrainingFile) {
  TempDir tmp;
  write_idx_dir(tmp, false);
  std::filesystem::remove(tmp / "train-images-idx3-ubyte");
  expect_data_error([&] { load_idx_dir(tmp.path()); }, {"train-images-idx3-ubyte", "missing", ".gz"});
}

TEST(IdxDir, NamesTheMissingHalfOfTheTestPair) {
  TempDir tmp;
  write_idx_dir(tmp, false);
  std::filesystem::remove(tmp / "t10k-labels-idx1-ubyte");
  expect_data_error([&] { load_idx_dir(tmp.path()); }, {"t10k-labels-idx1-ubyte", "missing"});
}

TEST(IdxDir, NamesAFileThatIsADeviceOrAPipeNotMissing) {
  TempDir tmp;
  write_idx_dir(tmp, false);
  std::filesystem::remove(tmp / "train-labels-idx1-ubyte");
  std::filesystem::create_symlink("/dev/zero", tmp / "train-labels-idx1-ubyte");
  expect_data_error([&] { load_idx_dir(tmp.path()); }, {"train-labels-idx1-ubyte", "is a device, not a regular file"});
  std::filesystem::remove(tmp / "train-labels-idx1-ubyte");
  write_idx_dir(tmp, false);
  std::filesystem::remove(tmp / "t10k-images-idx3-ubyte");
  ASSERT_EQ(::mkfifo((tmp / "t10k-images-idx3-ubyte").c_str(), 0600), 0);
  expect_data_error([&] { load_idx_dir(tmp.path()); }, {"t10k-images-idx3-ubyte", "is a pipe, not a regular file"});
}

TEST(IdxDir, RefusesAMissingDirectory) {
  TempDir tmp;
  expect_data_error([&] { load_idx_dir(tmp / "nope"); }, {"nope", "no such directory"});
}

TEST(IdxImages, RefusesATruncatedPlainFileWithTheByteOffset) {
  TempDir tmp;
  write_bytes(tmp / "img", idx_images(3, 2, 3, iota_bytes(10)));  // 18 pixel bytes declared
  expect_data_error([&] { read_idx_images(tmp / "img"); },
                    {"img", "byte 26", "truncated", "3 images of 2x3", "need 18 bytes", "has 10"});
}

TEST(IdxImages, RefusesATruncatedGzipPayloadWithTheDecompressedOffset) {
  TempDir tmp;
  write_gzip(tmp / "img.gz", idx_images(3, 2, 3, iota_bytes(10)));
  expect_data_error([&] { read_idx_images(tmp / "img.gz"); },
                    {"img.gz", "byte 26 (decompressed)", "truncated", "need 18 bytes"});
}

TEST(IdxImages, RefusesACutGzipStream) {
  TempDir tmp;
  std::mt19937 rng(5);
  std::vector<int> pixels(4000);
  for (int& p : pixels) p = static_cast<int>(rng() % 256);  // incompressible: the cut lands in the data
  write_gzip(tmp / "full.gz", idx_images(40, 10, 10, pixels));
  const std::string gz = test::read_bytes(tmp / "full.gz");
  write_bytes(tmp / "cut.gz", gz.substr(0, gz.size() / 2));
  expect_data_error([&] { read_idx_images(tmp / "cut.gz"); }, {"cut.gz", "(decompressed)", "truncated gzip"});
}

TEST(IdxImages, RefusesCorruptGzipData) {
  TempDir tmp;
  write_gzip(tmp / "ok.gz", idx_images(2, 2, 2, iota_bytes(8)));
  std::string gz = test::read_bytes(tmp / "ok.gz");
  for (std::size_t i = 10; i < gz.size() - 8; ++i) gz[i] = static_cast<char>(0xFF);  // garble the deflate data
  write_bytes(tmp / "bad.gz", gz);
  expect_data_error([&] { read_idx_images(tmp / "bad.gz"); }, {"bad.gz", "byte 0 (decompressed)", "gzip"});
}

TEST(IdxImages, RefusesBytesAfterTheDeclaredImages) {
  TempDir tmp;
  write_bytes(tmp / "img", idx_images(1, 2, 2, iota_bytes(7)));
  expect_data_error([&] { read_idx_images(tmp / "img"); }, {"img", "byte 20", "3 unexpected bytes"});
  write_gzip(tmp / "img.gz", idx_images(1, 2, 2, iota_bytes(7)));
  expect_data_error([&] { read_idx_images(tmp / "img.gz"); }, {"img.gz", "byte 20 (decompressed)", "unexpected bytes"});
}

TEST(IdxImages, RefusesALabelFileByItsMagic) {
  TempDir tmp;
  write_bytes(tmp / "labels", idx_labels({0, 1}));
  expect_data_error([&] { read_idx_images(tmp / "labels"); },
                    {"labels", "byte 0", "wrong magic 0x00000801", "label file", "expected 0x00000803"});
  write_bytes(tmp / "text", "hello world, not idx");
  expect_data_error([&] { read_idx_labels(tmp / "text"); }, {"text", "wrong magic 0x68656C6C", "expected 0x00000801"});
}

TEST(IdxImages, RefusesATooShortHeader) {
  TempDir tmp;
  write_bytes(tmp / "short", idx_images(1, 1, 1, {}).substr(0, 10));
  expect_data_error([&] { read_idx_images(tmp / "short"); }, {"short", "byte 10", "truncated header"});
  write_bytes(tmp / "tiny", std::string("\x00\x00", 2));
  expect_data_error([&] { read_idx_images(tmp / "tiny"); }, {"tiny", "byte 2", "too short"});
  write_bytes(tmp / "empty", "");
  expect_data_error([&] { read_idx_labels(tmp / "empty"); }, {"empty", "byte 0", "too short"});
}

TEST(IdxImages, RefusesAZeroDimension) {
  TempDir tmp;
  write_bytes(tmp / "img", idx_images(2, 0, 3, {}));
  expect_data_error([&] { read_idx_images(tmp / "img"); }, {"img", "byte 8", "size 0"});
}

TEST(IdxImages, RefusesAHostileHeaderOnASmallFileWithoutAllocating) {
  TempDir tmp;
  // 2^31 images of 28x28 claimed by a 100-byte file.
  write_bytes(tmp / "hostile", idx_images(0x80000000u, 28, 28, iota_bytes(84)));
  write_gzip(tmp / "hostile.gz", idx_images(0x80000000u, 28, 28, iota_bytes(84)));
  ASSERT_EQ(std::filesystem::file_size(tmp / "hostile"), 100u);
  {
    AllocationWatch watch;
    expect_data_error([&] { read_idx_images(tmp / "hostile"); },
                      {"hostile", "truncated", "2147483648 images of 28x28", "has 84"});
    expect_data_error([&] { read_idx_images(tmp / "hostile.gz"); },
                      {"hostile.gz", "byte 4", "absurd header", "2147483648 images of 28x28"});
    EXPECT_LT(watch.largest(), std::size_t{1} << 20);
  }
}

TEST(IdxImages, RefusesDimsWhoseProductOverflows) {
  TempDir tmp;
  write_bytes(tmp / "huge", idx_images(0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, iota_bytes(16)));
  AllocationWatch watch;
  expect_data_error([&] { read_idx_images(tmp / "huge"); }, {"huge", "byte 4", "absurd header", "overflow"});
  EXPECT_LT(watch.largest(), std::size_t{1} << 20);
}

TEST(IdxImages, GrowsOnlyWithTheDataAGzipFileReallyHolds) {
  TempDir tmp;
  // A 20 kB incompressible gzip file claiming 10 MB of pixels: within DEFLATE's 1032:1 bound, so
  // the header passes; the reader must not reserve the 10 MB before the data arrive.
  std::mt19937 rng(9);
  std::vector<int> pixels(20000);
  for (int& p : pixels) p = static_cast<int>(rng() % 256);
  write_gzip(tmp / "liar.gz", idx_images(10'000'000, 1, 1, pixels));
  AllocationWatch watch;
  expect_data_error([&] { read_idx_images(tmp / "liar.gz"); },
                    {"liar.gz", "byte 20016 (decompressed)", "truncated", "10000000 images of 1x1"});
  EXPECT_LT(watch.largest(), std::size_t{1} << 20);
}

TEST(IdxLabels, RefusesLabel255WithItsRecordAndByte) {
  TempDir tmp;
  write_bytes(tmp / "y", idx_labels({0, 255, 1}));
  expect_data_error([&] { read_idx_labels(tmp / "y"); }, {"y", "record 1 (byte 9)", "label 255", "at most 255"});
}

TEST(IdxLabels, RefusesATruncatedLabelFile) {
  TempDir tmp;
  write_bytes(tmp / "y", idx_labels({0, 1, 2}, 5));
  expect_data_error([&] { read_idx_labels(tmp / "y"); }, {"y", "byte 11", "truncated", "5 labels", "has 3"});
}

TEST(IdxDir, RefusesImageAndLabelCountsThatDisagree) {
  TempDir tmp;
  write_idx_dir(tmp, false);
  write_bytes(tmp / "train-labels-idx1-ubyte", idx_labels({0, 1, 2, 0, 1}));
  expect_data_error([&] { load_idx_dir(tmp.path()); }, {"train-labels-idx1-ubyte", "byte 4", "5 labels", "6 images"});
}

TEST(IdxDir, RefusesASingleClass) {
  TempDir tmp;
  write_idx_dir(tmp, false);
  write_bytes(tmp / "train-labels-idx1-ubyte", idx_labels({0, 0, 0, 0, 0, 0}));
  expect_data_error([&] { load_idx_dir(tmp.path()); }, {"train-labels-idx1-ubyte", "K = 1", "at least 2 classes"});
}

TEST(IdxDir, RefusesAClassWithoutTrainingSamples) {
  TempDir tmp;
  write_idx_dir(tmp, false);
  write_bytes(tmp / "train-labels-idx1-ubyte", idx_labels({0, 2, 2, 0, 3, 3}));
  expect_data_error([&] { load_idx_dir(tmp.path()); }, {"train-labels-idx1-ubyte", "class 1", "K = 4"});
}

TEST(IdxDir, RefusesATestLabelOutsideTheTrainingClasses) {
  TempDir tmp;
  write_idx_dir(tmp, false);
  write_bytes(tmp / "t10k-labels-idx1-ubyte", idx_labels({2, 3, 1}));
  expect_data_error([&] { load_idx_dir(tmp.path()); },
                    {"t10k-labels-idx1-ubyte", "record 1 (byte 9)", "label 3 out of range", "K = 3"});
}

TEST(IdxDir, RefusesTestImagesOfAnotherSize) {
  TempDir tmp;
  write_idx_dir(tmp, false);
  write_bytes(tmp / "t10k-images-idx3-ubyte", idx_images(3, 3, 2, iota_bytes(18)));
  expect_data_error([&] { load_idx_dir(tmp.path()); }, {"t10k-images-idx3-ubyte", "3x2", "2x3"});
}

TEST(FashionMnist, TellsHowToInstallItWhenMissing) {
  TempDir tmp;
  expect_data_error([&] { load_fashion_mnist(tmp / "absent"); },
                    {"absent", "apt-get install dataset-fashion-mnist"});
}

}  // namespace
}  // namespace ufm::data
