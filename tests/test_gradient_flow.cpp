#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_problems.hpp"
#include "test_util.hpp"
#include "ufm/dynamics/gradient_flow.hpp"

namespace ufm {
namespace {

using test::Quadratic;
using test::Record;

GradientFlow rk4(double dt, double T) {
  return GradientFlow({.integrator = Integrator::kRk4, .dt = dt, .max_time = T});
}
GradientFlow dopri5(double tol, double T) {
  return GradientFlow({.integrator = Integrator::kDopri5, .dt = 0.01, .abs_tol = tol, .rel_tol = tol, .max_time = T});
}

double rk4_error(const Quadratic& f, const Vec& x0, double dt, double T) {
  Vec x = x0;
  const RunSummary s = rk4(dt, T).run(f, x, {}, NullObserver{});
  EXPECT_EQ(s.status, RunStatus::kMaxTime) << s.message;
  return (x - f.exact(x0, T)).norm() / (x0 - f.c).norm();
}

/// F(x) = ½ Σ λ_i x_i² (no rotation): the flow's error stays in the coordinates it starts in.
struct DiagonalQuadratic {
  Vec lambda;
  Index num_params() const { return lambda.size(); }
  double value(const Vec& x) const { return 0.5 * x.dot(lambda.cwiseProduct(x)); }
  double value_and_gradient(const Vec& x, Vec& g) const {
    g = lambda.cwiseProduct(x);
    return 0.5 * x.dot(g);
  }
};

TEST(GradientFlow, Dopri5WithTheRmsNormMeetsItsToleranceInFewerSteps) {
  // 1,000 coordinates, one of them 50 times faster: its error is the max norm's and only a
  // 1/√1000 share of the RMS norm's, so at the same tolerance the RMS control takes far fewer
  // steps (dopri5's error per step ∝ dt⁵; 15 against 25 here) and ends less accurate; both stay close
  // to the exact flow.
  DiagonalQuadratic f{Vec::Constant(1000, 0.1)};
  f.lambda(0) = 5.0;
  const Vec x0 = Vec::Ones(1000);
  const double T = 3.0, tol = 1e-6;
  const Vec exact = (-f.lambda.array() * T).exp().matrix();  // x0 = 1
  long steps[2] = {};
  double error[2] = {};
  for (const ErrorNorm norm : {ErrorNorm::kMax, ErrorNorm::kRms}) {
    const int i = norm == ErrorNorm::kRms;
    Vec x = x0;
    const RunSummary s = GradientFlow({.integrator = Integrator::kDopri5, .dt = 0.01, .abs_tol = tol, .rel_tol = tol,
                                       .error_norm = norm, .max_time = T})
                             .run(f, x, {}, NullObserver{});
    ASSERT_EQ(s.status, RunStatus::kMaxTime) << s.message;
    steps[i] = s.steps;
    error[i] = (x - exact).lpNorm<Eigen::Infinity>();
  }
  std::printf("dopri5 at tol 1e-6: max norm %ld steps, error %.2e; rms norm %ld steps, error %.2e\n", steps[0], error[0],
              steps[1], error[1]);
  EXPECT_LT(static_cast<double>(steps[1]), 0.75 * static_cast<double>(steps[0]));
  EXPECT_LT(error[0], 10 * tol);
  EXPECT_LT(error[1], 100 * tol);
  EXPECT_GT(error[1], error[0]);
}

TEST(GradientFlow, Rk4MatchesMatrixExponential) {
  const Quadratic f({0.5, 1.0, 2.0, 3.0}, 1);
  const Vec x0 = test::random_vec(4, 2);
  EXPECT_LT(rk4_error(f, x0, 0.01, 2.0), 1e-8);
}

TEST(GradientFlow, Rk4ErrorScalesLikeDtToTheFourth) {
  const Quadratic f({0.5, 1.0, 2.0, 3.0}, 1);
  const Vec x0 = test::random_vec(4, 2);
  const double e1 = rk4_error(f, x0, 0.2, 2.0), e2 = rk4_error(f, x0, 0.1, 2.0), e3 = rk4_error(f, x0, 0.05, 2.0);
  std::printf("RK4 errors at dt 0.2, 0.1, 0.05: %.3e %.3e %.3e, ratios %.2f %.2f\n", e1, e2, e3, e1 / e2, e2 / e3);
  EXPECT_GT(e1 / e2, 13.0);
  EXPECT_LT(e1 / e2, 19.0);
  EXPECT_GT(e2 / e3, 13.0);
  EXPECT_LT(e2 / e3, 19.0);
}

TEST(GradientFlow, Rk4EndsExactlyAtMaxTimeWithAShortLastStepAndFourEvaluationsPerStep) {
  const Quadratic f({0.5, 1.0, 2.0}, 3);
  const Vec x0 = test::random_vec(3, 4);
  Vec x = x0;
  Record rec;
  f.evaluations = 0;
  const RunSummary s = rk4(0.1, 1.05).run(f, x, {}, rec);
  EXPECT_EQ(s.status, RunStatus::kMaxTime);
  EXPECT_EQ(s.steps, 11);  // ten steps of 0.1, one of 0.05
  EXPECT_EQ(s.time, 1.05);
  ASSERT_EQ(rec.times.size(), 1u);
  EXPECT_EQ(rec.times[0], 1.05);
  EXPECT_LT((x - f.exact(x0, 1.05)).norm(), 5e-5);
  EXPECT_GT((x - f.exact(x0, 1.0)).norm(), 1e-2);  // and not at 1.0 or 1.1
  EXPECT_GT((x - f.exact(x0, 1.1)).norm(), 1e-2);
  EXPECT_EQ(s.gradient_evaluations, 4 * 11 + 1);
  EXPECT_EQ(f.evaluations, s.gradient_evaluations);
}

TEST(GradientFlow, Rk4ObservesTheNearestGridStepOnce) {
  const Quadratic f({1.0, 2.0}, 5);
  Vec x = test::random_vec(2, 6);
  Record rec;
  const std::vector<double> schedule{0.0, 0.24, 0.26, 0.27, 0.5, 2.0};  // 2.0 is past max_time
  const RunSummary s = rk4(0.1, 1.0).run(f, x, schedule, rec);
  EXPECT_EQ(s.status, RunStatus::kMaxTime);
  EXPECT_EQ(rec.steps, (std::vector<long>{0, 2, 3, 5, 10}));
  EXPECT_EQ(rec.times, (std::vector<double>{0.0, 2 * 0.1, 3 * 0.1, 5 * 0.1, 1.0}));  // k * dt, not accumulated
  for (std::size_t i = 0; i < rec.steps.size(); ++i) {
    EXPECT_NEAR(rec.values[i], f.value(rec.thetas[i]), 1e-15);
    EXPECT_LT((rec.grads[i] - f.A * (rec.thetas[i] - f.c)).norm(), 1e-14);
  }
}

TEST(GradientFlow, Dopri5MatchesMatrixExponentialExactlyAtCheckpointTimes) {
  const Quadratic f({0.5, 1.0, 2.0, 3.0}, 7);
  const Vec x0 = test::random_vec(4, 8);
  Vec x = x0;
  Record rec;
  const std::vector<double> schedule{0.0, 1e-3, 0.0123, 0.1, 0.37, 1.0, 2.5, 4.99, 5.0};
  f.evaluations = 0;
  const RunSummary s = dopri5(1e-10, 5.0).run(f, x, schedule, rec);
  EXPECT_EQ(s.status, RunStatus::kMaxTime) << s.message;
  EXPECT_EQ(rec.times, schedule);  // bitwise: dense output, not the nearest step
  EXPECT_EQ(s.time, 5.0);
  for (std::size_t i = 0; i < rec.times.size(); ++i) {
    const Vec exact = f.exact(x0, rec.times[i]);
    EXPECT_LT((rec.thetas[i] - exact).norm() / (x0 - f.c).norm(), 1e-8) << "t = " << rec.times[i];
    EXPECT_NEAR(rec.values[i], f.value(rec.thetas[i]), 1e-14);
    EXPECT_LT((rec.grads[i] - f.A * (rec.thetas[i] - f.c)).norm(), 1e-13);
  }
  EXPECT_EQ(x, rec.thetas.back());
  EXPECT_EQ(f.evaluations, s.gradient_evaluations);
  std::printf("dopri5 tol 1e-10 to T=5: %ld accepted steps, %ld gradient evaluations\n", s.steps,
              s.gradient_evaluations);
}

TEST(GradientFlow, Dopri5TighterToleranceIsMoreAccurate) {
  const Quadratic f({0.5, 1.0, 2.0, 3.0}, 9);
  const Vec x0 = test::random_vec(4, 10);
  double err[2];
  for (int i = 0; i < 2; ++i) {
    Vec x = x0;
    dopri5(i ? 1e-11 : 1e-6, 3.0).run(f, x, {}, NullObserver{});
    err[i] = (x - f.exact(x0, 3.0)).norm() / (x0 - f.c).norm();
  }
  std::printf("dopri5 error at tol 1e-6: %.3e, at tol 1e-11: %.3e\n", err[0], err[1]);
  EXPECT_LT(err[1], 1e-9);
  EXPECT_LT(100 * err[1], err[0]);
}

TEST(GradientFlow, GradTolEndsAsConvergedAndIsObserved) {
  const Quadratic f({0.5, 1.0}, 11);
  for (Integrator integrator : {Integrator::kRk4, Integrator::kDopri5}) {
    Vec x = test::random_vec(2, 12);
    Record rec;
    const GradientFlow flow({.integrator = integrator, .dt = 0.05, .max_time = 1000.0, .grad_tol = 1e-6});
    const RunSummary s = flow.run(f, x, {}, rec);
    EXPECT_EQ(s.status, RunStatus::kConverged) << s.message;
    ASSERT_EQ(rec.grad_norms.size(), 1u);
    EXPECT_LE(rec.grad_norms[0], 1e-6);
    EXPECT_LT(s.time, 100.0);
    EXPECT_LT((x - f.c).norm(), 1e-6 / 0.5 * 1.01);
  }
}

TEST(GradientFlow, ObserverStopAtAnInterpolatedCheckpoint) {
  const Quadratic f({0.5, 1.0}, 13);
  Vec x = test::random_vec(2, 14);
  Vec seen;
  auto stop = [&](const Checkpoint& c) {
    seen = c.theta;
    return c.time == 0.37 ? ObserverAction::kStop : ObserverAction::kContinue;
  };
  const std::vector<double> schedule{0.1, 0.37, 0.5};
  const RunSummary s = dopri5(1e-10, 10.0).run(f, x, schedule, stop);
  EXPECT_EQ(s.status, RunStatus::kStopped);
  EXPECT_EQ(s.time, 0.37);
  EXPECT_EQ(x, seen);
  EXPECT_DOUBLE_EQ(s.final_value, f.value(x));
}

TEST(GradientFlow, StopRequestEndsRk4AndDopri5AfterTheCurrentStepAsStopped) {
  const Quadratic f({0.5, 1.0, 3.0}, 21);
  const Vec x0 = test::random_vec(3, 22);
  const std::vector<double> schedule{0.0, 0.05, 50.0};
  for (Integrator integrator : {Integrator::kRk4, Integrator::kDopri5}) {
    SCOPED_TRACE(integrator == Integrator::kRk4 ? "rk4" : "dopri5");
    const GradientFlow::Options base{
        .integrator = integrator, .dt = 0.01, .abs_tol = 1e-10, .rel_tol = 1e-10, .max_time = 100.0};
    std::atomic<bool> flag{false};
    const test::SetsFlagAtEvaluation<Quadratic> g{f, flag, 50};
    GradientFlow::Options o = base;
    o.stop_request = &flag;
    Vec x = x0;
    Record rec;
    const RunSummary s = GradientFlow(o).run(g, x, schedule, rec);
    EXPECT_EQ(s.status, RunStatus::kStopped) << s.message;
    EXPECT_GT(s.steps, 0);
    EXPECT_LE(s.steps, 13);  // 50 evaluations: RK4 4 per step, dopri5 at least 6 per accepted step
    EXPECT_LT(s.time, 1.0);
    EXPECT_NE(s.message.find("stopped on request at step " + std::to_string(s.steps) + " "), std::string::npos)
        << s.message;
    ASSERT_FALSE(rec.steps.empty());
    EXPECT_EQ(rec.steps.back(), s.steps);  // the stop state is the final checkpoint
    EXPECT_EQ(rec.times.back(), s.time);
    EXPECT_EQ(x, rec.thetas.back());
    EXPECT_TRUE(x.allFinite());
    EXPECT_DOUBLE_EQ(s.final_value, f.value(x));
    // The same state as a run whose step budget ends there.
    GradientFlow::Options budget = base;
    budget.max_steps = s.steps;
    Vec reference = x0;
    EXPECT_EQ(GradientFlow(budget).run(f, reference, {}, NullObserver{}).status, RunStatus::kMaxSteps);
    EXPECT_EQ(x, reference);
  }
}

TEST(GradientFlow, RejectsBadOptionsAndInputs) {
  EXPECT_THROW(GradientFlow({.dt = 0.0}), std::invalid_argument);
  EXPECT_THROW(GradientFlow({.abs_tol = 0.0}), std::invalid_argument);
  EXPECT_THROW(GradientFlow({.max_time = -1.0}), std::invalid_argument);
  EXPECT_THROW(GradientFlow({.max_steps = -1}), std::invalid_argument);
  const Quadratic f({1.0, 2.0}, 17);
  Vec wrong(3);
  EXPECT_THROW(GradientFlow({}).run(f, wrong, {}, NullObserver{}), std::invalid_argument);
  Vec x(2);
  const std::vector<double> unsorted{0.0, 2.0, 1.0};
  EXPECT_THROW(GradientFlow({}).run(f, x, unsorted, NullObserver{}), std::invalid_argument);
}

TEST(GradientFlow, MaxStepsAndZeroTime) {
  const Quadratic f({1.0, 2.0}, 19);
  for (Integrator integrator : {Integrator::kRk4, Integrator::kDopri5}) {
    Vec x = test::random_vec(2, 20);
    Record rec;
    RunSummary s =
        GradientFlow({.integrator = integrator, .dt = 0.01, .max_time = 10.0, .max_steps = 7}).run(f, x, {}, rec);
    EXPECT_EQ(s.status, RunStatus::kMaxSteps);
    EXPECT_EQ(s.steps, 7);
    EXPECT_EQ(rec.steps, (std::vector<long>{7}));
    const Vec x0 = x;
    s = GradientFlow({.integrator = integrator, .max_time = 0.0}).run(f, x, {}, rec);
    EXPECT_EQ(s.status, RunStatus::kMaxTime);
    EXPECT_EQ(s.steps, 0);
    EXPECT_EQ(x, x0);
  }
}

}  // namespace
}  // namespace ufm
