#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>

#include "ufm/app/heap_reuse.hpp"

namespace {

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

/// Page faults taken while a fresh 64 MiB block is allocated, written through and freed.
long faults_of_a_touched_block() {
  constexpr std::size_t kBytes = std::size_t{64} << 20;  // above glibc's largest dynamic mmap threshold
  const long before = minor_faults();
  void* p = std::malloc(kBytes);
  if (!p) return -1;
  std::memset(p, 1, kBytes);
  asm volatile("" : : "r"(p) : "memory");  // the writes happen
  std::free(p);
  return minor_faults() - before;
}

}  // namespace

TEST(HeapReuse, ASecondLargeBlockReusesTheFirstOnesPagesInsteadOfFaultingNewOnes) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "keep_freed_memory_in_heap acts on glibc only";
#endif
  ufm::keep_freed_memory_in_heap();
  const long first = faults_of_a_touched_block();
  const long second = faults_of_a_touched_block();
  constexpr long kPages = (64L << 20) / 4096;
  ASSERT_GT(first, kPages / 2 / 512);  // the first block was faulted in (4 KiB pages, or 2 MiB huge ones)
  EXPECT_LT(second, kPages / 20) << "the freed block went back to the kernel (first block: " << first << " faults)";
}
