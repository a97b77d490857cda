// advise_huge_pages / resize_large: a large θ-sized vector, advised before its first write, is backed
// by transparent huge pages where the kernel offers them (/proc/self/smaps), and its values are the
// ones written. Skipped where the kernel has no transparent huge pages (or has them "never").
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "ufm/linalg.hpp"

namespace ufm {
namespace {

/// kB of AnonHugePages in the mappings of /proc/self/smaps that overlap [begin, end).
long anon_huge_kb(std::uintptr_t begin, std::uintptr_t end) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  long kb = 0;
  while (std::getline(smaps, line)) {
    std::uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo < end && begin < hi;
      continue;
    }
    if (inside && line.rfind("AnonHugePages:", 0) == 0) kb += std::stol(line.substr(14));
  }
  return kb;
}

TEST(HugePages, ALargeAdvisedVectorIsBackedByHugePagesAndKeepsItsValues) {
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(thp, modes);
  if (modes.empty() || modes.find("[never]") != std::string::npos)
    GTEST_SKIP() << "no transparent huge pages here: '" << modes << "'";
  Vec v;
  resize_large(v, Index{6} << 20);  // 48 MiB
  ASSERT_EQ(v.size(), Index{6} << 20);
  for (Index i = 0; i < v.size(); ++i) v(i) = static_cast<double>(i % 1000);
  const auto begin = reinterpret_cast<std::uintptr_t>(v.data());
  EXPECT_GE(anon_huge_kb(begin, begin + sizeof(double) * static_cast<std::uintptr_t>(v.size())), 2048) << modes;
  for (Index i = 0; i < v.size(); i += 4099) ASSERT_EQ(v(i), static_cast<double>(i % 1000));
  Vec same = v;
  resize_large(v, v.size());  // the same size: nothing is reallocated
  EXPECT_EQ(v, same);
}

}  // namespace
}  // namespace ufm
