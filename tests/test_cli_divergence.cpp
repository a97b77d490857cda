/// Run robustness through the binary: a diverging run still writes its trajectory and its last
/// finite state; dopri5 rejects non-finite trial steps instead of reporting divergence; a bad output
/// path creates nothing; --fixed-classifier etf from --init-state starts from the ETF.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "ufm/io/npy.hpp"

namespace ufm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::read_text;
using test::run_cli;
using test::TempDir;

struct Diverging {
  const char* name;
  std::string model;     ///< model options, shared with the reload of the saved state
  std::string dynamics;  ///< the diverging dynamics
};

TEST(CliDivergence, EveryDivergingRunExits3WithItsTrajectoryAndALoadableFiniteState) {
  const std::vector<Diverging> runs{
      {"gd", "--loss mse", "--dynamics gd --lr 1e3 --steps 100"},
      {"momentum", "--loss mse", "--dynamics momentum --lr 1e3 --momentum 0.9 --steps 1000"},
      {"ce", "--loss ce", "--dynamics gd --lr 1e3 --steps 1000"},
      {"rk4", "--loss mse", "--integrator rk4 --dt 50 --time 1e4"},
      // dopri5 diverges only when even its minimum step overflows (from --init-scale 1e3 it is merely stiff).
      {"dopri5", "--loss mse", "--init-scale 1e40 --time 100"},
  };
  for (const Diverging& d : runs) {
    SCOPED_TRACE(d.name);
    TempDir dir;
    const fs::path out = dir.path() / "run.json", state = dir.path() / "state";
    const test::CliResult r =
        run_cli("--quiet " + d.model + " " + d.dynamics + " --out " + out.string() + " --save-state " + state.string());
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_NE(r.err.find("diverged"), std::string::npos) << r.err;
    ASSERT_TRUE(fs::exists(out));
    const json doc = json::parse(read_text(out));
    EXPECT_EQ(doc["status"], "diverged");
    ASSERT_FALSE(doc["trajectory"].empty());
    EXPECT_EQ(doc["final"], doc["trajectory"].back());
    EXPECT_TRUE(doc["final"]["objective"].is_number());
    test::expect_finite_state(state);
    // The state loads, and it is the last checkpoint's (here dopri5's last accepted state is its first).
    const test::CliResult again =
        run_cli("--quiet " + d.model + " --dynamics gd --steps 0 --init-state " + state.string());
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(again.json()["final"]["objective"], doc["final"]["objective"]);
  }
}

TEST(CliDivergence, Dopri5ShrinksItsStepPastNonFiniteTrialsInsteadOfDiverging) {
  // Both used to exit 3 at "step 1 (t = 0.1)" after 8 evaluations: the first trial step overflowed.
  for (const std::string args :
       {"--loss mse --classes 4 --per-class 10 --dim 16 --init-scale 30 --time 100",
        "--layers 2 --loss mse --classes 4 --per-class 10 --dim 16 --init-scale 2 --time 100"}) {
    SCOPED_TRACE(args);
    const test::CliResult r = run_cli("--quiet " + args);
    ASSERT_EQ(r.status, 0) << r.err;
    const json doc = r.json();
    EXPECT_EQ(doc["status"], "max_time");
    EXPECT_EQ(doc["final"]["time"], 100.0);
    const double f0 = doc["trajectory"].front()["objective"], f1 = doc["final"]["objective"];
    EXPECT_LT(f1, 1e-2 * f0);
  }
}

TEST(CliDivergence, AGradientWhoseSquaresOverflowIsNotDivergence) {
  // λ = 1e155: every entry of ∇F is finite (about 1e154) and each step shrinks W (lr·λ = 0.1), but the
  // sum of squares overflows. GD exited 3, "non-finite gradient at step 0"; the flow too.
  for (const std::string args : {"--dynamics gd --lr 1e-156 --steps 10", "--time 1e-155"}) {
    SCOPED_TRACE(args);
    const test::CliResult r =
        run_cli("--quiet --classes 3 --per-class 4 --dim 4 --num-checkpoints 3 --lambda 1e155 " + args);
    ASSERT_EQ(r.status, 0) << r.err;
    const json doc = r.json();
    for (const json& c : doc["trajectory"]) {
      ASSERT_TRUE(c["grad_norm"].is_number()) << c["grad_norm"];
      EXPECT_GT(c["grad_norm"].get<double>(), 1e154);
      EXPECT_TRUE(std::isfinite(c["grad_norm"].get<double>()));
    }
  }
}

TEST(CliOutputPaths, AnUnwritableOutCreatesNoStateDirectory) {
  TempDir dir;
  const test::CliResult r = run_cli("--quiet --time 1 --save-state " + (dir.path() / "nd").string() + " --out " +
                                    (dir.path() / "nodir" / "o.json").string());
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("nodir"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(dir.path())) << "something was created";
}

TEST(CliOutputPaths, OutAtOrInsideTheStateDirectoryIsRejectedBeforeAnythingIsCreated) {
  TempDir dir;
  const std::string x = (dir.path() / "x").string();
  for (const std::string& args : {"--save-state " + x + " --out " + x, "--save-state " + x + "/ --out " + x,
                                  "--save-state " + x + " --out " + x + "/H.npy"}) {
    SCOPED_TRACE(args);
    const test::CliResult r = run_cli("--quiet --time 1 " + args);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::is_empty(dir.path())) << "something was created";
  }
  fs::create_directory(x);  // an existing (empty) state directory: --out inside it is refused too
  const test::CliResult r = run_cli("--quiet --time 1 --save-state " + x + " --out " + x + "/o.json");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(fs::is_empty(x));
}

TEST(CliFixedClassifier, InitStateKeepsHButSetsTheClassifierToTheEtf) {
  TempDir dir;
  const fs::path state = dir.path() / "state";
  const std::string model = "--quiet --classes 4 --dim 5 --lambda 1e-2 ";
  const test::CliResult a = run_cli(model + "--time 20 --save-state " + state.string());
  ASSERT_EQ(a.status, 0) << a.err;
  const json saved = a.json()["final"];
  ASSERT_GT(saved["etf_error_w"].get<double>(), 1e-3);  // a trained W that is not the ETF
  const test::CliResult b =
      run_cli(model + "--fixed-classifier etf --classifier-norm 2 --time 50 --init-state " + state.string());
  ASSERT_EQ(b.status, 0) << b.err;
  const json doc = b.json();
  const json& first = doc["trajectory"].front();
  EXPECT_EQ(first["h_norm"], saved["h_norm"]);  // H from the state
  EXPECT_EQ(first["nc1"], saved["nc1"]);
  for (const json& cp : doc["trajectory"]) {  // W is the ETF from the start and stays it
    EXPECT_NEAR(cp["etf_error_w"].get<double>(), 0.0, 1e-14);
    EXPECT_NEAR(cp["w_norm"].get<double>(), 2.0, 1e-14);
  }
}

}  // namespace
}  // namespace ufm
