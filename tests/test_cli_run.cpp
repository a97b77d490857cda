/// End-to-end runs of the ufm-sim binary: the default example, output formats, state files,
/// divergence, and reproducibility.
#include <gtest/gtest.h>

#include "cli_runner.hpp"

namespace ufm {
namespace {

using nlohmann::json;
using test::run_cli;

/// The document without what legitimately differs between identical runs.
std::string reproducible_part(json doc) {
  doc.erase("wall_seconds");
  doc.erase("timing");
  doc.erase("environment");
  return doc.dump();
}

TEST(CliRun, DefaultExampleCollapses) {
  const test::CliResult r = run_cli("--quiet --loss mse --lambda 5e-4");
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = r.json();
  for (const char* key : {"ufm_sim_version", "config", "seed", "trajectory", "final", "status", "message",
                          "wall_seconds"})
    EXPECT_TRUE(doc.contains(key)) << key;
  const json& traj = doc["trajectory"];
  ASSERT_GE(traj.size(), 10u);
  EXPECT_EQ(traj.front()["step"], 0);
  EXPECT_EQ(traj.back(), doc["final"]);
  const double nc1_start = traj.front()["nc1"];
  const double nc1_end = doc["final"]["nc1"];
  EXPECT_LT(nc1_end, 1e-3 * nc1_start) << "nc1 should fall by orders of magnitude";
  EXPECT_EQ(doc["final"]["accuracy"], 1.0);
  EXPECT_EQ(doc["config"]["lambda_w"], 5e-4);
  EXPECT_EQ(doc["config"]["integrator"], "dopri5");
  EXPECT_TRUE(doc["config"]["lr"].is_null());
}

/// The first `field` line's value in /proc/cpuinfo, read here independently of the program.
std::string cpuinfo(const std::string& field) {
  const std::string text = test::read_text("/proc/cpuinfo");
  const std::size_t at = text.find("\n" + field);
  if (at == std::string::npos) return "unknown";
  const std::size_t colon = text.find(':', at), end = text.find('\n', at + 1);
  return text.substr(colon + 2, end - colon - 2);
}

TEST(CliRun, EnvironmentNamesTheCpuVendorFamilyModelAndVectorIsa) {
  const test::CliResult r = run_cli("--quiet --time 1");
  ASSERT_EQ(r.status, 0) << r.err;
  const json env = r.json()["environment"];
  EXPECT_EQ(env["cpu"], cpuinfo("model name"));
  EXPECT_EQ(env["cpu_vendor"], cpuinfo("vendor_id"));
  EXPECT_EQ(env["cpu_family"], cpuinfo("cpu family"));  // tells Zen 3/4 (25) from Zen 5 (26)
  EXPECT_EQ(env["cpu_model"], cpuinfo("model\t"));      // the line "model\t\t: 2", not "model name"
  const std::string flags = " " + cpuinfo("flags") + " ";
  const std::string isa = env["isa"];
  if (isa == "AVX-512") {
    EXPECT_NE(flags.find(" avx512f "), std::string::npos);
  } else if (isa == "AVX2") {
    EXPECT_NE(flags.find(" avx2 "), std::string::npos);
  }
  EXPECT_NE(isa, "scalar");
}

TEST(CliRun, RunSubcommandIsTheDefault) {
  const test::CliResult a = run_cli("--quiet --time 10 --num-checkpoints 5");
  const test::CliResult b = run_cli("run --quiet --time 10 --num-checkpoints 5");
  ASSERT_EQ(a.status, 0);
  ASSERT_EQ(b.status, 0);
  EXPECT_EQ(reproducible_part(a.json()), reproducible_part(b.json()));
}

TEST(CliRun, HelpListsEveryOptionWithItsDefault) {
  const test::CliResult r = run_cli("--help");
  EXPECT_EQ(r.status, 0);
  for (const char* opt : {"--loss", "--bias", "--lambda-w", "--dynamics", "--integrator", "--abs-tol", "--grad-tol",
                          "--checkpoints", "--format", "--save-state", "--init-state", "--config", "--quiet"})
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
  EXPECT_NE(r.out.find("ce | mse"), std::string::npos);
  EXPECT_NE(r.out.find("5e-4"), std::string::npos);
}

TEST(CliRun, SameSeedGivesIdenticalOutputWhateverTheThreadCount) {
  const std::string args = "--quiet --loss ce --bias free --time 50 --seed 7 --num-checkpoints 12";
  const test::CliResult a = run_cli(args, "OMP_NUM_THREADS=1");
  const test::CliResult b = run_cli(args, "OMP_NUM_THREADS=1");
  const test::CliResult c = run_cli(args, "OMP_NUM_THREADS=2");
  ASSERT_EQ(a.status, 0);
  EXPECT_EQ(reproducible_part(a.json()), reproducible_part(b.json()));
  EXPECT_EQ(reproducible_part(a.json()), reproducible_part(c.json()));
  const test::CliResult other_seed = run_cli("--quiet --loss ce --bias free --time 50 --seed 8 --num-checkpoints 12");
  EXPECT_NE(reproducible_part(a.json()), reproducible_part(other_seed.json()));
}

TEST(CliRun, ConfigFileReproducesARunAndCommandLineWins) {
  test::TempDir dir;
  const auto first = dir.path() / "first.json";
  ASSERT_EQ(run_cli("--quiet --loss ce --lambda 1e-3 --dynamics gd --lr 0.5 --steps 200 --out " + first.string())
                .status,
            0);
  const json original = json::parse(test::read_text(first));
  // A previous output document is a valid --config: it reruns the same experiment.
  const test::CliResult again = run_cli("--quiet --config " + first.string());
  ASSERT_EQ(again.status, 0) << again.err;
  json rerun = again.json();
  json expected = original;
  expected["config"].erase("out");
  rerun["config"].erase("out");
  EXPECT_EQ(reproducible_part(rerun), reproducible_part(expected));
  // Command-line options override the file.
  const test::CliResult changed = run_cli("--quiet --config " + first.string() + " --steps 50");
  ASSERT_EQ(changed.status, 0) << changed.err;
  EXPECT_EQ(changed.json()["final"]["step"], 50);
  EXPECT_EQ(changed.json()["config"]["loss"], "ce");
}

TEST(CliRun, OutputFileIsWrittenAtomically) {
  test::TempDir dir;
  const auto out = dir.path() / "run.json";
  ASSERT_EQ(run_cli("--quiet --time 5 --out " + out.string()).status, 0);
  EXPECT_TRUE(json::parse(test::read_text(out)).contains("final"));
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path(), out) << "left behind: " << entry.path();
}

TEST(CliRun, JsonlStreamsHeaderCheckpointsAndEnd) {
  const test::CliResult r = run_cli("--quiet --time 20 --num-checkpoints 6 --format jsonl");
  ASSERT_EQ(r.status, 0);
  std::istringstream lines(r.out);
  std::vector<json> records;
  for (std::string line; std::getline(lines, line);) records.push_back(json::parse(line));
  ASSERT_GE(records.size(), 4u);
  EXPECT_EQ(records.front()["type"], "header");
  EXPECT_TRUE(records.front().contains("config"));
  EXPECT_EQ(records[1]["type"], "checkpoint");
  EXPECT_EQ(records.back()["type"], "end");
  EXPECT_EQ(records.back()["status"], "max_time");
  EXPECT_EQ(records[records.size() - 2]["time"], 20.0);
}

/// The document's timing: dynamics and checkpoints inside wall_seconds, one checkpoint per record.
void expect_timing_of(const json& end, std::size_t checkpoints) {
  ASSERT_TRUE(end.contains("timing")) << end.dump();
  const json& t = end["timing"];
  const double dynamics = t["dynamics_seconds"], at_checkpoints = t["checkpoint_seconds"];
  EXPECT_EQ(t["checkpoints"], checkpoints);
  EXPECT_GT(dynamics, 0.0);
  EXPECT_GT(at_checkpoints, 0.0);
  EXPECT_LE(dynamics + at_checkpoints, end["wall_seconds"].get<double>());
}

TEST(CliRun, TimingSplitsTheWallTimeIntoDynamicsAndCheckpoints) {
  const test::CliResult flow = run_cli("--quiet --time 20 --num-checkpoints 6");
  ASSERT_EQ(flow.status, 0) << flow.err;
  expect_timing_of(flow.json(), flow.json()["trajectory"].size());
  const test::CliResult gd =
      run_cli("--quiet --dynamics gd --steps 300 --num-checkpoints 30 --layers 2 --format jsonl");
  ASSERT_EQ(gd.status, 0) << gd.err;
  std::istringstream lines(gd.out);
  std::vector<json> records;
  for (std::string line; std::getline(lines, line);) records.push_back(json::parse(line));
  ASSERT_GE(records.size(), 3u);
  expect_timing_of(records.back(), records.size() - 2);  // all but the header and the end
}

TEST(CliRun, SavedStateRestartsWhereTheRunEnded) {
  test::TempDir dir;
  const auto state = dir.path() / "state";
  const test::CliResult a = run_cli("--quiet --bias free --time 30 --save-state " + state.string());
  ASSERT_EQ(a.status, 0) << a.err;
  for (const char* f : {"H.npy", "W.npy", "b.npy", "labels.npy", "state.json"})
    EXPECT_TRUE(std::filesystem::exists(state / f)) << f;
  const test::CliResult b = run_cli("--quiet --bias free --time 30 --init-state " + state.string());
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(b.json()["trajectory"][0]["objective"], a.json()["final"]["objective"]);
  EXPECT_EQ(b.json()["trajectory"][0]["nc1"], a.json()["final"]["nc1"]);
}

TEST(CliRun, DivergenceExitsWith3AndKeepsThePartialTrajectory) {
  const test::CliResult r = run_cli("--quiet --dynamics gd --lr 1e4 --steps 1000 --checkpoints linear "
                                    "--num-checkpoints 1001");
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("step"), std::string::npos) << r.err;
  const json doc = r.json();
  EXPECT_EQ(doc["status"], "diverged");
  EXPECT_NE(doc["message"].get<std::string>().find("step"), std::string::npos);
  ASSERT_GE(doc["trajectory"].size(), 1u);
  EXPECT_LT(doc["trajectory"].size(), 1001u);
  EXPECT_EQ(doc["final"], doc["trajectory"].back());
  EXPECT_TRUE(doc["final"]["objective"].is_number());
}

TEST(CliRun, GradTolStopsAsConverged) {
  const test::CliResult r = run_cli("--quiet --lambda 1e-2 --time 1e6 --grad-tol 1e-9");
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = r.json();
  EXPECT_EQ(doc["status"], "converged");
  EXPECT_LE(doc["final"]["grad_norm"].get<double>(), 1e-9);
  EXPECT_LT(doc["final"]["time"].get<double>(), 1e6);
}

}  // namespace
}  // namespace ufm
