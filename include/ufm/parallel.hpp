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

/// run(c) for every c in [0, chunks): in order, or, when `parallel` and more than one thread is
/// available outside any parallel region, on OpenMP threads taking `grain` chunks at a time.
template <class F>
void for_each_chunk(Index chunks, bool parallel, F&& run, int grain = 1) {
#ifdef _OPENMP
  if (parallel && chunks > 1 && omp_get_max_threads() > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(dynamic, grain)
    for (Index c = 0; c < chunks; ++c) run(c);
    return;
  }
#else
  (void)parallel, (void)grain;
#endif
  for (Index c = 0; c < chunks; ++c) run(c);
}

/// Entries per slice of for_each_slice (64 KiB of doubles).
inline constexpr Index kSliceLength = Index{1} << 13;
/// Slices from which for_each_slice uses the threads: 1 MiB per array, tens of µs of elementwise
/// work, against a fork/join of a few µs (and a stall when a worker is descheduled, see above).
inline constexpr Index kMinParallelSlices = 16;

/// run(begin, end) over [0, n) in fixed slices of kSliceLength entries, on OpenMP threads from
/// kMinParallelSlices slices up: for elementwise work (an update, a sum of partials taken entry by
/// entry in their order), whose bits do not depend on which thread took which slice.
template <class F>
void for_each_slice(Index n, F&& run) {
  const Index slices = (n + kSliceLength - 1) / kSliceLength;
  for_each_chunk(slices, slices >= kMinParallelSlices,
                 [&](Index s) { run(s * kSliceLength, std::min(n, (s + 1) * kSliceLength)); });
}

}  // namespace ufm
