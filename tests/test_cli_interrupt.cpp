// SIGINT / SIGTERM through the real binary: the first signal stops the run after its current step
// with every output written (status "stopped", exit 128 + signal, no temp files); a second one ends
// the process at once. Nothing here asserts on timing: the tests wait until the handlers are
// installed (read from /proc/<pid>/status) and on runs far longer than any test.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "spawn_cli.hpp"
#include "ufm/io/npy.hpp"


namespace ufm {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::spawn_cli;
using test::TempDir;


/// The SigCgt mask of /proc/<pid>/status: the signals the process catches (bit n − 1 = signal n).
unsigned long long caught_signals(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("SigCgt:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  return 0;
}

/// Waits until `pid` catches SIGINT, SIGTERM and SIGHUP, i.e. the run has started and installed its
/// handlers.
/// False if it exited first (then `status` holds its wait status), or if it never installs them
/// (then it is killed: a hang guard, far beyond any start-up time, not a timing assertion).
bool wait_for_handlers(pid_t pid, int& status) {
  const unsigned long long both = (1ULL << (SIGINT - 1)) | (1ULL << (SIGTERM - 1)) | (1ULL << (SIGHUP - 1));
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < give_up) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    if ((caught_signals(pid) & both) == both) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return false;
}

int wait_exit(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

/// Every `*.tmp.*` name under `dir`.
std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(e.path().string());
  return found;
}

/// Starts a run, lets it work for a moment once its handlers are in place, sends `sig`, waits.
/// Returns the wait status.
int run_and_signal(const std::vector<std::string>& args, const fs::path& dir, int sig) {
  const pid_t pid = spawn_cli(args, dir);
  if (pid <= 0) return -1;
  int status = 0;
  if (!wait_for_handlers(pid, status)) {
    ADD_FAILURE() << "the run ended before it could be signalled: " << describe(status) << "\n"
                  << read_text(dir / "stderr");
    return status;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let it take some steps (not asserted)
  EXPECT_EQ(::kill(pid, sig), 0);
  return wait_exit(pid);
}

TEST(CliInterrupt, SigintStopsGdAfterItsStepWritesEverythingAndExits130) {
  TempDir dir;
  const fs::path out = dir.path() / "run.json", state = dir.path() / "state";
  const int status = run_and_signal(
      {"--dynamics", "gd", "--steps", "100000000", "--out", out.string(), "--save-state", state.string(), "--quiet"},
      dir.path(), SIGINT);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130)
      << describe(status) << "\n" << read_text(dir.path() / "stderr");
  const std::string err = read_text(dir.path() / "stderr");
  EXPECT_NE(err.find("stopped by SIGINT at step "), std::string::npos) << err;

  const auto doc = nlohmann::json::parse(read_text(out));  // complete JSON
  EXPECT_EQ(doc["status"], "stopped");
  const std::string message = doc["message"];
  EXPECT_EQ(message.rfind("stopped by SIGINT at step ", 0), 0u) << message;
  ASSERT_FALSE(doc["trajectory"].empty());
  const auto& last = doc["trajectory"].back();
  EXPECT_EQ(last, doc["final"]);  // the state where it stopped is the last checkpoint
  EXPECT_EQ(last["step"], doc["summary"]["steps"]);
  EXPECT_LT(last["step"].get<long>(), 100000000);
  EXPECT_NE(message.find("step " + std::to_string(last["step"].get<long>()) + " "), std::string::npos) << message;
  test::expect_finite_state(state);
  EXPECT_EQ(temp_files(dir.path()), std::vector<std::string>{});
}

TEST(CliInterrupt, SigtermStopsADopri5FlowWithJsonlOutputAndExits143) {
  TempDir dir;
  const fs::path out = dir.path() / "run.jsonl", state = dir.path() / "state";
  const int status = run_and_signal({"--time", "1e12", "--format", "jsonl", "--out", out.string(), "--save-state",
                                     state.string(), "--quiet"},
                                    dir.path(), SIGTERM);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 143)
      << describe(status) << "\n" << read_text(dir.path() / "stderr");
  std::istringstream lines(read_text(out));
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(lines, line);) records.push_back(nlohmann::json::parse(line));
  ASSERT_GE(records.size(), 3u);  // header, at least one checkpoint, end
  EXPECT_EQ(records.front()["type"], "header");
  const auto& end = records.back();
  EXPECT_EQ(end["type"], "end");
  EXPECT_EQ(end["status"], "stopped");
  EXPECT_EQ(end["message"].get<std::string>().rfind("stopped by SIGTERM at step ", 0), 0u) << end["message"];
  const auto& last = records[records.size() - 2];
  EXPECT_EQ(last["type"], "checkpoint");
  EXPECT_EQ(last["time"], end["summary"]["time"]);
  EXPECT_LT(last["time"].get<double>(), 1e12);
  test::expect_finite_state(state);
  EXPECT_EQ(temp_files(dir.path()), std::vector<std::string>{});
}

TEST(CliInterrupt, SighupFromAClosedTerminalStopsANetRunWritesItsOutputAndExits129) {
  // A terminal closed under a run (an ssh session dropped) sent SIGHUP, whose default action ended
  // the run with nothing written: hours of training lost. It is now a stop request like SIGTERM's.
  TempDir dir;
  const fs::path out = dir.path() / "net.json", state = dir.path() / "state";
  const int status = run_and_signal({"net", "--data", "synthetic", "--widths", "16", "--epochs", "1000000",
                                     "--num-checkpoints", "2", "--out", out.string(), "--save-state", state.string(),
                                     "--quiet"},
                                    dir.path(), SIGHUP);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 129)
      << describe(status) << "\n" << read_text(dir.path() / "stderr");
  const auto doc = nlohmann::json::parse(read_text(out));
  EXPECT_EQ(doc["status"], "stopped");
  EXPECT_EQ(doc["message"].get<std::string>().rfind("stopped by SIGHUP at step ", 0), 0u) << doc["message"];
  EXPECT_TRUE(fs::exists(state / "state.json"));
  EXPECT_EQ(temp_files(dir.path()), std::vector<std::string>{});
}

TEST(CliInterrupt, ASecondSignalEndsTheRunAtOnce) {
  TempDir dir;
  const fs::path out = dir.path() / "run.json", state = dir.path() / "state";
  const pid_t pid = spawn_cli(
      {"--dynamics", "gd", "--steps", "100000000", "--out", out.string(), "--save-state", state.string(), "--quiet"},
      dir.path());
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_TRUE(wait_for_handlers(pid, status)) << describe(status);
  // Stopped, the process cannot act on the first signal before the second arrives: on SIGCONT both
  // are delivered before it runs another instruction of its own.
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  ASSERT_EQ(::waitpid(pid, &status, WUNTRACED), pid);
  ASSERT_TRUE(WIFSTOPPED(status)) << describe(status);
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  ASSERT_EQ(::kill(pid, SIGCONT), 0);
  status = wait_exit(pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << describe(status) << "\n" << read_text(dir.path() / "stderr");
  EXPECT_TRUE(WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM) << describe(status);
  EXPECT_FALSE(fs::exists(out));  // ended at once: no output, no state
  EXPECT_FALSE(fs::exists(state));
}

}  // namespace
}  // namespace ufm
