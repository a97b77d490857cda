// No heap allocation inside the step loops: an observer reads the allocation counters
// (allocation_counter.hpp) at its 2nd and last call.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <tuple>
#include <vector>

#include "allocation_counter.hpp"
#include "test_util.hpp"
#include "ufm/dynamics/gradient_descent.hpp"
#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/ufm_objective.hpp"

namespace ufm {
namespace {

/// Reads the counters at its 2nd and at its latest call; never allocates itself.
struct AllocationProbe {
  int calls = 0;
  std::size_t new_at_second = 0, malloc_at_second = 0, new_at_last = 0, malloc_at_last = 0;
  ObserverAction operator()(const Checkpoint&) {
    ++calls;
    new_at_last = test::new_calls();
    malloc_at_last = test::malloc_calls();
    if (calls == 2) new_at_second = new_at_last, malloc_at_second = malloc_at_last;
    return ObserverAction::kContinue;
  }
  std::size_t allocations_after_second() const {
    return (new_at_last - new_at_second) + (malloc_at_last - malloc_at_second);
  }
};

TEST(DynamicsAllocation, CountersSeeEigenAndOperatorNew) {
  const std::size_t m0 = test::malloc_calls(), n0 = test::new_calls();
  {
    Vec v(1000);
    v.setZero();
    EXPECT_EQ(test::malloc_calls(), m0 + 1);
    auto* p = new std::vector<int>(10);
    EXPECT_EQ(test::new_calls(), n0 + 2);
    delete p;
  }
  AllocationProbe probe;  // the probe itself does not allocate
  const Vec theta(3), grad(3);
  const std::size_t m1 = test::malloc_calls(), n1 = test::new_calls();
  for (int i = 0; i < 5; ++i) probe(Checkpoint{i, 0.0, 0.0, 0.0, theta, grad});
  EXPECT_EQ(test::malloc_calls(), m1);
  EXPECT_EQ(test::new_calls(), n1);
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
  // The default slopes (full at these sizes), then the low-rank ones forced on.
  for (const LowRankSlopes slopes : {LowRankSlopes::kAuto, LowRankSlopes::kAlways})
    for (const Integrator integrator : {Integrator::kRk4, Integrator::kDopri5}) {
      const bool rk4 = integrator == Integrator::kRk4;
      const char* name = slopes == LowRankSlopes::kAlways ? (rk4 ? "rk4, low-rank slopes" : "dopri5, low-rank slopes")
                                                          : (rk4 ? "rk4" : "dopri5");
      expect_no_allocation_after_second_checkpoint(name, [&](AllocationProbe& p) {
        Vec theta = theta0;
        const GradientFlow flow({.integrator = integrator,
                                 .dt = 0.01,
                                 .abs_tol = 1e-12,
                                 .rel_tol = 1e-12,
                                 .max_time = 2.05,  // 2.05: a shortened last step
                                 .low_rank_slopes = slopes});
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
