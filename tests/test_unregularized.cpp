/// λ = 0 dynamics (theory.md §5 (e) and Mixon et al.'s strong NC), end to end through the CLI.
#include <gtest/gtest.h>

#include "cli_runner.hpp"

namespace ufm {
namespace {

using nlohmann::json;

json final_state(const std::string& args) {
  const test::CliResult r = test::run_cli("--quiet --lambda 0 " + args);
  EXPECT_EQ(r.status, 0) << r.err;
  return r.json()["final"];
}

TEST(StrongNeuralCollapse, SmallInitReachesItAndTheErrorScalesLikeSigmaSquared) {
  const std::string model = "--loss mse --classes 4 --per-class 5 --dim 4 --time 1e4 --init-scale ";
  const json small = final_state(model + "1e-3");
  const json medium = final_state(model + "1e-2");
  const json large = final_state(model + "1");
  EXPECT_LT(small["loss"].get<double>(), 1e-15);  // interpolation: the data term vanishes
  EXPECT_LT(small["snc_w"].get<double>(), 20 * 1e-6);
  EXPECT_LT(medium["snc_w"].get<double>(), 20 * 1e-4);
  const double ratio = medium["snc_w"].get<double>() / small["snc_w"].get<double>();
  EXPECT_GT(ratio, 30);  // σ² scaling: a factor 100 for σ ten times larger
  EXPECT_LT(ratio, 300);
  EXPECT_GT(large["snc_w"].get<double>(), 0.1) << "a large init must break strong NC";
}

TEST(StrongNeuralCollapse, FeaturesKeepAFloorOfOrderSigmaWhenDExceedsK) {
  const std::string model = "--loss mse --classes 4 --per-class 5 --dim 6 --time 1e4 --init-scale ";
  const double h_small = final_state(model + "1e-3")["snc_h"].get<double>();
  const double h_medium = final_state(model + "1e-2")["snc_h"].get<double>();
  EXPECT_LT(h_small, 10 * 1e-3);
  EXPECT_GT(h_medium / h_small, 5);  // linear in σ
  EXPECT_LT(h_medium / h_small, 20);
}

TEST(UnregularizedCrossEntropy, DirectionApproachesTheMaxMarginSelfDualEtf) {
  const test::CliResult r = test::run_cli("--quiet --lambda 0 --loss ce --time 1e6 --num-checkpoints 7");
  ASSERT_EQ(r.status, 0) << r.err;
  const json traj = r.json()["trajectory"];
  ASSERT_EQ(traj.size(), 7u);
  // Late checkpoints (t = 1e2 .. 1e6): the normalized margin grows, the distance to a self-dual
  // simplex ETF shrinks, and the parameter norm diverges.
  for (std::size_t i = 4; i < traj.size(); ++i) {
    EXPECT_GT(traj[i]["normalized_min_margin"].get<double>(), traj[i - 1]["normalized_min_margin"].get<double>());
    EXPECT_LT(traj[i]["self_dual_etf_distance"].get<double>(), traj[i - 1]["self_dual_etf_distance"].get<double>());
    EXPECT_GT(traj[i]["w_norm"].get<double>(), traj[i - 1]["w_norm"].get<double>());
  }
  EXPECT_GT(traj.back()["min_margin"].get<double>(), 0.0);
  EXPECT_LT(traj.back()["self_dual_etf_distance"].get<double>(), 0.1);
}

}  // namespace
}  // namespace ufm
