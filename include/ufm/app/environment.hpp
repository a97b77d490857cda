#pragma once
/// The `environment` object of every output: threads, Eigen, compiler, BLAS, and the machine (CPU
/// model and the widest vector extension this build uses), so that a timing can be read against
/// the machine it came from.
#include <nlohmann/json.hpp>

namespace ufm {

nlohmann::ordered_json environment_json();

/// "AVX-512", "AVX2", "AVX", "SSE2" or "scalar": the widest vector extension compiled in.
const char* vector_isa();

/// The value of the first line of /proc/cpuinfo whose key is exactly `field` ("model name", "cpu
/// family", "model"), or "unknown".
std::string cpuinfo_field(const std::string& field);

}  // namespace ufm
