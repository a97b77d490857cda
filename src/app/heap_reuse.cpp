#include "ufm/app/heap_reuse.hpp"

#include <climits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ufm {

void keep_freed_memory_in_heap() {
#if defined(__GLIBC__)
  // Every block from the heap (a thread arena's block too large for its heap still gets its own
  // mapping, glibc's fallback), and the heap's free top never returned to the kernel.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
}

}  // namespace ufm
