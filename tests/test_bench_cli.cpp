// ufm-bench's command line and how `ufm-bench flow` sums up its rounds. No timing here.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../bench/bench_cli.hpp"
#include "../bench/round_ratios.hpp"

namespace ufm {
namespace {

/// ufm-bench's shape: one required subcommand with a range-checked option.
struct BenchLikeApp {
  CLI::App app{"ufm-bench: test", "ufm-bench"};
  int K = 10;
  BenchLikeApp() {
    app.require_subcommand(1);
    CLI::App* step = app.add_subcommand("step", "time GD steps");
    step->add_option("--K", K, "classes")->check(CLI::Range(2, 1 << 20));
  }
  int parse(std::vector<const char*> argv, std::string& out, std::string& err) {
    std::ostringstream o, e;
    const int status = bench::parse_command_line(app, static_cast<int>(argv.size()), argv.data(), o, e);
    out = o.str(), err = e.str();
    return status;
  }
};

TEST(BenchCli, RejectedOptionsExitWithTheBadInputStatusAndNameTheOption) {
  const std::vector<std::vector<const char*>> bad = {{"ufm-bench", "step", "--K", "1"},
                                                     {"ufm-bench", "step", "--K", "ten"},
                                                     {"ufm-bench", "step", "--bogus", "3"},
                                                     {"ufm-bench"}};
  const std::vector<std::string> named = {"--K", "--K", "--bogus", "subcommand"};
  for (std::size_t i = 0; i < bad.size(); ++i) {
    BenchLikeApp b;
    std::string out, err;
    EXPECT_EQ(b.parse(bad[i], out, err), kExitBadInput) << named[i];
    EXPECT_NE(err.find(named[i]), std::string::npos) << err;
    EXPECT_NE(err.find("ufm-bench: error: "), std::string::npos) << err;
    EXPECT_TRUE(out.empty()) << out;
  }
}

TEST(BenchCli, HelpExitsZeroAndAGoodCommandLineGoesOn) {
  BenchLikeApp help;
  std::string out, err;
  EXPECT_EQ(help.parse({"ufm-bench", "--help"}, out, err), kExitOk);
  EXPECT_NE(out.find("step"), std::string::npos) << out;
  EXPECT_TRUE(err.empty()) << err;

  BenchLikeApp good;
  EXPECT_EQ(good.parse({"ufm-bench", "step", "--K", "100"}, out, err), -1) << err;
  EXPECT_EQ(good.K, 100);
}

TEST(BenchCli, LowRankSlopesTakesAutoAlwaysOrNeverAndRejectsTheRest) {
  for (const char* bad : {"sometimes", "", "Always"}) {
    CLI::App app{"ufm-bench: test", "ufm-bench"};
    std::string choice = "auto";
    bench::add_low_rank_slopes_option(app.add_subcommand("flow", "flow"), choice);
    const std::vector<const char*> argv = {"ufm-bench", "flow", "--low-rank-slopes", bad};
    std::ostringstream out, err;
    EXPECT_EQ(bench::parse_command_line(app, static_cast<int>(argv.size()), argv.data(), out, err), kExitBadInput)
        << bad;
    EXPECT_NE(err.str().find("--low-rank-slopes"), std::string::npos) << err.str();
  }
  const std::pair<const char*, LowRankSlopes> good[] = {
      {"auto", LowRankSlopes::kAuto}, {"always", LowRankSlopes::kAlways}, {"never", LowRankSlopes::kNever}};
  for (const auto& [name, want] : good) {
    CLI::App app{"ufm-bench: test", "ufm-bench"};
    std::string choice;
    bench::add_low_rank_slopes_option(app.add_subcommand("flow", "flow"), choice);
    const std::vector<const char*> argv = {"ufm-bench", "flow", "--low-rank-slopes", name};
    std::ostringstream out, err;
    EXPECT_EQ(bench::parse_command_line(app, static_cast<int>(argv.size()), argv.data(), out, err), -1) << err.str();
    EXPECT_EQ(bench::low_rank_slopes_named(choice), want) << name;
  }
}

TEST(BenchRounds, MedianTakesTheMiddleValueOrTheMeanOfTheMiddleTwo) {
  EXPECT_EQ(bench::median_of({3.0, 1.0, 2.0}), 2.0);
  EXPECT_EQ(bench::median_of({4.0, 1.0, 3.0, 2.0}), 2.5);
  EXPECT_EQ(bench::median_of({7.0}), 7.0);
  EXPECT_THROW(bench::median_of({}), std::invalid_argument);
}

TEST(BenchRounds, EachRoundsStageIsDividedByItsOwnRoundsEvaluation) {
  // The second and third rounds ran 1.1 evaluations per stage; the first round's stage ran while
  // the machine was slow. Pairing within rounds gives 1.1; the ratio of the medians would give 1.5.
  const std::vector<double> evaluation = {1.0, 2.0, 3.0}, stage = {3.0, 2.2, 3.3};
  const std::vector<double> r = bench::ratios_by_round(stage, evaluation);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_DOUBLE_EQ(r[0], 3.0);
  EXPECT_DOUBLE_EQ(r[1], 1.1);
  EXPECT_DOUBLE_EQ(r[2], 1.1);
  EXPECT_DOUBLE_EQ(bench::median_of(r), 1.1);
  EXPECT_THROW(bench::ratios_by_round({1.0}, {1.0, 2.0}), std::invalid_argument);
}

}  // namespace
}  // namespace ufm
