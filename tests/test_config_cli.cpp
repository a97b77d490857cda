/// parse_run_options in-process: each thread reuses one parser per command, so a parse must keep
/// nothing of the one before it.
#include <gtest/gtest.h>

#include <fstream>

#include "test_io_util.hpp"
#include "ufm/config/cli.hpp"
#include "ufm/config/config_error.hpp"

namespace ufm {
namespace {

TEST(ConfigError, EchoesTheValueCutToEightyCharactersWithItsLengthAndKeepsTheAllowedTextWhole) {
  const std::string allowed = "a finite number > 0, " + std::string(100, 'a');
  const ConfigError cut("--lr", std::string(80, '9') + "12345", allowed);
  EXPECT_EQ(std::string(cut.what()), "--lr: got '" + std::string(80, '9') + "...(85 characters)', allowed: " + allowed);
  EXPECT_EQ(cut.option(), "--lr");
  const ConfigError whole("--lr", std::string(80, '9'), "x");
  EXPECT_EQ(std::string(whole.what()), "--lr: got '" + std::string(80, '9') + "', allowed: x");
}

TEST(RunOptions, AParseKeepsNoOptionOfTheParseBeforeIt) {
  const RunConfig given =
      parse_run_options({"--loss", "ce", "--lambda-w", "0.1", "--quiet", "--dynamics", "gd", "--seed", "7"}).config;
  EXPECT_EQ(given.loss, Loss::kCrossEntropy);
  EXPECT_EQ(given.lambda_w, 0.1);
  EXPECT_TRUE(given.quiet);
  EXPECT_EQ(given.dynamics, Dynamics::kGd);
  EXPECT_TRUE(given.seed_given);

  const RunConfig defaults = parse_run_options({}).config;
  EXPECT_EQ(defaults.loss, Loss::kMse);
  EXPECT_FALSE(defaults.lambda_w.has_value());
  EXPECT_FALSE(defaults.quiet);
  EXPECT_EQ(defaults.dynamics, Dynamics::kFlow);
  EXPECT_EQ(defaults.seed, 0u);
  EXPECT_FALSE(defaults.seed_given);
}

TEST(RunOptions, AConfigFileOfOneParseIsNotReadByTheNext) {
  test::TempDir dir;
  const std::string file = (dir.path() / "run.json").string();
  std::ofstream(file) << R"({"loss": "ce", "per_class": 3})";
  const RunConfig from_file = parse_run_options({"--config", file}).config;
  EXPECT_EQ(from_file.loss, Loss::kCrossEntropy);
  EXPECT_EQ(from_file.per_class, 3);

  const RunConfig next = parse_run_options({"--dim", "8"}).config;
  EXPECT_EQ(next.loss, Loss::kMse);
  EXPECT_EQ(next.per_class, 10);
  EXPECT_EQ(next.dim, 8);
}

TEST(RunOptions, AParseAfterARefusedOneStartsClean) {
  EXPECT_THROW(parse_run_options({"--lambda", "abc"}), ConfigError);
  EXPECT_THROW(parse_run_options({"--classes", "3", "--bogus", "1"}), ConfigError);
  EXPECT_TRUE(parse_run_options({"--help"}).help);
  const RunConfig next = parse_run_options({"--seed", "3"}).config;
  EXPECT_EQ(next.lambda, 5e-4);
  EXPECT_EQ(next.classes, 4);
  EXPECT_EQ(next.seed, 3u);
  EXPECT_FALSE(parse_run_options({}).help);
}

TEST(RunOptions, TheoryAndRunKeepTheirOwnOptions) {
  EXPECT_EQ(parse_run_options({"--loss", "ce"}, Command::kTheory).config.loss, Loss::kCrossEntropy);
  EXPECT_EQ(parse_run_options({}).config.loss, Loss::kMse);
  EXPECT_EQ(parse_run_options({}, Command::kTheory).config.loss, Loss::kMse);
  EXPECT_THROW(parse_run_options({"--lr", "0.1"}, Command::kTheory), ConfigError);
}

}  // namespace
}  // namespace ufm
