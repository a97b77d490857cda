#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "test_data_util.hpp"
#include "ufm/data/csv.hpp"
#include "ufm/data/csv_row.hpp"

namespace ufm::data {
namespace {

using test::expect_data_error;
using test::TempDir;
using test::write_bytes;

/// Writes `text` to tmp/data.csv and reads it with `label_column`.
Dataset csv(const TempDir& tmp, const std::string& text, const std::string& label_column = "-1") {
  write_bytes(tmp / "data.csv", text);
  return read_csv(tmp / "data.csv", label_column);
}

TEST(Csv, ReadsRowsAsColumnsWithTheLastColumnAsLabel) {
  TempDir tmp;
  const Dataset ds = csv(tmp, "1,2,0\n3.5,-4e2,1\n5,6,1\n");
  ASSERT_EQ(ds.input_dim(), 2);
  ASSERT_EQ(ds.size(), 3);
  EXPECT_EQ(ds.X.col(0), Vec::LinSpaced(2, 1, 2));
  EXPECT_EQ(ds.X(0, 1), 3.5);
  EXPECT_EQ(ds.X(1, 1), -400);
  EXPECT_EQ(ds.labels, (std::vector<int>{0, 1, 1}));
  EXPECT_EQ(ds.K, 2);
  EXPECT_TRUE(ds.class_names.empty());
  EXPECT_FALSE(ds.raw_bytes);
  EXPECT_NE(ds.name.find("data.csv"), std::string::npos);
}

TEST(Csv, TakesTheLabelColumnByIndexFromEitherEnd) {
  TempDir tmp;
  const std::string text = "1,10,20\n0,11,21\n";
  for (const char* col : {"0", "-3"}) {
    const Dataset ds = csv(tmp, text, col);
    EXPECT_EQ(ds.labels, (std::vector<int>{1, 0})) << col;
    EXPECT_EQ(ds.X(1, 1), 21) << col;
  }
  const Dataset mid = csv(tmp, "10,1,20\n11,0,21\n", "1");
  EXPECT_EQ(mid.X(0, 1), 11);
  EXPECT_EQ(mid.X(1, 0), 20);
}

TEST(Csv, DetectsAHeaderAndTakesTheLabelColumnByName) {
  TempDir tmp;
  const std::string text = "x1,class,x2\n1,1,2\n3,0,4\n";
  const Dataset by_name = csv(tmp, text, "class");
  EXPECT_EQ(by_name.size(), 2);
  EXPECT_EQ(by_name.labels, (std::vector<int>{1, 0}));
  EXPECT_EQ(by_name.X(1, 1), 4);
  const Dataset by_index = csv(tmp, text, "1");
  EXPECT_EQ(by_index.X, by_name.X);
}

TEST(Csv, MapsStringLabelsToClassesInSortedOrder) {
  TempDir tmp;
  const Dataset ds = csv(tmp, "5.1,3.5,setosa\n6.3,3.3,virginica\n5.9,3.0,versicolor\n5.0,3.6,setosa\n");
  EXPECT_EQ(ds.K, 3);
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(ds.labels, (std::vector<int>{0, 2, 1, 0}));
}

TEST(Csv, HandlesCrLfWhitespaceQuotesBomBlankLinesAndNoFinalNewline) {
  TempDir tmp;
  const Dataset ds = csv(tmp, "\xEF\xBB\xBF a , \"b\" ,label\r\n\r\n 1 ,\t\"2.5\" , \"cat, big\"\r\n   \r\n+3,4, dog");
  ASSERT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.X(0, 0), 1);
  EXPECT_EQ(ds.X(1, 0), 2.5);
  EXPECT_EQ(ds.X(0, 1), 3);
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"cat, big", "dog"}));
  EXPECT_EQ(ds.labels, (std::vector<int>{0, 1}));
}

TEST(CsvRow, SplitsQuotedCellsWithEscapedQuotes) {
  EXPECT_EQ(split_csv_line(R"( "a ""b"" c" ,,x)", "f", 1), (std::vector<std::string>{"a \"b\" c", "", "x"}));
  EXPECT_EQ(split_csv_line("1,", "f", 1), (std::vector<std::string>{"1", ""}));
}

TEST(Csv, LoadCsvHasNoTestSplit) {
  TempDir tmp;
  write_bytes(tmp / "d.csv", "1,0\n2,1\n");
  const DataSplit split = load_csv(tmp / "d.csv", "-1");
  EXPECT_EQ(split.train.size(), 2);
  EXPECT_FALSE(split.test.has_value());
}

TEST(Csv, RefusesANonNumericCellWithLineAndColumn) {
  TempDir tmp;
  expect_data_error([&] { csv(tmp, "a,b,y\n1,2,0\n3,abc,1\n"); },
                    {"data.csv", "line 3, column 2", "cell 'abc' is not a number"});
  expect_data_error([&] { csv(tmp, "1,2,0\n3,,1\n"); }, {"line 2, column 2", "empty cell"});
}

TEST(Csv, RefusesNanAndInfCells) {
  TempDir tmp;
  expect_data_error([&] { csv(tmp, "1,2,0\nnan,2,1\n"); }, {"data.csv", "line 2, column 1", "'nan'", "not finite"});
  expect_data_error([&] { csv(tmp, "1,2,0\n1,-inf,1\n"); }, {"line 2, column 2", "'-inf'", "not finite"});
  expect_data_error([&] { csv(tmp, "1,2,0\n1,1e999,1\n"); }, {"line 2, column 2", "'1e999'", "not finite"});
}

TEST(Csv, RefusesARaggedRowWithBothColumnCounts) {
  TempDir tmp;
  expect_data_error([&] { csv(tmp, "1,2,0\n3,4,1\n5,1\n"); },
                    {"data.csv", "line 3", "ragged row", "2 columns, expected 3", "line 1"});
}

TEST(Csv, RefusesAnEmptyFile) {
  TempDir tmp;
  expect_data_error([&] { csv(tmp, ""); }, {"data.csv", "empty file"});
  expect_data_error([&] { csv(tmp, "\n  \r\n"); }, {"data.csv", "empty file"});
  expect_data_error([&] { csv(tmp, "a,b,label\n"); }, {"data.csv", "line 1", "no data rows"});
}

TEST(Csv, RefusesALabelColumnOutOfRange) {
  TempDir tmp;
  expect_data_error([&] { csv(tmp, "1,2,0\n", "3"); }, {"data.csv", "label column 3 out of range for 3 columns"});
  expect_data_error([&] { csv(tmp, "1,2,0\n", "-4"); }, {"label column -4 out of range"});
  expect_data_error([&] { csv(tmp, "a,b,y\n1,2,0\n", "label"); }, {"line 1", "no column named 'label'", "'a', 'b', 'y'"});
}

TEST(Csv, RefusesASingleColumn) {
  TempDir tmp;
  expect_data_error([&] { csv(tmp, "1\n2\n"); }, {"data.csv", "line 1", "at least 2"});
}

TEST(Csv, RefusesBadLabels) {
  TempDir tmp;
  expect_data_error([&] { csv(tmp, "1,0\n2,-1\n"); }, {"line 2, column 2", "label -1 is negative"});
  expect_data_error([&] { csv(tmp, "1,0\n2,0\n"); }, {"data.csv", "label '0'", "at least 2 classes"});
  expect_data_error([&] { csv(tmp, "1,a\n2,a\n"); }, {"data.csv", "label 'a'", "at least 2 classes"});
  expect_data_error([&] { csv(tmp, "1,0\n2,2\n3,2\n"); }, {"data.csv", "class 1", "no sample"});
  expect_data_error([&] { csv(tmp, "1,0\n2,1000000000\n"); }, {"line 2, column 2", "K = 1000000000 + 1", "only 2 samples"});
  expect_data_error([&] { csv(tmp, "1,0\n2, \n"); }, {"line 2, column 2", "empty label"});
}

TEST(Csv, RefusesAnUnterminatedQuote) {
  TempDir tmp;
  expect_data_error([&] { csv(tmp, "1,0\n2,\"1\n"); }, {"data.csv", "line 2, column 2", "unterminated quote"});
  expect_data_error([&] { csv(tmp, "1,0\n\"2\"x,1\n"); }, {"line 2, column 1", "after a closing quote"});
}

TEST(Csv, RefusesAMissingFile) {
  TempDir tmp;
  expect_data_error([&] { read_csv(tmp / "absent.csv", "-1"); }, {"absent.csv", "no such file"});
}

TEST(Csv, RefusesADeviceAndReadsAPipe) {
  // Read, /dev/zero was one endless line: over two minutes and gigabytes before "line 1: read error";
  // a terminal waited for typing.
  expect_data_error([&] { read_csv("/dev/zero", "-1"); }, {"/dev/zero", "is a device, not a regular file or a pipe"});
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string rows = "1,0\n2,1\n";
  ASSERT_EQ(::write(fds[1], rows.data(), rows.size()), static_cast<ssize_t>(rows.size()));
  ::close(fds[1]);
  const Dataset d = read_csv("/proc/self/fd/" + std::to_string(fds[0]), "-1");
  ::close(fds[0]);
  EXPECT_EQ(d.labels, (std::vector<int>{0, 1}));
}

TEST(Csv, EchoesAHugeCellOrColumnNameCutTo80Characters) {
  // A 50 MiB cell was echoed whole: a 52 MB error line.
  TempDir tmp;
  const std::string huge(1 << 20, 'x');
  for (const auto& [text, label] : {std::pair<std::string, std::string>{"1,2,0\n1," + huge + ",1\n", "-1"},
                                    {"a," + huge + ",label\n1,2,0\n3,4,1\n", "zzz"},
                                    {"1,2," + huge + "\n3,4," + huge + "\n", "-1"},
                                    {"1,2,0\n3,4,1\n", huge}}) {
    try {
      csv(tmp, text, label);
      ADD_FAILURE() << "no DataError";
    } catch (const DataError& e) {
      const std::string what = e.what();
      EXPECT_LT(what.size(), 400u) << what.substr(0, 400);
      EXPECT_NE(what.find("...(1048"), std::string::npos) << what.substr(0, 400);
    }
  }
}

}  // namespace
}  // namespace ufm::data
