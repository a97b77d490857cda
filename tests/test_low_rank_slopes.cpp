// The RK4 and dopri5 flows' low-rank slopes (low_rank_slope.hpp): the one-layer UFM's H-gradient Wᵀ R + λ_H H kept
// as factors, the stage points as the state plus their products. These tests hold the low-rank flow to
// the full one (GradientFlow with LowRankSlopes::kNever, itself held to odeint's stock algebra in
// test_gradient_flow_fused.cpp): the same trajectory to rounding, for every loss, bias mode and a fixed
// classifier, and bit-identical for any thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/dynamics/lazy_state.hpp"
#include "ufm/low_rank_slope.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/ufm_objective.hpp"
#include "ufm/random.hpp"

namespace ufm {
namespace {

UfmObjective make(Index K, Index n, Index d, Loss loss = Loss::kCrossEntropy,
                  BiasMode bias = BiasMode::kRegularized, Regularization lambda = {5e-3, 1e-2, 2e-3},
                  bool freeze_w = false) {
  return UfmObjective(K, d, block_labels(balanced_counts(K, n)), loss, bias, lambda, freeze_w);
}

Vec start(const UfmObjective& f, std::uint64_t seed = 3) {
  Vec theta(f.num_params());
  fill_gaussian(theta, 0.3, seed);
  return theta;
}

struct Trajectory {
  Vec final_state;
  std::vector<Vec> states, grads;
  std::vector<double> values;
  long evaluations = 0;
  int logits_handed = 0;          ///< checkpoints whose logits the evaluation handed (Checkpoint::logits_t)
  double logits_error = 0.0;      ///< their largest difference from (W H)ᵀ of the checkpoint's state
};

Trajectory flow(const UfmObjective& f, const Vec& theta0, LowRankSlopes mode, Integrator integrator, double T,
                ErrorNorm norm = ErrorNorm::kMax) {
  GradientFlow::Options o;
  o.integrator = integrator;
  o.dt = 0.1;
  o.max_time = T;
  o.abs_tol = o.rel_tol = 1e-7;
  o.error_norm = norm;
  o.low_rank_slopes = mode;
  Trajectory out;
  out.final_state = theta0;
  const std::vector<double> checkpoints = {0.0, 0.5, 1.3};
  const RunSummary s = GradientFlow(o).run(f, out.final_state, checkpoints, [&](const Checkpoint& c) {
    out.states.push_back(c.theta);
    out.grads.push_back(c.grad);
    out.values.push_back(c.value);
    if (c.logits_t != nullptr) {  // handed by the evaluation: the logits of the state observed
      const UfmLayout& l = f.layout();
      const Mat want = (ConstMatMap(c.theta.data() + l.h_size(), l.K, l.d) * l.H(c.theta)).transpose();
      const double error = (*c.logits_t - want).cwiseAbs().maxCoeff() / want.cwiseAbs().maxCoeff();
      out.logits_error = std::max(out.logits_error, error);
      ++out.logits_handed;
    }
    return ObserverAction::kContinue;
  });
  EXPECT_EQ(s.status, RunStatus::kMaxTime) << s.message;
  out.evaluations = s.gradient_evaluations;
  return out;
}

Trajectory rk4(const UfmObjective& f, const Vec& theta0, LowRankSlopes mode, double T = 2.0) {
  return flow(f, theta0, mode, Integrator::kRk4, T);
}
Trajectory dopri5(const UfmObjective& f, const Vec& theta0, LowRankSlopes mode, double T = 2.0,
                  ErrorNorm norm = ErrorNorm::kMax) {
  return flow(f, theta0, mode, Integrator::kDopri5, T, norm);
}

double max_abs(const Vec& v) { return v.cwiseAbs().maxCoeff(); }

void expect_same_to_rounding(const Trajectory& a, const Trajectory& b, const char* what) {
  ASSERT_EQ(a.states.size(), b.states.size()) << what;
  EXPECT_EQ(a.evaluations, b.evaluations) << what;
  const double tol = 1e-13;
  EXPECT_LE(max_abs(a.final_state - b.final_state), tol * max_abs(b.final_state)) << what;
  for (std::size_t i = 0; i < a.states.size(); ++i) {
    EXPECT_LE(max_abs(a.states[i] - b.states[i]), tol * max_abs(b.states[i])) << what << ", checkpoint " << i;
    EXPECT_LE(max_abs(a.grads[i] - b.grads[i]), tol * max_abs(b.grads[i])) << what << ", checkpoint " << i;
    EXPECT_NEAR(a.values[i], b.values[i], tol * std::abs(b.values[i])) << what << ", checkpoint " << i;
  }
}

/// Problems both integrators' low-rank flows are held to the full slopes on; dopri5 takes its error
/// norm from each (RK4 has none).
struct FlowCase {
  const char* name;
  Index K, n, d;
  Loss loss;
  BiasMode bias;
  Regularization lambda;
  bool freeze_w;
  ErrorNorm norm;
};
constexpr FlowCase kFlowCases[] = {
    {"ce, regularized bias", 4, 10, 16, Loss::kCrossEntropy, BiasMode::kRegularized, {5e-3, 1e-2, 2e-3}, false,
     ErrorNorm::kMax},
    {"mse, free bias (dopri5: rms norm)", 5, 7, 13, Loss::kMse, BiasMode::kFree, {5e-3, 1e-2, 0.0}, false,
     ErrorNorm::kRms},
    {"ce, no bias, d not a multiple of the lanes", 10, 9, 21, Loss::kCrossEntropy, BiasMode::kNone,
     {1e-3, 2e-3, 0.0}, false, ErrorNorm::kMax},
    {"ce, fixed classifier (dopri5: rms norm)", 3, 12, 8, Loss::kCrossEntropy, BiasMode::kRegularized,
     {5e-3, 1e-2, 1e-3}, true, ErrorNorm::kRms},
    {"ce, no weight decay on H", 6, 8, 16, Loss::kCrossEntropy, BiasMode::kRegularized, {5e-3, 0.0, 1e-3}, false,
     ErrorNorm::kMax},
    {"mse, twelve classes", 12, 5, 24, Loss::kMse, BiasMode::kRegularized, {5e-3, 1e-2, 1e-3}, false,
     ErrorNorm::kMax},
};

TEST(LowRankSlopes, Rk4FollowsTheFullSlopesTrajectoryToRounding) {
  for (const FlowCase& c : kFlowCases) {
    const UfmObjective f = make(c.K, c.n, c.d, c.loss, c.bias, c.lambda, c.freeze_w);
    ASSERT_TRUE(f.takes_low_rank_slopes()) << c.name;
    const Vec theta0 = start(f);
    const Trajectory low = rk4(f, theta0, LowRankSlopes::kAlways), full = rk4(f, theta0, LowRankSlopes::kNever);
    expect_same_to_rounding(low, full, c.name);
    // The flow moved, and the low-rank path ran (its rounding differs): a check that cannot pass by
    // both runs standing still, or both taking the full slopes.
    EXPECT_GT(max_abs(full.final_state - theta0), 1e-3) << c.name;
    EXPECT_GT(max_abs(low.final_state - full.final_state), 0.0) << c.name;
  }
}

TEST(LowRankSlopes, Dopri5FollowsTheFullSlopesTrajectoryToRounding) {
  for (const FlowCase& c : kFlowCases) {
    const UfmObjective f = make(c.K, c.n, c.d, c.loss, c.bias, c.lambda, c.freeze_w);
    const Vec theta0 = start(f);
    const Trajectory low = dopri5(f, theta0, LowRankSlopes::kAlways, 2.0, c.norm),
                     full = dopri5(f, theta0, LowRankSlopes::kNever, 2.0, c.norm);
    expect_same_to_rounding(low, full, c.name);
    EXPECT_GT(max_abs(full.final_state - theta0), 1e-3) << c.name;
    EXPECT_GT(max_abs(low.final_state - full.final_state), 0.0) << c.name;
    // The last state's logits come from the last stage's pass (from the start state and the
    // residuals, the trial state written beside them): those of the state written, to rounding.
    EXPECT_GE(low.logits_handed, 1) << c.name;
    EXPECT_LE(low.logits_error, 1e-13) << c.name;
  }
}

TEST(LowRankSlopes, ALongRunStaysWithTheFullSlopes) {
  const UfmObjective f = make(4, 10, 16);
  const Vec theta0 = start(f, 11);
  expect_same_to_rounding(rk4(f, theta0, LowRankSlopes::kAlways, 30.0), rk4(f, theta0, LowRankSlopes::kNever, 30.0),
                          "T = 30");
  // dopri5's steps grow along the way: each is a step size the error norms chose.
  expect_same_to_rounding(dopri5(f, theta0, LowRankSlopes::kAlways, 30.0),
                          dopri5(f, theta0, LowRankSlopes::kNever, 30.0), "dopri5, T = 30");
}

TEST(LowRankSlopes, AGradientToleranceAndADivergenceStopWhereTheFullSlopesStop) {
  // --grad-tol reads the gradient at every step (its low-rank H part formed each time); a step far
  // too long overflows, and the run ends at its last observed state, as with the full slopes.
  // dopri5 rejects such steps and shrinks them (its first trial steps here are non-finite) until
  // they are finite, with the same steps for both. Its step sizes come from error norms that differ
  // in the last bits, and over a long run they drift apart (199 steps here: t to 3e-9 relative; from
  // t ≈ 2000 on with steps of 400, where the steps are at the edge of stability, a step accepted by
  // one run is at times rejected by the other), so its runs are compared to that, and its message
  // (which prints t) is not.
  const UfmObjective f = make(4, 10, 16);
  const Vec theta0 = start(f, 17);
  using Case = std::pair<Integrator, bool>;
  for (const auto& [integrator, diverge] : {Case{Integrator::kRk4, false}, Case{Integrator::kRk4, true},
                                            Case{Integrator::kDopri5, false}, Case{Integrator::kDopri5, true}}) {
    SCOPED_TRACE(testing::Message() << (integrator == Integrator::kRk4 ? "rk4" : "dopri5") << (diverge ? ", 400" : ""));
    RunSummary s[2];
    Vec theta[2] = {theta0, theta0};
    for (int m = 0; m < 2; ++m) {
      GradientFlow::Options o;
      o.integrator = integrator;
      o.dt = diverge ? 400.0 : 0.5;
      o.max_time = !diverge ? 2000.0 : integrator == Integrator::kRk4 ? 4e5 : 1200.0;
      o.grad_tol = diverge ? 0.0 : 2e-3;
      o.low_rank_slopes = m == 0 ? LowRankSlopes::kAlways : LowRankSlopes::kNever;
      const std::vector<double> checkpoints = {0.0, 800.0};
      s[m] = GradientFlow(o).run(f, theta[m], checkpoints, NullObserver{});
    }
    const bool rk4 = integrator == Integrator::kRk4;
    const RunStatus expected = diverge && rk4 ? RunStatus::kDiverged
                               : diverge  ? RunStatus::kMaxTime
                                          : RunStatus::kConverged;
    EXPECT_EQ(s[0].status, expected) << s[0].message;
    EXPECT_EQ(s[0].status, s[1].status);
    EXPECT_EQ(s[0].steps, s[1].steps);
    EXPECT_EQ(s[0].gradient_evaluations, s[1].gradient_evaluations);
    if (!rk4 && diverge) {  // rejected steps: more than 6 evaluations per step
      EXPECT_GT(s[0].gradient_evaluations, 6 * s[0].steps + 1);
    }
    if (rk4) {
      EXPECT_EQ(s[0].message, s[1].message);
    }
    EXPECT_LE(max_abs(theta[0] - theta[1]), (rk4 ? 1e-12 : 1e-7) * max_abs(theta[1]));
  }
}

TEST(LowRankSlopes, ThreadCountDoesNotChangeTheLowRankTrajectory) {
#ifdef _OPENMP
  // 4·K·d·N = 2.05e7 flops: the pass runs on the threads (kParallelFlops).
  const UfmObjective f = make(10, 800, 64);
  const Vec theta0 = start(f, 5);
  const int before = omp_get_max_threads();
  for (const Integrator integrator : {Integrator::kRk4, Integrator::kDopri5}) {
    omp_set_num_threads(1);
    const Trajectory one = flow(f, theta0, LowRankSlopes::kAlways, integrator, 0.4, ErrorNorm::kRms);
    omp_set_num_threads(2);
    const Trajectory two = flow(f, theta0, LowRankSlopes::kAlways, integrator, 0.4, ErrorNorm::kRms);
    omp_set_num_threads(before);
    EXPECT_EQ(max_abs(one.final_state - two.final_state), 0.0);
    EXPECT_EQ(one.evaluations, two.evaluations);
    for (std::size_t i = 0; i < one.grads.size(); ++i) EXPECT_EQ(max_abs(one.grads[i] - two.grads[i]), 0.0);
  }
#else
  GTEST_SKIP() << "built without OpenMP";
#endif
}

TEST(LowRankSlopes, AStateSlopeReadsAsTheGradientAndItsValue) {
  const UfmObjective f = make(5, 9, 13, Loss::kCrossEntropy, BiasMode::kRegularized);
  const Vec theta = start(f, 7);
  Vec g(f.num_params());
  const double value = f.value_and_gradient(theta, g);
  LazyVec x(theta), slope;
  slope.resize(theta.size());
  Mat logits_t;
  const double low_value = low_rank_gradient_at(f, x, slope, &logits_t);
  EXPECT_NEAR(low_value, value, 1e-15 * std::abs(value));
  ASSERT_NE(slope.low_rank(), nullptr);
  EXPECT_LE(max_abs(slope.values() - g), 1e-14 * max_abs(g));
  Mat Z;
  f.logits(theta, Z);
  Z.colwise() -= f.layout().b(theta);
  EXPECT_LE((logits_t.transpose() - Z).cwiseAbs().maxCoeff(), 1e-14 * Z.cwiseAbs().maxCoeff());
}

TEST(LowRankSlopes, AStagePointOfSlopesHasTheGradientOfItsFormedValues) {
  const UfmObjective f = make(4, 6, 10, Loss::kMse, BiasMode::kFree, {1e-2, 3e-2, 0.0});
  const Vec theta = start(f, 9);
  LazyVec x(theta), k1, k2, y, k3;
  for (LazyVec* v : {&k1, &k2, &y, &k3}) v->resize(theta.size());
  low_rank_gradient_at(f, x, k1);
  LinearCombination c1;
  x.add_to(c1, 1.0);
  k1.add_to(c1, -0.3);
  y.set_combination(c1);
  low_rank_gradient_at(f, y, k2);  // at x − 0.3 k1, without forming it
  LinearCombination c2;
  x.add_to(c2, 1.0);
  k1.add_to(c2, 0.2);
  k2.add_to(c2, -0.7);
  y.set_combination(c2);
  low_rank_gradient_at(f, y, k3);
  // The same points formed, and their gradients in full.
  Vec g1(f.num_params()), g2(f.num_params()), g3(f.num_params());
  f.value_and_gradient(theta, g1);
  const Vec p2 = theta - 0.3 * g1;
  f.value_and_gradient(p2, g2);
  const Vec p3 = theta + 0.2 * g1 - 0.7 * g2;
  f.value_and_gradient(p3, g3);
  EXPECT_LE(max_abs(k2.values() - g2), 1e-13 * max_abs(g2));
  EXPECT_LE(max_abs(k3.values() - g3), 1e-13 * max_abs(g3));
  EXPECT_LE(max_abs(y.values() - p3), 1e-14 * max_abs(p3));  // the stage point formed through its sources
}

TEST(LowRankSlopes, FormLowRankIsTheStateAndTheFactorsProducts) {
  const Index d = 11, N = 300, K = 3;  // N over one block of 256 columns
  Mat base(d, N), W1(d, K), R1(N, K), W2(d, K), R2(N, K);
  for (Mat* m : {&base, &W1, &R1, &W2, &R2}) m->setRandom();
  LowRankH h;
  ASSERT_TRUE(h.add_base(0.75, base.data()));
  LowRankH t1, t2;
  t1.terms = t2.terms = 1;
  t1.coef[0] = -0.5, t1.Wt[0] = W1.data(), t1.Rt[0] = R1.data();
  t2.coef[0] = 2.0, t2.Wt[0] = W2.data(), t2.Rt[0] = R2.data();
  ASSERT_TRUE(h.add(1.0, t1));
  ASSERT_TRUE(h.add(1.0, t2));
  ASSERT_TRUE(h.add(0.5, t1));  // merged with the first: coefficient −0.75
  EXPECT_EQ(h.terms, 2);
  Mat out(d, N), scratch;
  form_low_rank(h, d, N, K, out.data(), scratch);
  const Mat expected = 0.75 * base - 0.75 * W1 * R1.transpose() + 2.0 * W2 * R2.transpose();
  EXPECT_LE((out - expected).cwiseAbs().maxCoeff(), 1e-14 * expected.cwiseAbs().maxCoeff());
  LowRankH other;
  Mat elsewhere = base;
  EXPECT_FALSE(other.add_base(1.0, elsewhere.data()) && other.add(1.0, h));  // two states: refused
}

TEST(LowRankSlopes, APointOfTwoStatesIsRefused) {
  const UfmObjective f = make(4, 5, 8);
  const Vec a = start(f, 1), b = start(f, 2);
  LinearCombination c;
  c.add(1.0, a.data());
  c.add(0.5, b.data());
  Vec g(f.num_params());
  LowRankSlope s;
  EXPECT_THROW(f.gradient_low_rank_at(c, g.data(), s, nullptr, nullptr, nullptr), std::logic_error);
}

TEST(LowRankSlopes, TheDefaultTakesThemBeyondTheCachesAndStaysWithTheFullSlopes) {
  // d·N·8 = 16 MiB: the default flow keeps its slopes low rank (its rounding differs from the full
  // slopes', which are odeint's stock RK4 bit for bit: test_gradient_flow_fused.cpp).
  const UfmObjective f = make(4, 2048, 256);
  ASSERT_TRUE(f.low_rank_slopes_pay());
  const Vec theta0 = start(f, 13);
  for (const Integrator integrator : {Integrator::kRk4, Integrator::kDopri5}) {
    const Trajectory by_default = flow(f, theta0, LowRankSlopes::kAuto, integrator, 1.0);
    const Trajectory full = flow(f, theta0, LowRankSlopes::kNever, integrator, 1.0);
    expect_same_to_rounding(by_default, full, integrator == Integrator::kRk4 ? "rk4, 16 MiB" : "dopri5, 16 MiB");
    EXPECT_GT(max_abs(by_default.final_state - full.final_state), 0.0);
  }
}

TEST(LowRankSlopes, AutoTakesThemWhereHIsBeyondTheCaches) {
  EXPECT_FALSE(make(4, 10, 16).low_rank_slopes_pay());
  EXPECT_FALSE(make(13, 10, 16).takes_low_rank_slopes());  // above the W-gradient kernel's 12 classes
  EXPECT_TRUE(make(4, 1024, 512).low_rank_slopes_pay());  // H is 16 MiB
  EXPECT_FALSE(make(13, 1024, 512).low_rank_slopes_pay());
}

}  // namespace
}  // namespace ufm
