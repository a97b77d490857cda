// The flow bench/ufm-bench times (bench::run_flow) is the one `ufm-sim run --dynamics flow` runs:
// from the same saved initial state, the program's final state (its --save-state) equals the
// bench's, bit for bit, for RK4 and dopri5. No timing here: speed lives in bench/.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../bench/bench_problem.hpp"
#include "../bench/flow_traffic.hpp"
#include "../bench/memory_alone.hpp"
#include "cli_runner.hpp"
#include "test_io_util.hpp"
#include "ufm/io/state_dir.hpp"

namespace ufm {
namespace {

TEST(BenchFlow, TimedFlowIsTheProgramsFlowBitForBit) {
  bench::Problem p;
  p.K = 4, p.n = 6, p.d = 8;
  const UfmObjective f = bench::make_objective(p);
  const Vec theta0 = bench::initial_theta(p, f);
  const UfmLayout& L = f.layout();
  test::TempDir dir;
  io::ModelState start;
  start.H = L.H(theta0);
  start.W = L.W(theta0);
  start.b = L.b(theta0);
  start.labels.assign(f.labels().begin(), f.labels().end());
  io::save_state(dir.path() / "start", start);

  for (const Integrator integrator : {Integrator::kRk4, Integrator::kDopri5}) {
    const bool rk4 = integrator == Integrator::kRk4;
    const double T = 2.0, tol = 1e-9;
    Vec theta = theta0;
    const RunSummary s = bench::run_flow(f, theta, integrator, p.lr, tol, T, 100000000L);
    ASSERT_EQ(s.status, RunStatus::kMaxTime) << s.message;
    ASSERT_NE(theta, theta0);

    const auto end = dir.path() / (rk4 ? "rk4" : "dopri5");
    const std::string args = "run --classes 4 --per-class 6 --dim 8 --loss ce --bias reg --lambda 5e-4 --dynamics flow "
                             "--integrator " + std::string(rk4 ? "rk4" : "dopri5 --abs-tol 1e-9 --rel-tol 1e-9") +
                             " --dt 0.1 --time 2 --num-checkpoints 2 --quiet --init-state " +
                             test::quoted(dir.path() / "start") + " --save-state " + test::quoted(end) +
                             " --out " + test::quoted(dir.path() / "out.json");
    const test::CliResult r = test::run_cli(args);
    ASSERT_EQ(r.status, 0) << r.err;
    const io::ModelState final_state = io::load_state(end, p.d, p.N(), p.K, true);
    EXPECT_EQ(final_state.H, L.H(theta)) << (rk4 ? "rk4" : "dopri5");
    EXPECT_EQ(final_state.W, L.W(theta));
    EXPECT_EQ(final_state.b, L.b(theta));
  }
}

/// The FlowTraffic tests' problem: K = 3, n = 5, d = 4, the bench's objective and initial state.
struct TinyFlow {
  bench::Problem p = [] {
    bench::Problem q;
    q.K = 3, q.n = 5, q.d = 4;
    return q;
  }();
  UfmObjective f = bench::make_objective(p);
  Vec theta = bench::initial_theta(p, f);
};

TEST(FlowTraffic, Rk4StagePointsReadOnlyTheirNonzeroSlopes) {
  // odeint's generic RK4 writes stage 3 as x + 0·k1 + (dt/2)·k2 and stage 4 as x + 0·k1 + 0·k2 +
  // dt·k3; LazyAlgebra leaves the zero terms out: 2 sources per inner stage. The step's update
  // x + dt/6 (k1 + 2 k2 + 2 k3 + k4) is formed in the last stage's pass (2 + 5 sources, of which k1
  // and k2 are read anew, the state written and k4's H part never), so the next step's first stage
  // evaluates a plain state.
  TinyFlow t;
  const bench::TrafficCounter<UfmObjective> counter(t.f);
  const RunSummary s = bench::run_flow(counter, t.theta, Integrator::kRk4, 0.25, 1e-10, 0.75, 100000000L);
  ASSERT_EQ(s.status, RunStatus::kMaxTime) << s.message;
  EXPECT_EQ(counter.sources, (std::vector<int>{1, 2, 2, 7, 1, 2, 2, 7, 1, 2, 2, 7, 1}));
  EXPECT_EQ(counter.updates_in_pass, 3);
  EXPECT_EQ(counter.reads, 1.0 + 3 * 9.0);
  EXPECT_EQ(counter.writes, 1.0 + 3 * 4.0);  // k1, k2, k3 and each step's new state
}

/// The flow to T = 0.75 from dt = 0.25 with low-rank slopes forced on, counted.
RunSummary run_low_rank(const bench::TrafficCounter<UfmObjective>& counter, Vec& theta, Integrator integrator) {
  GradientFlow::Options o;
  o.integrator = integrator;
  o.dt = 0.25;
  o.max_time = 0.75;
  o.low_rank_slopes = LowRankSlopes::kAlways;
  return GradientFlow(o).run(counter, theta, std::span<const double>{}, NullObserver{});
}

TEST(FlowTraffic, Rk4StagesWithLowRankSlopesReadTheStateAlone) {
  // Low-rank slopes (low_rank_slope.hpp; where H is beyond the caches by default, always here): every
  // evaluation reads the state's H and nothing else θ-sized, writes no slope, and the last stage of
  // each step writes the updated state: 13 + 3 reads and 3 writes, against 28 and 13 above.
  TinyFlow t;
  const bench::TrafficCounter<UfmObjective> counter(t.f);
  const RunSummary s = run_low_rank(counter, t.theta, Integrator::kRk4);
  ASSERT_EQ(s.status, RunStatus::kMaxTime) << s.message;
  EXPECT_EQ(counter.sources, std::vector<int>(13, 1));
  EXPECT_EQ(counter.updates_in_pass, 3);
  EXPECT_EQ(counter.reads, 13.0);
  EXPECT_EQ(counter.writes, 3.0);
}

TEST(FlowTraffic, Dopri5StagesWithLowRankSlopesReadTheStateAlone) {
  // Low-rank slopes: every evaluation reads the step's start state alone; the last stage of each trial
  // step also writes the trial state and takes the error norm in its pass. The run's first evaluation
  // (the start, observed) is the full one: it reads and writes a vector.
  TinyFlow t;
  const bench::TrafficCounter<UfmObjective> counter(t.f);
  const RunSummary s = run_low_rank(counter, t.theta, Integrator::kDopri5);
  ASSERT_EQ(s.status, RunStatus::kMaxTime) << s.message;
  const long evaluations = s.gradient_evaluations, trials = counter.error_norms_in_pass;
  // Three trial steps, all accepted; besides their 6 evaluations each, three plain ones: the start's,
  // the first step's first slope, and the first slope again where the last step is cut to end at T.
  EXPECT_EQ(trials, 3);
  EXPECT_EQ(s.steps, trials);
  EXPECT_EQ(evaluations, 3 + 6 * trials);
  EXPECT_EQ(counter.sources, std::vector<int>(static_cast<std::size_t>(evaluations), 1));
  EXPECT_EQ(counter.kept_points, trials);
  EXPECT_EQ(counter.updates_in_pass, 0);
  EXPECT_EQ(counter.reads, static_cast<double>(evaluations));
  EXPECT_EQ(counter.writes, 1.0 + static_cast<double>(trials));
}

TEST(FlowTraffic, AnRk4StageMovesThreeAndAQuarterVectorsAndADopri5StageFiveAndAHalf) {
  const TinyFlow t;
  const UfmObjective& f = t.f;
  const Vec& theta = t.theta;
  // 40 steps: the first plain evaluation (2 vectors), then 13 per step of four evaluations (16 with
  // the update formed in the next step's first pass, which read the state and all four slopes).
  EXPECT_DOUBLE_EQ(bench::vectors_moved_per_stage(f, theta, Integrator::kRk4, 0.1), (2.0 + 40 * 13.0) / 161.0);
  // Per trial step: stages 2-6 read 2..6 sources and write their slope (25), the last stage reads 6
  // and writes the state and its slope (8), and computes the error norm in that pass: 33/6 = 5.5,
  // less the two plain evaluations at the start. A norm in a pass of its own would add 8/6.
  const double dopri5 = bench::vectors_moved_per_stage(f, theta, Integrator::kDopri5, 0.1);
  EXPECT_GT(dopri5, 5.0);
  EXPECT_LE(dopri5, 5.5);
}

TEST(FlowTraffic, FormingAloneFormsTheFlowsOwnPointsFromTheirSources) {
  // The source counts are those of the flow run_flow integrates (TrafficCounter's record), and each
  // point is formed from that many sources: with every source 1 and every coefficient 0.5, an entry
  // is 0.5 times the count.
  TinyFlow t;
  const std::vector<int> rk4 = bench::counted_flow(t.f, t.theta, Integrator::kRk4, 0.1).sources;
  ASSERT_EQ(rk4.size(), 161u);
  EXPECT_EQ(std::vector<int>(rk4.begin(), rk4.begin() + 9), (std::vector<int>{1, 2, 2, 7, 1, 2, 2, 7, 1}));
  const std::vector<int> dopri5 = bench::counted_flow(t.f, t.theta, Integrator::kDopri5, 0.1).sources;
  EXPECT_EQ(*std::max_element(dopri5.begin(), dopri5.end()), 6);  // x and five slopes (b2 = 0)
  bench::FormingAlone forming(t.f.num_params());
  EXPECT_EQ(forming.run(rk4, 5), 2 + 2 + 7);  // the plain evaluations (first, fifth) form nothing
  EXPECT_EQ(forming.scratch()[0], 0.5 * 7);
  EXPECT_EQ(forming.run(dopri5, 3), dopri5[0] + dopri5[1] + dopri5[2] - (dopri5[0] == 1) - (dopri5[1] == 1));
  EXPECT_EQ(forming.scratch()[t.f.num_params() - 1], 0.5 * dopri5[2]);
}

TEST(FlowTraffic, EveryDopri5ErrorNormOfTheUfmIsComputedInItsLastStagesPass) {
  TinyFlow t;
  const bench::TrafficCounter<UfmObjective> counter(t.f);
  const RunSummary s = bench::run_flow(counter, t.theta, Integrator::kDopri5, 0.1, 1e-10, 1e9, 30);
  ASSERT_EQ(s.status, RunStatus::kMaxSteps) << s.message;
  EXPECT_GE(counter.error_norms_in_pass, 30);  // one per trial step, rejected ones included
  EXPECT_EQ(counter.error_norms_in_pass, counter.kept_points);
}

TEST(MemoryAlone, GradientIsLambdaTimesTheStagePointWhichItAlsoStores) {
  // Large enough for several blocks, several chunks and the non-temporal stores (16 MiB and up).
  for (const Index n : {Index{3 * 16384 + 5}, Index{(Index{16} << 20) / 8 + 3}}) {
    const double lambda = 0.25;
    const bench::MemoryAloneObjective m(n, lambda);
    Vec a(n), b(n), grad, formed(n);
    for (Index i = 0; i < n; ++i) a(i) = std::sin(0.001 * static_cast<double>(i)), b(i) = 1.0 / (1.0 + i % 7);
    LinearCombination x;
    x.add(0.5, a.data());
    x.add(-2.0, b.data());
    x.form(0, n, formed.data());
    Vec store = Vec::Zero(n);
    const double value = m.value_and_gradient_at(x, grad, store.data());
    EXPECT_EQ(store, formed) << n;
    EXPECT_EQ(grad, (lambda * formed).eval()) << n;
    EXPECT_NEAR(value, 0.5 * lambda * formed.squaredNorm(), 1e-12 * value) << n;
    Vec plain;
    EXPECT_NEAR(m.value_and_gradient(formed, plain), value, 1e-12 * value);
    EXPECT_EQ(plain, grad);
  }
}

TEST(MemoryAlone, ItsFlowDecaysAsExpMinusLambdaTime) {
  // The flows ufm-bench times with it are real integrations of dx/dt = −λx.
  const Index n = 40000;
  const double lambda = 0.5, T = 2.0;
  const bench::MemoryAloneObjective m(n, lambda);
  Vec x0(n);
  for (Index i = 0; i < n; ++i) x0(i) = 1.0 + std::cos(static_cast<double>(i));
  const Vec exact = std::exp(-lambda * T) * x0;
  for (const Integrator integrator : {Integrator::kRk4, Integrator::kDopri5}) {
    Vec x = x0;
    const RunSummary s = bench::run_flow(m, x, integrator, 0.1, 1e-10, T, 100000000L);
    ASSERT_EQ(s.status, RunStatus::kMaxTime) << s.message;
    // RK4 at dt = 0.1: global error about T λ⁵ dt⁴ / 120 · max|x₀| = 4e-8; dopri5 at 1e-10.
    const bool rk4 = integrator == Integrator::kRk4;
    EXPECT_LT((x - exact).lpNorm<Eigen::Infinity>(), rk4 ? 1e-7 : 1e-9) << (rk4 ? "rk4" : "dopri5");
  }
}

}  // namespace
}  // namespace ufm
