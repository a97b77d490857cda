#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "test_io_util.hpp"
#include "test_util.hpp"
#include "ufm/io/npy.hpp"

namespace ufm::io {
namespace {

using test::npy_file;
using test::TempDir;

std::string f64_bytes(std::initializer_list<double> values) {
  std::string out;
  for (double v : values) test::append_le(out, v);
  return out;
}

/// Expects fn() to throw IoError whose message contains every one of `parts`.
void expect_io_error(const std::function<void()>& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no IoError thrown";
  } catch (const IoError& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(Npy, RoundTripsAFortranOrderMatrix) {
  TempDir tmp;
  const Mat M = test::random_mat(3, 5, 11);
  write_npy(tmp / "M.npy", M);
  const NpyArray a = read_npy(tmp / "M.npy");
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{3, 5}));
  EXPECT_TRUE(a.fortran_order);
  EXPECT_EQ(a.dtype, "<f8");
  EXPECT_EQ(read_npy_matrix(tmp / "M.npy", 3, 5), M);  // bit-exact
}

TEST(Npy, RoundTripsAVector) {
  TempDir tmp;
  const Vec v = test::random_vec(7, 12);
  write_npy(tmp / "v.npy", v);
  EXPECT_EQ(read_npy(tmp / "v.npy").shape, std::vector<std::size_t>{7});
  EXPECT_EQ(read_npy_vector(tmp / "v.npy", 7), v);
  EXPECT_EQ(read_npy_matrix(tmp / "v.npy", 7, 1), Mat(v));  // 1-D accepted as a column
}

TEST(Npy, RoundTripsLabels) {
  TempDir tmp;
  const std::vector<int> y{0, 2, 1, 1, 0, 2};
  write_npy(tmp / "y.npy", std::span<const int>(y));
  const NpyArray a = read_npy(tmp / "y.npy");
  EXPECT_EQ(a.dtype, "<i8");
  EXPECT_TRUE(a.is_integer());
  EXPECT_EQ(read_npy_labels(tmp / "y.npy", 6, 3), y);
}

TEST(Npy, PadsTheHeaderToAMultipleOf64) {
  TempDir tmp;
  for (auto [r, c] : {std::pair<Index, Index>{1, 1}, {3, 5}, {0, 4}, {123456, 0}, {1, 70}}) {
    write_npy(tmp / "m.npy", Mat(Mat::Constant(r, c, 2.0)));
    const std::string bytes = test::read_bytes(tmp / "m.npy");
    ASSERT_GE(bytes.size(), 10u);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    const std::size_t hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    EXPECT_EQ((10 + hlen) % 64, 0u) << r << "x" << c;
    EXPECT_EQ(bytes[10], '{');
    EXPECT_EQ(bytes[10 + hlen - 1], '\n');
    EXPECT_EQ(bytes.size(), 10 + hlen + 8 * static_cast<std::size_t>(r * c));
    EXPECT_EQ(read_npy(tmp / "m.npy").shape, (std::vector<std::size_t>{std::size_t(r), std::size_t(c)}));
  }
}

TEST(Npy, MatchesHandWrittenBytes) {
  TempDir tmp;
  Mat M(2, 3);
  M << 1, 2, 3, 4, 5, 6;
  write_npy(tmp / "M.npy", M);
  const std::string expected =
      npy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", f64_bytes({1, 4, 2, 5, 3, 6}));
  ASSERT_EQ(expected.size(), 128u + 48u);
  EXPECT_EQ(test::read_bytes(tmp / "M.npy"), expected);

  write_npy(tmp / "v.npy", Vec(Vec::LinSpaced(3, 1.0, 3.0)));
  EXPECT_EQ(test::read_bytes(tmp / "v.npy"),
            npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f64_bytes({1, 2, 3})));

  const std::vector<int> y{2, 0};
  write_npy(tmp / "y.npy", std::span<const int>(y));
  std::string y_bytes;
  for (std::int64_t v : {2, 0}) test::append_le(y_bytes, v);
  EXPECT_EQ(test::read_bytes(tmp / "y.npy"),
            npy_file("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", y_bytes));
}

TEST(Npy, ReadsCOrderAndFortranOrderAlike) {
  TempDir tmp;
  Mat M(2, 3);
  M << 1, 2, 3, 4, 5, 6;
  test::write_bytes(tmp / "c.npy", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
                                            f64_bytes({1, 2, 3, 4, 5, 6})));
  test::write_bytes(tmp / "f.npy", npy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
                                            f64_bytes({1, 4, 2, 5, 3, 6})));
  EXPECT_EQ(read_npy_matrix(tmp / "c.npy", 2, 3), M);
  EXPECT_EQ(read_npy_matrix(tmp / "f.npy", 2, 3), M);
}

TEST(Npy, ConvertsFloat32AndInt32) {
  TempDir tmp;
  std::string f4;
  for (float v : {0.5f, -1.25f, 3.0f, 1e-3f}) test::append_le(f4, v);
  test::write_bytes(tmp / "f4.npy", npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f4));
  Mat expected(2, 2);
  expected << 0.5, -1.25, 3.0, static_cast<double>(1e-3f);
  EXPECT_EQ(read_npy_matrix(tmp / "f4.npy", 2, 2), expected);

  std::string i4;
  for (std::int32_t v : {4, 0, 3, 1}) test::append_le(i4, v);
  test::write_bytes(tmp / "i4.npy", npy_file("{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", i4));
  EXPECT_EQ(read_npy_labels(tmp / "i4.npy", 4, 5), (std::vector<int>{4, 0, 3, 1}));
  EXPECT_EQ(read_npy_vector(tmp / "i4.npy", 4), Vec((Vec(4) << 4, 0, 3, 1).finished()));

  test::write_bytes(tmp / "u1.npy",
                    npy_file("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", std::string("\x02\x00\x01", 3)));
  EXPECT_EQ(read_npy_labels(tmp / "u1.npy", 3, 3), (std::vector<int>{2, 0, 1}));
}

TEST(Npy, AcceptsHeaderVariantsNumpyMayWrite) {
  // Key order, double quotes, Python 2 longs, a (n, 1) column and a version 2.0 preamble.
  const std::string data = f64_bytes({7, 8});
  const std::string v1 = npy_file("{\"shape\": (2L, 1L), \"fortran_order\": False, \"descr\": \"<f8\"}", data);
  const NpyArray a = parse_npy(v1, "v1.npy");
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 1}));
  EXPECT_EQ(a.data_f64, (std::vector<double>{7, 8}));

  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
  header.append((64 - (12 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string v2("\x93NUMPY\x02\x00", 8);
  test::append_le<std::uint32_t>(v2, static_cast<std::uint32_t>(header.size()));
  EXPECT_EQ(parse_npy(v2 + header + data, "v2.npy").data_f64, (std::vector<double>{7, 8}));
}

TEST(NpyErrors, NameTheFileAndTheProblem) {
  TempDir tmp;
  const auto good = npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f64_bytes({1, 2, 3, 4}));
  auto file_with = [&](const std::string& name, const std::string& bytes) {
    test::write_bytes(tmp / name, bytes);
    return tmp / name;
  };
  auto bad_magic = file_with("bad_magic.npy", "PK\x03\x04 this is a zip, not an npy file");
  expect_io_error([&] { read_npy(bad_magic); }, {"bad_magic.npy", "magic"});
  auto truncated = file_with("truncated.npy", good.substr(0, good.size() - 3));
  expect_io_error([&] { read_npy_matrix(truncated, 2, 2); },
                  {"truncated.npy", "truncated data", "needs 32 bytes but only 29"});
  // A shape whose size overflows: it read "needs more than 0 bytes but only 0 are present".
  auto huge = file_with(
      "huge.npy", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", ""));
  expect_io_error([&] { read_npy(huge); }, {"huge.npy", "needs more bytes than the 0 present"});
  auto short_header = file_with("short_header.npy", good.substr(0, 40));
  expect_io_error([&] { read_npy(short_header); }, {"short_header.npy", "truncated header"});
  auto trailing = file_with("trailing.npy", good + "xx");
  expect_io_error([&] { read_npy(trailing); }, {"trailing.npy", "2 unexpected bytes"});
  auto big = file_with("big.npy", npy_file("{'descr': '>f8', 'fortran_order': False, 'shape': (2, 2), }",
                                           f64_bytes({1, 2, 3, 4})));
  expect_io_error([&] { read_npy_matrix(big, 2, 2); }, {"big.npy", "big-endian", ">f8"});
  auto object = file_with("object.npy", npy_file("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
                                                 std::string(16, '\0')));
  expect_io_error([&] { read_npy(object); }, {"object.npy", "object dtype"});
  auto c16 = file_with("c16.npy", npy_file("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }",
                                           std::string(16, '\0')));
  expect_io_error([&] { read_npy(c16); }, {"c16.npy", "unsupported dtype '<c16'"});
  auto malformed = file_with("malformed.npy", npy_file("{'descr': '<f8', 'fortran_order': maybe, 'shape': (2, 2), }",
                                                       f64_bytes({1, 2, 3, 4})));
  expect_io_error([&] { read_npy(malformed); }, {"malformed.npy", "malformed header", "True or False"});
  expect_io_error([&] { read_npy(tmp / "absent.npy"); }, {"absent.npy", "cannot open: No such file or directory"});
}

TEST(NpyErrors, EveryTruncationOrCorruptionIsAnIoError) {
  const auto good = npy_file("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", std::string(12, '\x01'));
  for (std::size_t n = 0; n < good.size(); ++n)
    EXPECT_THROW(parse_npy(std::string_view(good).substr(0, n), "cut.npy"), IoError) << n << " bytes";
  std::mt19937 rng(5);  // random byte flips: parsed or IoError, never a crash or another exception
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bad = good;
    bad[rng() % 75] = static_cast<char>(rng());
    try {
      parse_npy(bad, "flip.npy");
    } catch (const IoError&) {
    }
  }
}

TEST(NpyErrors, WrongShapeNamesFoundAndExpected) {
  TempDir tmp;
  write_npy(tmp / "W.npy", Mat(Mat::Zero(3, 5)));
  expect_io_error([&] { read_npy_matrix(tmp / "W.npy", 4, 16); }, {"W.npy", "shape (3, 5) but expected (4, 16)"});
  expect_io_error([&] { read_npy_matrix(tmp / "W.npy", 5, 3); }, {"(3, 5)", "(5, 3)"});  // no silent transpose
  expect_io_error([&] { read_npy_vector(tmp / "W.npy", 15); }, {"W.npy", "(3, 5)", "(15,)"});
}

TEST(NpyErrors, RejectsBadLabels) {
  TempDir tmp;
  const std::vector<int> y{0, 1, 3};
  write_npy(tmp / "labels.npy", std::span<const int>(y));
  expect_io_error([&] { read_npy_labels(tmp / "labels.npy", 3, 3); }, {"labels.npy", "label 3 at index 2", "[0, 3)"});
  EXPECT_NO_THROW(read_npy_labels(tmp / "labels.npy", 3, 4));
  const std::vector<int> negative{0, -1};
  write_npy(tmp / "neg.npy", std::span<const int>(negative));
  expect_io_error([&] { read_npy_labels(tmp / "neg.npy", 2, 3); }, {"neg.npy", "label -1"});
  write_npy(tmp / "float.npy", Vec(Vec::Zero(3)));
  expect_io_error([&] { read_npy_labels(tmp / "float.npy", 3, 3); }, {"float.npy", "not an integer type"});
  expect_io_error([&] { read_npy_labels(tmp / "labels.npy", 4, 5); }, {"labels.npy", "(3,)", "(4,)"});
}

TEST(NpyErrors, NonFiniteValuesNameTheFirstBadIndexInFileOrder) {
  TempDir tmp;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  // The same bytes in C and in Fortran order: flat position 4 is [1, 1] in C order, [0, 2] in Fortran.
  const std::string data = f64_bytes({1, 2, 3, 4, nan, -inf});
  test::write_bytes(tmp / "c.npy", npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", data));
  test::write_bytes(tmp / "f.npy", npy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", data));
  expect_io_error([&] { read_npy_matrix(tmp / "c.npy", 2, 3); }, {"c.npy: non-finite value nan at index (1, 1)"});
  expect_io_error([&] { read_npy_matrix(tmp / "f.npy", 2, 3); }, {"f.npy: non-finite value nan at index (0, 2)"});
  test::write_bytes(tmp / "v.npy",
                    npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f64_bytes({0, inf, 1})));
  expect_io_error([&] { read_npy_vector(tmp / "v.npy", 3); }, {"v.npy: non-finite value inf at index (1,)"});
  // float32 NaN too.
  std::string f4;
  for (float v : {0.5f, std::numeric_limits<float>::quiet_NaN()}) test::append_le(f4, v);
  test::write_bytes(tmp / "f4.npy", npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4));
  expect_io_error([&] { read_npy_vector(tmp / "f4.npy", 2); }, {"f4.npy: non-finite value nan at index (1,)"});
  // read_npy itself reads them (it is the parameter readers that refuse).
  EXPECT_TRUE(std::isnan(read_npy(tmp / "c.npy").data_f64[4]));
  EXPECT_EQ(npy_index(read_npy(tmp / "f.npy"), 5), (std::vector<std::size_t>{1, 2}));
}

}  // namespace
}  // namespace ufm::io
