// See allocation_counter.hpp. glibc supports replacing malloc; the originals stay reachable under
// their __libc_ names.
#include "allocation_counter.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::size_t> g_new_calls{0};
std::atomic<std::size_t> g_malloc_calls{0};
std::atomic<bool> g_track_largest{false};
std::atomic<std::size_t> g_largest{0};

void count_malloc(std::size_t n) {
  g_malloc_calls.fetch_add(1, std::memory_order_relaxed);
  if (!g_track_largest.load(std::memory_order_relaxed)) return;
  std::size_t seen = g_largest.load(std::memory_order_relaxed);
  while (n > seen && !g_largest.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
  }
}
}  // namespace

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n) noexcept {
  count_malloc(n);
  return __libc_malloc(n);
}
void* calloc(std::size_t m, std::size_t n) noexcept {
  count_malloc(m * n);
  return __libc_calloc(m, n);
}
void* realloc(void* p, std::size_t n) noexcept {
  count_malloc(n);
  return __libc_realloc(p, n);
}
void free(void* p) noexcept { __libc_free(p); }
void* memalign(std::size_t a, std::size_t n) noexcept {
  count_malloc(n);
  return __libc_memalign(a, n);
}
void* aligned_alloc(std::size_t a, std::size_t n) noexcept {
  count_malloc(n);
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, std::size_t a, std::size_t n) noexcept {
  count_malloc(n);
  *out = __libc_memalign(a, n);
  return *out != nullptr || n == 0 ? 0 : ENOMEM;
}
}

void* operator new(std::size_t n) {
  g_new_calls.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  g_new_calls.fetch_add(1, std::memory_order_relaxed);
  if (void* p = aligned_alloc(static_cast<std::size_t>(a), n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return ::operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace ufm::test {

std::size_t malloc_calls() { return g_malloc_calls.load(std::memory_order_relaxed); }
std::size_t new_calls() { return g_new_calls.load(std::memory_order_relaxed); }

LargestAllocationWatch::LargestAllocationWatch() {
  reset();
  g_track_largest = true;
}
LargestAllocationWatch::~LargestAllocationWatch() { g_track_largest = false; }
std::size_t LargestAllocationWatch::largest() const { return g_largest.load(); }
void LargestAllocationWatch::reset() { g_largest = 0; }

}  // namespace ufm::test
