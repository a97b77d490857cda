// No heap allocation inside the step loops: global operator new/delete and the C allocator
// (Eigen allocates through malloc, not operator new) are replaced by counting versions, and an
// observer reads the counters at its 2nd and last call.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <tuple>
#include <vector>

#include "test_util.hpp"
#include "ufm/dynamics/gradient_descent.hpp"
#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/ufm_objective.hpp"

namespace {
std::size_t g_new_calls = 0;     // operator new (all forms)
std::size_t g_malloc_calls = 0;  // malloc, calloc, realloc, aligned_alloc, posix_memalign, memalign
}  // namespace

// glibc supports replacing malloc; the originals stay reachable under these names.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n) noexcept {
  ++g_malloc_calls;
  return __libc_malloc(n);
}
void* calloc(std::size_t m, std::size_t n) noexcept {
  ++g_malloc_calls;
  return __libc_calloc(m, n);
}
void* realloc(void* p, std::size_t n) noexcept {
  ++g_malloc_calls;
  return __libc_realloc(p, n);
}
void free(void* p) noexcept { __libc_free(p); }
void* memalign(std::size_t a, std::size_t n) noexcept {
  ++g_malloc_calls;
  return __libc_memalign(a, n);
}
void* aligned_alloc(std::size_t a, std::size_t n) noexcept {
  ++g_malloc_calls;
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, std::size_t a, std::size_t n) noexcept {
  ++g_malloc_calls;
  *out = __libc_memalign(a, n);
  return *out != nullptr || n == 0 ? 0 : ENOMEM;
}
}

void* operator new(std::size_t n) {
  ++g_new_calls;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  ++g_new_calls;
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

namespace ufm {
namespace {

/// Reads the counters at its 2nd and at its latest call; never allocates itself.
struct AllocationProbe {
  int calls = 0;
  std::size_t new_at_second = 0, malloc_at_second = 0, new_at_last = 0, malloc_at_last = 0;
  ObserverAction operator()(const Checkpoint&) {
    ++calls;
    new_at_last = g_new_calls;
    malloc_at_last = g_malloc_calls;
    if (calls == 2) new_at_second = new_at_last, malloc_at_second = malloc_at_last;
    return ObserverAction::kContinue;
  }
  std::size_t allocations_after_second() const {
    return (new_at_last - new_at_second) + (malloc_at_last - malloc_at_second);
  }
};

TEST(DynamicsAllocation, CountersSeeEigenAndOperatorNew) {
  const std::size_t m0 = g_malloc_calls, n0 = g_new_calls;
  {
    Vec v(1000);
    v.setZero();
    EXPECT_EQ(g_malloc_calls, m0 + 1);
    auto* p = new std::vector<int>(10);
    EXPECT_EQ(g_new_calls, n0 + 2);
    delete p;
  }
  AllocationProbe probe;  // the probe itself does not allocate
  const Vec theta(3), grad(3);
  const std::size_t m1 = g_malloc_calls, n1 = g_new_calls;
  for (int i = 0; i < 5; ++i) probe(Checkpoint{i, 0.0, 0.0, 0.0, theta, grad});
  EXPECT_EQ(g_malloc_calls, m1);
  EXPECT_EQ(g_new_calls, n1);
}

class DynamicsAllocation : public ::testing::TestWithParam<std::tuple<Loss, Index, Index, Index>> {
 protected:
  UfmObjective objective() const {
    const auto [loss, K, d, n] = GetParam();
    return UfmObjective(K, d, block_labels(balanced_counts(K, n)), loss, BiasMode::kFree, {1e-3, 1e-3, 0.0});
  }
};

template <class Run>
void expect_no_allocation_after_second_checkpoint(const char* name, Run run) {
  AllocationProbe probe;
  const RunSummary s = run(probe);
  EXPECT_TRUE(s.status == RunStatus::kMaxSteps || s.status == RunStatus::kMaxTime) << name << ": " << s.message;
  EXPECT_GE(probe.calls, 3) << name;
  EXPECT_GE(s.steps, 10) << name;  // dopri5 takes ~13 steps on the medium problem
  EXPECT_EQ(probe.allocations_after_second(), 0u)
      << name << ": " << probe.new_at_last - probe.new_at_second << " operator new, "
      << probe.malloc_at_last - probe.malloc_at_second << " malloc";
}

TEST_P(DynamicsAllocation, NoAllocationAfterTheSecondCheckpoint) {
  const UfmObjective f = objective();
  const Vec theta0 = test::random_vec(f.num_params(), 1, 0.3);
  const std::vector<long> steps{0, 1, 50, 100, 199, 200};
  std::vector<double> times{0.0, 0.05};
  for (int i = 1; i <= 20; ++i) times.push_back(0.1 * i);
  for (double beta : {0.0, 0.9}) {
    expect_no_allocation_after_second_checkpoint(beta == 0.0 ? "gd" : "momentum", [&](AllocationProbe& p) {
      Vec theta = theta0;
      return GradientDescent({.lr = 0.01, .max_steps = 200, .momentum = beta}).run(f, theta, steps, p);
    });
  }
  for (Integrator integrator : {Integrator::kRk4, Integrator::kDopri5}) {
    expect_no_allocation_after_second_checkpoint(
        integrator == Integrator::kRk4 ? "rk4" : "dopri5", [&](AllocationProbe& p) {
          Vec theta = theta0;
          const GradientFlow flow({.integrator = integrator,
                                   .dt = 0.01,
                                   .abs_tol = 1e-12,
                                   .rel_tol = 1e-12,
                                   .max_time = 2.05});  // 2.05: a shortened last step
          return flow.run(f, theta, times, p);
        });
  }
}

INSTANTIATE_TEST_SUITE_P(SmallAndMedium, DynamicsAllocation,
                         ::testing::Values(std::make_tuple(Loss::kMse, Index{3}, Index{4}, Index{3}),
                                           std::make_tuple(Loss::kCrossEntropy, Index{3}, Index{4}, Index{3}),
                                           std::make_tuple(Loss::kCrossEntropy, Index{10}, Index{32}, Index{20})));

/// An objective that allocates a temporary in every evaluation: the probe must notice.
struct Allocating {
  Index num_params() const { return 4; }
  double value(const Vec& x) const { return 0.5 * x.squaredNorm(); }
  double value_and_gradient(const Vec& x, Vec& g) const {
    const Vec copy = x;  // heap allocation
    g = copy;
    return value(x);
  }
};

TEST(DynamicsAllocation, ProbeDetectsAnAllocatingObjective) {
  AllocationProbe probe;
  Vec theta = Vec::Ones(4);
  const std::vector<long> steps{0, 1, 100};
  GradientDescent({.lr = 0.01, .max_steps = 100}).run(Allocating{}, theta, steps, probe);
  EXPECT_GE(probe.allocations_after_second(), 99u);
}

}  // namespace
}  // namespace ufm
