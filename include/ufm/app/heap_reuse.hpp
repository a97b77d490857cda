#pragma once
/// Keeps the memory the process frees in its heap for its next allocations, where the C library
/// would hand large blocks back to the kernel (glibc: no block served by mmap, the heap never
/// trimmed). A checkpoint's metrics allocate and free buffers of their own at every checkpoint (the
/// two-layer checkpoint at K = 100, n = 100, d = 512 several of 8 MB), and each one given back was
/// faulted in again by the next checkpoint: 6% of that checkpoint's time on the Xeon (bench/HISTORY.md,
/// session 48). The process's resident size then stays at its peak. ufm-sim and ufm-bench both call
/// this first thing, so the bench times the allocator the program runs with. No effect where the C
/// library is not glibc.
namespace ufm {

void keep_freed_memory_in_heap();

}  // namespace ufm
