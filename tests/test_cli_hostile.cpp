/// Issue 9's reproductions for option and config parsing, sizes, theory and help: each gives a clean
/// run or exit 2 with one line naming the option.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "cli_runner.hpp"
#include "ufm/linalg.hpp"

namespace ufm {
namespace {

using test::run_cli;

struct Hostile {
  std::string args;
  std::string must_mention;  ///< text the one-line message must contain
};

void PrintTo(const Hostile& h, std::ostream* os) { *os << h.args; }

class CliRefuses : public ::testing::TestWithParam<Hostile> {};

TEST_P(CliRefuses, WithStatus2OneLineNamingTheProblemAndNoOutput) {
  const Hostile& h = GetParam();
  const test::CliResult r = run_cli(h.args);
  EXPECT_EQ(r.status, 2) << h.args << "\nstderr: " << r.err;
  EXPECT_NE(r.err.find(h.must_mention), std::string::npos) << "stderr: " << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line expected: " << r.err;
  EXPECT_LT(r.err.size(), 600u) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out.substr(0, 200);
}

INSTANTIATE_TEST_SUITE_P(
    SizesThatOverflowOrExhaustMemory, CliRefuses,
    ::testing::Values(Hostile{"--dim 4611686018427387904", "--dim"}, Hostile{"--classes 1e9", "--classes"},
                      Hostile{"--dim 1e9", "--dim"}, Hostile{"--per-class 1e9", "--per-class"},
                      Hostile{"--classes 65536 --per-class 65537", "--classes"},
                      Hostile{"--class-counts 1000000000,1000000000", "--class-counts"},
                      Hostile{"--class-counts 9223372036854775807,9223372036854775807", "--class-counts"},
                      Hostile{"--layers 2 --width 1e9", "--width"},
                      Hostile{"--layers 3 --widths 16,1000000000000", "--widths"},
                      Hostile{"--num-checkpoints 1000000000", "--num-checkpoints"},
                      Hostile{"--layers 1000000", "--layers"}, Hostile{"theory --classes 1000000000", "--classes"},
                      Hostile{"--dim 1e400", "--dim"}, Hostile{"--steps 1e30 --dynamics gd", "--steps"},
                      Hostile{"--max-steps 99999999999999999999", "--max-steps"},
                      Hostile{"--classes 3.5", "not a whole number"}));

INSTANTIATE_TEST_SUITE_P(
    OptionsThatDoNotApplyOrAreEmpty, CliRefuses,
    ::testing::Values(Hostile{"theory --format jsonl", "--format"}, Hostile{"theory --save-state st", "--save-state"},
                      Hostile{"theory --lr 0.5", "does not apply to `ufm-sim theory`"},
                      Hostile{"theory --dynamics gd", "--dynamics"}, Hostile{"--out ''", "--out"},
                      Hostile{"--save-state ''", "--save-state"}, Hostile{"--config ''", "--config"},
                      Hostile{"--init-state ''", "--init-state"}, Hostile{"toy --out ''", "--out"},
                      Hostile{"--lambda-layer 1=0.1", "--layers >= 2"},
                      Hostile{"--layers 3 --lambda-layer 1=0.1,2=0,1=0.2", "at most once (1 is twice)"},
                      Hostile{"--config a.json --config b.json", "given twice"}));

// A Latin-1 file name is a valid path, but JSON holds UTF-8 only: every command records its options
// in its output, and the write failed with an internal error (status 1) after the work, output lost.
INSTANTIATE_TEST_SUITE_P(
    ArgumentsThatAreNotUtf8, CliRefuses,
    ::testing::Values(Hostile{"--time 1 --out 'bad\xff.json'", "--out: got \"bad\xef\xbf\xbd.json\", allowed: UTF-8"},
                      Hostile{"theory --out='t\xfe.json'", "--out: got \"--out=t"},
                      Hostile{"toy --out 'y\xc3.json'", "--out: got"},
                      Hostile{"net --epochs 1 --out 'n\xed\xa0\x80.json'", "--out: got"},  // a UTF-16 surrogate
                      Hostile{"--time 1 --save-state 's\xff'", "--save-state: got"},
                      Hostile{"sweep 'g\xff.json' --out r.jsonl", "argument 2: got"}));

INSTANTIATE_TEST_SUITE_P(
    Messages, CliRefuses,
    ::testing::Values(Hostile{"--out /nonexistent-dir/x.json", "--out"},
                      Hostile{"--lambda 1e-400", "underflows"}, Hostile{"--lambda 1e400", "overflows"},
                      Hostile{"--seed 18446744073709551616", "[0, 18446744073709551615]"},
                      Hostile{"--seed -1", "[0, 18446744073709551615]"},
                      Hostile{"--lambda -0.1", "got '-0.1'"}, Hostile{"--bogus", "unknown option --bogus"},
                      Hostile{"--lamda 1", "did you mean --lambda?"}, Hostile{"1 --bogus", "unexpected argument '1'"},
                      Hostile{"--lambda --quiet", "--lambda: missing value"},
                      Hostile{"--quiet=yes", "--quiet: a flag"},
                      Hostile{"--=3", "unexpected argument '--=3'"}, Hostile{"toy --bogus 1", "unknown option --bogus"},
                      Hostile{"toy --tim 1", "did you mean --time?"}, Hostile{"help bogus", "run | theory | toy"},
                      Hostile{"--dim " + std::string(5000, '9'), "characters)"}));

/// A state directory to start from, written by a real run.
std::string saved_state(const test::TempDir& dir) {
  const auto state = dir.path() / "state";
  EXPECT_EQ(run_cli("--quiet --time 1 --save-state " + state.string()).status, 0);
  return state.string();
}

TEST(CliRefuses, SeedOrInitScaleWithInitStateBecauseTheyWouldBeIgnored) {
  test::TempDir dir;
  const std::string state = saved_state(dir);
  for (const std::string opt : {"--seed 5", "--init-scale 2"}) {
    const test::CliResult r = run_cli("--quiet --time 1 --init-state " + state + " " + opt);
    EXPECT_EQ(r.status, 2) << opt;
    EXPECT_NE(r.err.find(opt.substr(0, opt.find(' '))), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--init-state"), std::string::npos) << r.err;
  }
}

TEST(CliInitState, RecordsNoSeedAndAcceptsAPreviousOutputsConfig) {
  test::TempDir dir;
  const std::string state = saved_state(dir);
  const auto first = dir.path() / "first.json";
  ASSERT_EQ(run_cli("--quiet --time 1 --seed 3 --out " + first.string()).status, 0);
  // The previous document's seed and init_scale give way to --init-state.
  const test::CliResult r = run_cli("--quiet --config " + first.string() + " --init-state " + state);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.json()["config"]["seed"].is_null());
  EXPECT_TRUE(r.json()["config"]["init_scale"].is_null());
}

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

TEST(CliInitState, ADeviceOrAPipeAsAStateFileExits2AtOnce) {
  // H.npy linked to /dev/zero was read until memory ran out, to /dev/urandom without end, and a FIFO
  // waited for a writer forever. The limits turn a regression into a failure, not a hung suite.
  namespace fs = std::filesystem;
  test::TempDir dir;
  const fs::path state = saved_state(dir);
  const fs::path kept = dir.path() / "H.npy";
  fs::rename(state / "H.npy", kept);
  const std::string limits = "ulimit -v 4000000; timeout 60";
  fs::create_symlink("/dev/zero", state / "H.npy");
  const auto zero = run_cli("--quiet --time 1 --init-state " + state.string(), limits);
  EXPECT_EQ(zero.status, 2) << zero.err;
  EXPECT_NE(zero.err.find("H.npy: is a device, not a regular file"), std::string::npos) << zero.err;
  fs::remove(state / "H.npy");
  ASSERT_EQ(::mkfifo((state / "H.npy").c_str(), 0600), 0);
  const auto pipe = run_cli("--quiet --time 1 --init-state " + state.string(), limits);
  EXPECT_EQ(pipe.status, 2) << pipe.err;
  EXPECT_NE(pipe.err.find("H.npy: is a pipe, not a regular file"), std::string::npos) << pipe.err;
  fs::remove(state / "H.npy");
  fs::rename(kept, state / "H.npy");
  fs::remove(state / "state.json");
  ASSERT_EQ(::mkfifo((state / "state.json").c_str(), 0600), 0);
  const auto json = run_cli("--quiet --time 1 --init-state " + state.string(), limits);
  EXPECT_EQ(json.status, 2) << json.err;
  EXPECT_NE(json.err.find("state.json: is a pipe, not a regular file"), std::string::npos) << json.err;
}

TEST(CliInitState, AStateJsonNestedAHundredThousandDeepExits2WithAShortMessage) {
  namespace fs = std::filesystem;
  test::TempDir dir;
  const fs::path state = saved_state(dir);
  write(state / "state.json", "{\"x\": " + std::string(100000, '[') + std::string(100000, ']') + "}");
  const test::CliResult r = run_cli("--quiet --time 1 --init-state " + state.string());
  EXPECT_EQ(r.status, 2) << r.err.substr(0, 300);
  EXPECT_NE(r.err.find("state.json: nests arrays or objects deeper than 64 levels"), std::string::npos)
      << r.err.substr(0, 300);
  EXPECT_LT(r.err.size(), 400u);
}

TEST(CliConfigFile, NestedAHundredThousandDeepExits2WithAShortMessage) {
  test::TempDir dir;
  for (int depth : {100000, 10000, 65}) {
    const auto file = dir.path() / "deep.json";
    write(file, "{\"classes\": " + std::string(depth, '[') + std::string(depth, ']') + "}");
    const test::CliResult r = run_cli("--quiet --config " + file.string());
    EXPECT_EQ(r.status, 2) << depth << ": " << r.err.substr(0, 300);
    EXPECT_LT(r.err.size(), 400u) << depth;
    EXPECT_NE(r.err.find("deep.json"), std::string::npos) << r.err.substr(0, 300);
  }
}

TEST(CliConfigFile, ADirectoryAnOverflowingNumberAndAnArrayValueExit2) {
  test::TempDir dir;
  const test::CliResult d = run_cli("--quiet --config " + dir.path().string());
  EXPECT_EQ(d.status, 2) << d.err;
  EXPECT_NE(d.err.find("directory"), std::string::npos) << d.err;

  const auto big = dir.path() / "big.json";
  write(big, R"({"lambda": 1e400})");
  const test::CliResult o = run_cli("--quiet --config " + big.string());
  EXPECT_EQ(o.status, 2) << o.err;
  EXPECT_NE(o.err.find("big.json"), std::string::npos) << o.err;

  const auto nested = dir.path() / "nested.json";
  write(nested, R"({"loss": [[1]]})");
  const test::CliResult a = run_cli("--quiet --config " + nested.string());
  EXPECT_EQ(a.status, 2) << a.err;
  EXPECT_NE(a.err.find("has an array value"), std::string::npos) << a.err;

  const auto twice = dir.path() / "twice.json";
  write(twice, R"({"lambda": 1e-3, "loss": "ce", "lambda": 2e-3})");  // nlohmann kept the last, silently
  const test::CliResult k = run_cli("--quiet --config " + twice.string());
  EXPECT_EQ(k.status, 2) << k.err;
  EXPECT_NE(k.err.find("twice.json: key 'lambda' appears twice in one object"), std::string::npos) << k.err;

  const auto typo = dir.path() / "typo.json";
  write(typo, R"({"lamda": 1})");
  const test::CliResult t = run_cli("--quiet --config " + typo.string());
  EXPECT_EQ(t.status, 2);
  EXPECT_NE(t.err.find("did you mean 'lambda'?"), std::string::npos) << t.err;
}

TEST(CliConfigFile, AnotherCommandsOutputIsNamedAsSuchNotByItsFirstForeignKey) {
  // `run --config toy.json` said "unknown key 'a0' (did you mean 'dt'?)"; net given a theory
  // output, "unknown key 'bias'".
  test::TempDir dir;
  const std::string toy = (dir.path() / "toy.json").string(), theory = (dir.path() / "theory.json").string();
  ASSERT_EQ(run_cli("toy --time 1 --out " + toy).status, 0);
  ASSERT_EQ(run_cli("theory --out " + theory).status, 0);
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"--quiet --config " + toy, "toy.json: the output of `ufm-sim toy`; this command reads the output of "
                                       "`ufm-sim run` or `ufm-sim theory`, or an object of its options"},
           {"theory --config " + toy, "the output of `ufm-sim toy`"},
           {"net --config " + theory, "theory.json: the output of `ufm-sim theory`; this command reads the output "
                                      "of `ufm-sim net`"},
           {"compare --config " + theory, "the output of `ufm-sim theory`"}}) {
    const test::CliResult r = run_cli(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
  }
  EXPECT_EQ(run_cli("theory --config " + theory).status, 0);  // its own output, and a run's, are read
}

TEST(CliConfigFile, ADeviceIsRefusedAtOnceAndANamedPipeIsRead) {
  // /dev/zero was read up to the 16 MiB limit and refused as too large, a terminal waited for typing;
  // a pipe ends with its writer, so `--config <(…)` works.
  test::TempDir dir;
  const test::CliResult zero = run_cli("--quiet --config /dev/zero", "ulimit -v 4000000;");
  EXPECT_EQ(zero.status, 2) << zero.err;
  EXPECT_NE(zero.err.find("--config: got '/dev/zero', allowed: a readable JSON file (this is a device, not a "
                          "regular file or a pipe)"),
            std::string::npos)
      << zero.err;
  const auto fifo = dir.path() / "config.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto out = dir.path() / "o.json";
  const test::CliResult piped =
      run_cli("--quiet --dynamics gd --steps 2 --config " + fifo.string() + " --out " + out.string(),
              "(printf '{\"classes\": 3}' > " + fifo.string() + " &); timeout 60");
  ASSERT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(nlohmann::json::parse(test::read_text(out))["config"]["classes"], 3);
}

TEST(CliFlow, AnRk4TimeOfMoreThan2To62StepsExits2NamingDtAndAHugeDopri5TimeRuns) {
  // --time 1e308 --dt 1e-300 overflowed the rk4 step count, and dopri5's and toy's log-spaced
  // checkpoints: internal errors (status 1) from the checkpoint schedule.
  for (const std::string& command : {std::string("--dynamics flow --integrator rk4 --time 1e300 --dt 1e-10"),
                                     std::string("net --batch-size full --dynamics flow --time 1e308 --dt 1e-300")}) {
    const test::CliResult r = run_cli(command + " --quiet");
    EXPECT_EQ(r.status, 2) << command << ": " << r.err;
    EXPECT_NE(r.err.find("--dt: got '1e-"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("allowed: a step of at least --time / 2^62"), std::string::npos) << r.err;
  }
  const test::CliResult fine = run_cli("--dynamics flow --integrator rk4 --time 1 --dt 0.25 --quiet");
  EXPECT_EQ(fine.status, 0) << fine.err;
  const test::CliResult dopri5 = run_cli("--dynamics flow --time 1e308 --dt 1e-300 --max-steps 20 --quiet");
  ASSERT_EQ(dopri5.status, 0) << dopri5.err;
  EXPECT_EQ(dopri5.json()["status"], "max_steps");
  const test::CliResult toy = run_cli("toy --time 1e308");
  ASSERT_EQ(toy.status, 0) << toy.err;
  EXPECT_EQ(toy.json()["trajectory"].back()["t"], 1e308) << toy.out.substr(0, 300);
}

TEST(CliFlow, ARelativeToleranceBelow100MachineEpsilonsExits2NamingItAndTheFloorRuns) {
  // --rel-tol 1e-30 made dopri5's error estimate rounding noise: toy and net ran forever, run took 10M+ steps.
  // The kill guard only turns such a regression into a failure instead of a hung suite.
  const std::string net = "net --classes 3 --per-class 10 --test-per-class 5 --input-dim 4 --widths 8 "
                          "--metric-samples 30 --num-checkpoints 3 --batch-size full --dynamics flow "
                          "--integrator dopri5";
  const std::string compare = "compare --per-class 10 --widths 8";
  for (const std::string& command :
       {std::string("--rel-tol 1e-30 --classes 3 --per-class 4 --dim 4 --time 10 --quiet"),
        std::string("toy --rel-tol 1e-30 --time 10"), net + " --abs-tol 1e-300 --rel-tol 1e-300 --time 1 --quiet",
        std::string("--rel-tol 2.2e-14 --time 1 --quiet"), compare + " --ufm-rel-tol 1e-15 --quiet",
        compare + " --batch-size full --dynamics flow --integrator dopri5 --rel-tol 1e-15 --quiet"}) {
    const test::CliResult r = run_cli(command, "timeout -s KILL 60");
    EXPECT_EQ(r.status, 2) << command << ": " << r.err;
    EXPECT_NE(r.err.find("rel-tol: got '"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("allowed: a finite number >= 2.22e-14 (100 x machine epsilon"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << command;
  }
  const test::TempDir dir;
  const auto config = dir.path() / "c.json";
  std::ofstream(config) << R"({"rel_tol": 1e-20, "time": 1})";
  const test::CliResult from_file = run_cli("--quiet --config " + test::quoted(config), "timeout -s KILL 60");
  EXPECT_EQ(from_file.status, 2) << from_file.err;
  EXPECT_NE(from_file.err.find("--rel-tol: got '1e-20'"), std::string::npos) << from_file.err;
  for (const std::string& command : {std::string("--rel-tol 2.22e-14 --abs-tol 1e-300 --time 10 --quiet"),
                                     std::string("toy --rel-tol 2.22e-14 --abs-tol 1e-300 --time 10"),
                                     net + " --abs-tol 1e-300 --rel-tol 2.22e-14 --time 1 --quiet"})
    EXPECT_EQ(run_cli(command + " --out /dev/null", "timeout -s KILL 60").status, 0) << command;
}

TEST(CliTheory, WritesItsDocumentToOutAndNothingToStdout) {
  test::TempDir dir;
  const auto out = dir.path() / "t.json";
  const test::CliResult r = run_cli("theory --loss ce --lambda 5e-3 --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  const nlohmann::json doc = nlohmann::json::parse(test::read_text(out));
  EXPECT_EQ(doc["command"], "theory");
  EXPECT_FALSE(doc["prediction"].is_null());
  EXPECT_FALSE(doc["config"].contains("dynamics"));  // the model part only
}

TEST(CliTheory, ReadsTheModelPartOfARunsOutputDocument) {
  test::TempDir dir;
  const auto run = dir.path() / "run.json";
  ASSERT_EQ(run_cli("--quiet --dynamics gd --lr 0.2 --steps 10 --loss ce --lambda 5e-3 --out " + run.string()).status, 0);
  const test::CliResult r = run_cli("theory --config " + run.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.json()["config"]["loss"], "ce");
}

TEST(CliTheory, PredictsAtDEqualsKMinusOneWhereASimplexEtfStillFits) {
  const test::CliResult ce = run_cli("theory --loss ce --lambda 5e-3 --classes 4 --per-class 5 --dim 3");
  ASSERT_EQ(ce.status, 0) << ce.err;
  ASSERT_FALSE(ce.json()["prediction"].is_null()) << ce.out;
  EXPECT_NEAR(ce.json()["prediction"]["min_value"].get<double>(), 0.18369199571769, 1e-12);
  const test::CliResult mse = run_cli("theory --bias free --lambda 5e-3 --classes 4 --per-class 5 --dim 3");
  ASSERT_FALSE(mse.json()["prediction"].is_null()) << mse.out;
  EXPECT_NEAR(mse.json()["prediction"]["min_value"].get<double>(), 0.03279101966250, 1e-12);
  const test::CliResult a = run_cli("theory --lambda 5e-3 --classes 4 --per-class 5 --dim 3");
  EXPECT_TRUE(a.json()["prediction"].is_null());  // (a) needs d >= K
}

TEST(CliTheory, CheckTheoryPassesAtDEqualsKMinusOne) {
  const std::string T = " --time 1e6 --grad-tol 1e-11 --abs-tol 1e-12 --rel-tol 1e-12 --check-theory --quiet";
  const test::CliResult r = run_cli("--loss ce --lambda 5e-3 --classes 4 --per-class 5 --dim 3" + T);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.json()["theory_check"]["pass"].get<bool>());
}

TEST(CliEnvironment, AnAbsurdOmpNumThreadsExits2NamingItInsteadOfCrashing) {
  // 100,000: libgomp overflowed its stack creating the team (SIGSEGV) in the objective's constructor.
#ifndef _OPENMP
  GTEST_SKIP() << "a build without OpenMP (-DUFM_USE_OPENMP=OFF) reads no OMP_NUM_THREADS";
#endif
  for (const std::string command : {"--time 1 --quiet", "theory", "sweep --list nothing.json"}) {
    const auto r = run_cli(command, "OMP_NUM_THREADS=100000");
    EXPECT_EQ(r.status, 2) << command << ": " << r.err;
    EXPECT_EQ(r.err, "ufm-sim: error: OMP_NUM_THREADS: got '100000', allowed: at most 4096 threads\n") << command;
    EXPECT_TRUE(r.out.empty()) << command;
  }
  EXPECT_EQ(run_cli("--time 1 --quiet --out /dev/null", "OMP_NUM_THREADS=3").status, 0);
}

TEST(CliHelp, TheoryHelpListsModelOptionsOnlyAndEveryHelpStatesExitStatuses) {
  const test::CliResult theory = run_cli("theory --help");
  EXPECT_EQ(theory.status, 0);
  EXPECT_NE(theory.out.find("--lambda-w"), std::string::npos);
  EXPECT_EQ(theory.out.find("--lr"), std::string::npos) << "dynamics options are not theory's";
  EXPECT_EQ(theory.out.find("accepted and ignored"), std::string::npos);
  EXPECT_EQ(theory.out.find("simulate the unconstrained"), std::string::npos) << "no run help after it";
  const test::CliResult run = run_cli("--help");
  EXPECT_NE(run.out.find("exit status"), std::string::npos);
  EXPECT_NE(run.out.find("--seed and --init-scale do not apply"), std::string::npos);
  const test::CliResult toy = run_cli("toy --help");
  EXPECT_EQ(toy.out.find("TEXT"), std::string::npos) << toy.out;
  EXPECT_NE(toy.out.find("exit status"), std::string::npos);
  const test::CliResult help = run_cli("help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("exit status"), std::string::npos);
  EXPECT_EQ(run_cli("help theory").out, theory.out);
  const test::CliResult extra = run_cli("help run extra");  // it named only 'run', a valid command
  EXPECT_EQ(extra.status, 2);
  EXPECT_NE(extra.err.find("help: got 'run extra', allowed: one of run"), std::string::npos) << extra.err;
}

TEST(CliSizes, AMemoryCapIsRespectedBeforeAllocating) {
  // Under ulimit -v of 1.5 GiB a run whose θ alone is ~2.4 GB is refused up front, naming the limit.
  const test::CliResult r =
      run_cli("--quiet --dim 30000 --per-class 1000 --classes 10", "ulimit -v 1500000;");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("is available"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--dim"), std::string::npos) << r.err;
}

TEST(CliSizes, AnAddressSpaceLimitCountsOpenBlasBuffersOfEveryThread) {
  // Under ulimit -v 300000 a tiny run on two threads hung in OpenBLAS, whose first product on a
  // thread mallocs 128 MiB: the estimate had not counted it. One thread fits.
  if (std::string(blas_backend()).find("OpenBLAS") == std::string::npos) GTEST_SKIP() << "Eigen's own products";
#ifndef _OPENMP
  GTEST_SKIP() << "a build without OpenMP runs one thread";
#endif
  const std::string run = "--classes 3 --per-class 4 --dim 4 --time 1 --num-checkpoints 2 --quiet --out /dev/null";
  const test::CliResult two = run_cli(run, "ulimit -v 300000; OMP_NUM_THREADS=2 timeout -s KILL 60");
  EXPECT_EQ(two.status, 2) << two.err;
  EXPECT_NE(two.err.find("for 2 threads' OpenBLAS buffers"), std::string::npos) << two.err;
  const test::CliResult one = run_cli(run, "ulimit -v 300000; OMP_NUM_THREADS=1 timeout -s KILL 60");
  EXPECT_EQ(one.status, 0) << one.err;
}

TEST(CliSizes, ADeepModelsTrajectoryIsCountedAtItsMeasuredSize) {
  // 3000 levels x 100 checkpoints held ~1.8 GB (5.9 KB a level and checkpoint), estimated 1.3 GiB:
  // under ulimit -v 1700000 the run passed the check and died of std::bad_alloc after 11 s.
  const test::CliResult r =
      run_cli("--layers 3000 --dim 4 --classes 3 --per-class 4 --time 1 --num-checkpoints 100 --quiet --out /dev/null",
              "ulimit -v 1700000; OMP_NUM_THREADS=1 timeout -s KILL 120");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--layers: got 3000, but the run would need about"), std::string::npos) << r.err;
}

TEST(CliSizes, RunningOutOfMemoryPastTheEstimateExits2WithOneLineNotAnInternalError) {
  // An 80 MB CSV read under ulimit -v 200000 ended in "internal error: std::bad_alloc", status 1.
  const test::TempDir dir;
  const auto csv = dir.path() / "big.csv";
  {
    std::string row;
    for (int c = 0; c < 200; ++c) row += "0.5,";
    std::ofstream out(csv);
    for (int i = 0; i < 100000; ++i) out << row << i % 2 << "\n";
  }
  const test::CliResult r = run_cli("net --data csv:" + test::quoted(csv) + " --quiet --epochs 1 --out /dev/null",
                                    "ulimit -v 200000; OMP_NUM_THREADS=1 timeout -s KILL 60");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(r.err.rfind("ufm-sim: error: out of memory at `ufm-sim net`: raise the memory limit", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

}  // namespace
}  // namespace ufm
