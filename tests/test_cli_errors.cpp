/// Every bad input exits with status 2 before any work, with one line naming the option.
#include <gtest/gtest.h>

#include "cli_runner.hpp"

namespace ufm {
namespace {

using test::run_cli;

struct BadInput {
  std::string args;
  std::string must_mention;  ///< the option (or file/key) the message has to name
};

class CliRejects : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliRejects, WithStatus2AndAMessageNamingTheOption) {
  const BadInput& bad = GetParam();
  const test::CliResult r = run_cli(bad.args + " --quiet");
  EXPECT_EQ(r.status, 2) << bad.args << "\nstderr: " << r.err;
  EXPECT_NE(r.err.find(bad.must_mention), std::string::npos) << "stderr: " << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line expected: " << r.err;
  EXPECT_TRUE(r.out.empty()) << "no work expected, got: " << r.out.substr(0, 200);
}

INSTANTIATE_TEST_SUITE_P(
    BadOptions, CliRejects,
    ::testing::Values(BadInput{"--bogus 1", "--bogus"}, BadInput{"stray", "stray"},
                      BadInput{"--lambda abc", "--lambda"}, BadInput{"--lambda -1", "--lambda"},
                      BadInput{"--lambda nan", "--lambda"}, BadInput{"--lambda inf", "--lambda"},
                      BadInput{"--lambda-w -0.5", "--lambda-w"}, BadInput{"--lambda-h 1e999", "--lambda-h"},
                      BadInput{"--dynamics gd --lr -0.1", "--lr"}, BadInput{"--dynamics gd --lr 0", "--lr"},
                      BadInput{"--integrator rk4 --dt 0", "--dt"}, BadInput{"--time -5", "--time"},
                      BadInput{"--time nan", "--time"}, BadInput{"--classes 1", "--classes"},
                      BadInput{"--classes 2.5", "--classes"}, BadInput{"--per-class 0", "--per-class"},
                      BadInput{"--dim 0", "--dim"}, BadInput{"--loss hinge", "--loss"},
                      BadInput{"--bias maybe", "--bias"}, BadInput{"--dynamics adam", "--dynamics"},
                      BadInput{"--lambda-b 0.1 --bias none", "--lambda-b"},
                      BadInput{"--lambda-b 0.1 --bias free", "--lambda-b"},
                      BadInput{"--dynamics gd --integrator rk4", "--integrator"},
                      BadInput{"--dynamics gd --time 5", "--time"}, BadInput{"--steps 10", "--steps"},
                      BadInput{"--lr 0.1", "--lr"}, BadInput{"--momentum 0.5", "--momentum"},
                      BadInput{"--dynamics momentum --momentum 1", "--momentum"},
                      BadInput{"--integrator rk4 --abs-tol 1e-6", "--abs-tol"},
                      BadInput{"--integrator rk4 --error-norm rms", "--error-norm"},
                      BadInput{"--dynamics gd --error-norm rms", "--error-norm"},
                      BadInput{"--error-norm l2", "--error-norm"},
                      BadInput{"--num-checkpoints 1", "--num-checkpoints"}, BadInput{"--seed -3", "--seed"},
                      BadInput{"--grad-tol -1", "--grad-tol"}, BadInput{"--init-scale -1", "--init-scale"},
                      BadInput{"--format xml", "--format"}, BadInput{"--lambda", "--lambda"},
                      BadInput{"--config /nonexistent/run.json", "--config"},
                      BadInput{"--out /nonexistent-dir/run.json", "/nonexistent-dir/run.json"},
                      BadInput{"--save-state /proc/ufm-state", "/proc/ufm-state"},
                      BadInput{"--init-state /nonexistent-state", "/nonexistent-state"}));

TEST(CliRejects, InvalidConfigJsonNamesTheFile) {
  test::TempDir dir;
  const auto file = dir.path() / "bad.json";
  std::ofstream(file) << "{ \"loss\": ";
  const test::CliResult r = run_cli("--config " + file.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
}

TEST(CliRejects, UnknownConfigKeyNamesTheKey) {
  test::TempDir dir;
  const auto file = dir.path() / "run.json";
  std::ofstream(file) << R"({"loss": "ce", "lamda": 0.1})";
  const test::CliResult r = run_cli("--config " + file.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("lamda"), std::string::npos) << r.err;
}

TEST(CliRejects, BadValueInConfigFileNamesOptionAndFile) {
  test::TempDir dir;
  const auto file = dir.path() / "run.json";
  std::ofstream(file) << R"({"lambda": -2})";
  const test::CliResult r = run_cli("--config " + file.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--lambda"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("run.json"), std::string::npos) << r.err;
}

TEST(CliRejects, InitStateWithWrongShapes) {
  test::TempDir dir;
  const auto state = dir.path() / "state";
  ASSERT_EQ(run_cli("--quiet --time 1 --save-state " + state.string()).status, 0);
  const test::CliResult r = run_cli("--quiet --dim 17 --init-state " + state.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("H.npy"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ufm
