/// Every study under experiments/ in its --quick mode, followed by its own check.py and its
/// figures.py: the studies' claims are checked as numbers in the suite, not only that something ran. And plots/selftest.sh:
/// every plotting script on small real outputs, and their refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include "cli_runner.hpp"

namespace ufm {
namespace {

namespace fs = std::filesystem;

/// The directories of experiments/ that hold a run.sh, by name.
std::vector<std::string> studies() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(UFM_SOURCE_DIR) / "experiments", ec))
    if (fs::exists(e.path() / "run.sh")) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// Runs `command` in the source tree with the test's ufm-sim; status and output.
test::CliResult shell(const std::string& command, const fs::path& dir) {
  const std::string line = "cd '" + std::string(UFM_SOURCE_DIR) + "' && UFM_SIM='" + UFM_SIM_BINARY +
                           "' OMP_NUM_THREADS=1 " + command + " >'" + (dir / "out").string() + "' 2>&1";
  test::CliResult r;
  const int raw = std::system(line.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = test::read_text(dir / "out");
  return r;
}

/// Arguments and the message each must be refused with.
using Refusals = std::vector<std::pair<std::string, std::string>>;

/// Runs `command` + each case's arguments in `dir`: each must exit 2, its output holding
/// `message_prefix` + the case's message.
void expect_refusals(const std::string& command, const Refusals& cases, const fs::path& dir,
                     const std::string& message_prefix = "") {
  for (const auto& [args, message] : cases) {
    const test::CliResult r = shell(command + args, dir);
    EXPECT_EQ(r.status, 2) << command << args << "\n" << r.out;
    EXPECT_NE(r.out.find(message_prefix + message), std::string::npos) << command << args << "\n" << r.out;
  }
}

class Experiment : public ::testing::TestWithParam<std::string> {};

TEST_P(Experiment, QuickRunPassesItsOwnCheck) {
  test::TempDir tmp;
  const fs::path out = tmp.path() / "results";
  const std::string study = "experiments/" + GetParam();
  const test::CliResult run = shell("bash " + study + "/run.sh --quick --out '" + out.string() + "'", tmp.path());
  ASSERT_EQ(run.status, 0) << run.out;
  const test::CliResult check = shell("/usr/bin/python3 " + study + "/check.py '" + out.string() + "' --quick", tmp.path());
  EXPECT_EQ(check.status, 0) << check.out;
  EXPECT_NE(check.out.find("PASS"), std::string::npos) << check.out;
  EXPECT_EQ(check.out.find("FAIL"), std::string::npos) << check.out;
  // Its figures, as plots/make_all.py draws them (figures.py DIR, into DIR/figures).
  const test::CliResult figures = shell("/usr/bin/python3 " + study + "/figures.py '" + out.string() + "'", tmp.path());
  EXPECT_EQ(figures.status, 0) << figures.out;
  std::size_t pngs = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(out / "figures", ec))
    pngs += e.path().extension() == ".png" && fs::file_size(e.path()) > 0;
  EXPECT_GT(pngs, 0u) << "no figure in " << (out / "figures");
}

TEST_P(Experiment, RunCheckAndFiguresRefuseBadPathsAndArgumentsBeforeAnyWork) {
  test::TempDir tmp;
  const fs::path file = tmp.path() / "a_file";
  std::ofstream(file) << "keep me\n";
  expect_refusals("bash experiments/" + GetParam() + "/run.sh --quick ",
                  {{"--out ''", "run.sh: --out '': an empty path"},
                   {"--out=", "run.sh: --out '': an empty path"},
                   {"--out /dev/null", "run.sh: --out /dev/null: exists and is not a directory"},
                   {"--out '" + file.string() + "'",
                    "run.sh: --out " + file.string() + ": exists and is not a directory"},
                   {"--out", "run.sh: --out needs a directory"},
                   {"--bogus", "run.sh: unknown argument --bogus"}},
                  tmp.path());
  // Its check.py and figures.py: a results directory that is not one, a figure directory that is a
  // file or /dev/null, and empty paths, each one line and status 2 (they ended in tracebacks).
  const std::string dir = "'" + tmp.path().string() + "'";
  expect_refusals("/usr/bin/python3 experiments/" + GetParam(),
                  {{"/check.py /dev/null", "/check.py: error: /dev/null: not a directory"},
                   {"/check.py ''", "/check.py: error: '': an empty path"},
                   {"/check.py '" + file.string() + "'", "/check.py: error: " + file.string() + ": not a directory"},
                   {"/figures.py " + dir + " --out /dev/null",
                    "/figures.py: error: /dev/null: exists and is not a directory"},
                   {"/figures.py " + dir + " --out '" + file.string() + "'",
                    "/figures.py: error: " + file.string() + ": exists and is not a directory"},
                   {"/figures.py " + dir + " --out ''", "/figures.py: error: '': --out: an empty path"},
                   {"/figures.py /dev/null", "/figures.py: error: /dev/null: not a directory"}},
                  tmp.path(), "experiments/" + GetParam());
  EXPECT_EQ(test::read_text(file), "keep me\n");
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
}

INSTANTIATE_TEST_SUITE_P(Studies, Experiment, ::testing::ValuesIn(studies()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(Plots, EveryScriptDrawsARealOutputAndRefusesABadFile) {
  test::TempDir tmp;
  const test::CliResult r =
      shell("bash plots/selftest.sh '" + std::string(UFM_SIM_BINARY) + "' '" + (tmp.path() / "p").string() + "'",
            tmp.path());
  EXPECT_EQ(r.status, 0) << r.out;
}

/// A one-grid study killed part way resumes with --resume: the points its results already hold are
/// kept as they are (not run again), the rest are added; without --resume it starts over. Here the
/// kill is a results file cut to its header and first points.
TEST(Experiments, AOneGridStudyResumesKeepingItsFinishedPoints) {
  test::TempDir tmp;
  const fs::path out = tmp.path() / "results", results = out / "results.jsonl";
  const std::string run = "bash experiments/unregularized_ce/run.sh --quick --out '" + out.string() + "'";
  ASSERT_EQ(shell(run, tmp.path()).status, 0);
  std::vector<std::string> lines;
  {
    std::ifstream in(results);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  ASSERT_GE(lines.size(), 4u);  // a header and at least three points
  const std::vector<std::string> kept(lines.begin(), lines.begin() + 3);  // the header and two points
  {
    std::ofstream cut(results, std::ios::trunc);
    for (const std::string& line : kept) cut << line << "\n";
  }
  const test::CliResult resumed = shell(run + " --resume", tmp.path());
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  std::vector<std::string> after;
  {
    std::ifstream in(results);
    for (std::string line; std::getline(in, line);) after.push_back(line);
  }
  ASSERT_EQ(after.size(), lines.size());
  EXPECT_TRUE(std::equal(kept.begin(), kept.end(), after.begin()));  // the same bytes: not run again
  ASSERT_EQ(shell(run, tmp.path()).status, 0);  // without --resume: every point again, new wall times
  std::ifstream in(results);
  std::string header, first;
  std::getline(in, header), std::getline(in, first);
  EXPECT_NE(first, kept[1]);
}

/// Every `build/ufm-sim` and `python3 plots/` command the README shows runs as written: each in the
/// README's order, in a scratch directory, stopped by SIGINT after a few seconds (tests/readme_commands.py).
/// A renamed option or a changed range in the code, with the README left behind, exits 2 here.
TEST(Readme, EveryUfmSimAndPlotsCommandRunsAsWritten) {
  test::TempDir tmp;
  const test::CliResult r = shell("/usr/bin/python3 tests/readme_commands.py README.md '" +
                                      std::string(UFM_SIM_BINARY) + "' . '" + (tmp.path() / "s").string() + "'",
                                  tmp.path());
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("README commands run, 0 failed"), std::string::npos) << r.out;
}

/// bench/compare.py checks its lists and numbers before anything else (here, before it looks for its
/// build): a bad entry names the flag, the value and what is known, with status 2. A good list gets
/// past the check to the missing build (status 1). Stdlib only: no PyTorch needed.
TEST(BenchScripts, CompareRefusesABadListOrNumberBeforeAnyWork) {
  test::TempDir tmp;
  const std::string none = (tmp.path() / "none").string();
  const std::string compare = "/usr/bin/python3 bench/compare.py --build-dir '" + none + "' ";
  expect_refusals(compare,
                  {{"--models ufm", "--models ufm: unknown model 'ufm' (known: UFM,"},
                   {"--sizes small,huge",
                    "--sizes small,huge: unknown size 'huge' (known: small, medium, paper, large)"},
                   {"--losses l2", "--losses l2: unknown loss 'l2' (known: ce, mse)"},
                   {"--threads 1,0", "--threads 1,0: must be a comma-separated list of integers >= 1"},
                   {"--threads x", "--threads x: must be a comma-separated list of integers >= 1"},
                   {"--repeats 0", "--repeats 0: must be >= 1"},
                   {"--target-time inf", "--target-time inf: must be finite and > 0"},
                   {"--anchor-tol 1", "--anchor-tol 1.0: must be in (0, 1)"},
                   {"--avx2-only --avx2-build-dir '" + none + "'",
                    "--avx2-only: " + none + "/bench/ufm-bench not found"}},
                  tmp.path());
  const test::CliResult good = shell(compare + "--models 'UFM,2-layer ReLU' --sizes medium --losses mse --threads 2",
                                     tmp.path());
  EXPECT_EQ(good.status, 1) << good.out;
  EXPECT_NE(good.out.find("not found"), std::string::npos) << good.out;
}

/// compare.py's AVX2 section runs both sides as an AVX2-only machine would: ufm-bench's AVX2 build
/// (limits, step, flow) and PyTorch's step with OpenBLAS's Haswell kernels, and PyTorch once more with
/// this machine's own kernels, shown beside it. run_json is replaced by a recorder: no build or PyTorch.
TEST(BenchScripts, CompareRunsTheAvx2SectionWithAvx2KernelsOnBothSides) {
  test::TempDir tmp;
  const fs::path script = tmp.path() / "avx2_env.py";
  std::ofstream(script) << R"(import os, sys
sys.path.insert(0, 'bench')
import compare
os.environ.pop('OPENBLAS_CORETYPE', None)
calls = []
def fake(cmd, env):
    calls.append((cmd, env))
    haswell = env.get('OPENBLAS_CORETYPE') == 'Haswell'
    if cmd[1] == 'limits':
        return {'isa': 'AVX2', 'fma_peak_gflops': 50.0, 'eigen_gemm_512_gflops': 40.0, 'triad_gbs': 20.0}
    if cmd[1] == 'flow':
        return {k: 1.0 for k in ('rk4_stage_over_evaluation', 'dopri5_stage_over_evaluation',
                                 'us_per_gradient_evaluation', 'rk4_stage_alone_over_evaluation',
                                 'dopri5_stage_alone_over_evaluation', 'us_per_rk4_stage', 'us_per_dopri5_stage',
                                 'rk4_points_alone_over_evaluation', 'dopri5_points_alone_over_evaluation')}
    return {'steps_per_s': 300.0 if cmd[1] == 'step' else 150.0 if haswell else 250.0, 'isa': 'AVX2'}
compare.run_json = fake
compare.other_isa('avx2-bench', [1], 1.0, 1, {'limits': [], 'steps': [], 'flow': []})
ours = sorted({e.get('OPENBLAS_CORETYPE') or 'none' for c, e in calls if c[0] == 'avx2-bench'})
torch = [e.get('OPENBLAS_CORETYPE') or 'none' for c, e in calls if any('torch_ufm.py' in x for x in c)]
print('ours', ours, 'torch', torch)
)";
  const test::CliResult r = shell("/usr/bin/python3 '" + script.string() + "'", tmp.path());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("ours ['Haswell'] torch ['Haswell', 'none']"), std::string::npos) << r.out;
  // The verdict is against PyTorch on the AVX2 kernels (300 / 150), the other ratio shown beside it.
  EXPECT_NE(r.out.find("| 300 | 150 | 2.00 | yes | 250 | 1.20 |"), std::string::npos) << r.out;
}

/// compare.py's and flow_anchor.py's --json: refused before any work where it is empty, in no
/// directory, or a symlink, device or FIFO (never written through); written by temp file and rename.
TEST(BenchScripts, JsonOutputIsRefusedOverASymlinkDeviceOrFifoAndWrittenAtomically) {
  test::TempDir tmp;
  const fs::path victim = tmp.path() / "victim", link = tmp.path() / "link.json", fifo = tmp.path() / "fifo.json";
  std::ofstream(victim) << "keep me\n";
  fs::create_symlink(victim, link);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string none = (tmp.path() / "none").string();
  for (const std::string& script : {std::string("bench/compare.py --build-dir '") + none + "'",
                                    std::string("bench/flow_anchor.py --ufm-sim '") + UFM_SIM_BINARY + "'"})
    expect_refusals("timeout 60 /usr/bin/python3 " + script + " --json ",
                    {{"''", "--json '': an empty path"},
                     {"/dev/null", "--json /dev/null: exists and is not a regular file"},
                     {link.string(), "--json " + link.string() + ": exists and is not a regular file"},
                     {fifo.string(), "--json " + fifo.string() + ": exists and is not a regular file"},
                     {none + "/x.json", "--json " + none + "/x.json: no such directory"}},
                    tmp.path());
  EXPECT_EQ(test::read_text(victim), "keep me\n");
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  // The writer itself: a whole file by rename, no temporary left, the umask's permissions.
  const fs::path out = tmp.path() / "raw.json";
  const test::CliResult w = shell("/usr/bin/python3 -c \"import sys; sys.path.insert(0, 'bench'); import compare; "
                                  "compare.write_json_atomically('" + out.string() + "', {'a': [1, 2]})\"",
                                  tmp.path());
  ASSERT_EQ(w.status, 0) << w.out;
  EXPECT_NE(test::read_text(out).find("\"a\": ["), std::string::npos);
  const ::mode_t umask = ::umask(0);
  ::umask(umask);
  EXPECT_EQ(fs::status(out).permissions(), static_cast<fs::perms>(0666 & ~umask));
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp.path())) ++files;
  EXPECT_EQ(files, 5u) << "victim, link, fifo, out (the shell's log) and raw.json, no temporary";
}

}  // namespace
}  // namespace ufm
