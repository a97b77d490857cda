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

struct Record {
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
  Record rec;
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

}  // namespace
}  // namespace ufm
