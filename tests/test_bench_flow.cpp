// The flow bench/ufm-bench times (bench::run_flow) is the one `ufm-sim run --dynamics flow` runs:
// from the same saved initial state, the program's final state (its --save-state) equals the
// bench's, bit for bit, for RK4 and dopri5. No timing here: speed lives in bench/.
#include <gtest/gtest.h>

#include <string>

#include "../bench/bench_problem.hpp"
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

}  // namespace
}  // namespace ufm
