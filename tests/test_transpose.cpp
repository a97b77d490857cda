#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "ufm/transpose.hpp"

namespace ufm {
namespace {

// Entry (i, j) of a rows×cols matrix is i + 1000 j: each one says where it came from.
Mat numbered(Index rows, Index cols) {
  Mat A(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) A(i, j) = static_cast<double>(i + 1000 * j);
  return A;
}

TEST(Transpose, PutsEveryEntryWhereEigensTransposeDoes) {
  // Whole 4×4 tiles, tiles with leftover rows or columns, and no whole tile at all.
  const std::vector<std::pair<Index, Index>> shapes = {{1, 1}, {4, 4}, {4, 16}, {16, 4}, {10, 64}, {64, 10},
                                                       {3, 5}, {7, 9}, {13, 4}, {4, 13}, {1, 12}, {12, 1}};
  for (const auto& [rows, cols] : shapes) {
    const Mat A = numbered(rows, cols);
    Mat At = Mat::Constant(cols, rows, -1.0);
    transpose(A.data(), rows, cols, At.data());
    const Mat expected = A.transpose();
    EXPECT_EQ(At, expected) << rows << "x" << cols;
  }
}

TEST(Transpose, WritesNothingPastTheResult) {
  const Mat A = numbered(6, 10);
  std::vector<double> out(60 + 8, -7.0);
  transpose(A.data(), 6, 10, out.data());
  for (std::size_t k = 60; k < out.size(); ++k) EXPECT_EQ(out[k], -7.0);
}

}  // namespace
}  // namespace ufm
