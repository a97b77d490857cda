// Runs that go wrong end with kDiverged, a message, and a trajectory of finite states only.
#include <gtest/gtest.h>

#include <boost/numeric/odeint/util/odeint_error.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "ufm/dynamics/gradient_flow.hpp"

namespace ufm {
namespace {

struct FlowRecord {
  std::vector<double> times, values, grad_norms;
  std::vector<Vec> thetas;
  ObserverAction operator()(const Checkpoint& c) {
    times.push_back(c.time);
    values.push_back(c.value);
    grad_norms.push_back(c.grad_norm);
    thetas.push_back(c.theta);
    return ObserverAction::kContinue;
  }
};

/// F = −Σ x³/3: dx/dt = x², which blows up at t = 1/x0.
struct BlowUp {
  Index num_params() const { return 2; }
  double value(const Vec& x) const { return -x.array().cube().sum() / 3; }
  double value_and_gradient(const Vec& x, Vec& g) const {
    g = -x.array().square().matrix();
    return value(x);
  }
};

/// F = −½||x||², but NaN gradient outside the unit ball (x0 inside, the flow leaves it).
struct NanOutside {
  Index num_params() const { return 2; }
  double value(const Vec& x) const { return -0.5 * x.squaredNorm(); }
  double value_and_gradient(const Vec& x, Vec& g) const {
    g = -x;
    if (x.norm() > 1.0) g(0) = std::nan("");
    return value(x);
  }
};

template <class F>
void expect_diverges(const F& f, Integrator integrator, double dt, double max_time, double blowup_time) {
  SCOPED_TRACE(integrator == Integrator::kRk4 ? "rk4" : "dopri5");
  Vec x = Vec::Constant(2, 0.5);
  FlowRecord rec;
  std::vector<double> schedule;
  for (int i = 0; i <= 400; ++i) schedule.push_back(i * max_time / 400);
  const GradientFlow flow({.integrator = integrator,
                           .dt = dt,
                           .abs_tol = 1e-8,
                           .rel_tol = 1e-8,
                           .max_time = max_time,
                           .max_steps = 1000000});
  const RunSummary s = flow.run(f, x, schedule, rec);
  EXPECT_EQ(s.status, RunStatus::kDiverged) << s.message;
  EXPECT_FALSE(s.message.empty());
  std::printf("  %s: %s\n", integrator == Integrator::kRk4 ? "rk4" : "dopri5", s.message.c_str());
  for (std::size_t i = 0; i < rec.values.size(); ++i)
    EXPECT_TRUE(std::isfinite(rec.values[i]) && std::isfinite(rec.grad_norms[i]) && rec.thetas[i].allFinite());
  EXPECT_TRUE(x.allFinite());
  EXPECT_TRUE(std::isfinite(s.final_value));
  EXPECT_LE(s.time, blowup_time + 0.05);
  ASSERT_FALSE(rec.times.empty());
  EXPECT_GT(rec.times.back(), 0.5 * blowup_time);
}

TEST(GradientFlow, FiniteTimeBlowUpEndsAsDiverged) {
  expect_diverges(BlowUp{}, Integrator::kRk4, 0.01, 4.0, 2.0);
  expect_diverges(BlowUp{}, Integrator::kDopri5, 0.01, 4.0, 2.0);
}

TEST(GradientFlow, NanRegionEndsAsDiverged) {
  const double leave = std::log(1.0 / std::sqrt(0.5));  // |x(t)| = |x0| e^t reaches 1
  expect_diverges(NanOutside{}, Integrator::kRk4, 0.01, 4.0, leave);
  expect_diverges(NanOutside{}, Integrator::kDopri5, 0.01, 4.0, leave);
}

/// F = ½||x||² (flow x(t) = x0 e^{−t}), whose evaluation throws an odeint error after `limit` calls.
struct ThrowsAfter {
  long limit;
  mutable long evaluations = 0;
  Index num_params() const { return 2; }
  double value(const Vec& x) const { return 0.5 * x.squaredNorm(); }
  double value_and_gradient(const Vec& x, Vec& g) const {
    if (evaluations++ >= limit) throw boost::numeric::odeint::step_adjustment_error("simulated failure");
    g = x;
    return value(x);
  }
};

TEST(GradientFlow, OdeintErrorEndsAsDivergedWithItsMessage) {
  const ThrowsAfter f{40};
  const Vec x0 = test::random_vec(2, 16);
  Vec x = x0;
  RunSummary s;
  const GradientFlow flow({.dt = 0.01, .abs_tol = 1e-10, .rel_tol = 1e-10, .max_time = 10.0});
  EXPECT_NO_THROW(s = flow.run(f, x, {}, NullObserver{}));
  EXPECT_EQ(s.status, RunStatus::kDiverged);
  EXPECT_NE(s.message.find("simulated failure"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("odeint error at step "), std::string::npos) << s.message;
  EXPECT_GT(s.steps, 0);
  EXPECT_GT(s.time, 0.0);
  EXPECT_LT((x - x0 * std::exp(-s.time)).norm(), 1e-8);  // a genuine accepted state, at s.time
  EXPECT_DOUBLE_EQ(s.final_value, f.value(x));
}

/// F = Σ x⁴/4 (bounded below; flow x(t) = x0 / sqrt(1 + 2 x0² t)). A trial step dt with
/// r = dt x0² >> 1 overshoots by r in its first stage, r³ in the gradient of the next, and so on:
/// from |x0| = 1e6 a first step of 0.1 overflows within four stages.
struct Quartic {
  Index num_params() const { return 2; }
  double value(const Vec& x) const { return x.array().square().square().sum() / 4; }
  double value_and_gradient(const Vec& x, Vec& g) const {
    g = x.array().cube().matrix();
    return value(x);
  }
};

TEST(GradientFlow, Dopri5RejectsNonFiniteTrialStepsAndShrinksTheStep) {
  Vec x0(2);
  x0 << 1e6, -1.0;
  Vec x = x0;
  const double T = 10.0;
  FlowRecord rec;
  const std::vector<double> schedule{0.0, 1e-3, 1.0, T};
  const GradientFlow flow({.dt = 0.1, .abs_tol = 1e-10, .rel_tol = 1e-10, .max_time = T});
  const RunSummary s = flow.run(Quartic{}, x, schedule, rec);
  EXPECT_EQ(s.status, RunStatus::kMaxTime) << s.message;
  const Vec exact = (x0.array() / (1.0 + 2.0 * x0.array().square() * T).sqrt()).matrix();
  EXPECT_LT((x - exact).norm() / exact.norm(), 1e-7) << x.transpose() << " vs " << exact.transpose();
  EXPECT_EQ(rec.times, schedule);
  for (std::size_t i = 0; i < rec.values.size(); ++i) EXPECT_TRUE(std::isfinite(rec.values[i]));
}

TEST(GradientFlow, Dopri5DivergesOnlyWhenTheMinimumStepIsStillNonFinite) {
  // |x0| = 1e40: every trial step down to min_step (r = 1e66) overflows.
  Vec x0(2);
  x0 << 1e40, 1.0;
  Vec x = x0;
  FlowRecord rec;
  const std::vector<double> schedule{0.0, 1.0};
  const RunSummary s = GradientFlow({.dt = 0.1, .max_time = 1.0}).run(Quartic{}, x, schedule, rec);
  ASSERT_EQ(s.status, RunStatus::kDiverged) << s.message;
  std::printf("  %s\n", s.message.c_str());
  EXPECT_NE(s.message.find("non-finite trial steps down to the minimum step size"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("at step 1 (t = 0)"), std::string::npos) << s.message;
  EXPECT_EQ(s.steps, 0);
  EXPECT_EQ(x, x0);  // the last accepted state
  EXPECT_DOUBLE_EQ(s.final_value, Quartic{}.value(x0));
  EXPECT_EQ(rec.times, std::vector<double>{0.0});
  // 0.1 shrinks by 5 per rejection: about 20 trial steps of 6 evaluations each, not odeint's 500.
  EXPECT_LT(s.gradient_evaluations, 200);
  EXPECT_LE(GradientFlow::min_step(0.0), 1e-14);
  EXPECT_DOUBLE_EQ(GradientFlow::min_step(1e6), 1e-8);
}

}  // namespace
}  // namespace ufm
