/// `ufm-sim compare`: the network, the UFM from a random init and the UFM from the network's own
/// features, with the theory and the side-by-side table; and its bad inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "cli_runner.hpp"

namespace ufm {
namespace {

using nlohmann::json;
using test::run_cli;

// K = 3, 10 evaluation samples per class (30 / 3), d = 6.
const std::string kCompare =
    "compare --classes 3 --per-class 20 --widths 8,6 --batch-size 10 --lr 0.02 --epochs 30 --metric-samples 30 "
    "--num-checkpoints 3 --ufm-dynamics gd --ufm-lr 0.2 --ufm-steps 300 --ufm-num-checkpoints 3";

TEST(CliCompare, WritesTheNetworkBothUfmRunsTheTheoryAndTheTable) {
  const test::CliResult r = run_cli(kCompare);
  ASSERT_EQ(r.status, 0) << r.err;
  const json d = r.json();
  EXPECT_EQ(d["command"], "compare");
  EXPECT_EQ(d["network"]["command"], "net");
  EXPECT_EQ(d["ufm"]["command"], "run");
  EXPECT_EQ(d["ufm_from_network"]["command"], "run");
  // The UFM has the network's K, evaluation samples per class, last width, loss, and decay.
  const json& u = d["config"]["ufm"];
  EXPECT_EQ(u["classes"], 3);
  EXPECT_EQ(u["per_class"], 10);
  EXPECT_EQ(u["dim"], 6);
  EXPECT_EQ(u["loss"], "mse");
  EXPECT_EQ(u["bias"], "none");
  EXPECT_EQ(u["lambda_w"], 5e-4);
  EXPECT_EQ(u["lambda_h"], 5e-4);
  // The UFM from the network starts exactly where the network ended.
  const json& start = d["ufm_from_network"]["trajectory"].front();
  const json& end = d["network"]["final"];
  for (const char* key : {"nc1", "nc3", "h_norm", "w_norm"})
    EXPECT_LT(std::abs(start[key].get<double>() - end[key].get<double>()), 1e-12 * std::abs(end[key].get<double>()))
        << key;
  EXPECT_NE(d["theory"]["prediction"], nullptr);
  ASSERT_TRUE(d["table"].is_array());
  bool saw_nc1 = false;
  for (const json& row : d["table"]) {
    if (row["metric"] != "nc1") continue;
    saw_nc1 = true;
    EXPECT_EQ(row["network"], end["nc1"]);
    EXPECT_EQ(row["ufm"], d["ufm"]["final"]["nc1"]);
    EXPECT_EQ(row["ufm_from_network"], d["ufm_from_network"]["final"]["nc1"]);
  }
  EXPECT_TRUE(saw_nc1);
  for (const json& row : d["table"]) {
    if (row["metric"] == "w_norm") {
      EXPECT_EQ(row["theory"], d["theory"]["prediction"]["w_norm"]);
    }
  }
  // The table on stderr.
  EXPECT_NE(r.err.find("ufm_from_network"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nc1 "), std::string::npos) << r.err;
  EXPECT_EQ(d["seed"], json({{"network", 0}, {"ufm", 0}}));
  EXPECT_TRUE(d.contains("environment"));
  EXPECT_TRUE(d.contains("wall_seconds"));
  for (const char* part : {"network", "ufm", "ufm_from_network"}) {  // each part's own split of its time
    ASSERT_TRUE(d[part].contains("timing")) << part;
    EXPECT_EQ(d[part]["timing"]["checkpoints"], d[part]["trajectory"].size()) << part;
  }
}

TEST(CliCompare, LambdaHAndTheBiasCarryOverAsDocumented) {
  const test::CliResult r = run_cli(kCompare + " --quiet --last-bias --lambda-layer 3=1e-3 --ufm-lambda-h 2e-3");
  ASSERT_EQ(r.status, 0) << r.err;
  const json d = r.json();
  const json& u = d["config"]["ufm"];
  EXPECT_EQ(u["bias"], "reg");
  EXPECT_EQ(u["lambda_w"], 1e-3);
  EXPECT_EQ(u["lambda_h"], 2e-3);
  EXPECT_EQ(u["lambda_b"], 5e-4);
}

TEST(CliCompare, BadOptionsExit2BeforeTrainingNamingTheOption) {
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {" --ufm-dim 5", "--ufm-dim: set by the network"},
           {" --ufm-lamda 1", "--ufm-lamda (did you mean --ufm-lambda?)"},
           {" --ufm-time 5", "--ufm-time: applies only to --ufm-dynamics flow"},
           {" --format jsonl", "--format: got 'jsonl', allowed: json (compare writes one document)"},
           {" --widths 0", "--widths"},
           {" --ufm-bogus 1", "(see ufm-sim run --help)"},  // it said --ufm-help, which no command has
           {" --metric-sample 4", "(did you mean --metric-samples?) (see ufm-sim compare --help)"},  // said net
       }) {
    const test::CliResult r = run_cli(kCompare + args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(r.out, "") << args;
  }
}

TEST(CliCompare, CheckTheoryMismatchExits4NamingTheRunAndWritesTheDocument) {
  // No state matches a prediction to 1e-300: both UFM runs are judged, the first mismatch exits 4.
  // It exited 0, the option accepted and its verdict (theory_check.pass false) left unread.
  const test::TempDir dir;
  const std::string out = (dir.path() / "c.json").string();
  const test::CliResult r =
      run_cli(kCompare + " --ufm-check-theory --ufm-theory-tol 1e-300 --quiet --out " + test::quoted(out));
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_NE(r.err.find("ufm: the final state does not match"), std::string::npos) << r.err;
  const json doc = json::parse(test::read_text(out));
  EXPECT_EQ(doc["ufm"]["theory_check"]["pass"], false);
  EXPECT_TRUE(doc["table"].is_array());
}

}  // namespace
}  // namespace ufm
