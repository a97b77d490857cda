#include "ufm/config/resources.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <numeric>
#include <sstream>

#include "ufm/config/config_error.hpp"
#include "ufm/parallel.hpp"

namespace ufm {
namespace {

using Real = long double;

/// θ-sized vectors each dynamics keeps: GD θ, gradient, last checkpoint; momentum + velocity;
/// RK4 its four stages and temporaries; dopri5 seven stages, error, dense output, checkpoint copies.
Real parameter_vectors(const RunConfig& c) {
  switch (c.dynamics) {
    case Dynamics::kGd: return 3;
    case Dynamics::kMomentum: return 4;
    case Dynamics::kFlow: return 16;  // dopri5's count; RK4 needs fewer
  }
  return 16;
}

Real classes(const RunConfig& c) {
  return static_cast<Real>(c.class_counts.empty() ? c.classes : static_cast<Index>(c.class_counts.size()));
}

/// N as resolve_class_counts will make it, without building the list.
Real samples(const RunConfig& c) {
  if (!c.class_counts.empty()) return std::accumulate(c.class_counts.begin(), c.class_counts.end(), Real{0});
  const Real K = classes(c), n = static_cast<Real>(c.per_class);
  if (!c.imbalance) return K * n;
  const Real majority = static_cast<Real>(c.majority_classes.value_or(std::max<Index>(1, c.classes / 2)));
  const Real minority = std::max<Real>(1, std::round(n / static_cast<Real>(*c.imbalance)));
  return majority * n + (K - majority) * minority;
}

/// d₁ … d_{L−1} as resolve() will make them (L ≤ 10000 by the option's range).
std::vector<Real> hidden_widths_real(const RunConfig& c) {
  std::vector<Real> w;
  if (!c.widths.empty())
    for (Index x : c.widths) w.push_back(static_cast<Real>(x));
  else
    w.assign(static_cast<std::size_t>(std::max<Index>(0, c.layers - 1)), static_cast<Real>(c.width.value_or(c.dim)));
  return w;
}

std::uint64_t read_u64(const std::string& path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return std::numeric_limits<std::uint64_t>::max();
  try {
    return std::stoull(word);
  } catch (...) {
    return std::numeric_limits<std::uint64_t>::max();
  }
}

/// The cgroup v2 limit of this process less its current use; max() when there is none.
std::uint64_t cgroup_headroom() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) != 0) continue;
    const std::string dir = "/sys/fs/cgroup" + line.substr(3);
    const std::uint64_t max = read_u64(dir + "/memory.max");
    if (max == std::numeric_limits<std::uint64_t>::max()) return max;
    const std::uint64_t current = read_u64(dir + "/memory.current");
    return current < max ? max - current : 0;
  }
  return std::numeric_limits<std::uint64_t>::max();
}

constexpr long double kMiB = 1 << 20;

/// Address space each thread that may run a product takes beyond what estimated_run_bytes counts:
/// OpenBLAS's work buffer (malloc of 128 MiB + a page on the first product a thread runs, mostly
/// untouched pages) and, for each thread past the first, glibc's arena reservation (64 MiB) and
/// its stack. Only RLIMIT_AS and RLIMIT_DATA count such pages; MemAvailable and the cgroup do not.
/// Under ulimit -v 300000 a K = 3, d = 4 run on two threads hung in OpenBLAS's failed malloc.
long double thread_address_space() {
  const auto threads = static_cast<long double>(std::max(1, max_threads()));
#ifdef UFM_USE_OPENBLAS
  const long double blas = threads * (128 * kMiB + 4096);
#else
  const long double blas = 0;
#endif
  rlimit stack{};
  const long double stack_bytes =
      getrlimit(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur != RLIM_INFINITY ? stack.rlim_cur : 8 * kMiB;
  return blas + (threads - 1) * (64 * kMiB + stack_bytes);
}

}  // namespace

std::string human_bytes(long double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) bytes /= 1024, ++u;
  char buf[64];
  if (bytes >= 1e6L) std::snprintf(buf, sizeof buf, "%.3Lg %s", bytes, units[u]);
  else std::snprintf(buf, sizeof buf, u == 0 ? "%.0Lf %s" : "%.1Lf %s", bytes, units[u]);
  return buf;
}

long double estimated_run_bytes(const RunConfig& c) {
  const Real N = samples(c), K = classes(c);
  std::vector<Real> dims{static_cast<Real>(c.dim)};  // d₀ … d_{L−1}
  for (Real w : hidden_widths_real(c)) dims.push_back(w);
  Real weights = 0, activations = 0, widest = 0, padding = 0;
  for (std::size_t l = 0; l < dims.size(); ++l) {
    const Real rows = l + 1 < dims.size() ? dims[l + 1] : K;
    weights += rows * dims[l];
    padding += 23 * (rows + dims[l]);  // the packed W_l and W_lᵀ round their rows up to 24
    if (l > 0) activations += dims[l];
    widest = std::max(widest, dims[l]);
  }
  const Real params = dims[0] * N + weights + K;
  const Real bytes = 8;
  Real total = parameter_vectors(c) * params * bytes + (K + N) * bytes;  // + class counts and labels
  // Objective: logits/residual K×N, and per hidden layer A_l (σ applied in place) and dL/dA_l
  // (d_l×N); the chunks' partial weight gradients (at most 8 copies, capped at 64 MiB unless one
  // chunk needs more); W_l and W_lᵀ packed for the products.
  total += (2 * K + 2 * activations) * N * bytes + std::max<Real>(64.0L * (1 << 20), weights * bytes) +
           (2 * weights + padding) * bytes;
  // One checkpoint's metrics: a copy of every feature level, the centered features, a Gram matrix
  // of the smaller side with its eigen-solver workspace, the logits; with hidden layers, as many again
  // d×d matrices (a linear stack's Σ_W, its two class scatters, Q_lᵀQ_l and each level's Gram).
  const Real levels = (dims[0] + activations) * N;
  const Real gram = std::min(widest, N);
  const Real grams = dims.size() > 1 ? 8 : 4;
  total += (2 * levels + grams * gram * gram + 4 * K * N) * bytes;
  // --format json holds the trajectory: ~60 numbers and the spectra per level, ~100 bytes each in
  // memory, the spectra counted twice as a margin. Measured peak per level and checkpoint: 5.1-5.9 KB
  // with spectra of 4 values (--layers 500 and 3000, d = 4), 11.6 KB with 64 (d = 64); counted 6.8
  // and 18.8 KB.
  const Real checkpoints = static_cast<Real>(c.num_checkpoints);
  const Real spectrum = c.max_singular_values > 0 ? std::min<Real>(static_cast<Real>(c.max_singular_values), widest)
                                                   : widest;
  if (c.format == OutputFormat::kJson)
    total += checkpoints * (80 + static_cast<Real>(dims.size()) * (60 + 2 * spectrum) + 2 * K) * 100;
  return total + 32.0L * (1 << 20);  // the program, its libraries and thread stacks
}

long double estimated_theory_bytes(const RunConfig& c) { return 16.0L * classes(c) * 100 + 32.0L * (1 << 20); }

std::uint64_t available_memory_bytes() {
  std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") limit = std::min(limit, kib * 1024);
  const long double threads = thread_address_space();
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    rlimit rl{};
    if (getrlimit(resource, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
      limit = std::min<std::uint64_t>(
          limit, static_cast<std::uint64_t>(std::max<long double>(0, static_cast<long double>(rl.rlim_cur) - threads)));
  }
  return std::min(limit, cgroup_headroom());
}

void require_memory(const RunConfig& c, long double needed, const std::string& what) {
  require_memory(c, needed, what, available_memory_bytes());
}

void require_memory(const RunConfig& c, long double needed, const std::string& what, std::uint64_t available) {
  if (needed <= static_cast<long double>(available)) return;
  // Blame the given size option whose value is largest relative to its default.
  struct Candidate {
    const char* option;
    long double value, reference;
  };
  std::vector<Candidate> candidates = {{"--dim", static_cast<long double>(c.dim), 16},
                                       {"--classes", classes(c), 4},
                                       {"--num-checkpoints", static_cast<long double>(c.num_checkpoints), 100}};
  if (c.class_counts.empty())
    candidates.push_back({"--per-class", static_cast<long double>(c.per_class), 10});
  else
    candidates.push_back({"--class-counts",
                          std::accumulate(c.class_counts.begin(), c.class_counts.end(), 0.0L) /
                              static_cast<long double>(c.class_counts.size()),
                          10});
  if (c.layers > 1) {
    candidates.push_back({"--layers", static_cast<long double>(c.layers), 2});
    long double widest = 0;
    for (Real w : hidden_widths_real(c)) widest = std::max(widest, w);
    candidates.push_back({c.widths.empty() ? "--width" : "--widths", widest, 16});
  }
  const Candidate& worst = *std::max_element(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return a.value / a.reference < b.value / b.reference;
  });
  std::ostringstream value;
  value.precision(15);
  value << worst.value;
  throw ConfigError(std::string(worst.option) + ": got " + value.str() + ", but " + what + " would need about " +
                        human_bytes(needed) + " of memory and " + human_bytes(available) +
                        " is available (the least of MemAvailable, the cgroup's memory.max and ulimit -v/-d less " +
                        human_bytes(thread_address_space()) + " for " + std::to_string(std::max(1, max_threads())) +
                        " threads' OpenBLAS buffers, heaps and stacks; OMP_NUM_THREADS sets their number); "
                        "allowed: sizes that fit",
                    worst.option);
}

}  // namespace ufm
