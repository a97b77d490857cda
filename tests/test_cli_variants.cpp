/// Imbalanced classes, the fixed ETF classifier, `ufm-sim theory` and `--check-theory`, end to end.
#include <gtest/gtest.h>

#include <fstream>

#include "cli_runner.hpp"

namespace ufm {
namespace {

using nlohmann::json;
using test::run_cli;

void expect_rejected(const std::string& args, const std::string& option) {
  const test::CliResult r = run_cli(args + " --quiet");
  EXPECT_EQ(r.status, 2) << args << "\n" << r.err;
  EXPECT_NE(r.err.find(option), std::string::npos) << args << "\n" << r.err;
  EXPECT_TRUE(r.out.empty()) << args;
}

TEST(CliVariants, RejectBadImbalanceAndClassifierOptions) {
  expect_rejected("--imbalance 0.5", "--imbalance");
  expect_rejected("--imbalance nan", "--imbalance");
  expect_rejected("--majority-classes 2", "--majority-classes");
  expect_rejected("--imbalance 2 --majority-classes 4 --classes 4", "--majority-classes");
  expect_rejected("--class-counts 3,0,2", "--class-counts");
  expect_rejected("--class-counts 3,2 --classes 3", "--class-counts");
  expect_rejected("--class-counts 3,x", "--class-counts");
  expect_rejected("--class-counts 5", "--class-counts");
  expect_rejected("--class-counts 3,2 --per-class 4", "--per-class");
  expect_rejected("--fixed-classifier etf --classes 5 --dim 3", "--fixed-classifier");
  expect_rejected("--fixed-classifier simplex", "--fixed-classifier");
  expect_rejected("--classifier-norm 2", "--classifier-norm");
  expect_rejected("--fixed-classifier etf --classifier-norm 0", "--classifier-norm");
  expect_rejected("--theory-tol 1e-3", "--theory-tol");
  expect_rejected("--check-theory --theory-tol -1", "--theory-tol");
}

TEST(CliVariants, ImbalanceGivesTheRequestedCounts) {
  const test::CliResult r =
      run_cli("--quiet --classes 5 --per-class 10 --imbalance 3 --majority-classes 2 --time 1 --num-checkpoints 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.json()["model"]["class_counts"], json({10, 10, 3, 3, 3}));
  EXPECT_EQ(r.json()["model"]["N"], 29);
  const test::CliResult big = run_cli("--quiet --classes 4 --per-class 10 --imbalance 100 --time 1 --num-checkpoints 2");
  EXPECT_EQ(big.json()["model"]["class_counts"], json({10, 10, 1, 1}));  // at least 1; K_maj defaults to K/2
  const test::CliResult given = run_cli("--quiet --class-counts 7,3,2 --time 1 --num-checkpoints 2");
  ASSERT_EQ(given.status, 0) << given.err;
  EXPECT_EQ(given.json()["model"]["class_counts"], json({7, 3, 2}));
  EXPECT_EQ(given.json()["model"]["K"], 3);
  EXPECT_TRUE(given.json()["final"]["minority_cosine_mean"].is_number());
}

TEST(CliVariants, RatioOneEqualsTheBalancedRunExactly) {
  const std::string common = " --quiet --loss ce --classes 4 --per-class 6 --time 50 --seed 3";
  json a = run_cli(common).json();
  json b = run_cli(common + " --imbalance 1 --majority-classes 1").json();
  EXPECT_EQ(a["trajectory"], b["trajectory"]);
  EXPECT_EQ(a["model"], b["model"]);
}

TEST(CliVariants, FixedEtfClassifierStaysFixedAndFeaturesAlignWithIt) {
  const test::CliResult r = run_cli("--quiet --fixed-classifier etf --classifier-norm 3 --classes 4 --dim 3 "
                                    "--lambda 1e-2 --time 5e3");
  ASSERT_EQ(r.status, 0) << r.err;
  const json doc = r.json();
  EXPECT_EQ(doc["config"]["classifier_norm"], 3.0);
  for (const json& cp : doc["trajectory"]) {
    EXPECT_NEAR(cp["w_norm"].get<double>(), 3.0, 1e-14);
    EXPECT_NEAR(cp["etf_error_w"].get<double>(), 0.0, 1e-14);
  }
  EXPECT_EQ(doc["trajectory"].front()["wwt_eigenvalues"], doc["final"]["wwt_eigenvalues"]);
  EXPECT_LT(doc["final"]["nc1"].get<double>(), 1e-10);
  EXPECT_LT(doc["final"]["etf_error_h"].get<double>(), 1e-6);
  EXPECT_LT(doc["final"]["nc3"].get<double>(), 1e-10);
}

TEST(CliTheory, PrintsThePredictionOrANullWithTheReason) {
  const test::CliResult r = run_cli("theory --loss ce --bias free --lambda 5e-3 --classes 4 --per-class 5 --dim 6");
  ASSERT_EQ(r.status, 0) << r.err;
  const json p = r.json()["prediction"];
  EXPECT_EQ(p["theorem"], "d");
  const double gamma = std::sqrt(5 * 5e-3 * 5e-3);
  EXPECT_NEAR(p["margin_p"].get<double>(), std::log(1 / gamma - 3), 1e-12);
  for (const char* args : {"theory --imbalance 2", "theory --dim 2", "theory --lambda 0",
                           "theory --fixed-classifier etf", "theory --bias reg"}) {
    const test::CliResult none = run_cli(args);
    EXPECT_EQ(none.status, 0) << args;
    EXPECT_TRUE(none.json()["prediction"].is_null()) << args;
    EXPECT_FALSE(none.json()["reason"].get<std::string>().empty()) << args;
  }
  EXPECT_EQ(run_cli("theory --lambda -1").status, 2);
}

TEST(CliTheory, TheoryAndToyDocumentsRecordVersionConfigSeedAndWallTime) {
  // Every output records its config, seed, version and wall time. The toy's options were under
  // "input" and neither recorded a seed; both draw nothing, so the seed is null.
  const test::CliResult theory = run_cli("theory --classes 3");
  const test::CliResult toy = run_cli("toy --p 0.2,0.5,0.3 --time 10");
  ASSERT_EQ(theory.status, 0) << theory.err;
  ASSERT_EQ(toy.status, 0) << toy.err;
  for (const test::CliResult* r : {&theory, &toy}) {
    const json doc = r->json();
    for (const char* key : {"ufm_sim_version", "command", "config", "seed", "wall_seconds"})
      EXPECT_TRUE(doc.contains(key)) << doc["command"] << " lacks " << key;
    EXPECT_TRUE(doc["seed"].is_null()) << doc["command"];
  }
  EXPECT_EQ(theory.json()["config"]["classes"], 3);
  EXPECT_EQ(toy.json()["config"]["p"], json({0.2, 0.5, 0.3}));
  EXPECT_EQ(toy.json()["config"]["time"], 10.0);
  EXPECT_FALSE(toy.json().contains("input"));
}

TEST(CliToy, ConfigOfAPreviousOutputRerunsItAndTheCommandLineWins) {
  test::TempDir dir;
  const std::string first = (dir.path() / "a.json").string(), again = (dir.path() / "b.json").string();
  ASSERT_EQ(run_cli("toy --p 0.2,0.5,0.3 --a0 1,0,-1 --time 100 --out " + first).status, 0);
  const test::CliResult rerun = run_cli("toy --config " + first + " --out " + again);
  ASSERT_EQ(rerun.status, 0) << rerun.err;
  json a = json::parse(test::read_text(first)), b = json::parse(test::read_text(again));
  for (json* d : {&a, &b}) d->erase("wall_seconds"), (*d)["config"].erase("out");
  EXPECT_EQ(a, b);  // the same flow, bit for bit
  const test::CliResult shorter = run_cli("toy --config " + first + " --time 10");
  ASSERT_EQ(shorter.status, 0) << shorter.err;
  EXPECT_EQ(shorter.json()["config"]["time"], 10.0);
  EXPECT_EQ(shorter.json()["config"]["p"], json({0.2, 0.5, 0.3}));
  const std::string typo = (dir.path() / "typo.json").string();
  std::ofstream(typo) << R"({"pp": "0.2,0.5,0.3"})";
  const test::CliResult bad = run_cli("toy --config " + typo);
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("unknown key 'pp' (did you mean 'p'?)"), std::string::npos) << bad.err;
  const std::string theory = (dir.path() / "theory.json").string();
  ASSERT_EQ(run_cli("theory --out " + theory).status, 0);
  const test::CliResult other = run_cli("toy --config " + theory);
  EXPECT_EQ(other.status, 2);
  EXPECT_NE(other.err.find("the output of `ufm-sim theory`; this command reads the output of `ufm-sim toy`"),
            std::string::npos)
      << other.err;
}

TEST(CliTheory, CheckTheoryPassesAtConvergenceAndExits4Before) {
  const std::string model = " --quiet --loss mse --bias free --lambda 1e-2 --classes 3 --per-class 4 --dim 5";
  const test::CliResult done =
      run_cli(model + " --time 1e6 --grad-tol 1e-11 --abs-tol 1e-12 --rel-tol 1e-12 --check-theory");
  ASSERT_EQ(done.status, 0) << done.err;
  EXPECT_EQ(done.json()["theory"]["prediction"]["theorem"], "b");
  EXPECT_TRUE(done.json()["theory_check"]["pass"].get<bool>());
  EXPECT_LT(done.json()["theory_check"]["quantities"]["min_value"]["error"].get<double>(), 1e-6);
  const test::CliResult early = run_cli(model + " --time 10 --check-theory");
  EXPECT_EQ(early.status, 4) << early.err;
  EXPECT_FALSE(early.json()["theory_check"]["pass"].get<bool>());
  // Nothing to check against (issue 9): refused up front, naming the option and the reason.
  const test::CliResult none = run_cli(model + " --time 10 --imbalance 2 --check-theory");
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("--check-theory"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("imbalance"), std::string::npos) << none.err;
  EXPECT_TRUE(none.out.empty());
}

}  // namespace
}  // namespace ufm
