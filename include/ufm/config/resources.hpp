#pragma once
/// Will a run fit in memory? Estimated from the sizes alone, before anything is allocated, so that
/// `--dim 1e9` is refused with exit 2 instead of dying of std::bad_alloc (or the OOM killer) later.
#include <cstdint>
#include <string>

#include "ufm/config/run_config.hpp"

namespace ufm {

/// Bytes a run of this (validated, not yet resolved) config needs at its peak, from the sizes alone
/// and in long double, so that nothing is allocated and no product of sizes can overflow: the
/// parameter-sized vectors of its dynamics (θ, gradient, integrator stages), the objective's
/// per-sample work buffers, the metrics of one checkpoint, and the trajectory held for
/// --format json. An upper estimate.
long double estimated_run_bytes(const RunConfig& config);

/// Bytes `ufm-sim theory` needs: a few K-sized vectors and their JSON.
long double estimated_theory_bytes(const RunConfig& config);

/// What this process may allocate: the smallest of MemAvailable (/proc/meminfo), the cgroup's
/// memory.max less its current use, and the soft RLIMIT_AS and RLIMIT_DATA less the address space of
/// the threads that may run products (OpenBLAS's 128 MiB buffer each, arenas and stacks), which
/// those limits count and the others do not.
std::uint64_t available_memory_bytes();

/// Throws ConfigError naming the size option that dominates the estimate, the estimate and the
/// limit when `needed` exceeds what is available.
/// Call after validate() and before resolve(), which allocates the K class counts.
void require_memory(const RunConfig& config, long double needed, const std::string& what);

/// The same against `available` (available_memory_bytes(), read once): a grid checks each of its
/// points against one reading, not three files read per point (a third of resolving a point).
void require_memory(const RunConfig& config, long double needed, const std::string& what, std::uint64_t available);

/// "3.2 GiB".
std::string human_bytes(long double bytes);

}  // namespace ufm
