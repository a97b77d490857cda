#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ufm/parallel.hpp"

namespace ufm {
namespace {

TEST(ForEachSlice, CoversEveryEntryOnceInSlicesOfTheFixedLength) {
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(3);  // kMinParallelSlices slices and more run on the team
#endif
  for (Index n : {Index{0}, Index{1}, kSliceLength - 1, kSliceLength, kSliceLength + 1, 4 * kSliceLength,
                  kMinParallelSlices * kSliceLength, (kMinParallelSlices + 5) * kSliceLength + 3}) {
    std::vector<std::atomic<int>> seen(static_cast<std::size_t>(n));
    std::atomic<int> bad_slices{0}, slices{0};
    for_each_slice(n, [&](Index begin, Index end) {
      ++slices;
      if (begin % kSliceLength != 0 || end <= begin || end - begin > kSliceLength ||
          (end - begin < kSliceLength && end != n))
        ++bad_slices;
      for (Index i = begin; i < end; ++i) ++seen[static_cast<std::size_t>(i)];
    });
    EXPECT_EQ(bad_slices, 0) << n;
    EXPECT_EQ(slices, (n + kSliceLength - 1) / kSliceLength) << n;
    for (Index i = 0; i < n; ++i) ASSERT_EQ(seen[static_cast<std::size_t>(i)], 1) << "entry " << i << " of " << n;
  }
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
}

}  // namespace
}  // namespace ufm
