#include "ufm/linalg.hpp"

#include <cstdint>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#ifdef UFM_USE_OPENBLAS
extern "C" {
void openblas_set_num_threads(int num_threads);
char* openblas_get_config(void);
}
#endif

namespace ufm {

void advise_huge_pages(Vec& v) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
  if (static_cast<double>(v.size()) * sizeof(double) < 4.0 * static_cast<double>(kHugePage)) return;
  const auto first = reinterpret_cast<std::uintptr_t>(v.data());
  const auto last = reinterpret_cast<std::uintptr_t>(v.data() + v.size());
  const std::uintptr_t begin = (first + kHugePage - 1) & ~(kHugePage - 1), end = last & ~(kHugePage - 1);
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // advice only
#else
  (void)v;
#endif
}

void resize_large(Vec& v, Index n) {
  if (v.size() == n) return;
  v.resize(n);
  advise_huge_pages(v);
}

#ifdef UFM_USE_OPENBLAS
bool detail::pin_openblas_to_one_thread() {
  openblas_set_num_threads(1);
  return true;
}

const char* blas_backend() {
  static const std::string name = std::string(openblas_get_config()) + " (1 thread)";
  return name.c_str();
}
#else
const char* blas_backend() { return "Eigen"; }
#endif

}  // namespace ufm
