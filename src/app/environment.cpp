#include "ufm/app/environment.hpp"

#include <fstream>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ufm/linalg.hpp"

namespace ufm {

const char* vector_isa() {
#if defined(__AVX512F__)
  return "AVX-512";
#elif defined(__AVX2__)
  return "AVX2";
#elif defined(__AVX__)
  return "AVX";
#elif defined(__SSE2__)
  return "SSE2";
#else
  return "scalar";
#endif
}

/// The value of the first "<field> : value" line of /proc/cpuinfo whose key is exactly `field` (so
/// "model" is not "model name"), or "unknown".
std::string cpuinfo_field(const std::string& field) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::size_t key_end = colon;
    while (key_end > 0 && (line[key_end - 1] == ' ' || line[key_end - 1] == '\t')) --key_end;
    if (line.compare(0, key_end, field) != 0 || key_end != field.size()) continue;
    return colon + 2 <= line.size() ? line.substr(colon + 2) : std::string();
  }
  return "unknown";
}

nlohmann::ordered_json environment_json() {
  nlohmann::ordered_json e;
#ifdef _OPENMP
  e["threads"] = omp_get_max_threads();
#else
  e["threads"] = 1;
#endif
  e["eigen"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
               std::to_string(EIGEN_MINOR_VERSION);
  e["compiler"] = __VERSION__;
  e["blas"] = blas_backend();
  e["cpu"] = cpuinfo_field("model name");
  // "AMD EPYC" or "Intel(R) Xeon(R) Processor" alone does not say which core: AMD's family 25 is
  // Zen 3/4, 26 Zen 5; Intel's family 6 needs the model number.
  e["cpu_vendor"] = cpuinfo_field("vendor_id");
  e["cpu_family"] = cpuinfo_field("cpu family");
  e["cpu_model"] = cpuinfo_field("model");
  e["isa"] = vector_isa();
  return e;
}

}  // namespace ufm
