/// The binary's --out and --save-state against devices, FIFOs, symlinks and existing directories.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.hpp"

namespace ufm::test {
namespace {

namespace fs = std::filesystem;
using Names = std::vector<std::string>;

constexpr const char* kShortRun = "--time 1 --quiet";

/// lstat's file type of `path`, or 0 if it does not exist.
mode_t file_type(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? (st.st_mode & S_IFMT) : 0;
}

/// A character device node of the memory driver at `path`, like /dev/null (minor 3, the default) or
/// /dev/full (7), or why it cannot be made (not root, a nodev mount): then the test is skipped.
std::string make_memory_device(const fs::path& path, unsigned minor = 3) {
  if (::mknod(path.c_str(), S_IFCHR | 0666, ::makedev(1, minor)) != 0)
    return "mknod failed (needs root): " + std::string(std::strerror(errno));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open the device node (a nodev mount?): " + std::string(std::strerror(errno));
  ::close(fd);
  return "";
}

TEST(CliOutputPaths, OutToACharDeviceLeavesTheDeviceInPlace) {
  TempDir dir;
  const fs::path dev = dir.path() / "null";
  const std::string why = make_memory_device(dev);
  if (!why.empty()) GTEST_SKIP() << why;
  const CliResult r = run_cli(std::string(kShortRun) + " --out " + dev.string());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(file_type(dev), S_IFCHR);
  EXPECT_EQ(listing(dir.path()), Names{"null"});
  EXPECT_TRUE(r.out.empty());
}

TEST(CliOutputPaths, AFullDiskExits5NamingTheFileNotAnInternalError) {
  // A /dev/full node refuses every write with ENOSPC, as a full disk does once the run has ended (or,
  // with jsonl, at its first line): an environment's failure, not a bug (status 1) nor bad input (2).
  TempDir dir;
  const fs::path dev = dir.path() / "full";
  const std::string why = make_memory_device(dev, 7);
  if (!why.empty()) GTEST_SKIP() << why;
  for (const std::string& command : {std::string(kShortRun), std::string(kShortRun) + " --format jsonl",
                                    std::string("theory"), std::string("toy --time 1")}) {
    const CliResult r = run_cli(command + " --out " + dev.string());
    EXPECT_EQ(r.status, 5) << command << ": " << r.err;
    EXPECT_NE(r.err.find(std::strerror(ENOSPC)), std::string::npos) << command << ": " << r.err;
    EXPECT_NE(r.err.find("--out"), std::string::npos) << command << ": " << r.err;
    EXPECT_NE(r.err.find(dev.string()), std::string::npos) << command << ": " << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << command << ": " << r.err;
    EXPECT_EQ(file_type(dev), S_IFCHR) << command;
  }
  EXPECT_EQ(listing(dir.path()), Names{"full"});
}

TEST(CliOutputPaths, AFileSizeLimitExits5AndLeavesNoTempFileNorState) {
  // Without root: a file-size limit (SIGXFSZ ignored, so a write past it fails with EFBIG) stands for a
  // full disk under a regular --out and --save-state.
  TempDir dir;
  const std::string limit = "trap '' XFSZ; ulimit -f 4;";
  const CliResult out = run_cli(std::string(kShortRun) + " --out " + (dir.path() / "r.json").string(), limit);
  EXPECT_EQ(out.status, 5) << out.err;
  EXPECT_NE(out.err.find("--out: cannot write"), std::string::npos) << out.err;
  EXPECT_NE(out.err.find(std::strerror(EFBIG)), std::string::npos) << out.err;
  const CliResult state = run_cli(std::string(kShortRun) + " --dim 256 --per-class 100 --out /dev/null --save-state " +
                                      (dir.path() / "st").string(), limit);
  EXPECT_EQ(state.status, 5) << state.err;
  EXPECT_NE(state.err.find("--save-state: cannot write"), std::string::npos) << state.err;
  EXPECT_EQ(state.err.find("internal error"), std::string::npos) << state.err;
  EXPECT_EQ(listing(dir.path()), Names{});
}

TEST(CliOutputPaths, AFileSizeLimitAloneExits5RatherThanKillingTheRunMidWrite) {
  // The shell's default leaves SIGXFSZ at its default action, which killed the run at the first write
  // past `ulimit -f` (status 153) and left the temporary file behind. ufm-sim ignores it itself.
  TempDir dir;
  for (const std::string command : {"run", "net"}) {
    const std::string args = command == "run" ? std::string(kShortRun)
                                              : "net --quiet --data synthetic --widths 8 --epochs 1";
    const CliResult r = run_cli(args + " --out " + (dir.path() / "r.json").string(), "ulimit -f 4;");
    EXPECT_EQ(r.status, 5) << command << ": " << r.err;
    EXPECT_NE(r.err.find(std::strerror(EFBIG)), std::string::npos) << r.err;
    EXPECT_EQ(listing(dir.path()), Names{}) << command;
  }
}

TEST(CliOutputPaths, AFullStdoutExits5NamingStdoutNotSuccess) {
  // `ufm-sim > r.json` on a full disk exited 0 with the document lost. run_cli sends stdout to a file;
  // a file-size limit of one block (SIGXFSZ ignored: writes past it fail with EFBIG) fills it.
  for (const std::string& command : {std::string(kShortRun), std::string(kShortRun) + " --format jsonl",
                                    std::string("theory"), std::string("toy --time 1")}) {
    const CliResult r = run_cli(command, "trap '' XFSZ; ulimit -f 1;");
    EXPECT_EQ(r.status, 5) << command << ": " << r.err;
    EXPECT_NE(r.err.find(std::string("stdout: cannot write (") + std::strerror(EFBIG) + ")"), std::string::npos)
        << command << ": " << r.err;
  }
  // A help text (3-7 KB) goes through std::cout's buffer, and main checks that it reached stdout.
  for (const std::string& command : {std::string("--help"), std::string("help sweep")}) {
    const CliResult r = run_cli(command, "trap '' XFSZ; ulimit -f 1;");
    EXPECT_EQ(r.status, 5) << command << ": " << r.err;
    EXPECT_NE(r.err.find("stdout: cannot write ("), std::string::npos) << command << ": " << r.err;
  }
}

TEST(CliOutputPaths, AClosedStdoutIsRefusedBeforeTheRun) {
  // `ufm-sim >&-` exited 0, its document written nowhere. Now the run does not start (status 2), and a
  // command whose document comes after its work exits 5.
  TempDir dir;
  const fs::path err = dir.path() / "err";
  const auto run = [&](const std::string& args) {
    const int raw = std::system((std::string(UFM_SIM_BINARY) + " " + args + " >&- 2>" + err.string()).c_str());
    return std::make_pair(WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, read_text(err));
  };
  for (const std::string& command : {std::string(kShortRun), std::string("net --epochs 1 --quiet")}) {
    const auto [status, message] = run(command);
    EXPECT_EQ(status, 2) << command << ": " << message;
    EXPECT_NE(message.find("stdout: closed when ufm-sim started; give --out FILE"), std::string::npos) << message;
  }
  const auto [status, message] = run("theory");
  EXPECT_EQ(status, 5) << message;
  EXPECT_NE(message.find("stdout: cannot write (it was closed when ufm-sim started"), std::string::npos) << message;
  const auto [with_out, with_out_message] = run(std::string(kShortRun) + " --out " + (dir.path() / "r.json").string());
  EXPECT_EQ(with_out, 0) << with_out_message;
  EXPECT_TRUE(fs::exists(dir.path() / "r.json"));
}

TEST(CliOutputPaths, JsonlToACharDeviceLeavesTheDeviceAndNoTempFile) {
  TempDir dir;
  const fs::path dev = dir.path() / "null";
  const std::string why = make_memory_device(dev);
  if (!why.empty()) GTEST_SKIP() << why;
  const CliResult r = run_cli(std::string(kShortRun) + " --format jsonl --out " + dev.string());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(file_type(dev), S_IFCHR);
  EXPECT_EQ(listing(dir.path()), Names{"null"});
}

TEST(CliOutputPaths, ToyOutToACharDeviceLeavesTheDeviceInPlace) {
  TempDir dir;
  const fs::path dev = dir.path() / "null";
  const std::string why = make_memory_device(dev);
  if (!why.empty()) GTEST_SKIP() << why;
  const CliResult r = run_cli("toy --time 1 --out " + dev.string());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(file_type(dev), S_IFCHR);
  EXPECT_EQ(listing(dir.path()), Names{"null"});
}

TEST(CliOutputPaths, OutToAFifoSendsTheJsonToItsReader) {
  TempDir dir;
  const fs::path fifo = dir.path() / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  {
    test::FifoReader reader(fifo);
    const CliResult r = run_cli(std::string(kShortRun) + " --out " + fifo.string());
    EXPECT_EQ(r.status, 0) << r.err;
    const auto doc = nlohmann::json::parse(reader.received());
    EXPECT_EQ(doc["command"], "run");
    EXPECT_TRUE(doc.contains("final"));
  }
  {
    test::FifoReader reader(fifo);
    const CliResult r = run_cli(std::string(kShortRun) + " --format jsonl --out " + fifo.string());
    EXPECT_EQ(r.status, 0) << r.err;
    const std::string lines = reader.received();
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(nlohmann::json::parse(lines.substr(0, lines.find('\n')))["type"], "header");
    EXPECT_NE(lines.find("\"type\":\"end\""), std::string::npos);
  }
  EXPECT_EQ(file_type(fifo), S_IFIFO);
  EXPECT_EQ(listing(dir.path()), Names{"pipe"});
}

TEST(CliOutputPaths, OutToASymlinkKeepsTheLinkAndReplacesItsTarget) {
  TempDir dir;
  fs::create_directories(dir.path() / "results");
  {
    std::ofstream(dir.path() / "results" / "run.json") << "old\n";
  }
  fs::create_symlink("results/run.json", dir.path() / "latest.json");
  const CliResult r = run_cli(std::string(kShortRun) + " --out " + (dir.path() / "latest.json").string());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(file_type(dir.path() / "latest.json"), S_IFLNK);
  EXPECT_EQ(fs::read_symlink(dir.path() / "latest.json"), "results/run.json");
  EXPECT_EQ(file_type(dir.path() / "results" / "run.json"), S_IFREG);
  EXPECT_EQ(nlohmann::json::parse(read_text(dir.path() / "results" / "run.json"))["command"], "run");
  EXPECT_EQ(listing(dir.path() / "results"), Names{"run.json"});
  EXPECT_EQ(listing(dir.path()), (Names{"latest.json", "results"}));
}

TEST(CliOutputPaths, OutToDevStdoutThroughAPipeWritesToThePipe) {
  // /dev/stdout of a pipe is /proc/self/fd/1 -> "pipe:[…]", which is no path: it must be written to.
  const std::string cmd = std::string(UFM_SIM_BINARY) + " " + kShortRun + " --out /dev/stdout </dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int raw = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(raw));
  EXPECT_EQ(WEXITSTATUS(raw), 0);
  EXPECT_EQ(nlohmann::json::parse(out)["command"], "run");
}

TEST(CliOutputPaths, SavingAShallowStateOverADeepOneLeavesNoW1) {
  TempDir dir;
  const fs::path state = dir.path() / "state";
  const CliResult deep = run_cli(std::string(kShortRun) + " --layers 2 --save-state " + state.string());
  ASSERT_EQ(deep.status, 0) << deep.err;
  ASSERT_TRUE(fs::exists(state / "W1.npy"));
  const CliResult plain = run_cli(std::string(kShortRun) + " --save-state " + state.string());
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_EQ(listing(state), (Names{"H.npy", "W.npy", "labels.npy", "state.json"}));
  EXPECT_FALSE(nlohmann::json::parse(read_text(state / "state.json"))["shapes"].contains("W1"));
  EXPECT_EQ(listing(dir.path()), Names{"state"});  // no temp or old directory beside it
  const CliResult again = run_cli(std::string(kShortRun) + " --init-state " + state.string());
  EXPECT_EQ(again.status, 0) << again.err;
  // The deep model refuses the shallow state, naming the missing file.
  const CliResult deeper = run_cli(std::string(kShortRun) + " --layers 2 --init-state " + state.string());
  EXPECT_EQ(deeper.status, 2);
  EXPECT_NE(deeper.err.find("W1.npy: missing"), std::string::npos) << deeper.err;
}

TEST(CliOutputPaths, SaveStateIntoAForeignDirectoryWritesNothingThere) {
  TempDir dir;
  fs::create_directories(dir.path() / "home");
  {
    std::ofstream(dir.path() / "home" / "notes.txt") << "mine\n";
  }
  const CliResult r = run_cli(std::string(kShortRun) + " --save-state " + (dir.path() / "home").string());
  EXPECT_EQ(r.status, 2);  // refused up front, before the run
  EXPECT_NE(r.err.find("is not a ufm-sim state directory (it holds 'notes.txt')"), std::string::npos) << r.err;
  EXPECT_EQ(listing(dir.path() / "home"), Names{"notes.txt"});
  EXPECT_EQ(read_text(dir.path() / "home" / "notes.txt"), "mine\n");
  EXPECT_EQ(listing(dir.path()), Names{"home"});
}

// Last on purpose: if it regressed it would replace the real /dev/null, so every test above that
// exercises the same path on a private device node runs first.
TEST(CliOutputPaths, OutToDevNullLeavesDevNullACharDevice) {
  ASSERT_EQ(file_type("/dev/null"), S_IFCHR) << "/dev/null is already broken on this machine";
  const CliResult r = run_cli(std::string(kShortRun) + " --out /dev/null");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(file_type("/dev/null"), S_IFCHR);
  const CliResult jsonl = run_cli(std::string(kShortRun) + " --format jsonl --out /dev/null");
  EXPECT_EQ(jsonl.status, 0) << jsonl.err;
  EXPECT_EQ(file_type("/dev/null"), S_IFCHR);
}

TEST(CliOutputPaths, AFourThousandCharacterPathIsEchoedCutTo80Characters) {
  // A 4.1k-character --out was echoed in full, twice (the path and its missing directory).
  TempDir dir;
  std::string long_path = (dir.path() / "missing").string();
  while (long_path.size() < 4100) long_path += "/" + std::string(200, 'p');
  const std::string inside = (dir.path() / "s").string() + "/" + std::string(4000, 'q');
  for (const std::string& command :
       {std::string(kShortRun) + " --out " + long_path, "toy --out " + long_path, "net --quiet --out " + long_path,
        std::string(kShortRun) + " --save-state " + long_path, std::string(kShortRun) + " --init-state " + long_path,
        std::string(kShortRun) + " --save-state " + (dir.path() / "s").string() + " --out " + inside,
        "--quiet --config " + long_path, "net --quiet --data csv:" + long_path}) {
    const CliResult r = run_cli(command);
    EXPECT_EQ(r.status, 2) << command.substr(0, 60) << ": " << r.err.substr(0, 300);
    EXPECT_LT(r.err.size(), 400u) << r.err.substr(0, 300);
    EXPECT_NE(r.err.find(" characters)"), std::string::npos) << r.err.substr(0, 300);
  }
}

}  // namespace
}  // namespace ufm::test
