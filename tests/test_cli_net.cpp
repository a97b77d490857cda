/// `ufm-sim net` end to end: training on synthetic data collapses the penultimate layer, every
/// hidden layer is reported, full-batch GD is minibatch SGD with one batch and no momentum bit for
/// bit, the output does not depend on the thread count, and bad data exits 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_runner.hpp"

namespace ufm {
namespace {

using nlohmann::json;
using test::run_cli;

const std::string kFit =
    "net --quiet --widths 64,64 --per-class 50 --separation 4 --batch-size 20 --lr 0.01 --lambda 2e-3 "
    "--epochs 400 --num-checkpoints 4 --metric-samples 200";

TEST(CliNet, FitsASyntheticProblemAndItsPenultimateNc1FallsTenfold) {
  const test::CliResult r = run_cli(kFit);
  ASSERT_EQ(r.status, 0) << r.err;
  const json d = r.json();
  EXPECT_EQ(d["command"], "net");
  EXPECT_EQ(d["status"], "max_steps");
  const json& first = d["trajectory"].front();
  const json& last = d["final"];
  EXPECT_EQ(last["accuracy"].get<double>(), 1.0);
  EXPECT_LT(last["nc1"].get<double>(), first["nc1"].get<double>() / 10) << first["nc1"] << " -> " << last["nc1"];
  // Two hidden layers: S1 and S2 (= the penultimate level, the top-level metrics) with their own metrics.
  ASSERT_TRUE(last["levels"].contains("S1"));
  ASSERT_TRUE(last["levels"].contains("S2"));
  EXPECT_EQ(last["levels"]["S2"]["nc1"], last["nc1"]);
  EXPECT_NE(last["levels"]["S1"]["nc1"], last["levels"]["S2"]["nc1"]);
  EXPECT_TRUE(last["levels"]["S1"].contains("singular_values"));
  // The classifier side, SQI and the test set.
  for (const char* key : {"nc3", "nc4", "eps_avg", "sqi_avg_gap", "sqi_pointwise_gap", "etf_error_w"})
    EXPECT_TRUE(last.contains(key)) << key;
  EXPECT_GT(last["test"]["accuracy"].get<double>(), 0.8);
  EXPECT_EQ(last["weights"].size(), 3u);
  EXPECT_EQ(d["model"]["dims"], json({16, 64, 64, 4}));
  // The end of the run on the whole training and test sets (here 4 × 50 and 4 × 100 samples).
  EXPECT_EQ(d["full_sets"]["train"]["samples"], 200);
  EXPECT_EQ(d["full_sets"]["train"]["accuracy"].get<double>(), 1.0);
  EXPECT_EQ(d["full_sets"]["test"]["samples"], 400);
  EXPECT_GT(d["full_sets"]["test"]["accuracy"].get<double>(), 0.8);
  EXPECT_NEAR(d["full_sets"]["train"]["loss"].get<double>(), last["loss"].get<double>(), 1e-12);  // subset = all
}

TEST(CliNet, FullBatchGdIsSgdWithOneBatchAndNoMomentumBitForBit) {
  const std::string common = "net --quiet --widths 16 --per-class 10 --epochs 15 --num-checkpoints 5 --lr 0.05";
  const test::CliResult gd = run_cli(common + " --batch-size full --dynamics gd");
  const test::CliResult sgd = run_cli(common + " --batch-size 40 --momentum 0");
  ASSERT_EQ(gd.status, 0) << gd.err;
  ASSERT_EQ(sgd.status, 0) << sgd.err;
  json a = gd.json()["trajectory"], b = sgd.json()["trajectory"];
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["full_objective"], b[i]["batch_objective"]) << i;
    a[i].erase("full_objective");
    b[i].erase("batch_objective");
    EXPECT_EQ(a[i], b[i]) << "checkpoint " << i;
  }
}

json without_timing(json d) {
  d.erase("wall_seconds");
  d.erase("timing");
  d.erase("environment");
  return d;
}

TEST(CliNet, TheSameSeedGivesTheSameOutputWithOneAndTwoThreads) {
  const std::string args = "net --quiet --widths 32,32 --per-class 300 --epochs 2 --num-checkpoints 4";
  const test::CliResult one = run_cli(args, "OMP_NUM_THREADS=1");
  const test::CliResult two = run_cli(args, "OMP_NUM_THREADS=2");
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_EQ(without_timing(one.json()), without_timing(two.json()));
  const json doc = one.json();
  const json& timing = doc["timing"];  // the steps and the checkpoints, each timed
  EXPECT_EQ(timing["checkpoints"], doc["trajectory"].size());
  EXPECT_GT(timing["dynamics_seconds"].get<double>(), 0.0);
  EXPECT_GT(timing["checkpoint_seconds"].get<double>(), 0.0);
  const test::CliResult other = run_cli(args + " --seed 1", "OMP_NUM_THREADS=2");
  EXPECT_NE(without_timing(one.json())["final"], without_timing(other.json())["final"]);
}

TEST(CliNet, BadDataAndOptionsExit2WithOneLineNamingThem) {
  test::TempDir dir;
  const auto csv = dir.path() / "d.csv";
  std::ofstream(csv) << "1,2,0\n3,nan,1\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"net --data idx:" + (dir.path() / "none").string(), "--data"},
      {"net --data csv:" + csv.string(), "d.csv"},
      {"net --data bogus", "--data"},
      {"net --data fashion-mnist --classes 3", "--classes: applies only with --data synthetic"},
      {"net --lambda-b 1", "--last-bias"},
      {"net --dynamics gd", "--batch-size full"},
      {"net --batch-size full --lr-schedule cosine", "--lr-schedule"},
      {"net --lr-schedule step:5,3:0.1", "--lr-schedule"},
      {"net --widths 0", "--widths"},
      {"net --lambda-layer 4=1", "[1, 3]"},
      {"net --lambda-layer 2=1,2=1", "at most once (2 is twice)"},
      {"net --init-scale 1", "--init gaussian"},
      {"net --epoch 3", "did you mean --epochs?"},
      {"net --out ''", "--out"},
      {"net --widths 1000000000,1000000000", "--widths: the network would need"},
      {"net --per-class 1e12", "--per-class"},
      // A value parsed fine but refused after (--lr <= 0) is echoed cut, as every other value.
      {"net --lr -" + std::string(300, '0') + "1", "got '-" + std::string(79, '0') + "...(302 characters)'"}};
  for (const auto& [args, mention] : cases) {
    const test::CliResult r = run_cli(args + " --quiet");
    EXPECT_EQ(r.status, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(mention), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << args << ": one line expected: " << r.err;
    EXPECT_TRUE(r.out.empty()) << args;
  }
}

TEST(CliNet, TrainsOnFashionMnistFromTheDebianPackage) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed (scripts/deps.sh installs it)";
  const test::CliResult r = run_cli(
      "net --quiet --data fashion-mnist --train-per-class 30 --widths 32 --epochs 10 --batch-size 30 "
      "--num-checkpoints 3 --metric-samples 100 --lr 0.01");
  ASSERT_EQ(r.status, 0) << r.err;
  const json d = r.json();
  EXPECT_EQ(d["model"]["K"], 10);
  EXPECT_EQ(d["model"]["input_dim"], 784);
  EXPECT_EQ(d["model"]["N"], 300);
  EXPECT_EQ(d["model"]["N_test"], 10000);
  EXPECT_EQ(d["final"]["test"]["samples"], 100);
  EXPECT_GT(d["final"]["test"]["accuracy"].get<double>(), 0.3);
}

TEST(CliNet, AConfigFileAndAPreviousOutputRerunTheSameTraining) {
  test::TempDir dir;
  const auto first = dir.path() / "first.json";
  ASSERT_EQ(run_cli("net --quiet --widths 8 --per-class 10 --epochs 3 --out " + first.string()).status, 0);
  const test::CliResult again = run_cli("net --quiet --config " + first.string());
  ASSERT_EQ(again.status, 0) << again.err;
  const json a = json::parse(test::read_text(first));
  EXPECT_EQ(a["final"], again.json()["final"]);
  const auto cfg = dir.path() / "c.json";
  std::ofstream(cfg) << R"({"widths": [8], "per_class": 10, "epochs": 3, "lamda": 1})";
  const test::CliResult typo = run_cli("net --quiet --config " + cfg.string());
  EXPECT_EQ(typo.status, 2);
  EXPECT_NE(typo.err.find("did you mean 'lambda'?"), std::string::npos) << typo.err;
}

}  // namespace
}  // namespace ufm
