#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ufm/parallel.hpp"

namespace ufm {
namespace {

TEST(ForEachRange, CoversEveryEntryOnceInRangesOfTheFixedLength) {
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(3);  // kParallelRangeEntries entries and more run on the team
#endif
  for (Index n : {Index{0}, Index{1}, kMinRangeLength - 1, kMinRangeLength, kMinRangeLength + 1, 4 * kMinRangeLength,
                  kParallelRangeEntries, 5 * kParallelRangeEntries + 3}) {
    const Index len = range_length(n);
    std::vector<std::atomic<int>> seen(static_cast<std::size_t>(n));
    std::atomic<int> bad_ranges{0}, ranges{0};
    for_each_range(n, [&](Index c, Index begin, Index end) {
      ++ranges;
      if (begin != c * len || end <= begin || end - begin > len || (end - begin < len && end != n)) ++bad_ranges;
      for (Index i = begin; i < end; ++i) ++seen[static_cast<std::size_t>(i)];
    });
    EXPECT_EQ(bad_ranges, 0) << n;
    EXPECT_EQ(ranges, (n + len - 1) / len) << n;
    EXPECT_LE(ranges, kMaxRanges) << n;
    for (Index i = 0; i < n; ++i) ASSERT_EQ(seen[static_cast<std::size_t>(i)], 1) << "entry " << i << " of " << n;
  }
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
}

}  // namespace
}  // namespace ufm
