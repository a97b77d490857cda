// `ufm-sim run --no-spectra`: the feature spectra are absent from every checkpoint (not null), every
// other metric is the same as without the flag, and the config records the flag (only when set).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "test_io_util.hpp"

namespace ufm {
namespace {

TEST(CliNoSpectra, DropsTheFeatureSpectraAndNothingElse) {
  test::TempDir dir;
  const std::string base = "run --classes 3 --per-class 4 --dim 5 --loss ce --bias reg --dynamics gd --steps 20 "
                           "--num-checkpoints 3 --quiet --out ";
  const auto with = dir.path() / "with.json", without = dir.path() / "without.json";
  ASSERT_EQ(test::run_cli(base + test::quoted(with)).status, 0);
  const test::CliResult r = test::run_cli(base + test::quoted(without) + " --no-spectra");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto a = nlohmann::json::parse(test::read_text(with)), b = nlohmann::json::parse(test::read_text(without));
  EXPECT_EQ(b["config"]["no_spectra"], true);
  EXPECT_FALSE(a["config"].contains("no_spectra"));  // recorded only when set: sweep ids stay as they were
  ASSERT_EQ(a["trajectory"].size(), b["trajectory"].size());
  for (std::size_t i = 0; i < a["trajectory"].size(); ++i) {
    nlohmann::json full = a["trajectory"][i], lean = b["trajectory"][i];
    for (const char* name : {"singular_values", "explained_variance", "effective_rank", "stable_rank"}) {
      EXPECT_TRUE(full.contains(name)) << name;
      EXPECT_FALSE(lean.contains(name)) << name;
      full.erase(name);
    }
    EXPECT_EQ(full, lean) << "checkpoint " << i;
  }
}

}  // namespace
}  // namespace ufm
