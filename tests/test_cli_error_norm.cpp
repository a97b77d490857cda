// `ufm-sim run --error-norm rms`: dopri5's step control on the root mean square of the scaled
// errors. The config records it (only when not the default max, so older sweep ids stay), the
// recorded config reproduces the run bit for bit, and the run ends where the max-norm run does to
// within the tolerance, in no more steps.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "test_io_util.hpp"

namespace ufm {
namespace {

TEST(CliErrorNorm, RmsIsRecordedReproducibleAndAsAccurateAsItsTolerance) {
  test::TempDir dir;
  const std::string base = "run --classes 3 --per-class 40 --dim 6 --loss ce --bias reg --dynamics flow --time 20 "
                           "--abs-tol 1e-8 --rel-tol 1e-8 --num-checkpoints 3 --quiet --out ";
  const auto max = dir.path() / "max.json", rms = dir.path() / "rms.json", again = dir.path() / "again.json";
  ASSERT_EQ(test::run_cli(base + test::quoted(max)).status, 0);
  const test::CliResult r = test::run_cli(base + test::quoted(rms) + " --error-norm rms");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto a = nlohmann::json::parse(test::read_bytes(max)), b = nlohmann::json::parse(test::read_bytes(rms));
  EXPECT_FALSE(a["config"].contains("error_norm"));
  EXPECT_EQ(b["config"]["error_norm"], "rms");
  EXPECT_LT(b["summary"]["steps"].get<long>(), a["summary"]["steps"].get<long>());
  const double fa = a["final"]["objective"], fb = b["final"]["objective"];
  EXPECT_NE(fa, fb);
  EXPECT_NEAR(fa, fb, 1e-6 * std::abs(fa));

  // The recorded config, fed back, gives the same run.
  const auto config = dir.path() / "config.json";
  nlohmann::json c = b["config"];
  c.erase("out");
  test::write_bytes(config, c.dump());
  const test::CliResult r2 = test::run_cli("run --config " + test::quoted(config) + " --out " + test::quoted(again));
  ASSERT_EQ(r2.status, 0) << r2.err;
  const auto b2 = nlohmann::json::parse(test::read_bytes(again));
  EXPECT_EQ(b2["config"]["error_norm"], "rms");
  EXPECT_EQ(b2["final"]["objective"], b["final"]["objective"]);
  EXPECT_EQ(b2["summary"]["steps"], b["summary"]["steps"]);
}

}  // namespace
}  // namespace ufm
