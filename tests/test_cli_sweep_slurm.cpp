// The Slurm path end to end: a one-node cluster (scripts/slurm/local-cluster.sh), a small sweep
// submitted as a job array of 3 shards plus the dependent merge job (scripts/slurm/submit-sweep.sh),
// and the merged result compared with the unsharded sweep. Skipped, with the reason, where Slurm
// cannot start (not root, packages missing, daemons refusing).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sweep_test_util.hpp"

namespace ufm {
namespace {

namespace fs = std::filesystem;
using test::points_by_index;
using test::run_cli;
using test::TempDir;

struct Shell {
  int status;
  std::string out;
};

Shell shell(const std::string& command) {
  TempDir dir;
  const std::string cmd = "( " + command + " ) >'" + (dir.path() / "out").string() + "' 2>&1 </dev/null";
  const int raw = std::system(cmd.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, test::read_text(dir.path() / "out")};
}

// submit-sweep.sh checks its arguments and the grid before it creates OUTDIR or calls sbatch: each
// bad one exits 2 with a message naming it. sbatch is a stub here that records any call, so this
// runs without Slurm.
TEST(CliSweepSlurm, SubmitRefusesBadArgumentsBeforeCreatingOrQueuingAnything) {
  TempDir dir;
  const fs::path grid = test::write_file(dir.path() / "g.json", test::small_grid());
  const fs::path stub = dir.path() / "bin", calls = dir.path() / "sbatch-calls", outdir = dir.path() / "out";
  fs::create_directories(stub);
  test::write_file(stub / "sbatch", "#!/bin/sh\necho \"$@\" >>'" + calls.string() + "'\necho 1\n");
  fs::permissions(stub / "sbatch", fs::perms::owner_all);
  const std::string submit = "PATH='" + stub.string() + ":'\"$PATH\" UFM_SIM='" + std::string(UFM_SIM_BINARY) +
                             "' bash '" + std::string(UFM_SOURCE_DIR) + "/scripts/slurm/submit-sweep.sh' ";
  const std::string g = "'" + grid.string() + "' ", o = "'" + outdir.string() + "' ";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "usage: submit-sweep.sh GRID.json OUTDIR SHARDS"},
      {g + o, "usage: submit-sweep.sh GRID.json OUTDIR SHARDS"},
      {g + "'' 2", "OUTDIR '': an empty path"},
      {g + "/dev/null 2", "OUTDIR /dev/null: exists and is not a directory"},
      {g + o + "0", "SHARDS 0: must be an integer from 1 to 999999"},
      {g + o + "-3", "SHARDS -3: must be an integer from 1 to 999999"},
      {g + o + "1e3", "SHARDS 1e3: must be an integer from 1 to 999999"},
      {g + o + "99999999999999999999", "SHARDS 99999999999999999999: must be an integer from 1 to 999999"},
      {"'" + (dir.path() / "missing.json").string() + "' " + o + "2", "missing.json: cannot open"}};
  for (const auto& [args, message] : bad) {
    const Shell r = shell(submit + args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << args << "\n" << r.out;
  }
  EXPECT_FALSE(fs::exists(outdir)) << "a refused submission created OUTDIR";
  EXPECT_FALSE(fs::exists(calls)) << "a refused submission called sbatch";
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  // The stub accepts a good submission: the checks above refused for their reasons, not the stub's.
  const Shell good = shell(submit + g + o + "2");
  EXPECT_EQ(good.status, 0) << good.out;
  EXPECT_TRUE(fs::is_directory(outdir));
  EXPECT_NE(test::read_text(calls).find("--array=0-1"), std::string::npos) << test::read_text(calls);
}

TEST(CliSweepSlurm, ArrayOfThreeShardsThenMergeEqualsTheUnshardedSweep) {
  if (::geteuid() != 0) GTEST_SKIP() << "Slurm test skipped: a local slurmd needs root";
  const Shell tools = shell("command -v sbatch && command -v slurmctld && command -v slurmd && command -v munged");
  if (tools.status != 0) GTEST_SKIP() << "Slurm test skipped: slurm-wlm or munge is not installed (" << tools.out << ")";
  TempDir dir;
  const std::string script_dir = std::string(UFM_SOURCE_DIR) + "/scripts/slurm";
  const std::string cluster = (dir.path() / "cluster").string();
  const std::string env = "UFM_SLURM_PORT=" + std::to_string(20000 + 2 * (::getpid() % 5000)) + " ";
  const Shell start = shell(env + "'" + script_dir + "/local-cluster.sh' start '" + cluster + "'");
  struct Stop {
    std::string cmd;
    ~Stop() { shell(cmd); }
  } stop{"'" + script_dir + "/local-cluster.sh' stop '" + cluster + "'"};
  if (start.status != 0) GTEST_SKIP() << "Slurm test skipped: the local cluster did not start: " << start.out;
  const std::string slurm = "SLURM_CONF='" + cluster + "/slurm.conf' UFM_SIM='" + UFM_SIM_BINARY + "' ";

  const fs::path grid = test::write_file(dir.path() / "g.json", test::small_grid());
  const fs::path full = dir.path() / "full.jsonl", outdir = dir.path() / "out";
  ASSERT_EQ(run_cli("sweep '" + grid.string() + "' --out '" + full.string() + "'").status, 0);
  const Shell submit = shell("cd '" + dir.path().string() + "' && " + slurm + "'" + script_dir + "/submit-sweep.sh' '" +
                             grid.string() + "' '" + outdir.string() + "' 3 --cpus-per-task=1");
  ASSERT_EQ(submit.status, 0) << submit.out;
  const std::string jobs = submit.out.substr(0, submit.out.find('\n'));
  std::string ids = jobs;
  std::replace(ids.begin(), ids.end(), ' ', ',');
  // Wait until both jobs have left the queue (a hang guard far beyond the seconds this takes).
  bool gone = false;
  for (int i = 0; i < 3000 && !gone; ++i) {
    const Shell q = shell(slurm + "squeue -h -j " + ids);
    gone = q.status == 0 && q.out.find_first_not_of(" \n") == std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(gone) << "the jobs " << jobs << " never finished";
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(fs::exists(outdir / ("shard-" + std::to_string(i) + "-of-3.jsonl"))) << "shard " << i;
  ASSERT_TRUE(fs::exists(outdir / "all.jsonl")) << shell("cat '" + outdir.string() + "'/*.log").out;
  EXPECT_EQ(test::lines_of(outdir / "all.jsonl").front(), test::lines_of(full).front());
  EXPECT_EQ(points_by_index(outdir / "all.jsonl"), points_by_index(full));
}

}  // namespace
}  // namespace ufm
