/// The deep / extended UFM (--layers) and the Wojtowytsch–E toy, end to end through the CLI.
#include <gtest/gtest.h>

#include "cli_runner.hpp"

namespace ufm {
namespace {

using nlohmann::json;
using test::run_cli;

TEST(CliDeep, RejectsBadLayerOptions) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--layers 0", "--layers"},
      {"--layers 3 --widths 8", "--widths"},
      {"--layers 3 --widths 8,0", "--widths"},
      {"--layers 2 --width 8 --widths 8", "--width"},
      {"--width 8", "--width"},
      {"--activation relu", "--activation"},
      {"--layers 2 --activation tanh", "--activation"},
      {"--layers 2 --lambda-layer 2=1e-3", "--lambda-layer"},
      {"--layers 2 --lambda-layer 1=-1", "--lambda-layer"},
      {"--layers 2 --lambda-layer 1", "--lambda-layer"},
      {"--layers 2 --width 2 --fixed-classifier etf", "--fixed-classifier"},
  };
  for (const auto& [args, option] : cases) {
    const test::CliResult r = run_cli(args + " --quiet");
    EXPECT_EQ(r.status, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(option), std::string::npos) << args << "\n" << r.err;
  }
}

TEST(CliDeep, TwoLayerRunReportsEveryLevelAndWeight) {
  const test::CliResult r = run_cli("--quiet --loss mse --lambda 5e-4 --layers 2");
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = r.json();
  EXPECT_EQ(doc["model"]["dims"], json({16, 16, 4}));
  const json& f = doc["final"];
  ASSERT_TRUE(f.contains("levels"));
  EXPECT_TRUE(f["levels"].contains("H1"));
  EXPECT_TRUE(f["levels"].contains("S1"));
  EXPECT_EQ(f["levels"]["S1"]["nc1"], f["nc1"]);  // the penultimate level is also at the top
  EXPECT_LT(f["levels"]["H1"]["nc1"].get<double>(), 1e-10);
  EXPECT_LT(f["nc1"].get<double>(), 1e-10 * doc["trajectory"][0]["nc1"].get<double>());
  EXPECT_TRUE(f["weights"]["W1"]["norm"].is_number());
  EXPECT_EQ(f["penalty_layers"].size(), 1u);
  EXPECT_TRUE(f["eps_avg"].is_number());  // SQI at the penultimate level
}

TEST(CliDeep, ReluLayersWithExplicitWidthsAndPerLayerDecays) {
  const test::CliResult r = run_cli("--quiet --loss ce --bias free --layers 3 --widths 12,10 --activation relu "
                                    "--lambda-layer 1=1e-3,2=2e-3 --time 200");
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = r.json();
  EXPECT_EQ(doc["model"]["dims"], json({16, 12, 10, 4}));
  EXPECT_EQ(doc["config"]["lambda_layer"], json({"1=0.001", "2=0.002"}));
  EXPECT_EQ(doc["final"]["levels"].size(), 3u);
  EXPECT_EQ(doc["final"]["weights"]["W2"]["singular_values"].size(), 10u);
  // The output document reruns the same experiment.
  test::TempDir dir;
  std::ofstream(dir.path() / "prev.json") << r.out;
  const test::CliResult again = run_cli("--quiet --config " + (dir.path() / "prev.json").string());
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.json()["trajectory"], doc["trajectory"]);
}

TEST(CliDeep, SavedDeepStateRestartsWhereTheRunEnded) {
  test::TempDir dir;
  const std::string model = "--quiet --layers 3 --width 8 --bias reg --time 20 ";
  const test::CliResult a = run_cli(model + "--save-state " + (dir.path() / "s").string());
  ASSERT_EQ(a.status, 0) << a.err;
  for (const char* f : {"H.npy", "W1.npy", "W2.npy", "W.npy", "b.npy", "labels.npy"})
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "s" / f)) << f;
  const test::CliResult b = run_cli(model + "--init-state " + (dir.path() / "s").string());
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(b.json()["trajectory"][0]["objective"], a.json()["final"]["objective"]);
  EXPECT_EQ(run_cli(model + "--width 9 --init-state " + (dir.path() / "s").string()).status, 2);
}

TEST(CliDeep, TwoLayerTheoryMatchesAConvergedRunOnBothSidesOfTheThreshold) {
  const std::string flow = " --quiet --time 1e6 --grad-tol 1e-11 --abs-tol 1e-12 --rel-tol 1e-12 --check-theory";
  const test::CliResult below = run_cli("--layers 2 --lambda 1e-2 --classes 3 --per-class 4 --dim 5 --init-scale 0.3" + flow);
  ASSERT_EQ(below.status, 0) << below.err;
  EXPECT_EQ(below.json()["theory"]["prediction"]["theorem"], "c");
  EXPECT_FALSE(below.json()["theory"]["prediction"]["zero_solution_is_global"].get<bool>());
  EXPECT_TRUE(below.json()["theory_check"]["pass"].get<bool>());
  // kappa = K (n l^3)^(1/3) = 3 * (4 * 0.3^3)^(1/3) = 1.43 > 2^(-4/3): the zero solution.
  const test::CliResult above = run_cli("--layers 2 --lambda 0.3 --classes 3 --per-class 4 --dim 5" + flow);
  EXPECT_EQ(above.status, 0) << above.err;
  EXPECT_TRUE(above.json()["theory"]["prediction"]["zero_solution_is_global"].get<bool>());
  const test::CliResult relu = run_cli("theory --layers 2 --activation relu");
  EXPECT_EQ(relu.status, 0);
  EXPECT_TRUE(relu.json()["prediction"].is_null());
}

TEST(CliToy, GapApproachesItsLimitLikeOneOverT) {
  const test::CliResult r = run_cli("toy --p 0.2,0.5,0.3 --a0 1,0,-1 --time 1e5 --num-checkpoints 6");
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = r.json();
  EXPECT_NEAR(doc["limit"].get<double>(), std::log(0.3 / 0.4), 1e-15);
  const json& traj = doc["trajectory"];
  const json& late = traj[traj.size() - 2];
  const json& last = traj.back();
  const double c1 = late["t"].get<double>() * late["error"].get<double>();
  const double c2 = last["t"].get<double>() * last["error"].get<double>();
  EXPECT_NEAR(c1 / c2, 1.0, 0.05) << c1 << " " << c2;
  EXPECT_LT(std::abs(last["error"].get<double>()), 1e-3);
}

TEST(CliToy, ADivergingFlowSaysSoOnStderrAndExits3) {
  // Masses whose risk overflows at the start: the output recorded the divergence, stderr said nothing.
  const test::CliResult r = run_cli("toy --p 1e308,1e308,1e308 --time 1");
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(r.err, "ufm-sim toy: diverged: non-finite objective at step 0 (t = 0)\n");
  EXPECT_EQ(r.json()["summary"]["status"], "diverged");
}

TEST(CliToy, RejectsBadInput) {
  for (const char* args : {"toy --p 1,2", "toy --p 1,0,1", "toy --a0 1,x,2", "toy --time 0", "toy --bogus"}) {
    const test::CliResult r = run_cli(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_NE(r.err.find("--"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace ufm
