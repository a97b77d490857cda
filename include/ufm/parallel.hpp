#pragma once
/// Runs a fixed set of chunks, on OpenMP threads when that pays. The chunks are set by the problem's
/// sizes, never by the thread count; callers keep one partial result per chunk and add them in
/// chunk order, so the result is bit-identical whichever thread ran which chunk.
#include <algorithm>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ufm/linalg.hpp"

namespace ufm {

/// Problems under this many flops per evaluation run on one thread: a fork/join per evaluation
/// costs more than it saves there, and on a loaded machine a descheduled worker stalls every
/// parallel region (measured: 70× slower at the medium benchmark size).
inline constexpr double kParallelFlops = 2e7;

/// The most threads any command takes (OMP_NUM_THREADS, sweep --threads). Far more than any machine's
/// cores; libgomp itself crashed (SIGSEGV, its stack overflowing) creating a team of 100,000.
inline constexpr int kMaxThreads = 4096;

/// The OpenMP threads a parallel region started here would have (1 without OpenMP).
inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// This thread's number in its OpenMP team (0 outside any, and without OpenMP): for scratch kept
/// per thread of a chunk_team, never for the order of any result.
inline int thread_number() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/// The threads for_each_chunk runs on: omp_get_max_threads() when `parallel`, with more than one
/// chunk and one thread, outside any parallel region; else 1 (in order, on this thread).
inline int chunk_team(Index chunks, bool parallel) {
#ifdef _OPENMP
  if (parallel && chunks > 1 && max_threads() > 1 && !omp_in_parallel()) return max_threads();
#else
  (void)chunks, (void)parallel;
#endif
  return 1;
}

/// run(c) for every c in [0, chunks): in order, or, when `parallel` and more than one thread is
/// available outside any parallel region, on OpenMP threads taking `grain` chunks at a time.
template <class F>
void for_each_chunk(Index chunks, bool parallel, F&& run, int grain = 1) {
#ifdef _OPENMP
  if (chunk_team(chunks, parallel) > 1) {
#pragma omp parallel for schedule(dynamic, grain)
    for (Index c = 0; c < chunks; ++c) run(c);
    return;
  }
#else
  (void)parallel, (void)grain;
#endif
  for (Index c = 0; c < chunks; ++c) run(c);
}

inline constexpr Index kMinRangeLength = Index{1} << 15;  ///< entries per range of for_each_range, at least
inline constexpr Index kMaxRanges = 64;                   ///< and at most this many ranges
inline constexpr Index kParallelRangeEntries = Index{1} << 18;  ///< vectors this long (2 MiB) use the threads

/// Range length for a vector of n entries (set by n only).
inline Index range_length(Index n) { return std::max(kMinRangeLength, (n + kMaxRanges - 1) / kMaxRanges); }

/// f(c, begin, end) over the fixed ranges c of [0, n), on OpenMP threads from kParallelRangeEntries
/// entries up: for a pass over long vectors (the flow's stage points and error norms, the deep
/// model's update and sums of partials), each range's result kept apart or each entry computed on
/// its own, so the bits do not depend on which thread took which range.
template <class F>
void for_each_range(Index n, F&& f) {
  const Index len = range_length(n), ranges = (n + len - 1) / len;
  for_each_chunk(ranges, n >= kParallelRangeEntries, [&](Index c) { f(c, c * len, std::min(n, (c + 1) * len)); });
}

}  // namespace ufm
