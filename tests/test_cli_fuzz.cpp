/// Fuzz-style: a few thousand generated malformed option values (every command's) and config files.
/// Every one must end in a clean run (0, or 3/4 with a complete document) or exit 2 with one line on
/// stderr and nothing on stdout; never a crash, a signal or an internal error.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cli_runner.hpp"

namespace ufm {
namespace {

/// Options of `run` that take a value (flags are covered by the config-file part).
const std::vector<std::string> kOptions = {
    "classes", "per-class", "layers", "width", "widths", "activation", "imbalance", "majority-classes",
    "class-counts", "dim", "loss", "bias", "lambda", "lambda-w", "lambda-h", "lambda-layer", "lambda-b",
    "fixed-classifier", "classifier-norm", "init-scale", "seed", "init-state", "dynamics", "integrator", "dt",
    "abs-tol", "rel-tol", "error-norm", "time", "max-steps", "lr", "steps", "momentum", "grad-tol", "checkpoints",
    "num-checkpoints", "max-singular-values", "format", "out", "save-state", "theory-tol", "config"};

/// Values no option should accept as a size or path that leads to work; quoted for sh.
const std::vector<std::string> kValues = {
    "''", "abc", "-1", "0", "1e400", "-1e400", "1e-400", "nan", "inf", "-inf", "0x10", "1,,2", ",", "=",
    "1=", "=1", "' '", "99999999999999999999999", "-9223372036854775809", "1.5.2", "+-1", "--", "'\\n'",
    "/dev/null/x", "/proc/self/mem", "'1e3 '", "٣", "'\"'", "1e-320", "'caf\xe9.json'"};

void expect_clean(const test::CliResult& r, const std::string& what) {
  const bool ok_status = r.status == 0 || r.status == 2 || r.status == 3 || r.status == 4;
  EXPECT_TRUE(ok_status) << what << " -> status " << r.status << "\nstderr: " << r.err.substr(0, 500);
  if (r.status == 2) {
    EXPECT_FALSE(r.err.empty()) << what;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << what << ": one line expected: " << r.err.substr(0, 500);
    EXPECT_TRUE(r.out.empty()) << what;
  } else if (ok_status && !r.out.empty()) {  // (with --out the document went to the file)
    EXPECT_TRUE(nlohmann::json::accept(r.out)) << what << ": stdout is not one JSON document";
  }
}

TEST(CliFuzz, MalformedOptionValuesGiveACleanRunOrExit2WithOneLine) {
  test::TempDir cwd;  // values such as "abc" are valid paths: keep what they create out of the build tree
  const std::string in_cwd = "cd " + cwd.path().string() + " &&";
  int runs = 0;
  for (const std::string& option : kOptions)
    for (const std::string& value : kValues) {
      const std::string args = "--quiet --num-checkpoints 3 --" + option + " " + value;
      expect_clean(test::run_cli(args + " --time 1", in_cwd), args);
      ++runs;
    }
  EXPECT_GT(runs, 1000);
}

/// The other commands' options, each with every value above, after a base that keeps a run small.
TEST(CliFuzz, TheoryToyAndNetOptionValuesGiveACleanRunOrExit2WithOneLine) {
  test::TempDir cwd;
  const std::string in_cwd = "cd " + cwd.path().string() + " &&";
  struct Command {
    std::string base;
    std::vector<std::string> options;
  };
  const std::vector<Command> commands = {
      {"theory",
       {"classes", "per-class", "layers", "width", "widths", "activation", "imbalance", "majority-classes",
        "class-counts", "dim", "loss", "bias", "lambda", "lambda-w", "lambda-h", "lambda-layer", "lambda-b",
        "fixed-classifier", "classifier-norm", "out", "config"}},
      {"toy --time 1 --num-checkpoints 3",
       {"p", "a0", "time", "num-checkpoints", "abs-tol", "rel-tol", "out", "config"}},
      {"net --quiet --data synthetic --per-class 4 --test-per-class 2 --widths 4 --epochs 1 --num-checkpoints 2 "
       "--metric-samples 8",
       {"data", "label-column", "classes", "per-class", "test-per-class", "input-dim", "separation",
        "train-per-class", "widths", "activation", "init", "init-scale", "loss", "lambda", "lambda-layer",
        "lambda-b", "batch-size", "lr", "momentum", "epochs", "lr-schedule", "dynamics", "integrator", "dt", "time",
        "abs-tol", "rel-tol", "error-norm", "seed", "init-state", "metric-samples", "num-checkpoints",
        "max-singular-values", "format", "out", "save-state", "config"}}};
  int runs = 0;
  for (const Command& c : commands)
    for (const std::string& option : c.options)
      for (const std::string& value : kValues) {
        const std::string args = c.base + " --" + option + " " + value;
        expect_clean(test::run_cli(args, in_cwd), args);
        ++runs;
      }
  EXPECT_GT(runs, 1900);
}

/// sweep's and merge's options, on a small theory grid whose results exist.
TEST(CliFuzz, SweepAndMergeOptionValuesGiveACleanRunOrExit2WithOneLine) {
  test::TempDir cwd;
  const std::string in_cwd = "cd " + cwd.path().string() + " &&";
  std::ofstream(cwd.path() / "g.json") << R"({"command": "theory", "axes": {"lambda": [0.01, 0.2]}})";
  ASSERT_EQ(test::run_cli("sweep g.json --quiet --out r.jsonl", in_cwd).status, 0);
  const std::vector<std::pair<std::string, std::vector<std::string>>> commands = {
      {"sweep g.json --quiet --out r.jsonl", {"threads", "shard", "trajectories"}},
      {"sweep g.json --list", {"shard"}},
      {"sweep --table r.jsonl", {"metrics", "by", "csv"}},
      {"merge r.jsonl", {"out"}}};
  int runs = 0;
  for (const auto& [base, options] : commands)
    for (const std::string& option : options)
      for (const std::string& value : kValues) {
        const std::string args = base + " --" + option + " " + value;
        const test::CliResult r = test::run_cli(args, in_cwd);
        const bool ok = r.status == 0 || r.status == 2;
        EXPECT_TRUE(ok) << args << " -> status " << r.status << "\nstderr: " << r.err.substr(0, 500);
        if (r.status == 2) {
          EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << args << ": " << r.err.substr(0, 500);
        }
        ++runs;
      }
  EXPECT_EQ(runs, 8 * static_cast<int>(kValues.size()));
}

/// A random JSON value of a hostile kind.
std::string random_value(std::mt19937_64& rng) {
  static const std::vector<std::string> kinds = {
      "null", "true", "false", "-1", "1e400", "-0", "\"\"", "\"abc\"", "[]", "{}", "[[1]]", "[1,\"a\",null]",
      "{\"a\":{\"b\":1}}", "\"" + std::string(3000, 'x') + "\"", "123456789012345678901234567890", "0.5",
      "\"1,2,,3\"", "[1e400]", "\"\\u0000\"", "2"};
  return kinds[rng() % kinds.size()];
}

TEST(CliFuzz, MalformedConfigFilesGiveACleanRunOrExit2WithOneLine) {
  test::TempDir dir;
  const std::string in_cwd = "cd " + dir.path().string() + " &&";
  std::mt19937_64 rng(20261201);
  std::vector<std::string> keys;
  for (std::string k : kOptions) {
    for (char& ch : k)
      if (ch == '-') ch = '_';
    if (k != "config" && k != "time" && k != "steps" && k != "max_steps") keys.push_back(k);
  }
  keys.insert(keys.end(), {"quiet", "check_theory", "unknown_key", ""});
  const std::vector<std::string> bodies = {"", "{", "}", "[]", "null", "1", "\"x\"", "{\"a\" 1}", "\xff\xfe",
                                           "{\"classes\": 4,}", "{\"classes\": 4}{"};
  int runs = 0;
  for (const std::string& body : bodies) {
    const auto file = dir.path() / "bad.json";
    std::ofstream(file, std::ios::binary) << body;
    expect_clean(test::run_cli("--quiet --time 1 --config " + file.string()), "config body " + body);
    ++runs;
  }
  for (int i = 0; i < 200; ++i) {
    std::string json = "{";
    const int fields = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < fields; ++f)
      json += (f ? "," : "") + ("\"" + keys[rng() % keys.size()] + "\": ") + random_value(rng);
    json += "}";
    const auto file = dir.path() / ("c" + std::to_string(i) + ".json");
    std::ofstream(file) << json;
    expect_clean(test::run_cli("--quiet --time 1 --num-checkpoints 3 --config " + file.string(), in_cwd),
                 "config " + json.substr(0, 300));
    ++runs;
  }
  EXPECT_EQ(runs, 211);
}

}  // namespace
}  // namespace ufm
