// GradientFlow runs odeint's steppers on LazyVec (dynamics/lazy_state.hpp): the stage points, RK
// updates and error estimates are formed inside the objective's pass and the error norm's pass.
// These tests hold it to odeint's stock Eigen vector-space algebra, run here side by side on the
// same objective: RK4 and dopri5 (including its dense-output checkpoints) give the same states bit
// for bit, because every formed entry is computed in odeint's own order. Thread-count independence
// is checked at a size where both the objective and the lazy passes run on OpenMP threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

// clang-format off
#include <boost/numeric/odeint/algebra/algebra_dispatcher.hpp>
#include <boost/numeric/odeint/algebra/vector_space_algebra.hpp>
#include <boost/numeric/odeint/external/eigen/eigen.hpp>
// clang-format on
#include <boost/numeric/odeint/stepper/controlled_runge_kutta.hpp>
#include <boost/numeric/odeint/stepper/dense_output_runge_kutta.hpp>
#include <boost/numeric/odeint/stepper/runge_kutta4.hpp>
#include <boost/numeric/odeint/stepper/runge_kutta_dopri5.hpp>

#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/dynamics/lazy_state.hpp"
#include "ufm/objectives/detail/ufm_kernels.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/ufm_objective.hpp"
#include "ufm/random.hpp"

namespace ufm {
namespace {

namespace odeint = boost::numeric::odeint;

struct FusedFlowProblem {
  UfmObjective f;
  Vec theta0;
};

/// A one-layer UFM with bias; d·N ≥ 2²¹ takes the objective's streaming path (packed blocks,
/// non-temporal gradient stores).
FusedFlowProblem fused_flow_problem(Index K, Index n, Index d, Loss loss, std::uint64_t seed) {
  UfmObjective f(K, d, block_labels(balanced_counts(K, n)), loss, BiasMode::kRegularized, {5e-4, 5e-4, 5e-4});
  Vec theta(f.num_params());
  fill_gaussian(theta, 0.3, seed);
  return {std::move(f), std::move(theta)};
}

/// `steps` RK4 steps of odeint's stock stepper on Eigen vectors: dx/ds = +∇F with step −dt, as
/// GradientFlow integrates dx/dt = −∇F.
Vec stock_rk4(const UfmObjective& f, Vec x, double dt, int steps) {
  odeint::runge_kutta4<Vec, double, Vec, double, odeint::vector_space_algebra> stepper;
  auto system = [&f](const Vec& s, Vec& g, double) { f.value_and_gradient(s, g); };
  for (int k = 0; k < steps; ++k) stepper.do_step(system, x, -k * dt, -dt);
  return x;
}

/// GradientFlow's error norm before LazyVec, on materialized Eigen vectors.
struct StockErrorChecker {
  double abs_tol, rel_tol;
  template <class Algebra>
  double error(Algebra&, const Vec& x_old, const Vec& dxdt_old, const Vec& x_err, double dt) const {
    return (x_err.array().abs() / (abs_tol + rel_tol * (x_old.array().abs() + std::abs(dt) * dxdt_old.array().abs())))
        .template maxCoeff<Eigen::PropagateNaN>();
  }
};

using StockDopri5 = odeint::dense_output_runge_kutta<odeint::controlled_runge_kutta<
    odeint::runge_kutta_dopri5<Vec, double, Vec, double, odeint::vector_space_algebra>, StockErrorChecker>>;

/// The states GradientFlow observes at its checkpoints.
struct Observed {
  std::vector<double> times;
  std::vector<Vec> states;
  ObserverAction operator()(const Checkpoint& c) {
    times.push_back(c.time);
    states.push_back(c.theta);
    return ObserverAction::kContinue;
  }
};

TEST(FusedFlow, Rk4StatesAreBitIdenticalToOdeintsEigenAlgebra) {
  // K = 30: the backward through GEMM products (K > 24), the last stage's gradient in scratch too.
  for (const auto& [K, n, d] :
       {std::tuple<Index, Index, Index>{3, 5, 4}, {10, 40, 24}, {4, 2048, 256}, {30, 6, 16}}) {
    const FusedFlowProblem p = fused_flow_problem(K, n, d, Loss::kCrossEntropy, 7);
    const int steps = 5;
    const double dt = 0.25;
    Vec theta = p.theta0;
    // The full slopes: at K = 4, d·N·8 = 16 MiB the default keeps them low rank, which agrees to
    // rounding only (test_low_rank_slopes.cpp).
    const RunSummary s = GradientFlow({.integrator = Integrator::kRk4,
                                       .dt = dt,
                                       .max_time = steps * dt,
                                       .low_rank_slopes = LowRankSlopes::kNever})
                             .run(p.f, theta, {}, NullObserver{});
    ASSERT_EQ(s.status, RunStatus::kMaxTime) << s.message;
    EXPECT_EQ(s.gradient_evaluations, 4 * steps + 1);
    const Vec expected = stock_rk4(p.f, p.theta0, dt, steps);
    EXPECT_EQ(theta, expected) << "K=" << K << " n=" << n << " d=" << d
                               << " max |diff| = " << (theta - expected).lpNorm<Eigen::Infinity>();
    EXPECT_NE(theta, p.theta0);  // the flow moved
  }
}

TEST(FusedFlow, Dopri5AcceptedAndInterpolatedStatesAreBitIdenticalToOdeintsEigenAlgebra) {
  for (const Loss loss : {Loss::kCrossEntropy, Loss::kMse}) {
    const FusedFlowProblem p = fused_flow_problem(4, 30, 16, loss, 11);
    const double tol = 1e-8, dt0 = 0.01;
    const int steps = 25;

    // Stock: the accepted states, and the dense output at the midpoint of every step.
    StockDopri5 stock(odeint::controlled_runge_kutta<odeint::runge_kutta_dopri5<Vec, double, Vec, double,
                                                                                odeint::vector_space_algebra>,
                                                     StockErrorChecker>(StockErrorChecker{tol, tol}));
    auto system = [&p](const Vec& x, Vec& dx, double) {
      p.f.value_and_gradient(x, dx);
      dx *= -1.0;
    };
    stock.initialize(p.theta0, 0.0, dt0);
    std::vector<double> mids, ends;
    std::vector<Vec> accepted, interpolated;
    Vec xm(p.theta0.size());
    for (int k = 0; k < steps; ++k) {
      const auto [t0, t1] = stock.do_step(system);
      mids.push_back(0.5 * (t0 + t1));
      ends.push_back(t1);
      stock.calc_state(mids.back(), xm);
      interpolated.push_back(xm);
      accepted.push_back(stock.current_state());
    }

    // GradientFlow, observing the midpoints and every accepted state (checkpoints at their times).
    std::vector<double> times;
    for (int k = 0; k < steps; ++k) {
      times.push_back(mids[static_cast<std::size_t>(k)]);
      times.push_back(ends[static_cast<std::size_t>(k)]);
    }
    Vec theta = p.theta0;
    Observed seen;
    const RunSummary s = GradientFlow({.integrator = Integrator::kDopri5, .dt = dt0, .abs_tol = tol, .rel_tol = tol,
                                       .max_time = 1e9, .max_steps = steps})
                             .run(p.f, theta, times, seen);
    ASSERT_EQ(s.status, RunStatus::kMaxSteps) << s.message;
    ASSERT_EQ(seen.states.size(), static_cast<std::size_t>(2 * steps));
    for (int k = 0; k < steps; ++k) {
      const auto i = static_cast<std::size_t>(k);
      EXPECT_EQ(seen.times[2 * i], mids[i]);
      EXPECT_EQ(seen.states[2 * i], interpolated[i]) << "midpoint of step " << k;
      EXPECT_EQ(seen.times[2 * i + 1], ends[i]);
      EXPECT_EQ(seen.states[2 * i + 1], accepted[i]) << "accepted step " << k;
    }
    EXPECT_EQ(theta, accepted.back());
  }
}

#ifdef _OPENMP
TEST(FusedFlow, Rk4AndDopri5AreBitIdenticalForOneAndTwoThreads) {
  // d·N = 2^19 entries of H: the lazy passes (≥ 2^18) and the objective (≥ 2·10^7 flops) both go parallel.
  const FusedFlowProblem p = fused_flow_problem(8, 1024, 64, Loss::kCrossEntropy, 3);
  const int before = omp_get_max_threads();
  std::vector<Vec> finals;
  for (const int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const Integrator integrator : {Integrator::kRk4, Integrator::kDopri5}) {
      Vec theta = p.theta0;
      const RunSummary s = GradientFlow({.integrator = integrator, .dt = 0.05, .abs_tol = 1e-9, .rel_tol = 1e-9,
                                         .max_time = 0.5})
                               .run(p.f, theta, std::vector<double>{0.123, 0.5}, NullObserver{});
      EXPECT_EQ(s.status, RunStatus::kMaxTime) << s.message;
      finals.push_back(theta);
    }
  }
  omp_set_num_threads(before);
  EXPECT_EQ(finals[0], finals[2]);  // RK4, 1 vs 2 threads
  EXPECT_EQ(finals[1], finals[3]);  // dopri5
  EXPECT_NE(finals[0], finals[1]);
}
#endif

/// The UFM objective with the error-norm overload hidden: GradientFlow then computes every dopri5
/// error norm in a pass of its own, as before the fold.
struct WithoutErrorNorm {
  const UfmObjective& f;
  Index num_params() const { return f.num_params(); }
  double value(const Vec& theta) const { return f.value(theta); }
  double value_and_gradient(const Vec& theta, Vec& grad) const { return f.value_and_gradient(theta, grad); }
  double value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store) const {
    return f.value_and_gradient_at(x, grad, store);
  }
};
static_assert(StagePointObjective<WithoutErrorNorm> && !ErrorNormObjective<WithoutErrorNorm>);

/// UfmObjective without value_gradient_and_logits(_at): the flow evaluates it as before those existed.
struct NoLogits : WithoutErrorNorm {
  using WithoutErrorNorm::value_and_gradient_at;
  double value_and_gradient_at(const LinearCombination& x, Vec& g, double* store, const ScaledErrorSpec& error,
                               double& norm) const {
    return f.value_and_gradient_at(x, g, store, error, norm);
  }
};
static_assert(ErrorNormObjective<NoLogits> && !CheckpointLogitsObjective<NoLogits>);

TEST(FusedFlow, ScheduledStatesHandTheirLogitsWithoutChangingTheTrajectory) {
  // RK4's scheduled states, dopri5's start, its interpolated checkpoints and the end of its last step
  // are evaluated with their logits (Checkpoint::logits_t = (W H)ᵀ of the observed state), stage
  // points included (the interpolated ones are formed in the pass, the last step's end in the pass
  // that also takes its error norm); the states are the same doubles as without.
  for (const Loss loss : {Loss::kCrossEntropy, Loss::kMse}) {
    const FusedFlowProblem p = fused_flow_problem(3, 7, 6, loss, 11);
    const UfmLayout& L = p.f.layout();
    for (const Integrator integrator : {Integrator::kRk4, Integrator::kDopri5}) {
      const GradientFlow flow({.integrator = integrator, .dt = 0.05, .abs_tol = 1e-9, .rel_tol = 1e-9,
                               .max_time = 0.5});
      const std::vector<double> times{0.0, 0.15, 0.35};
      int handed = 0;
      std::vector<Vec> with, without;
      auto check = [&](const Checkpoint& c) {
        with.push_back(c.theta);
        if (c.logits_t) {
          ++handed;
          const Mat want = (L.W(c.theta) * L.H(c.theta)).transpose();
          EXPECT_LT((*c.logits_t - want).cwiseAbs().maxCoeff(), 1e-13 * want.cwiseAbs().maxCoeff()) << c.time;
        }
        return ObserverAction::kContinue;
      };
      Vec theta = p.theta0, plain = p.theta0;
      flow.run(p.f, theta, times, check);
      Observed seen;
      flow.run(NoLogits{{p.f}}, plain, times, seen);
      EXPECT_EQ(theta, plain);
      ASSERT_EQ(with.size(), seen.states.size());
      for (std::size_t i = 0; i < with.size(); ++i) EXPECT_EQ(with[i], seen.states[i]) << i;
      // t = 0, 0.15, 0.35 and the end, 0.5
      EXPECT_EQ(handed, 4) << (integrator == Integrator::kRk4 ? "rk4" : "dopri5");
      EXPECT_EQ(with.size(), 4u);
    }
  }
}

TEST(FusedFlow, Dopri5HandsTheLogitsOfAStepEndSureToBeObserved) {
  // A step that ends the step budget, or ends exactly at a checkpoint, is observed at its end: the
  // evaluation of its last stage (which also takes the error norm) hands that state's logits, and
  // the trajectory is the same doubles as without.
  const FusedFlowProblem p = fused_flow_problem(3, 7, 6, Loss::kCrossEntropy, 11);
  const UfmLayout& L = p.f.layout();
  auto flow = [](long max_steps) {
    return GradientFlow({.integrator = Integrator::kDopri5, .dt = 0.05, .abs_tol = 1e-9, .rel_tol = 1e-9,
                         .max_time = 1.0, .max_steps = max_steps});
  };
  struct Seen {
    std::vector<double> times;
    std::vector<Vec> states;
    int handed = 0;
  };
  auto record = [&](Seen& seen) {
    return [&](const Checkpoint& c) {
      seen.times.push_back(c.time);
      seen.states.push_back(c.theta);
      if (c.logits_t) {
        ++seen.handed;
        const Mat want = (L.W(c.theta) * L.H(c.theta)).transpose();
        EXPECT_LT((*c.logits_t - want).cwiseAbs().maxCoeff(), 1e-13 * want.cwiseAbs().maxCoeff()) << c.time;
      }
      return ObserverAction::kContinue;
    };
  };
  Seen budget1, budget;  // the ends of steps 1 and 2, each the budget's last
  Vec theta1 = p.theta0, theta = p.theta0;
  EXPECT_EQ(flow(1).run(p.f, theta1, {}, record(budget1)).status, RunStatus::kMaxSteps);
  EXPECT_EQ(flow(2).run(p.f, theta, {}, record(budget)).status, RunStatus::kMaxSteps);
  ASSERT_EQ(budget.times.size(), 1u);
  EXPECT_EQ(budget.handed, 1);
  const double t1 = budget1.times.at(0), t2 = budget.times[0], mid = 0.5 * (t1 + t2);
  ASSERT_GT(t1, 0.0);
  ASSERT_LT(t1, mid);
  ASSERT_LT(mid, t2);
  ASSERT_LT(t2, 0.9);

  // Checkpoints inside step 2 and at exactly its end, then the end T = 1.
  const std::vector<double> times{mid, t2};
  Seen at, plain;
  Vec theta_at = p.theta0, theta_plain = p.theta0;
  EXPECT_EQ(flow(1000).run(p.f, theta_at, times, record(at)).status, RunStatus::kMaxTime);
  flow(1000).run(NoLogits{{p.f}}, theta_plain, times, record(plain));
  ASSERT_EQ(at.times, (std::vector<double>{mid, t2, 1.0}));
  EXPECT_EQ(at.handed, 3);
  EXPECT_EQ(plain.handed, 0);
  EXPECT_EQ(at.states, plain.states);
  EXPECT_EQ(at.states[1], budget.states[0]);  // observed at the step's end, not interpolated
  EXPECT_EQ(theta_at, theta_plain);
}

#ifdef _OPENMP
TEST(FusedFlow, Dopri5WithTheRmsNormIsBitIdenticalForOneAndTwoThreads) {
  // The RMS norm sums squares per chunk, the chunks' sums in chunk order: no thread-count dependence.
  const FusedFlowProblem p = fused_flow_problem(8, 1024, 64, Loss::kCrossEntropy, 3);
  const int before = omp_get_max_threads();
  std::vector<Vec> finals;
  std::vector<long> steps;
  for (const int threads : {1, 2}) {
    omp_set_num_threads(threads);
    Vec theta = p.theta0;
    const RunSummary s = GradientFlow({.integrator = Integrator::kDopri5, .dt = 0.05, .abs_tol = 1e-9,
                                       .rel_tol = 1e-9, .error_norm = ErrorNorm::kRms, .max_time = 0.5})
                             .run(p.f, theta, std::vector<double>{0.123, 0.5}, NullObserver{});
    EXPECT_EQ(s.status, RunStatus::kMaxTime) << s.message;
    finals.push_back(theta);
    steps.push_back(s.steps);
  }
  omp_set_num_threads(before);
  EXPECT_EQ(finals[0], finals[1]);
  EXPECT_EQ(steps[0], steps[1]);
}
#endif

/// Two slopes k1, k2 of the problem's size (Gaussian, seeds 21 and 22) and the stage point
/// θ₀ − 0.1 k1 + 0.37 k2 over them.
struct StagePoint {
  Vec k1, k2;
  LinearCombination point;
  explicit StagePoint(const FusedFlowProblem& p) : k1(p.f.num_params()), k2(p.f.num_params()) {
    fill_gaussian(k1, 1.0, 21);
    fill_gaussian(k2, 1.0, 22);
    point.add(1.0, p.theta0.data());
    point.add(-0.1, k1.data());
    point.add(0.37, k2.data());
  }
};

TEST(FusedFlow, UfmEvaluatesAStagePointAsIfFormedFirst) {
  for (const auto& [K, n, d] : {std::tuple<Index, Index, Index>{3, 7, 5}, {30, 20, 16}, {4, 2048, 256}}) {
    const FusedFlowProblem p = fused_flow_problem(K, n, d, Loss::kCrossEntropy, 5);
    const Index m = p.f.num_params();
    const StagePoint sp(p);
    const Vec &k1 = sp.k1, &k2 = sp.k2;
    const LinearCombination& c = sp.point;
    Vec formed(m), expected_grad(m);
    c.form(0, m, formed.data());
    const double expected = p.f.value_and_gradient(formed, expected_grad);

    Vec grad(m), store(m);
    EXPECT_EQ(p.f.value_and_gradient_at(c, grad, nullptr), expected);
    EXPECT_EQ(grad, expected_grad);
    EXPECT_EQ(p.f.value_and_gradient_at(c, grad, store.data()), expected);
    EXPECT_EQ(store, formed);

    // The gradient written over a source, and the point over another (RK4's evaluation after its update).
    Vec x = p.theta0, g = k1;
    LinearCombination in_place;
    in_place.add(1.0, x.data());
    in_place.add(-0.1, g.data());
    in_place.add(0.37, k2.data());
    EXPECT_EQ(p.f.value_and_gradient_at(in_place, g, x.data()), expected);
    EXPECT_EQ(x, formed);
    EXPECT_EQ(g, expected_grad);
  }
}

/// a == b entry for entry, or the first entry that differs (a mismatch printed whole, vectors of
/// 70,000 entries, took minutes).
testing::AssertionResult same_bits(const Vec& a, const Vec& b) {
  if (a.size() != b.size()) return testing::AssertionFailure() << "sizes " << a.size() << " and " << b.size();
  for (Index i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i]))
      return testing::AssertionFailure() << "entry " << i << " of " << a.size() << ": " << a[i] << " against " << b[i];
  return testing::AssertionSuccess();
}

TEST(FusedFlow, UfmFormsAStagePointInItsLogitsKernelAsIfFormedFirst) {
  // With AVX-512 (K ≤ 12, d % 8 = 0) or AVX2 (K ≤ 10, d % 4 = 0) the logits kernel forms the
  // point's packets where it loads them (block_logits_formed). Sizes: samples after the last octet
  // (N = 70), fewer than 8 samples, several blocks (d = 512: blocks of 32 columns, the last of 6),
  // K = 10, 12 and 13 (each ISA's last K, and formed first), and each source count visit()
  // distinguishes (1 to 7, and more); with and without a bias.
  struct Case {
    Index K, n, d;
    BiasMode bias;
  };
  for (const Case& t : {Case{10, 7, 16, BiasMode::kRegularized}, Case{2, 3, 8, BiasMode::kRegularized},
                        Case{4, 35, 512, BiasMode::kNone}, Case{12, 6, 24, BiasMode::kFree},
                        Case{13, 6, 24, BiasMode::kRegularized}, Case{3, 3, 8, BiasMode::kNone}}) {
    const UfmObjective f(t.K, t.d, block_labels(balanced_counts(t.K, t.n)), Loss::kCrossEntropy, t.bias,
                         {5e-4, 5e-4, 5e-4});
    const Index m = f.num_params();
    std::vector<Vec> sources(9, Vec(m));
    for (std::size_t s = 0; s < sources.size(); ++s) fill_gaussian(sources[s], 0.3, 40 + s);
    for (const int terms : {1, 2, 5, 7, 9}) {
      SCOPED_TRACE(testing::Message() << "K=" << t.K << " n=" << t.n << " d=" << t.d << " terms=" << terms);
      LinearCombination c;
      for (int s = 0; s < terms; ++s) c.add(s == 0 ? 1.0 : 0.07 * s - 0.2, sources[static_cast<std::size_t>(s)].data());
      Vec formed(m), expected_grad(m), grad(m), store(m);
      c.form(0, m, formed.data());
      const double expected = f.value_and_gradient(formed, expected_grad);
      EXPECT_EQ(f.value_and_gradient_at(c, grad, nullptr), expected);
      EXPECT_TRUE(same_bits(grad, expected_grad));
      store.setConstant(std::numeric_limits<double>::quiet_NaN());
      EXPECT_EQ(f.value_and_gradient_at(c, grad, store.data()), expected);
      EXPECT_TRUE(same_bits(store, formed));  // every entry written, the samples after the last octet included
      EXPECT_TRUE(same_bits(grad, expected_grad));
      // In place: the point written over its first source.
      Vec x = sources[0];
      LinearCombination in_place = c;
      in_place.x[0] = x.data();
      EXPECT_EQ(f.value_and_gradient_at(in_place, grad, x.data()), expected);
      EXPECT_TRUE(same_bits(x, formed));
    }
  }
}

TEST(FusedFlow, LogitsKernelFormingTheBlockGivesTheLogitsAndSquaresOfTheBlockFormedFirst) {
  // block_logits_formed against LinearCombination::form then block_logits, bit for bit: the formed
  // block, the logits and the sum of squares (whose order the samples after the last octet keep).
  struct Case {
    Index d, K, nb;
  };
  for (const Case& t : {Case{16, 4, 40}, Case{16, 10, 70}, Case{8, 12, 13}, Case{24, 3, 5}, Case{64, 10, 256},
                        Case{8, 13, 20}, Case{12, 4, 20}}) {
    const Index size = t.d * t.nb + 3 * t.d;  // the block starts 3 columns into the sources
    std::vector<Vec> sources(8, Vec(size));
    for (std::size_t s = 0; s < sources.size(); ++s) fill_gaussian(sources[s], 1.0, 60 + s);
    Vec W(t.K * t.d), b(t.K);
    fill_gaussian(W, 0.5, 70);
    fill_gaussian(b, 0.5, 71);
    const Mat Wt = ConstMatMap(W.data(), t.K, t.d).transpose();
    for (const int terms : {1, 3, 6, 8}) {
      for (const bool bias : {true, false}) {
        SCOPED_TRACE(testing::Message() << "d=" << t.d << " K=" << t.K << " nb=" << t.nb << " terms=" << terms
                                        << " bias=" << bias);
        LinearCombination c;
        for (int s = 0; s < terms; ++s) c.add(0.3 - 0.11 * s, sources[static_cast<std::size_t>(s)].data());
        const Index begin = 3 * t.d;
        const double* bp = bias ? b.data() : nullptr;
        Vec first(t.d * t.nb), formed(t.d * t.nb), Zt_first(t.nb * t.K), Zt(t.nb * t.K);
        c.form(begin, begin + t.d * t.nb, first.data());
        const double squares_first =
            detail::block_logits(t.d, t.K, W.data(), Wt.data(), first.data(), t.nb, bp, Zt_first.data(), nullptr);
        const double squares = detail::block_logits_formed(t.d, t.K, W.data(), Wt.data(), c, begin, t.nb, bp,
                                                           Zt.data(), formed.data());
        EXPECT_TRUE(same_bits(formed, first));
        EXPECT_TRUE(same_bits(Zt, Zt_first));
        EXPECT_EQ(squares, squares_first);
        EXPECT_GT(squares, 0.0);
      }
    }
  }
}

TEST(FusedFlow, UfmComputesTheErrorNormInItsPassAsItsOwnPassDoes) {
  // The estimate's last source is the gradient the evaluation writes (dopri5's k7), as in dopri5's
  // last stage: each block's errors are taken after the block's gradient. Sizes: one block, several
  // chunks of the own kernels, K > 24 (Eigen's backward products) and the streaming path.
  for (const auto& [K, n, d] :
       {std::tuple<Index, Index, Index>{3, 7, 5}, {6, 600, 40}, {30, 20, 16}, {4, 2048, 256}}) {
    SCOPED_TRACE(testing::Message() << "K=" << K << " n=" << n << " d=" << d);
    const FusedFlowProblem p = fused_flow_problem(K, n, d, Loss::kCrossEntropy, 5);
    const Index m = p.f.num_params();
    const StagePoint sp(p);
    const Vec &k1 = sp.k1, &k2 = sp.k2;
    const LinearCombination& point = sp.point;
    Vec grad(m), store(m), expected_grad(m);
    const double expected = p.f.value_and_gradient_at(point, expected_grad, nullptr);
    for (const bool rms : {false, true}) {
      ScaledErrorSpec error{{}, p.theta0.data(), k1.data(), 1e-9, 1e-8, 0.05, rms};
      error.estimate.add(0.002, k1.data());
      error.estimate.add(-0.003, k2.data());
      error.estimate.add(0.0125, grad.data());
      double norm = -1.0;
      grad.setZero();
      EXPECT_EQ(p.f.value_and_gradient_at(point, grad, store.data(), error, norm), expected);
      EXPECT_EQ(grad, expected_grad);
      const double own_pass = scaled_error(error, m);  // reads the gradient written above
      if (rms)  // chunks and blocks group the sum differently
        EXPECT_NEAR(norm, own_pass, 1e-14 * own_pass) << "rms";
      else
        EXPECT_EQ(norm, own_pass) << "max";
      EXPECT_GT(norm, 0.0);
      // With the logits too (dopri5's last stage sure to be observed): the same numbers, and the
      // logits of the stage-point overload.
      Mat logits_t, want_logits;
      Vec other_grad(m);
      p.f.value_gradient_and_logits_at(point, other_grad, nullptr, want_logits);
      double with_logits = -1.0;
      grad.setZero();
      EXPECT_EQ(p.f.value_gradient_and_logits_at(point, grad, store.data(), error, with_logits, logits_t), expected);
      EXPECT_EQ(grad, expected_grad);
      EXPECT_EQ(with_logits, norm);
      EXPECT_EQ(logits_t, want_logits);
    }
    // A NaN in a source of the estimate only (not of the point): the norm is NaN, the value finite.
    Vec k2_nan = k2;
    k2_nan(m / 2) = std::numeric_limits<double>::quiet_NaN();
    ScaledErrorSpec error{{}, p.theta0.data(), k1.data(), 1e-9, 1e-8, 0.05, false};
    error.estimate.add(1.0, k2_nan.data());
    error.estimate.add(1.0, grad.data());
    double norm = 0.0;
    EXPECT_EQ(p.f.value_and_gradient_at(point, grad, nullptr, error, norm), expected);
    EXPECT_TRUE(std::isnan(norm));
  }
}

TEST(FusedFlow, Dopri5WithItsErrorNormInTheLastStagesPassTakesTheSameSteps) {
  // The max norm is the same number, so the trajectories are the same bit for bit; the RMS norm
  // sums in another grouping, so its step sizes may differ in the last bits. The full slopes: at
  // 16 MiB dopri5 would keep them low rank by default (test_low_rank_slopes.cpp).
  for (const auto& [K, n, d] : {std::tuple<Index, Index, Index>{4, 30, 16}, {4, 2048, 256}}) {
    for (const ErrorNorm norm : {ErrorNorm::kMax, ErrorNorm::kRms}) {
      SCOPED_TRACE(testing::Message() << "d=" << d << (norm == ErrorNorm::kRms ? " rms" : " max"));
      const FusedFlowProblem p = fused_flow_problem(K, n, d, Loss::kCrossEntropy, 13);
      const GradientFlow flow({.integrator = Integrator::kDopri5, .dt = 0.01, .abs_tol = 1e-9, .rel_tol = 1e-9,
                               .error_norm = norm, .max_time = 1e9, .max_steps = 12,
                               .low_rank_slopes = LowRankSlopes::kNever});
      const std::vector<double> times{0.0137};
      Vec fused = p.theta0, own = p.theta0;
      Observed seen_fused, seen_own;
      const RunSummary a = flow.run(p.f, fused, times, seen_fused);
      const RunSummary b = flow.run(WithoutErrorNorm{p.f}, own, times, seen_own);
      ASSERT_EQ(a.status, RunStatus::kMaxSteps) << a.message;
      EXPECT_EQ(a.gradient_evaluations, b.gradient_evaluations);
      ASSERT_EQ(seen_fused.states.size(), seen_own.states.size());
      if (norm == ErrorNorm::kMax) {
        EXPECT_EQ(a.time, b.time);
        EXPECT_EQ(fused, own);
        for (std::size_t i = 0; i < seen_own.states.size(); ++i) EXPECT_EQ(seen_fused.states[i], seen_own.states[i]);
      } else {
        EXPECT_NEAR(a.time, b.time, 1e-12 * b.time);
        EXPECT_LE((fused - own).lpNorm<Eigen::Infinity>(), 1e-12 * own.lpNorm<Eigen::Infinity>());
      }
    }
  }
}

/// n-entry sources on very different scales, so that summing them in another order than odeint's,
/// or with an FMA, changes roundings.
std::vector<Vec> combination_sources(int count, Index n) {
  std::vector<Vec> x;
  for (int t = 0; t < count; ++t) {
    Vec v = Vec::LinSpaced(n, -3.0 + t, std::pow(10.0, 1 + 2 * (t % 5)));
    if (t % 3 == 1) v = v.cwiseProduct(Vec::LinSpaced(n, 0.1, 7.3));
    x.push_back(v);
  }
  return x;
}

/// The coefficient of source t of the tests' combinations: thirds, sevenths, of both signs.
double combination_coefficient(int t) { return (t % 2 == 0 ? 1.0 : -0.7) / (1 + t % 3) + t / 7.0; }

/// ((a_0 x_0[i] + a_1 x_1[i]) + a_2 x_2[i]) + …, one entry at a time: odeint's scale_sum order.
Vec formed_in_odeints_order(const std::vector<Vec>& x) {
  Vec out(x[0].size());
  for (Index i = 0; i < out.size(); ++i) {
    double v = combination_coefficient(0) * x[0](i);
    for (std::size_t t = 1; t < x.size(); ++t) v = v + combination_coefficient(static_cast<int>(t)) * x[t](i);
    out(i) = v;
  }
  return out;
}

TEST(FusedFlow, LinearCombinationFormsInOdeintsOrderAndInPlace) {
  // Every number of sources from 1 to 9 (1 to 7 have their own code, more the general loop);
  // lengths that end on a vector of 8 and in scalar entries; with and without the prefetches.
  for (int terms = 1; terms <= 9; ++terms) {
    for (const Index n : {Index{1000}, Index{1013}, Index{7}}) {
      for (const bool prefetch : {false, true}) {
        SCOPED_TRACE(testing::Message() << terms << " sources, n = " << n << ", prefetch " << prefetch);
        const std::vector<Vec> x = combination_sources(terms, n);
        const Vec expected = formed_in_odeints_order(x);
        LinearCombination c;
        for (int t = 0; t < terms; ++t) c.add(combination_coefficient(t), x[static_cast<std::size_t>(t)].data());
        c.prefetch = prefetch;
        Vec out(n);
        c.form(0, n, out.data());
        EXPECT_EQ(out, expected);
        const std::size_t last = static_cast<std::size_t>(terms - 1);
        Vec y = x[last];  // in place over the last source
        LinearCombination d = c;
        d.x[last] = y.data();
        d.form(0, n, y.data());
        EXPECT_EQ(y, expected);
        const Index tail = std::min<Index>(n, 13);
        Vec part(tail);
        c.form(n - tail, n, part.data());  // a sub-range, as the objective forms W and b
        EXPECT_EQ(part, expected.tail(tail));
      }
    }
  }
}

/// Both error norms of an estimate equal to `values` with one entry set to NaN, for each position:
/// NaN.
void expect_both_norms_nan_with_a_nan_at(std::initializer_list<Index> positions, const Vec& values,
                                         const LazyVec& x_old, const LazyVec& dxdt, double atol, double rtol,
                                         double dt) {
  for (const Index at : positions) {
    Vec bad = values;
    bad(at) = std::numeric_limits<double>::quiet_NaN();
    LazyVec nan_source(bad), nan_err(Vec::Zero(values.size()));
    LinearCombination cn;
    nan_source.add_to(cn, 1.0);
    nan_err.set_combination(cn);
    EXPECT_TRUE(std::isnan(scaled_error(x_old, dxdt, nan_err, atol, rtol, dt, false))) << at;
    EXPECT_TRUE(std::isnan(scaled_error(x_old, dxdt, nan_err, atol, rtol, dt, true))) << at;
  }
}

TEST(FusedFlow, ErrorNormsFormTheEstimateAndPropagateNaN) {
  LazyVec x_old(Vec::Constant(5, 2.0)), dxdt(Vec::Constant(5, 1.0)), k(Vec::LinSpaced(5, -1.0, 3.0)), err(Vec::Zero(5));
  dxdt.overwrite(-1.0);  // stored as ∇F for dx/dt = −∇F: |·| is the same
  LinearCombination c;
  k.add_to(c, 0.5);
  err.set_combination(c);
  const double dt = 0.1, tol = 1e-3;
  // r_i = |0.5 k_i| / (tol + tol (2 + 0.1 · 1)) with k = −1, 0, 1, 2, 3: the max at k = 3, and
  // Σ k_i² = 15, so rms = 0.5 √3 / (3.1 tol).
  EXPECT_DOUBLE_EQ(scaled_error(x_old, dxdt, err, tol, tol, dt, false), 1.5 / (tol + tol * (2.0 + 0.1)));
  EXPECT_NEAR(scaled_error(x_old, dxdt, err, tol, tol, dt, true), 0.5 * std::sqrt(3.0) / (3.1 * tol), 1e-12);
  EXPECT_TRUE(err.pending());  // never written
  expect_both_norms_nan_with_a_nan_at({1, 3}, Vec::Zero(5), x_old, dxdt, tol, tol, dt);
}

TEST(FusedFlow, ErrorNormsOfALongEstimateMatchTheEntryByEntryFormula) {
  // 1013 entries: the vector lanes and a scalar tail; estimates of 1 to 9 sources (1 to 7 have
  // their own code). The max is exact; the RMS adds in another order than one running sum, so it
  // agrees to rounding.
  const Index n = 1013;
  Vec xo(n), go(n);
  fill_gaussian(xo, 1.0, 1);
  fill_gaussian(go, 1.0, 2);
  LazyVec x_old(xo), dxdt(go);
  const double dt = 0.05, atol = 1e-6, rtol = 1e-5;
  for (int terms = 1; terms <= 9; ++terms) {
    SCOPED_TRACE(testing::Message() << terms << " sources");
    std::vector<Vec> k;
    for (int t = 0; t < terms; ++t) {
      k.emplace_back(n);
      fill_gaussian(k.back(), 1e-3, static_cast<std::uint64_t>(3 + t));
    }
    std::vector<LazyVec> sources;
    sources.reserve(k.size());  // the combination points into them
    for (const Vec& v : k) sources.emplace_back(v);
    LazyVec err(Vec::Zero(n));
    LinearCombination c;
    for (int t = 0; t < terms; ++t) sources[static_cast<std::size_t>(t)].add_to(c, combination_coefficient(t));
    err.set_combination(c);
    const Vec e = formed_in_odeints_order(k);
    double max = 0.0, sq = 0.0;
    for (Index i = 0; i < n; ++i) {
      const double r = std::abs(e(i)) / (atol + rtol * (std::abs(xo(i)) + dt * std::abs(go(i))));
      max = std::max(max, r);
      sq += r * r;
    }
    EXPECT_EQ(scaled_error(x_old, dxdt, err, atol, rtol, dt, false), max);
    EXPECT_NEAR(scaled_error(x_old, dxdt, err, atol, rtol, dt, true), std::sqrt(sq / n), 1e-13 * std::sqrt(sq / n));
  }
  Vec k1(n);
  fill_gaussian(k1, 1e-3, 3);
  expect_both_norms_nan_with_a_nan_at({0, 517, 1008, 1012}, k1, x_old, dxdt, atol, rtol, dt);  // lanes and tail
}

TEST(FusedFlow, ANegatedVectorRefusesValuesAndShowsItsStorage) {
  LazyVec g(Vec::Constant(3, 2.0));
  g.overwrite(-1.0);
  EXPECT_THROW(g.values(), std::logic_error);
  EXPECT_EQ(g.storage(), Vec::Constant(3, 2.0));
  LinearCombination c;
  g.add_to(c, 0.5);  // a coefficient on the negated vector carries its sign
  EXPECT_EQ(c.a[0], -0.5);
}

TEST(FusedFlow, ACombinationLeavesOutZeroCoefficientsButNotTheFirst) {
  LazyVec x(Vec::Constant(4, 1.0)), k1(Vec::Constant(4, 2.0)), k2(Vec::Constant(4, 3.0)), out(Vec::Zero(4));
  LazyAlgebra::for_each4(out, x, k1, k2, boost::numeric::odeint::default_operations::scale_sum3<double, double, double>(1.0, 0.0, 0.5));
  ASSERT_TRUE(out.pending());
  EXPECT_EQ(out.combination().terms, 2);
  EXPECT_EQ(out.values(), Vec::Constant(4, 2.5));
  LazyAlgebra::for_each3(out, x, k1, boost::numeric::odeint::default_operations::scale_sum2<double, double>(0.0, 2.0));
  EXPECT_EQ(out.combination().terms, 2);  // a zero first coefficient is kept: the sum starts from its product
  EXPECT_EQ(out.values(), Vec::Constant(4, 4.0));
}

TEST(FusedFlow, ACombinationOfPendingSourcesIsBuiltFromTheirValuesEvenInPlace) {
  using ops = boost::numeric::odeint::default_operations;
  LazyVec x(Vec::Constant(4, 1.0)), k(Vec::Constant(4, 2.0)), y(Vec::Zero(4)), z(Vec::Zero(4));
  LazyAlgebra::for_each3(y, x, k, ops::scale_sum2<double, double>(1.0, 0.5));  // y = x + k/2 = 2, pending
  LazyAlgebra::for_each3(z, y, k, ops::scale_sum2<double, double>(3.0, 1.0));  // z = 3y + k = 8
  EXPECT_FALSE(y.pending());  // formed before z's combination was built on its values
  EXPECT_EQ(y.values(), Vec::Constant(4, 2.0));
  EXPECT_EQ(z.values(), Vec::Constant(4, 8.0));  // formed while y still holds what z refers to
  LazyAlgebra::for_each3(y, x, k, ops::scale_sum2<double, double>(1.0, 1.0));  // y = 3, pending
  LazyAlgebra::for_each3(y, y, z, ops::scale_sum2<double, double>(2.0, 0.25));  // y = 2y + z/4, in place
  ASSERT_TRUE(y.pending());
  EXPECT_EQ(y.combination().terms, 2);
  EXPECT_EQ(y.values(), Vec::Constant(4, 8.0));
}

}  // namespace
}  // namespace ufm
