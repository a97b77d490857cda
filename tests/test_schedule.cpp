#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "ufm/dynamics/schedule.hpp"

namespace ufm {
namespace {

template <class T>
void expect_valid(const std::vector<T>& v, T last, int count) {
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v.front(), T{0});
  EXPECT_EQ(v.back(), last);
  EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
  EXPECT_EQ(std::adjacent_find(v.begin(), v.end()), v.end()) << "duplicates";
  EXPECT_LE(static_cast<int>(v.size()), count);
}

TEST(CheckpointSteps, ContainEndsSortedUniqueAtMostCount) {
  for (Spacing sp : {Spacing::kLog, Spacing::kLinear})
    for (long total : {0L, 1L, 2L, 3L, 7L, 100L, 12345L, 1000000L})
      for (int count : {2, 3, 5, 20, 200}) {
        SCOPED_TRACE(::testing::Message() << "total " << total << " count " << count);
        expect_valid(checkpoint_steps(total, count, sp), total, count);
      }
}

TEST(CheckpointSteps, TinyTotals) {
  EXPECT_EQ(checkpoint_steps(0, 10, Spacing::kLog), (std::vector<long>{0}));
  EXPECT_EQ(checkpoint_steps(1, 10, Spacing::kLog), (std::vector<long>{0, 1}));
  EXPECT_EQ(checkpoint_steps(2, 10, Spacing::kLog), (std::vector<long>{0, 1, 2}));
  EXPECT_EQ(checkpoint_steps(0, 10, Spacing::kLinear), (std::vector<long>{0}));
  EXPECT_EQ(checkpoint_steps(1, 10, Spacing::kLinear), (std::vector<long>{0, 1}));
  EXPECT_EQ(checkpoint_steps(2, 10, Spacing::kLinear), (std::vector<long>{0, 1, 2}));
  EXPECT_EQ(checkpoint_steps(2, 2, Spacing::kLog), (std::vector<long>{0, 2}));
}

TEST(CheckpointSteps, LogSpacingIsGeometric) {
  // 0 plus 1, 10, ..., 10^6: exactly the powers of ten.
  EXPECT_EQ(checkpoint_steps(1000000, 8, Spacing::kLog),
            (std::vector<long>{0, 1, 10, 100, 1000, 10000, 100000, 1000000}));
  // Away from the small-index region, consecutive ratios are constant up to rounding.
  const auto s = checkpoint_steps(10000000, 40, Spacing::kLog);
  EXPECT_GE(s.size(), 36u);  // 1.53 and 2.33 both round to 2
  EXPECT_LE(s.size(), 40u);
  const double ratio = std::pow(1e7, 1.0 / 38);
  for (std::size_t i = 20; i + 1 < s.size(); ++i)
    EXPECT_NEAR(static_cast<double>(s[i + 1]) / static_cast<double>(s[i]), ratio, 1e-3) << i;
}

TEST(CheckpointSteps, LinearSpacingIsEven) {
  EXPECT_EQ(checkpoint_steps(100, 5, Spacing::kLinear), (std::vector<long>{0, 25, 50, 75, 100}));
  EXPECT_EQ(checkpoint_steps(10, 4, Spacing::kLinear), (std::vector<long>{0, 3, 7, 10}));
}

TEST(CheckpointSteps, RejectsBadArguments) {
  EXPECT_THROW(checkpoint_steps(-1, 5, Spacing::kLog), std::invalid_argument);
  EXPECT_THROW(checkpoint_steps(10, 1, Spacing::kLinear), std::invalid_argument);
}

TEST(CheckpointTimes, ContainEndsSortedUniqueAtMostCount) {
  for (Spacing sp : {Spacing::kLog, Spacing::kLinear})
    for (double total : {0.0, 1e-3, 0.5, 1.0, 100.0, 1e6})
      for (int count : {2, 3, 5, 50}) {
        SCOPED_TRACE(::testing::Message() << "total " << total << " count " << count);
        expect_valid(checkpoint_times(total, 1e-2, count, sp), total, count);
      }
}

TEST(CheckpointTimes, LogSpacingIsGeometricFromFirstTime) {
  const auto t = checkpoint_times(1000.0, 0.01, 7, Spacing::kLog);
  ASSERT_EQ(t.size(), 7u);
  EXPECT_EQ(t[0], 0.0);
  EXPECT_EQ(t[1], 0.01);
  EXPECT_EQ(t[6], 1000.0);
  for (std::size_t i = 1; i + 1 < t.size(); ++i) EXPECT_NEAR(t[i + 1] / t[i], 10.0, 1e-9);
  // first_time beyond the end: just the ends.
  EXPECT_EQ(checkpoint_times(1.0, 5.0, 10, Spacing::kLog), (std::vector<double>{0.0, 1.0}));
}

TEST(CheckpointTimes, LogSpacingStaysFiniteWhereTheRatioOverflows) {
  // 1e308 / 1e-300 overflows: the points were inf (toy --time 1e308 was an internal error).
  const auto t = checkpoint_times(1e308, 1e-300, 9, Spacing::kLog);
  ASSERT_EQ(t.size(), 9u);
  expect_valid(t, 1e308, 9);
  EXPECT_EQ(t[1], 1e-300);
  for (std::size_t i = 1; i + 1 < t.size(); ++i) EXPECT_NEAR(std::log10(t[i + 1] / t[i]), 608.0 / 7.0, 1e-9);
}

TEST(CheckpointTimes, LinearSpacingIsEven) {
  const auto t = checkpoint_times(2.0, 123.0, 5, Spacing::kLinear);
  EXPECT_EQ(t, (std::vector<double>{0.0, 0.5, 1.0, 1.5, 2.0}));
}

TEST(CheckpointTimes, RejectsBadArguments) {
  EXPECT_THROW(checkpoint_times(-1.0, 0.1, 5, Spacing::kLinear), std::invalid_argument);
  EXPECT_THROW(checkpoint_times(1.0, 0.0, 5, Spacing::kLog), std::invalid_argument);
  EXPECT_THROW(checkpoint_times(1.0, 0.1, 1, Spacing::kLog), std::invalid_argument);
  EXPECT_THROW(checkpoint_times(INFINITY, 0.1, 5, Spacing::kLog), std::invalid_argument);
}

}  // namespace
}  // namespace ufm
