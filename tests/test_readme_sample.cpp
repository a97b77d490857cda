/// The README's sample output is that of the default run: regenerate it when this test fails.
/// Step counts may differ by a few between CPUs (the SIMD kernels' summation order follows the
/// vector width, and dopri5's step control follows the last bits), so they are compared within 2%.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "cli_runner.hpp"

namespace ufm {
namespace {

double near_enough(double readme, double actual) { return std::abs(readme - actual) <= 0.02 * actual; }

TEST(ReadmeSample, MessageSummaryTimingKeysAndNullReasonsAreThoseOfTheDefaultRun) {
  const std::string readme = test::read_text(std::string(UFM_SOURCE_DIR) + "/README.md");
  const test::CliResult r = test::run_cli("--quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json d = r.json();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(readme, m, std::regex(R"re( "message": "reached max_time at step (\d+) \(t = 20000\)",)re")));
  EXPECT_EQ(d["status"], "max_time");
  EXPECT_TRUE(near_enough(std::stod(m[1]), d["summary"]["steps"].get<double>())) << m[1] << " vs " << d["message"];
  ASSERT_TRUE(std::regex_search(
      readme, m, std::regex(R"re( "summary": \{"steps": (\d+), "time": 20000, "gradient_evaluations": (\d+)\},)re")));
  EXPECT_TRUE(near_enough(std::stod(m[1]), d["summary"]["steps"].get<double>())) << m[1];
  EXPECT_TRUE(near_enough(std::stod(m[2]), d["summary"]["gradient_evaluations"].get<double>()))
      << m[2] << " vs " << d["summary"]["gradient_evaluations"];
  const std::regex timing(R"re( "timing": \{"dynamics_seconds": [0-9.e-]+, )re"
                          R"re("checkpoint_seconds": [0-9.e-]+, "checkpoints": (\d+)\},)re");
  ASSERT_TRUE(std::regex_search(readme, m, timing));
  EXPECT_EQ(std::stod(m[1]), d["timing"]["checkpoints"].get<double>()) << "the default run's checkpoints";
  EXPECT_EQ(d["final"]["null_reasons"]["eps_tilde_rel_std"], "|eps_tilde_avg| < 1e-12");
  EXPECT_NE(readme.find("{\"eps_tilde_rel_std\": \"|eps_tilde_avg| < 1e-12\""), std::string::npos);
}

}  // namespace
}  // namespace ufm
