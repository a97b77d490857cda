#pragma once
// Counting replacements of the C allocator and of global operator new/delete, linked into the test
// executable (allocation_counter.cpp). Eigen allocates through malloc, not operator new, so the
// malloc count sees both; operator new is also counted on its own. The counters are relaxed
// atomics: cheap enough to leave on for every test.
#include <cstddef>

namespace ufm::test {

/// Calls so far to malloc, calloc, realloc, memalign, aligned_alloc and posix_memalign (operator
/// new allocates through malloc, so it counts here too).
std::size_t malloc_calls();
/// Calls so far to any form of global operator new.
std::size_t new_calls();

/// While alive, the largest single allocation request (malloc family or operator new) is recorded:
/// the hostile-header tests check that a reader refuses a lying size before allocating it.
class LargestAllocationWatch {
 public:
  LargestAllocationWatch();
  ~LargestAllocationWatch();
  LargestAllocationWatch(const LargestAllocationWatch&) = delete;
  LargestAllocationWatch& operator=(const LargestAllocationWatch&) = delete;
  std::size_t largest() const;
  void reset();
};

}  // namespace ufm::test
