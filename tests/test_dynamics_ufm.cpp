// Gradient flow and descent on the one-layer UFM: integrators agree, GD approaches the flow,
// and the conservation law of theory.md §3 holds along the flow.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <tuple>
#include <vector>

#include "test_util.hpp"
#include "ufm/dynamics/gradient_descent.hpp"
#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/dynamics/schedule.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/ufm_objective.hpp"

namespace ufm {
namespace {

constexpr Index K = 3, d = 4, n = 3;

UfmObjective make_ufm(Loss loss, BiasMode bias, Regularization lambda) {
  return UfmObjective(K, d, block_labels(balanced_counts(K, n)), loss, bias, lambda);
}

Vec flow_to(const UfmObjective& f, const Vec& theta0, Integrator integrator, double T) {
  Vec theta = theta0;
  const GradientFlow flow({.integrator = integrator, .dt = 2e-3, .abs_tol = 1e-12, .rel_tol = 1e-12, .max_time = T});
  const RunSummary s = flow.run(f, theta, {}, NullObserver{});
  EXPECT_EQ(s.status, RunStatus::kMaxTime) << s.message;
  return theta;
}

class UfmDynamics : public ::testing::TestWithParam<std::tuple<Loss, BiasMode>> {};

TEST_P(UfmDynamics, Rk4AndDopri5AgreeAtTimeT) {
  const auto [loss, bias] = GetParam();
  const UfmObjective f = make_ufm(loss, bias, {5e-3, 5e-3, bias == BiasMode::kRegularized ? 5e-3 : 0.0});
  const Vec theta0 = test::random_vec(f.num_params(), 3, 0.5);
  const double T = 5.0;
  const Vec a = flow_to(f, theta0, Integrator::kRk4, T), b = flow_to(f, theta0, Integrator::kDopri5, T);
  const double rel = test::relative_error(a, b);
  std::printf("rk4 (dt 2e-3) vs dopri5 (tol 1e-12) at T = 5: relative difference %.2e\n", rel);
  EXPECT_LT(rel, 1e-6);
  EXPECT_GT(test::relative_error(b, theta0), 1e-2);  // the flow moved
}

TEST_P(UfmDynamics, GradientDescentApproachesTheFlowLinearlyInTheStep) {
  const auto [loss, bias] = GetParam();
  const UfmObjective f = make_ufm(loss, bias, {1e-2, 2e-2, bias == BiasMode::kRegularized ? 1e-2 : 0.0});
  const Vec theta0 = test::random_vec(f.num_params(), 4, 0.5);
  const double T = 2.0;
  const Vec exact = flow_to(f, theta0, Integrator::kDopri5, T);
  std::vector<double> err;
  for (double lr : {0.02, 0.01, 0.005}) {
    Vec theta = theta0;
    const long steps = std::lround(T / lr);
    const RunSummary s = GradientDescent({.lr = lr, .max_steps = steps}).run(f, theta, {}, NullObserver{});
    EXPECT_EQ(s.status, RunStatus::kMaxSteps);
    EXPECT_NEAR(s.time, T, 1e-12);
    err.push_back(test::relative_error(theta, exact));
  }
  std::printf("GD vs flow at T = 2: errors %.3e %.3e %.3e, ratios %.3f %.3f\n", err[0], err[1], err[2], err[0] / err[1],
              err[1] / err[2]);
  for (int i = 0; i < 2; ++i) {
    EXPECT_GT(err[i] / err[i + 1], 1.7);
    EXPECT_LT(err[i] / err[i + 1], 2.3);
  }
  EXPECT_LT(err[2], 1e-2);
}

INSTANTIATE_TEST_SUITE_P(LossAndBias, UfmDynamics,
                         ::testing::Combine(::testing::Values(Loss::kMse, Loss::kCrossEntropy),
                                            ::testing::Values(BiasMode::kNone, BiasMode::kFree)));

/// D = WᵀW − HHᵀ (d×d).
Mat imbalance(const UfmObjective& f, const Vec& theta) {
  const auto W = f.layout().W(theta);
  const auto H = f.layout().H(theta);
  return W.transpose() * W - H * H.transpose();
}

struct ConservationResult {
  double max_deviation = 0.0;  ///< max over checkpoints of ||D(t) − e^{−2λt} D(0)||_F / ||D(0)||_F
  double wtw_change = 0.0;     ///< max ||WᵀW(t) − WᵀW(0)||_F / ||WᵀW(0)||_F: the flow is not trivial
};

ConservationResult check_conservation(const UfmObjective& f, Integrator integrator, double decay_rate) {
  const Vec theta0 = test::random_vec(f.num_params(), 5, 0.7);
  const Mat D0 = imbalance(f, theta0);
  const Mat WtW0 = f.layout().W(theta0).transpose() * f.layout().W(theta0);
  ConservationResult r;
  auto observe = [&](const Checkpoint& c) {
    const Mat D = imbalance(f, c.theta);
    r.max_deviation = std::max(r.max_deviation, (D - std::exp(-decay_rate * c.time) * D0).norm() / D0.norm());
    const Mat WtW = f.layout().W(c.theta).transpose() * f.layout().W(c.theta);
    r.wtw_change = std::max(r.wtw_change, (WtW - WtW0).norm() / WtW0.norm());
    return ObserverAction::kContinue;
  };
  const double T = 20.0;
  const auto times = checkpoint_times(T, 1e-2, 30, Spacing::kLog);
  Vec theta = theta0;
  const GradientFlow flow({.integrator = integrator, .dt = 1e-2, .abs_tol = 1e-12, .rel_tol = 1e-12, .max_time = T});
  const RunSummary s = flow.run(f, theta, times, observe);
  EXPECT_EQ(s.status, RunStatus::kMaxTime) << s.message;
  return r;
}

class Conservation : public ::testing::TestWithParam<std::tuple<Loss, BiasMode>> {};

TEST_P(Conservation, UnregularizedImbalanceIsConserved) {
  const auto [loss, bias] = GetParam();
  const UfmObjective f = make_ufm(loss, bias, {});
  for (Integrator integrator : {Integrator::kDopri5, Integrator::kRk4}) {
    const ConservationResult r = check_conservation(f, integrator, 0.0);
    std::printf("lambda = 0, %s: max relative drift of WᵀW − HHᵀ %.2e (WᵀW changed by %.2f)\n",
                integrator == Integrator::kRk4 ? "rk4 dt 1e-2" : "dopri5 tol 1e-12", r.max_deviation, r.wtw_change);
    EXPECT_LT(r.max_deviation, integrator == Integrator::kDopri5 ? 1e-8 : 1e-6);
    EXPECT_GT(r.wtw_change, 0.1);
  }
}

TEST_P(Conservation, EqualWeightDecayMakesTheImbalanceDecayExponentially) {
  const auto [loss, bias] = GetParam();
  const double lambda = 0.05;
  const UfmObjective f = make_ufm(loss, bias, {lambda, lambda, 0.0});
  const ConservationResult r = check_conservation(f, Integrator::kDopri5, 2 * lambda);
  std::printf("lambda = %.2f: max relative deviation from e^{-2 lambda t} D(0): %.2e\n", lambda, r.max_deviation);
  EXPECT_LT(r.max_deviation, 1e-8);
  EXPECT_GT(r.wtw_change, 0.1);
}

TEST_P(Conservation, UnequalWeightDecayBreaksTheLaw) {  // the check above can fail
  const auto [loss, bias] = GetParam();
  const UfmObjective f = make_ufm(loss, bias, {0.05, 0.0, 0.0});
  const ConservationResult r0 = check_conservation(f, Integrator::kDopri5, 0.0);
  const ConservationResult r1 = check_conservation(f, Integrator::kDopri5, 0.1);
  EXPECT_GT(r0.max_deviation, 1e-3);
  EXPECT_GT(r1.max_deviation, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(LossAndBias, Conservation,
                         ::testing::Combine(::testing::Values(Loss::kMse, Loss::kCrossEntropy),
                                            ::testing::Values(BiasMode::kNone, BiasMode::kFree)));

}  // namespace
}  // namespace ufm
