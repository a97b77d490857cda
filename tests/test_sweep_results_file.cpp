// read_results in process: the file is read in 64 KiB pieces and never held whole, so lines that
// span pieces, a line longer than a piece and a cut last line must all come out as written.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_io_util.hpp"
#include "ufm/sweep/results_file.hpp"

namespace ufm::sweep {
namespace {

std::string point_line(long index, std::size_t padding) {
  return R"({"type":"point","index":)" + std::to_string(index) + R"(,"id":"id)" + std::to_string(index) +
         R"(","message":")" + std::string(padding, 'x') + R"("})";
}

TEST(ResultsFile, LinesAcrossReadPiecesComeOutAsWrittenAndACutLastLineIsReported) {
  test::TempDir dir;
  std::vector<std::string> lines;
  std::string text = R"({"type":"header","grid_hash":"abc"})" "\n";
  for (long i = 0; i < 3000; ++i) {
    lines.push_back(point_line(i, i == 1500 ? 200000 : static_cast<std::size_t>(i % 97)));  // one line of 3 pieces
    text += lines.back() + "\n";
  }
  const std::size_t complete = text.size();
  text += point_line(3000, 70000).substr(0, 66000);  // a line cut by a kill, past a piece's end
  test::write_bytes(dir / "r.jsonl", text);

  const ResultsFile whole = read_results((dir / "r.jsonl").string());
  ASSERT_TRUE(whole.header);
  EXPECT_EQ((*whole.header)["grid_hash"], "abc");
  ASSERT_EQ(whole.points.size(), lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(whole.points[i].index, static_cast<long>(i));
    EXPECT_EQ(whole.points[i].id, "id" + std::to_string(i));
    EXPECT_EQ(whole.points[i].text, lines[i]) << i;
  }
  EXPECT_TRUE(whole.cut_tail);
  EXPECT_EQ(whole.complete_bytes, complete);

  const ResultsFile ids = read_results((dir / "r.jsonl").string(), LineDetail::kIdOnly);
  ASSERT_EQ(ids.points.size(), lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(ids.points[i].id, whole.points[i].id);
    EXPECT_TRUE(ids.points[i].text.empty());
  }
  EXPECT_TRUE(ids.cut_tail);
  EXPECT_EQ(ids.complete_bytes, complete);
}

TEST(ResultsFile, NamesTheLineThatIsNotAPointLineFarIntoTheFile) {
  test::TempDir dir;
  std::string text = R"({"type":"header","grid_hash":"abc"})" "\n";
  for (long i = 0; i < 2998; ++i) text += point_line(i, 50) + "\n";
  text += R"({"type":"point","index":1})" "\n";  // line 3000: no id
  test::write_bytes(dir / "r.jsonl", text);
  try {
    read_results((dir / "r.jsonl").string(), LineDetail::kIdOnly);
    FAIL() << "a point line without an id was accepted";
  } catch (const ResultsError& e) {
    EXPECT_NE(std::string(e.what()).find("r.jsonl:3000: not a sweep point line"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ufm::sweep
