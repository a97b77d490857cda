// A sweep killed part-way (SIGTERM: stops cleanly; SIGKILL: dies mid-point) and rerun with the same
// command ends with every point exactly once and the same values as an uninterrupted sweep. No
// timing is asserted: the test waits for the first finished lines before the signal, and a sweep
// that happens to finish before the signal still has to pass every check.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "spawn_cli.hpp"
#include "sweep_test_util.hpp"


namespace ufm {
namespace {

namespace fs = std::filesystem;
using test::lines_of;
using test::points_by_index;
using test::run_cli;
using test::TempDir;

/// `ufm-sim sweep args`, stdout and stderr to files in `dir` (test::spawn_cli).
pid_t spawn_sweep(std::vector<std::string> args, const fs::path& dir) {
  args.insert(args.begin(), "sweep");
  return test::spawn_cli(args, dir);
}

/// Waits until `out` holds the header and `lines - 1` points, or the process has exited (then
/// `status` holds its wait status and false is returned).
bool wait_for_lines(pid_t pid, const fs::path& out, std::size_t lines, int& status) {
  for (;;) {
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    std::error_code ec;
    if (fs::exists(out, ec) && lines_of(out).size() >= lines) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

/// Interrupts a 48-point sweep with `sig` after its first 3 points, resumes it, and compares with an
/// uninterrupted one.
void interrupt_and_resume(int sig) {
  TempDir dir;
  const fs::path grid = test::write_file(dir.path() / "g.json", test::small_grid(5000, 12));
  const fs::path full = dir.path() / "full.jsonl", part = dir.path() / "part.jsonl";
  ASSERT_EQ(run_cli("sweep '" + grid.string() + "' --out '" + full.string() + "' --threads 2").status, 0);

  const pid_t pid = spawn_sweep({grid.string(), "--out", part.string(), "--threads", "2"}, dir.path());
  ASSERT_GT(pid, 0);
  int status = 0;
  if (wait_for_lines(pid, part, 4, status)) {
    kill(pid, sig);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (sig == SIGTERM && WIFEXITED(status) && WEXITSTATUS(status) == 143) {
      const std::string err = test::read_text(dir.path() / "stderr");
      EXPECT_NE(err.find("stopped by SIGTERM"), std::string::npos) << err;
      const std::string text = test::read_text(part);
      EXPECT_EQ(text.back(), '\n') << "a clean stop leaves no cut line";
    } else if (sig == SIGTERM) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;  // finished first
    }
    std::cout << "[ info ] interrupted with " << lines_of(part).size() - 1 << " of 48 points written\n";
  } else {
    std::cout << "[ info ] the sweep finished before the signal\n";
  }
  const auto before = points_by_index(part);
  const auto reference = points_by_index(full);
  for (const auto& [index, line] : before) EXPECT_EQ(line, reference.at(index)) << "point " << index;

  const auto resumed = run_cli("sweep '" + grid.string() + "' --out '" + part.string() + "' --threads 2");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.err.find(std::to_string(before.size()) + " already there"), std::string::npos) << resumed.err;
  EXPECT_EQ(lines_of(part).size(), 49u);
  EXPECT_EQ(points_by_index(part), reference);  // every point once (points_by_index checks), same values
}

TEST(CliSweepInterrupt, SigtermThenRerunGivesEveryPointOnceWithTheSameValues) { interrupt_and_resume(SIGTERM); }

TEST(CliSweepInterrupt, SigkillThenRerunGivesEveryPointOnceWithTheSameValues) { interrupt_and_resume(SIGKILL); }

}  // namespace
}  // namespace ufm
