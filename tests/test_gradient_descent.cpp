#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_problems.hpp"
#include "test_metrics_util.hpp"
#include "test_util.hpp"
#include "ufm/dynamics/gradient_descent.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/loss.hpp"
#include "ufm/objectives/ufm_objective.hpp"

namespace ufm {
namespace {

using test::Quadratic;
using test::Record;


TEST(GradientDescent, ReachesMinimumOfQuadratic) {
  const Quadratic f({0.1, 0.5, 1.0, 2.0}, 3, 1);
  Vec theta = test::random_vec(4, 7, 2.0);
  const double f0 = f.value(theta);
  GradientDescent gd({.lr = 0.5, .max_steps = 100000, .grad_tol = 1e-10});
  const RunSummary s = gd.run(f, theta, {}, NullObserver{});
  EXPECT_EQ(s.status, RunStatus::kConverged) << s.message;
  EXPECT_LT((theta - f.c).norm(), 1e-9 / 0.1 * 1.01);  // ||x − c|| <= ||g|| / lambda_min
  EXPECT_DOUBLE_EQ(s.initial_value, f0);
  EXPECT_LT(s.final_value, 1e-18);
  EXPECT_EQ(s.gradient_evaluations, s.steps + 1);
  EXPECT_DOUBLE_EQ(s.time, 0.5 * static_cast<double>(s.steps));
  EXPECT_NE(s.message.find("grad_tol"), std::string::npos) << s.message;
}

TEST(GradientDescent, ObservesScheduledStepsWithTheirOwnValueAndGradient) {
  const Quadratic f({0.3, 1.0, 1.5}, 11, 1);
  const Vec theta0 = test::random_vec(3, 13);
  Vec theta = theta0;
  const double lr = 0.2;
  GradientDescent gd({.lr = lr, .max_steps = 20});
  Record rec;
  const std::vector<long> schedule{0, 1, 5, 5, 17, 40};  // duplicates and beyond max_steps are fine
  const RunSummary s = gd.run(f, theta, schedule, rec);
  EXPECT_EQ(s.status, RunStatus::kMaxSteps);
  EXPECT_EQ(s.steps, 20);
  EXPECT_EQ(rec.steps, (std::vector<long>{0, 1, 5, 17, 20}));  // the last step is always observed
  const Mat M = Mat::Identity(3, 3) - lr * f.A;                // x_k − c = M^k (x_0 − c)
  for (std::size_t i = 0; i < rec.steps.size(); ++i) {
    Vec exact = f.c;
    Vec e = theta0 - f.c;
    for (long k = 0; k < rec.steps[i]; ++k) e = M * e;
    exact += e;
    EXPECT_LT((rec.thetas[i] - exact).norm(), 1e-13) << "step " << rec.steps[i];
    EXPECT_DOUBLE_EQ(rec.times[i], lr * static_cast<double>(rec.steps[i]));
    EXPECT_NEAR(rec.values[i], f.value(rec.thetas[i]), 1e-15);
    EXPECT_LT((rec.grads[i] - f.A * (rec.thetas[i] - f.c)).norm(), 1e-14);
    EXPECT_DOUBLE_EQ(rec.grad_norms[i], rec.grads[i].norm());
  }
  EXPECT_EQ(theta, rec.thetas.back());
  EXPECT_EQ(s.gradient_evaluations, 21);
}

TEST(GradientDescent, HandsTheObserverTheLogitsOfEveryScheduledState) {
  // A CheckpointLogitsObjective's evaluation of a scheduled (or last) state hands its logits on: (W H)ᵀ
  // of that state. A plain objective hands none.
  const UfmObjective f(3, 4, test::shuffled_labels({4, 5, 3}, 2), Loss::kCrossEntropy, BiasMode::kFree,
                       {1e-2, 1e-2, 0.0});
  Vec theta = test::random_vec(f.num_params(), 5, 0.5);
  std::vector<Mat> seen;
  std::vector<long> steps;
  auto observe = [&](const Checkpoint& c) {
    steps.push_back(c.step);
    seen.push_back(c.logits_t ? *c.logits_t : Mat());
    if (c.logits_t) {
      const Mat want = (f.layout().W(c.theta) * f.layout().H(c.theta)).transpose();
      EXPECT_LT((*c.logits_t - want).cwiseAbs().maxCoeff(), 1e-13) << "step " << c.step;
    }
    return ObserverAction::kContinue;
  };
  for (const double beta : {0.0, 0.9}) {
    steps.clear(), seen.clear();
    GradientDescent({.lr = 0.1, .max_steps = 7, .momentum = beta}).run(f, theta, std::vector<long>{0, 3}, observe);
    ASSERT_EQ(steps, (std::vector<long>{0, 3, 7}));
    for (const Mat& m : seen) EXPECT_EQ(m.rows(), 12);
  }
  const Quadratic q({0.3, 1.0}, 11, 1);
  Vec x = test::random_vec(2, 13);
  bool any = false;
  GradientDescent({.lr = 0.1, .max_steps = 3}).run(q, x, std::vector<long>{0, 1}, [&](const Checkpoint& c) {
    any = any || c.logits_t != nullptr;
    return ObserverAction::kContinue;
  });
  EXPECT_FALSE(any);
}

TEST(GradientDescent, MomentumFollowsTheHeavyBallRecursion) {
  const Quadratic f({0.7}, 5, 1);  // 1-D: F = ½ a (x − c)²
  const double a = f.A(0, 0), c = f.c(0), lr = 0.3, beta = 0.6;
  Vec theta = Vec::Constant(1, 2.0);
  Record rec;
  const std::vector<long> all{0, 1, 2, 3, 4, 5, 6};
  GradientDescent({.lr = lr, .max_steps = 6, .momentum = beta}).run(f, theta, all, rec);
  double x = 2.0, v = 0.0;
  for (long k = 0; k <= 6; ++k) {
    EXPECT_DOUBLE_EQ(rec.thetas[static_cast<std::size_t>(k)](0), x) << k;
    v = beta * v + a * (x - c);
    x -= lr * v;
  }
}

TEST(GradientDescent, MomentumConvergesFasterOnIllConditionedQuadratic) {
  const Quadratic f({0.01, 0.1, 0.5, 1.0}, 21, 1);
  const Vec theta0 = test::random_vec(4, 23);
  long steps[2];
  for (int m = 0; m < 2; ++m) {
    Vec theta = theta0;
    const RunSummary s = GradientDescent({.lr = 1.0, .max_steps = 100000, .momentum = m ? 0.9 : 0.0, .grad_tol = 1e-8})
                             .run(f, theta, {}, NullObserver{});
    EXPECT_EQ(s.status, RunStatus::kConverged) << s.message;
    EXPECT_LT((theta - f.c).norm(), 1.01e-6);
    steps[m] = s.steps;
  }
  std::printf("steps to grad_tol 1e-8 (kappa 100): GD %ld, momentum 0.9: %ld\n", steps[0], steps[1]);
  EXPECT_LT(3 * steps[1], steps[0]);
}

TEST(GradientDescent, HugeLearningRateOnMseDivergesAndNeverObservesNonFinite) {
  const UfmObjective f(3, 4, block_labels(balanced_counts(3, 3)), Loss::kMse, BiasMode::kNone, {});
  Vec theta = test::random_vec(f.num_params(), 31);
  std::vector<long> every(201);
  for (long k = 0; k <= 200; ++k) every[static_cast<std::size_t>(k)] = k;
  Record rec;
  const RunSummary s = GradientDescent({.lr = 50.0, .max_steps = 200}).run(f, theta, every, rec);
  ASSERT_EQ(s.status, RunStatus::kDiverged) << s.message;
  EXPECT_NE(s.message.find("non-finite"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("at step " + std::to_string(s.steps + 1) + " "), std::string::npos) << s.message;
  ASSERT_FALSE(rec.values.empty());
  for (std::size_t i = 0; i < rec.values.size(); ++i) {
    EXPECT_TRUE(std::isfinite(rec.values[i]) && std::isfinite(rec.grad_norms[i]) && rec.thetas[i].allFinite());
  }
  EXPECT_EQ(rec.steps.back(), s.steps);  // every step was scheduled: the last finite one was seen
  EXPECT_TRUE(theta.allFinite());        // the run ends at its last finite state
  EXPECT_EQ(theta, rec.thetas.back());
  EXPECT_DOUBLE_EQ(s.final_value, f.value(theta));
}

TEST(GradientDescent, GradTolConvergedStateIsObservedEvenIfUnscheduled) {
  const Quadratic f({0.5, 1.0}, 41, 1);
  Vec theta = test::random_vec(2, 43);
  Record rec;
  const std::vector<long> schedule{0, 100000};
  const RunSummary s = GradientDescent({.lr = 0.5, .max_steps = 100000, .grad_tol = 1e-6}).run(f, theta, schedule, rec);
  EXPECT_EQ(s.status, RunStatus::kConverged);
  ASSERT_EQ(rec.steps.size(), 2u);
  EXPECT_EQ(rec.steps[1], s.steps);
  EXPECT_LE(rec.grad_norms[1], 1e-6);
  EXPECT_GT(rec.grad_norms[0], 1e-6);
}

TEST(GradientDescent, ObserverStopEndsTheRunAsStopped) {
  const Quadratic f({0.5, 1.0}, 51, 1);
  Vec theta = test::random_vec(2, 53);
  int calls = 0;
  Vec seen;
  auto stop_at_5 = [&](const Checkpoint& c) {
    ++calls;
    seen = c.theta;
    return c.step == 5 ? ObserverAction::kStop : ObserverAction::kContinue;
  };
  const std::vector<long> schedule{0, 5, 10};
  const RunSummary s = GradientDescent({.lr = 0.1, .max_steps = 50}).run(f, theta, schedule, stop_at_5);
  EXPECT_EQ(s.status, RunStatus::kStopped);
  EXPECT_EQ(s.steps, 5);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(theta, seen);
  EXPECT_DOUBLE_EQ(s.final_value, f.value(theta));
  EXPECT_EQ(to_string(s.status), "stopped");
}

TEST(GradientDescent, StopRequestEndsGdAndMomentumAtTheNextStepAsStopped) {
  const UfmObjective ufm(3, 4, block_labels(balanced_counts(3, 3)), Loss::kCrossEntropy, BiasMode::kFree,
                         {1e-3, 1e-3, 0.0});
  const Vec theta0 = test::random_vec(ufm.num_params(), 71, 0.3);
  const std::vector<long> schedule{0, 10, 1000, 100000};
  for (double beta : {0.0, 0.9}) {
    SCOPED_TRACE(beta == 0.0 ? "gd" : "momentum");
    std::atomic<bool> flag{false};
    const test::SetsFlagAtEvaluation<UfmObjective> f{ufm, flag, 37};  // during step 36
    static_assert(DescentStepObjective<test::SetsFlagAtEvaluation<UfmObjective>>);
    Vec theta = theta0;
    Record rec;
    const RunSummary s =
        GradientDescent({.lr = 0.05, .max_steps = 100000, .momentum = beta, .stop_request = &flag}).run(f, theta,
                                                                                                        schedule, rec);
    EXPECT_EQ(s.status, RunStatus::kStopped) << s.message;
    EXPECT_EQ(s.steps, 37);  // the step after the one the flag was raised in
    EXPECT_EQ(s.message, "stopped on request at step 37 (t = 1.85)");
    EXPECT_EQ(rec.steps, (std::vector<long>{0, 10, 37}));  // the stop state is the final checkpoint
    EXPECT_EQ(theta, rec.thetas.back());
    EXPECT_TRUE(theta.allFinite());
    EXPECT_DOUBLE_EQ(s.final_value, ufm.value(theta));
    // The same state as a run that simply ends at step 37.
    Vec reference = theta0;
    GradientDescent({.lr = 0.05, .max_steps = 37, .momentum = beta}).run(ufm, reference, schedule, NullObserver{});
    EXPECT_EQ(theta, reference);
  }
}

TEST(GradientDescent, StopRequestSetBeforeTheRunEndsItAtStepZero) {
  const Quadratic f({0.5, 1.0}, 73, 1);
  const Vec theta0 = test::random_vec(2, 74);
  Vec theta = theta0;
  const std::atomic<bool> flag{true};
  Record rec;
  const RunSummary s = GradientDescent({.lr = 0.1, .max_steps = 50, .stop_request = &flag}).run(f, theta, {}, rec);
  EXPECT_EQ(s.status, RunStatus::kStopped);
  EXPECT_EQ(s.steps, 0);
  EXPECT_EQ(rec.steps, (std::vector<long>{0}));
  EXPECT_EQ(theta, theta0);
}

TEST(GradientDescent, RejectsBadOptionsAndInputs) {
  EXPECT_THROW(GradientDescent({.lr = 0.0}), std::invalid_argument);
  EXPECT_THROW(GradientDescent({.lr = 0.1, .max_steps = -1}), std::invalid_argument);
  EXPECT_THROW(GradientDescent({.lr = 0.1, .momentum = 1.0}), std::invalid_argument);
  EXPECT_THROW(GradientDescent({.lr = 0.1, .grad_tol = -1.0}), std::invalid_argument);
  const Quadratic f({1.0, 2.0}, 61, 1);
  GradientDescent gd({});
  Vec wrong(3);
  EXPECT_THROW(gd.run(f, wrong, {}, NullObserver{}), std::invalid_argument);
  Vec theta(2);
  const std::vector<long> unsorted{0, 5, 3};
  EXPECT_THROW(gd.run(f, theta, unsorted, NullObserver{}), std::invalid_argument);
}

TEST(RunStatus, Names) {
  EXPECT_EQ(to_string(RunStatus::kConverged), "converged");
  EXPECT_EQ(to_string(RunStatus::kMaxSteps), "max_steps");
  EXPECT_EQ(to_string(RunStatus::kMaxTime), "max_time");
  EXPECT_EQ(to_string(RunStatus::kDiverged), "diverged");
  EXPECT_EQ(to_string(RunStatus::kStopped), "stopped");
}

}  // namespace
}  // namespace ufm
