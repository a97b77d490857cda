/// `ufm-sim net --save-state` / `--init-state` and `--dynamics flow`: a saved network resumes where it
/// stopped, its penultimate features continue as a UFM under `ufm-sim run --init-state`, and the
/// network's gradient flow decreases its objective.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "cli_runner.hpp"
#include "test_util.hpp"
#include "ufm/io/npy.hpp"

namespace ufm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::run_cli;
using test::rel;
using test::TempDir;

// K = 3 classes, 12 evaluation samples per class (36 / 3), widths 8,6: d = 6.
const std::string kNet = "net --quiet --classes 3 --per-class 20 --widths 8,6 --batch-size 10 --lr 0.02 "
                         "--metric-samples 36 --num-checkpoints 3";

TEST(CliNetState, SaveStateWritesTheWeightsAndThePenultimateFeaturesOfTheEvaluationSamples) {
  TempDir dir;
  const fs::path state = dir.path() / "s";
  const test::CliResult r = run_cli(kNet + " --epochs 5 --save-state " + test::quoted(state));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(test::listing(state),
            (std::vector<std::string>{"H.npy", "W.npy", "labels.npy", "net_W1.npy", "net_W2.npy", "state.json"}));
  EXPECT_EQ(io::read_npy(state / "net_W1.npy").shape, (std::vector<std::size_t>{8, 16}));
  EXPECT_EQ(io::read_npy(state / "net_W2.npy").shape, (std::vector<std::size_t>{6, 8}));
  EXPECT_EQ(io::read_npy(state / "W.npy").shape, (std::vector<std::size_t>{3, 6}));
  EXPECT_EQ(io::read_npy(state / "H.npy").shape, (std::vector<std::size_t>{6, 36}));
  const json meta = json::parse(test::read_text(state / "state.json"));
  EXPECT_EQ(meta["command"], "net");
  EXPECT_EQ(meta["continue_with"], "ufm-sim run --init-state DIR --classes 3 --per-class 12 --dim 6 --loss mse");
}

TEST(CliNetState, RunInitStateStartsFromTheNetworksFeaturesAndClassifier) {
  TempDir dir;
  const fs::path state = dir.path() / "s";
  const test::CliResult net = run_cli(kNet + " --epochs 5 --save-state " + test::quoted(state));
  ASSERT_EQ(net.status, 0) << net.err;
  const json last = net.json()["final"];
  const test::CliResult ufm = run_cli("--quiet --init-state " + test::quoted(state) +
                                      " --classes 3 --per-class 12 --dim 6 --loss mse --dynamics gd --steps 1");
  ASSERT_EQ(ufm.status, 0) << ufm.err;
  const json first = ufm.json()["trajectory"].front();
  // The same features, labels and W: the same metrics, computed by the same code.
  for (const char* key : {"nc1", "nc3", "h_norm", "w_norm", "accuracy", "eps_avg", "sqi_pointwise_gap"})
    EXPECT_LT(rel(first[key].get<double>(), last[key].get<double>()), 1e-12) << key << ": " << first[key] << " vs "
                                                                             << last[key];
}

TEST(CliNetState, InitStateResumesTheNetworkExactly) {
  TempDir dir;
  const fs::path state = dir.path() / "s";
  const test::CliResult a = run_cli(kNet + " --epochs 5 --save-state " + test::quoted(state));
  ASSERT_EQ(a.status, 0) << a.err;
  const test::CliResult b = run_cli(kNet + " --epochs 0 --init-state " + test::quoted(state));
  ASSERT_EQ(b.status, 0) << b.err;
  const json end = a.json()["final"], resumed = b.json()["final"];
  for (const char* key : {"loss", "nc1", "accuracy", "w_norm", "h_norm"}) EXPECT_EQ(resumed[key], end[key]) << key;
  EXPECT_EQ(resumed["weights"], end["weights"]);
  EXPECT_EQ(b.json()["config"]["init"], nullptr);
  EXPECT_EQ(b.json()["config"]["init_state"], state.string());
}

TEST(CliNetState, AStateOfAnotherNetworkExits2NamingTheFile) {
  TempDir dir;
  const fs::path state = dir.path() / "s";
  ASSERT_EQ(run_cli(kNet + " --epochs 1 --save-state " + test::quoted(state)).status, 0);
  const test::CliResult deeper = run_cli(kNet + " --epochs 1 --widths 8,6,4 --init-state " + test::quoted(state));
  EXPECT_EQ(deeper.status, 2);
  EXPECT_NE(deeper.err.find("net_W3.npy: missing, but the network has 4 layers"), std::string::npos) << deeper.err;
  EXPECT_NE(deeper.err.find("use --widths with 2 entries"), std::string::npos) << deeper.err;
  const test::CliResult wider = run_cli(kNet + " --epochs 1 --widths 9,6 --init-state " + test::quoted(state));
  EXPECT_EQ(wider.status, 2);
  EXPECT_NE(wider.err.find("net_W1.npy"), std::string::npos) << wider.err;
  const test::CliResult with_init = run_cli(kNet + " --epochs 1 --init gaussian --init-state " + test::quoted(state));
  EXPECT_EQ(with_init.status, 2);
  EXPECT_NE(with_init.err.find("--init: does not apply with --init-state"), std::string::npos) << with_init.err;
  // A UFM with layers would read W1.npy …; the network's net_W files are not the UFM's.
  const test::CliResult ufm = run_cli("--quiet --init-state " + test::quoted(state) +
                                      " --classes 3 --per-class 12 --dim 6 --layers 2 --steps 1 --dynamics gd");
  EXPECT_EQ(ufm.status, 2);
  EXPECT_NE(ufm.err.find("W1.npy: missing"), std::string::npos) << ufm.err;
}

TEST(CliNetFlow, GradientFlowOfTheFullObjectiveDecreasesIt) {
  const test::CliResult r =
      run_cli("net --quiet --classes 3 --per-class 10 --widths 8 --batch-size full --dynamics flow --time 2 --dt 0.01 "
              "--num-checkpoints 6 --metric-samples 30");
  ASSERT_EQ(r.status, 0) << r.err;
  const json d = r.json();
  EXPECT_EQ(d["status"], "max_time");
  EXPECT_EQ(d["config"]["integrator"], "rk4");
  EXPECT_EQ(d["config"]["epochs"], nullptr);
  const json& t = d["trajectory"];
  ASSERT_GE(t.size(), 4u);
  for (std::size_t i = 1; i < t.size(); ++i)
    EXPECT_LT(t[i]["full_objective"].get<double>(), t[i - 1]["full_objective"].get<double>()) << i;
  EXPECT_DOUBLE_EQ(t.back()["time"].get<double>(), 2.0);
  EXPECT_EQ(t.back()["epoch"], nullptr);
  // dopri5 (adaptive; slow on a ReLU network, whose gradient jumps) reaches the same state.
  const test::CliResult adaptive =
      run_cli("net --quiet --classes 3 --per-class 10 --widths 8 --batch-size full --dynamics flow --time 2 "
              "--integrator dopri5 --abs-tol 1e-6 --rel-tol 1e-6 --num-checkpoints 6 --metric-samples 30");
  ASSERT_EQ(adaptive.status, 0) << adaptive.err;
  EXPECT_LT(rel(adaptive.json()["final"]["full_objective"].get<double>(), t.back()["full_objective"].get<double>()), 1e-5);
  EXPECT_FALSE(adaptive.json()["config"].contains("error_norm"));
  // The RMS error control (run --error-norm's): recorded, and within its looser tolerance of the same state.
  const test::CliResult rms =
      run_cli("net --quiet --classes 3 --per-class 10 --widths 8 --batch-size full --dynamics flow --time 2 "
              "--integrator dopri5 --abs-tol 1e-6 --rel-tol 1e-6 --error-norm rms --num-checkpoints 6 --metric-samples 30");
  ASSERT_EQ(rms.status, 0) << rms.err;
  EXPECT_EQ(rms.json()["config"]["error_norm"], "rms");
  EXPECT_LE(rms.json()["summary"]["steps"].get<long>(), adaptive.json()["summary"]["steps"].get<long>());
  EXPECT_LT(rel(rms.json()["final"]["full_objective"].get<double>(), t.back()["full_objective"].get<double>()), 1e-4);
}

TEST(CliNetFlow, BadFlowAndStateOptionsExit2NamingTheOption) {
  const std::string base = "net --quiet --classes 3 --per-class 10 --widths 8 ";
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"--dt 0.1", "--dt: applies only with --batch-size full --dynamics flow"},
           {"--batch-size full --dynamics gd --time 3", "--time: applies only with --batch-size full --dynamics flow"},
           {"--batch-size full --dynamics flow --epochs 3", "--epochs: does not apply to --dynamics flow"},
           {"--batch-size full --dynamics flow --lr 0.1", "--lr: does not apply to --dynamics flow"},
           {"--batch-size full --dynamics flow --abs-tol 1e-6", "--abs-tol: applies only to --integrator dopri5"},
           {"--batch-size full --dynamics flow --error-norm rms", "--error-norm: applies only to --integrator dopri5"},
           {"--error-norm rms", "--error-norm: applies only with --batch-size full --dynamics flow"},
           {"--batch-size full --dynamics flow --integrator dopri5 --error-norm l2",
            "--error-norm: got 'l2', allowed: max | rms"},
           {"--batch-size full --dynamics flow --dt 0", "--dt: got '0', allowed: a finite number > 0"},
           {"--dynamics flow", "--dynamics: applies only with --batch-size full"},
           {"--batch-size full --dynamics flow --integrator euler", "--integrator: got 'euler', allowed: dopri5 | rk4"},
           {"--batch-size full --dynamics flow --time -1", "--time: got '-1', allowed: a finite number > 0"},
           {"--batch-size full --dynamics flow --time 1e400", "--time: got '1e400', allowed: a finite number > 0"},
           {"--batch-size full --dynamics flow --integrator dopri5 --rel-tol nan",
            "--rel-tol: got 'nan', allowed: a finite number > 0"},
           {"--save-state ''", "--save-state: got '', allowed: a non-empty path"},
           {"--init-state ''", "--init-state: got '', allowed: a non-empty path"},
           {"--init-state /nonexistent-ufm-state", "--init-state: state directory '/nonexistent-ufm-state' does not exist"},
           {"--save-state .", "cannot write state directory '.': it is the current directory"},
       }) {
    const test::CliResult r = run_cli(base + args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(r.out, "") << args;  // nothing run
  }
}

}  // namespace
}  // namespace ufm
