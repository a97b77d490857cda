/// theory.md §5 (g): the Wojtowytsch–E toy, driven by the project's dopri5 GradientFlow.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>

#include "test_util.hpp"
#include "ufm/objectives/objective.hpp"
#include "ufm/theory/toy_flow.hpp"

namespace ufm {
namespace {

static_assert(Objective<ToyRisk>);

using A3 = std::array<double, 3>;

/// The checkpoint whose time is closest to t (in log scale).
const ToyCheckpoint& at(const ToyFlowResult& r, double t) {
  const ToyCheckpoint* best = &r.trajectory.back();
  for (const ToyCheckpoint& c : r.trajectory)
    if (c.t > 0 && std::abs(std::log(c.t / t)) < std::abs(std::log(best->t / t))) best = &c;
  return *best;
}

TEST(ToyRisk, GradientMatchesFiniteDifferences) {
  const ToyRisk f({0.2, 0.5, 0.3});
  for (unsigned seed : {1u, 2u, 3u}) {
    const Vec a = test::random_vec(3, seed, 1.5);
    Vec grad(3);
    const double v = f.value_and_gradient(a, grad);
    EXPECT_DOUBLE_EQ(v, f.value(a));
    EXPECT_LT(test::relative_error(grad, test::finite_difference_gradient(f, a)), 1e-9) << seed;
  }
}

TEST(ToyRisk, IsTheExponentialLossOfTheClippedReluNetwork) {
  const A3 p{0.2, 0.5, 0.3}, a{0.7, -0.4, 1.3};
  // classes {-1, 1} (label +1) and {0} (label -1): R = p1 e^{-h(-1)} + p2 e^{h(0)} + p3 e^{-h(1)}
  const double R = p[0] * std::exp(-toy_network(a, -1)) + p[1] * std::exp(toy_network(a, 0)) +
                   p[2] * std::exp(-toy_network(a, 1));
  Vec theta(3);
  theta << a[0], a[1], a[2];
  EXPECT_NEAR(ToyRisk(p).value(theta), R, 1e-15);
  EXPECT_DOUBLE_EQ(toy_network(a, 1) - toy_network(a, -1), a[2] - a[1] - a[0]);
}

TEST(RunToyFlow, ErrorDecaysLikeOneOverT) {
  const ToyFlowInput in{{0.2, 0.5, 0.3}, {0.0, 0.0, 0.0}, 1e5, 50};
  const ToyFlowResult r = run_toy_flow(in);
  ASSERT_EQ(r.summary.status, RunStatus::kMaxTime) << r.summary.message;
  EXPECT_DOUBLE_EQ(r.limit, std::log(0.3 / 0.4));
  EXPECT_EQ(r.trajectory.front().t, 0.0);
  EXPECT_EQ(r.trajectory.back().t, 1e5);
  const ToyCheckpoint &c3 = at(r, 1e3), &c4 = at(r, 1e4), &c5 = at(r, 1e5);
  const double m3 = c3.t * c3.error, m4 = c4.t * c4.error, m5 = c5.t * c5.error;
  std::cout << "  t*error at t = " << c3.t << ", " << c4.t << ", " << c5.t << ": " << m3 << ", " << m4 << ", " << m5
            << " (" << r.summary.steps << " steps)\n";
  EXPECT_GT(std::abs(m5), 1e-3);  // a genuine 1/t term, not an accidental zero
  EXPECT_NEAR(m4 / m5, 1.0, 0.03);
  EXPECT_NEAR(m3 / m5, 1.0, 0.05);
  // Least-squares slope of log|error| against log t over t in [1e2, 1e5].
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  int m = 0;
  for (const ToyCheckpoint& c : r.trajectory) {
    if (c.t < 1e2) continue;
    const double x = std::log(c.t), y = std::log(std::abs(c.error));
    sx += x, sy += y, sxx += x * x, sxy += x * y, ++m;
  }
  const double slope = (m * sxy - sx * sy) / (m * sxx - sx * sx);
  std::cout << "  slope of log|error| vs log t: " << slope << " over " << m << " checkpoints\n";
  EXPECT_NEAR(slope, -1.0, 0.05);
  for (std::size_t i = 1; i < r.trajectory.size(); ++i)  // gradient flow decreases the risk
    EXPECT_LE(r.trajectory[i].risk, r.trajectory[i - 1].risk * (1 + 1e-12));
}

TEST(RunToyFlow, ReachesTheLimitFromSeveralStarts) {
  const A3 p{0.3, 0.25, 0.45};
  for (const A3& a0 : {A3{0, 0, 0}, A3{3, -2, 1}, A3{-2, 4, -3}, A3{5, 5, 5}, A3{-4, -4, 6}}) {
    const ToyFlowResult r = run_toy_flow({p, a0, 1e6, 30});
    ASSERT_EQ(r.summary.status, RunStatus::kMaxTime) << r.summary.message;
    const ToyCheckpoint& end = r.trajectory.back();
    std::cout << "  a0 = (" << a0[0] << ", " << a0[1] << ", " << a0[2] << "): error(1e6) = " << end.error << "\n";
    EXPECT_NEAR(end.gap, std::log(0.45 / 0.6), 1e-3);
    EXPECT_LT(std::abs(end.error), std::abs(at(r, 1e4).error) + 1e-12);
  }
}

TEST(RunToyFlow, BalancedWeightsCollapseTheClass) {
  // p3 = 2 p1: the limit is 0, h(1) = h(-1), and the weights need not sum to 1.
  const ToyFlowResult r = run_toy_flow({{1.0, 3.0, 2.0}, {1.0, -1.0, 0.5}, 1e6, 20});
  EXPECT_EQ(r.limit, 0.0);
  EXPECT_NEAR(r.trajectory.back().gap, 0.0, 1e-4);
  const ToyFlowInput in{{1.0, 3.0, 2.0}, {1.0, -1.0, 0.5}, 1e6, 20};
  const auto j = to_json(r, in);
  EXPECT_EQ(j["limit"], 0.0);
  EXPECT_EQ(j["summary"]["status"], "max_time");
  EXPECT_EQ(j["trajectory"].size(), r.trajectory.size());
  EXPECT_EQ(j["trajectory"].back()["t"], 1e6);
}

TEST(RunToyFlow, RejectsBadInputNamingTheField) {
  auto message = [](ToyFlowInput in) {
    try {
      run_toy_flow(in);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no throw");
  };
  const ToyFlowInput ok{{0.2, 0.5, 0.3}, {0, 0, 0}, 10.0};
  ToyFlowInput in = ok;
  in.p[1] = 0.0;
  EXPECT_NE(message(in).find("'p'"), std::string::npos) << message(in);
  in = ok;
  in.p[2] = std::numeric_limits<double>::infinity();
  EXPECT_NE(message(in).find("'p'"), std::string::npos);
  in = ok;
  in.a0[0] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(message(in).find("'a0'"), std::string::npos);
  in = ok;
  in.time = 0.0;
  EXPECT_NE(message(in).find("'time'"), std::string::npos);
  in = ok;
  in.num_checkpoints = 1;
  EXPECT_NE(message(in).find("'num_checkpoints'"), std::string::npos);
  in = ok;
  in.rel_tol = -1.0;
  EXPECT_NE(message(in).find("'rel_tol'"), std::string::npos);
  in.rel_tol = 1e-30;  // below 100 machine epsilons: the step size shrank to nothing
  EXPECT_NE(message(in).find("'rel_tol' must be at least 2.22e-14"), std::string::npos);
}

}  // namespace
}  // namespace ufm
