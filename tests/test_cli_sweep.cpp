// `ufm-sim sweep` and `ufm-sim merge` through the binary: --list, bad grids, thread-count
// independence, resume, shards and merge, --table and --trajectories.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "sweep_test_util.hpp"

namespace ufm {
namespace {

namespace fs = std::filesystem;
using test::lines_of;
using test::points_by_index;
using test::run_cli;
using test::small_grid;
using test::TempDir;
using test::write_file;

TEST(CliSweep, ListPrintsEveryPointInOrderAndRunsNothing) {
  TempDir dir;
  const fs::path grid = write_file(dir.path() / "g.json", small_grid());
  const auto r = run_cli("sweep " + test::quoted(grid) + " --list");
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines;
  for (std::size_t a = 0, b; (b = r.out.find('\n', a)) != std::string::npos; a = b + 1) lines.push_back(r.out.substr(a, b - a));
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_NE(lines[0].find(R"("index":0,)"), std::string::npos);
  EXPECT_NE(lines[0].find(R"("values":{"lambda":0.001,"classes":3,"seed":0})"), std::string::npos) << lines[0];
  EXPECT_NE(lines[11].find(R"("values":{"lambda":0.01,"classes":4,"seed":2})"), std::string::npos) << lines[11];
  const auto shard = run_cli("sweep " + test::quoted(grid) + " --list --shard 1/5");
  EXPECT_NE(shard.out.find(R"("index":1,)"), std::string::npos);
  EXPECT_NE(shard.out.find(R"("index":6,)"), std::string::npos);
  EXPECT_NE(shard.out.find(R"("index":11,)"), std::string::npos);
  EXPECT_EQ(shard.out.find(R"("index":2,)"), std::string::npos);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(CliSweep, EachBadGridExitsTwoWithItsMessageAndWritesNothing) {
  TempDir dir;
  struct Case {
    std::string grid, expected;
  };
  const Case cases[] = {
      {R"({"axes": {"lambda": [1e-3]}, "seedz": 2})", "unknown key 'seedz'"},
      {R"({"axes": {"lambda": []}})", "axis 'lambda' is empty"},
      {R"({"axes": {"lambda_q": [1e-3]}})", "'lambda_q' is not an option of `ufm-sim run`"},
      {R"({"base": {"dynamics": "gd"}, "axes": {"lr": [0.5, -1]}})", "axis 'lr' value -1: --lr: got '-1'"},
      {R"({"axes": {"lr": [0.5]}})", "axis 'lr' value 0.5: --lr"},
      {R"({"axes": {"lambda": [1e-3]}, "zip": [["lambda"]]})", "zip: group [\"lambda\"] must list at least two axis names"},
      {"{not json", "not valid JSON"},
      // JSON allows a repeated key and nlohmann kept the last: one "lambda" axis of two ran, silently.
      {R"({"axes": {"lambda": [1e-3], "lambda": [2e-3]}})",
       "key 'lambda' appears twice in one object (at axes.lambda)"},
      {R"({"axes": {"lambda": [1e-3]}, "description": 123})", "description: a string (free text"},
  };
  for (const Case& c : cases) {
    const fs::path grid = write_file(dir.path() / "g.json", c.grid);
    const auto r = run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(dir.path() / "r.jsonl") + " --trajectories " + test::quoted(dir.path() / "t"));
    EXPECT_EQ(r.status, 2) << c.grid;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.grid << "\n" << r.err;
    EXPECT_FALSE(fs::exists(dir.path() / "r.jsonl")) << c.grid;
    EXPECT_FALSE(fs::exists(dir.path() / "t")) << c.grid;
  }
  const auto no_out = run_cli("sweep " + test::quoted(dir.path() / "g.json"));
  EXPECT_EQ(no_out.status, 2);
  const auto bad_shard = run_cli("sweep " + test::quoted(write_file(dir.path() / "ok.json", small_grid())) + " --out x --shard 3/3");
  EXPECT_EQ(bad_shard.status, 2);
  EXPECT_NE(bad_shard.err.find("--shard: got '3/3'"), std::string::npos) << bad_shard.err;
}

TEST(CliSweep, ResultsDoNotDependOnTheThreadCount) {
  TempDir dir;
  const fs::path grid = write_file(dir.path() / "g.json", small_grid());
  const auto one = run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(dir.path() / "one.jsonl") + " --threads 1");
  const auto two = run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(dir.path() / "two.jsonl") + " --threads 2");
  ASSERT_EQ(one.status, 0) << one.err;
  ASSERT_EQ(two.status, 0) << two.err;
  EXPECT_EQ(lines_of(dir.path() / "one.jsonl").front(), lines_of(dir.path() / "two.jsonl").front());
  const auto a = points_by_index(dir.path() / "one.jsonl"), b = points_by_index(dir.path() / "two.jsonl");
  EXPECT_EQ(a.size(), 12u);
  EXPECT_EQ(a, b);
  // And a point equals `ufm-sim run` with the same options: the same final checkpoint.
  const auto run = run_cli("--dynamics gd --lr 0.5 --steps 300 --num-checkpoints 5 --lambda 0.01 --classes 4 --seed 2");
  ASSERT_EQ(run.status, 0) << run.err;
  const auto doc = nlohmann::ordered_json::parse(run.out);
  const auto point = nlohmann::ordered_json::parse(a.at(11));
  EXPECT_EQ(point["final"], doc["final"]);
  EXPECT_EQ(point["status"], doc["status"]);
}

TEST(CliSweep, RerunSkipsFinishedPointsAndDropsACutLastLine) {
  TempDir dir;
  const fs::path grid = write_file(dir.path() / "g.json", small_grid());
  const fs::path full = dir.path() / "full.jsonl", part = dir.path() / "part.jsonl";
  ASSERT_EQ(run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(full)).status, 0);
  // A file as a kill leaves it: the header, 5 points, and half of a sixth line.
  const auto lines = lines_of(full);
  std::string text;
  for (int i = 0; i < 6; ++i) text += lines[i] + "\n";
  text += lines[6].substr(0, lines[6].size() / 2);
  write_file(part, text);
  const auto r = run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(part) + " --threads 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("12/12 points"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("7 run now"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("5 already there"), std::string::npos) << r.err;
  EXPECT_EQ(lines_of(part).size(), 13u);
  EXPECT_EQ(points_by_index(part), points_by_index(full));
  // Nothing left to do: a third run adds nothing.
  const auto again = run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(part));
  EXPECT_EQ(again.status, 0);
  EXPECT_EQ(lines_of(part).size(), 13u);
}

TEST(CliSweep, AFullOutputExits5AndTheRerunCompletesTheSweep) {
  // A file-size limit (with SIGXFSZ ignored, a write past it fails with EFBIG) stands for a full disk:
  // 4 KiB hold the header and one point of about 3 KiB, and cut the second.
  TempDir dir;
  const fs::path grid = write_file(dir.path() / "g.json", small_grid());
  const fs::path full = dir.path() / "full.jsonl", cut = dir.path() / "cut.jsonl";
  ASSERT_EQ(run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(full)).status, 0);
  const auto r = run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(cut), "trap '' XFSZ; ulimit -f 8;");
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_NE(r.err.find("--out: cannot write"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(std::strerror(EFBIG)), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  EXPECT_GE(lines_of(cut).size(), 2u);  // the header and the points finished before
  const auto rerun = run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(cut));
  ASSERT_EQ(rerun.status, 0) << rerun.err;
  EXPECT_EQ(points_by_index(cut), points_by_index(full));
}

TEST(CliSweep, RefusesTheOutputOfAnotherGridAndLeavesItUnchanged) {
  TempDir dir;
  const fs::path a = write_file(dir.path() / "a.json", small_grid(300, 1));
  const fs::path b = write_file(dir.path() / "b.json", small_grid(300, 2));
  const fs::path out = dir.path() / "r.jsonl";
  ASSERT_EQ(run_cli("sweep " + test::quoted(a) + " --out " + test::quoted(out)).status, 0);
  std::ofstream(out, std::ios::app) << "{\"type\":\"po";  // a cut line: must survive the refusal too
  const std::string before = test::read_text(out);
  const auto r = run_cli("sweep " + test::quoted(b) + " --out " + test::quoted(out));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("holds the results of another grid"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_text(out), before);
  const auto shard = run_cli("sweep " + test::quoted(a) + " --out " + test::quoted(out) + " --shard 0/2");
  EXPECT_EQ(shard.status, 2);
  EXPECT_NE(shard.err.find("holds shard null of this grid, not \"0/2\""), std::string::npos) << shard.err;
  EXPECT_EQ(test::read_text(out), before);
}

TEST(CliSweep, RefusesToResumeAFileWhosePointIdsAreNotThisGridsAndLeavesItUnchanged) {
  // A point whose id is not the grid's at its index was taken for unfinished: it ran again and the
  // file held two lines for that index, which --table counts twice.
  TempDir dir;
  const fs::path grid = write_file(dir.path() / "g.json", small_grid());
  const fs::path out = dir.path() / "r.jsonl";
  ASSERT_EQ(run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(out) + " --shard 0/3").status, 0);
  auto lines = lines_of(out);
  ASSERT_GE(lines.size(), 3u);
  const std::string edits[][2] = {{"\"id\":\"", "\"id\":\"0"},                   // another id
                                  {"\"index\":", "\"index\":9"}};                 // an index past the grid's
  for (const auto& [from, to] : edits) {
    std::string text;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      std::string line = lines[i];
      if (i == 2) line.replace(line.find(from), from.size(), to);
      text += line + "\n";
    }
    write_file(out, text);
    const auto r = run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(out) + " --shard 0/3");
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("not this grid's"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("another ufm-sim version"), std::string::npos) << r.err;
    EXPECT_EQ(test::read_text(out), text) << from;
  }
}

TEST(CliSweep, ADeviceAsResultsIsRefusedAtOnceNotReadWithoutEnd) {
  // /dev/zero and /dev/full never end: read whole as a results file, they took every byte of memory
  // until the OOM killer came. The address-space limit turns a regression into a clean failure here.
  TempDir dir;
  const fs::path grid = write_file(dir.path() / "g.json", small_grid());
  const std::string limit = "ulimit -v 4000000;";
  const auto out = run_cli("sweep " + test::quoted(grid) + " --out /dev/zero", limit);
  EXPECT_EQ(out.status, 2) << out.err;
  EXPECT_NE(out.err.find("--out: got '/dev/zero', allowed: a regular file"), std::string::npos) << out.err;
  const auto table = run_cli("sweep --table /dev/zero", limit);
  EXPECT_EQ(table.status, 2) << table.err;
  EXPECT_NE(table.err.find("/dev/zero: not a results file"), std::string::npos) << table.err;
  const fs::path merged = dir.path() / "m.jsonl";
  const auto merge = run_cli("merge /dev/zero " + test::quoted(dir.path()) + " --out " + test::quoted(merged), limit);
  EXPECT_EQ(merge.status, 2) << merge.err;
  EXPECT_NE(merge.err.find("/dev/zero: not a results file: it is a device, not a regular file or a pipe"),
            std::string::npos) << merge.err;
  EXPECT_NE(merge.err.find("it is a directory"), std::string::npos) << merge.err;
  EXPECT_FALSE(fs::exists(merged));
}

TEST(CliSweep, AGridOrResultsLineNestedAHundredThousandDeepExits2AndChangesNothing) {
  // nlohmann parses any depth, but copying, comparing or dumping the document recurses once a level:
  // such a grid parsed, then overflowed the stack (a segfault) when `sweep` copied it.
  TempDir dir;
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const fs::path results = dir.path() / "r.jsonl";
  const auto grid = run_cli("sweep " + test::quoted(write_file(dir.path() / "deep.json", deep)) + " --out " +
                            test::quoted(results));
  EXPECT_EQ(grid.status, 2) << grid.err.substr(0, 300);
  EXPECT_NE(grid.err.find("deep.json: nests arrays or objects deeper than 64 levels"), std::string::npos)
      << grid.err.substr(0, 300);
  EXPECT_LT(grid.err.size(), 400u);
  EXPECT_FALSE(fs::exists(results));

  const std::string line = R"({"type":"header","grid_hash":"0","deep":)" + deep + "}\n";
  write_file(results, line);
  const fs::path ok = write_file(dir.path() / "g.json", small_grid());
  const fs::path merged = dir.path() / "m.jsonl";
  for (const std::string& args : {"sweep " + test::quoted(ok) + " --out " + test::quoted(results),
                                  "merge " + test::quoted(results) + " --out " + test::quoted(merged),
                                  "sweep --table " + test::quoted(results)}) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.err.substr(0, 300);
    EXPECT_NE(r.err.find("r.jsonl:1: nests arrays or objects deeper than 64 levels"), std::string::npos)
        << args << "\n" << r.err.substr(0, 300);
    EXPECT_LT(r.err.size(), 400u) << args;
  }
  EXPECT_EQ(fs::file_size(results), line.size());  // the sweep left the file as it was
  EXPECT_EQ(lines_of(results), std::vector<std::string>{line.substr(0, line.size() - 1)});
  EXPECT_FALSE(fs::exists(merged));
}

TEST(CliSweep, ADeviceAsTheGridIsRefusedAtOnceAndANamedPipeIsRead) {
  TempDir dir;
  const auto zero = run_cli("sweep /dev/zero --out " + test::quoted(dir.path() / "r.jsonl"), "ulimit -v 4000000;");
  EXPECT_EQ(zero.status, 2) << zero.err;
  EXPECT_NE(zero.err.find("/dev/zero: not a grid file: it is a device, not a regular file or a pipe"),
            std::string::npos)
      << zero.err;
  const fs::path grid = write_file(dir.path() / "g.json", small_grid(5, 1, "[3]"));
  const fs::path fifo = dir.path() / "grid.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  const fs::path results = dir.path() / "r.jsonl";
  const auto piped = run_cli("sweep " + test::quoted(fifo) + " --quiet --out " + test::quoted(results),
                             "(cat " + test::quoted(grid) + " > " + test::quoted(fifo) + " &); timeout 60");
  ASSERT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(points_by_index(results).size(), 2u);  // lambda 0.001 and 0.01
}

TEST(CliSweep, TrajectoriesOnADeviceOrAFileExit2NamingWhatItIs) {
  // It was "filesystem error: cannot create directories: Not a directory [/dev/null]".
  TempDir dir;
  const fs::path grid = write_file(dir.path() / "g.json", small_grid(5, 1, "[3]"));
  const fs::path results = dir.path() / "r.jsonl";
  const std::string sweep = "sweep " + test::quoted(grid) + " --out " + test::quoted(results);
  const auto device = run_cli(sweep + " --trajectories /dev/null");
  EXPECT_EQ(device.status, 2) << device.err;
  EXPECT_NE(device.err.find("--trajectories: got '/dev/null', allowed: a directory or a new path (this is a device)"),
            std::string::npos)
      << device.err;
  const auto file = run_cli(sweep + " --trajectories " + test::quoted(grid));
  EXPECT_EQ(file.status, 2) << file.err;
  EXPECT_NE(file.err.find("(this is a regular file)"), std::string::npos) << file.err;
  EXPECT_FALSE(fs::exists(results));
}

TEST(CliSweep, ShardsMergedEqualTheWholeSweep) {
  TempDir dir;
  const fs::path grid = write_file(dir.path() / "g.json", small_grid());
  const fs::path full = dir.path() / "full.jsonl";
  ASSERT_EQ(run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(full)).status, 0);
  std::string shards;
  for (int i = 0; i < 3; ++i) {
    const fs::path s = dir.path() / ("s" + std::to_string(i) + ".jsonl");
    ASSERT_EQ(run_cli("sweep " + test::quoted(grid) + " --shard " + std::to_string(i) + "/3 --out " + test::quoted(s)).status, 0);
    EXPECT_EQ(lines_of(s).size(), 5u);  // header + 4 of the 12 points
    shards += " " + test::quoted(s);
  }
  const fs::path merged = dir.path() / "all.jsonl";
  const auto r = run_cli("merge" + shards + " --out " + test::quoted(merged));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lines_of(merged).front(), lines_of(full).front());  // the unsharded header
  EXPECT_EQ(points_by_index(merged), points_by_index(full));
  // The merged file is a finished sweep of the grid: resuming it runs nothing.
  const auto resume = run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(merged));
  EXPECT_EQ(resume.status, 0);
  EXPECT_NE(resume.err.find("0 run now"), std::string::npos) << resume.err;
}

TEST(CliSweep, AGridOrResultsPathIsEchoedCutTo80Characters) {
  // A 411-character path was echoed whole in every message about the grid or a merged file.
  TempDir dir;
  const std::string missing = (dir.path() / std::string(200, 'a') / (std::string(200, 'b') + ".json")).string();
  const std::string cut = "...(" + std::to_string(missing.size()) + " characters)";
  const auto sweep = run_cli("sweep " + test::quoted(missing) + " --list");
  const auto merge = run_cli("merge " + test::quoted(missing) + " --out " + test::quoted(dir.path() / "m.jsonl"));
  for (const auto& r : {sweep, merge}) {
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find(missing.substr(0, 80) + cut + ": cannot open"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(missing), std::string::npos) << r.err;
  }
}

TEST(CliMerge, RefusesMixedGridsAndReportsDuplicatesAndGaps) {
  TempDir dir;
  const fs::path grid = write_file(dir.path() / "g.json", small_grid());
  const fs::path other = write_file(dir.path() / "o.json", small_grid(200));
  const fs::path s0 = dir.path() / "s0.jsonl", s1 = dir.path() / "s1.jsonl", s2 = dir.path() / "s2.jsonl", o = dir.path() / "o.jsonl";
  ASSERT_EQ(run_cli("sweep " + test::quoted(grid) + " --shard 0/3 --out " + test::quoted(s0)).status, 0);
  ASSERT_EQ(run_cli("sweep " + test::quoted(grid) + " --shard 1/3 --out " + test::quoted(s1)).status, 0);
  ASSERT_EQ(run_cli("sweep " + test::quoted(other) + " --shard 2/3 --out " + test::quoted(o)).status, 0);
  const fs::path out = dir.path() / "all.jsonl";
  const auto mixed = run_cli("merge " + test::quoted(s0) + " " + test::quoted(s1) + " " + test::quoted(o) + " --out " + test::quoted(out));
  EXPECT_EQ(mixed.status, 2);
  EXPECT_NE(mixed.err.find("different grids"), std::string::npos) << mixed.err;
  EXPECT_NE(mixed.err.find(o.string()), std::string::npos) << mixed.err;
  EXPECT_FALSE(fs::exists(out));
  // s0 twice: duplicates, kept once; shard 2 missing: points 2, 5, 8, 11.
  const auto gaps = run_cli("merge " + test::quoted(s0) + " " + test::quoted(s1) + " " + test::quoted(s0) + " --out " + test::quoted(out));
  EXPECT_EQ(gaps.status, 3) << gaps.err;
  EXPECT_NE(gaps.err.find("4 duplicated (same result, kept once): 0, 3, 6, 9"), std::string::npos) << gaps.err;
  EXPECT_NE(gaps.err.find("4 point(s) missing: 2, 5, 8, 11"), std::string::npos) << gaps.err;
  EXPECT_EQ(points_by_index(out).size(), 8u);
  // A point with two different results is a conflict: nothing written.
  // Lines are in completion order (two threads), so find point 1's line by its index.
  auto lines = lines_of(s1);
  const std::string needle = "\"status\":\"max_steps\"";
  std::size_t changed = 0;
  for (auto& l : lines) {
    const auto j = nlohmann::json::parse(l);
    if (j.value("type", "") != "point" || j["index"] != 1) continue;
    l.replace(l.find(needle), needle.size(), "\"status\":\"diverged\"");
    ++changed;
  }
  ASSERT_EQ(changed, 1u);
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  const fs::path bad = write_file(dir.path() / "bad.jsonl", text), out2 = dir.path() / "all2.jsonl";
  const auto conflict = run_cli("merge " + test::quoted(s1) + " " + test::quoted(bad) + " --out " + test::quoted(out2));
  EXPECT_EQ(conflict.status, 2);
  EXPECT_NE(conflict.err.find("point 1: different results in"), std::string::npos) << conflict.err;
  EXPECT_FALSE(fs::exists(out2));
}

TEST(CliMerge, ChecksItsOutputBeforeReadingAnyInput) {
  // A directory as --out was status 5, found only after every input had been read and merged.
  TempDir dir;
  const fs::path missing = dir.path() / "missing.jsonl";
  const auto r = run_cli("merge " + test::quoted(missing) + " --out " + test::quoted(dir.path()));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--out: cannot write"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("it is a directory"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("missing.jsonl"), std::string::npos) << r.err;  // no input was read
}

TEST(CliMerge, RefusesToReplaceResultsASweepIsWriting) {
  // A running sweep holds its --out under flock; this test holds it the same way. merge replaced the
  // file by a rename, and the sweep went on appending to the replaced one: its points were lost.
  TempDir dir;
  const fs::path grid = write_file(dir.path() / "g.json", small_grid());
  const fs::path out = dir.path() / "r.jsonl";
  ASSERT_EQ(run_cli("sweep " + test::quoted(grid) + " --shard 0/3 --out " + test::quoted(out)).status, 0);
  const std::string before = test::read_text(out);
  {
    const int fd = ::open(out.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0) << std::strerror(errno);
    const auto merge = run_cli("merge " + test::quoted(out) + " --out " + test::quoted(out));
    const auto sweep = run_cli("sweep " + test::quoted(grid) + " --shard 0/3 --out " + test::quoted(out));
    ::close(fd);
    EXPECT_EQ(merge.status, 2) << merge.err;
    EXPECT_NE(merge.err.find("is being written by a running ufm-sim sweep"), std::string::npos) << merge.err;
    EXPECT_EQ(sweep.status, 2) << sweep.err;
    EXPECT_NE(sweep.err.find("being written by another ufm-sim sweep"), std::string::npos) << sweep.err;
    EXPECT_EQ(test::read_text(out), before);
  }
  const auto merge = run_cli("merge " + test::quoted(out) + " --out " + test::quoted(out));  // unlocked: merged
  EXPECT_EQ(merge.status, 3) << merge.err;  // shard 0 of 3: points missing
  EXPECT_EQ(points_by_index(out).size(), 4u);
}

TEST(CliSweep, TableRefusesACsvThatIsItsResultsFile) {
  // --csv R with --table R wrote the table over the results (status 0): every finished point gone.
  TempDir dir;
  const fs::path grid = write_file(dir.path() / "g.json", small_grid());
  const fs::path out = dir.path() / "r.jsonl", link = dir.path() / "link.csv";
  ASSERT_EQ(run_cli("sweep " + test::quoted(grid) + " --shard 0/3 --out " + test::quoted(out)).status, 0);
  fs::create_symlink(out, link);
  const std::string before = test::read_text(out);
  for (const fs::path& csv : {out, link}) {
    const auto r = run_cli("sweep --table " + test::quoted(out) + " --metrics nc1 --csv " + test::quoted(csv));
    EXPECT_EQ(r.status, 2) << csv << ": " << r.err;
    EXPECT_NE(r.err.find("a file other than the results file --table reads"), std::string::npos) << r.err;
    EXPECT_EQ(test::read_text(out), before) << csv;
  }
}

TEST(CliSweep, TableAveragesOverSeedsAndTrajectoriesKeepEachDocument) {
  TempDir dir;
  const fs::path grid = write_file(dir.path() / "g.json", small_grid());
  const fs::path out = dir.path() / "r.jsonl", traj = dir.path() / "traj";
  ASSERT_EQ(run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(out) + " --trajectories " + test::quoted(traj)).status, 0);
  for (const auto& [index, line] : points_by_index(out)) {
    const auto j = nlohmann::ordered_json::parse(line);
    const fs::path doc = traj / (j["id"].get<std::string>() + ".json");
    ASSERT_TRUE(fs::exists(doc)) << doc;
    const auto d = nlohmann::ordered_json::parse(test::read_text(doc));
    EXPECT_EQ(d["config"], j["config"]);
    EXPECT_EQ(d["final"], j["final"]);
    EXPECT_EQ(d["trajectory"].size(), 5u);
  }
  const auto table = run_cli("sweep --table " + test::quoted(out) + " --metrics nc1,objective");
  ASSERT_EQ(table.status, 0) << table.err;
  // A metric no point has would be an empty column: refused, with the nearest name.
  const auto typo = run_cli("sweep --table " + test::quoted(out) + " --metrics nc1,ncc3");
  EXPECT_EQ(typo.status, 2) << typo.err;
  EXPECT_NE(typo.err.find("--metrics: got 'ncc3', allowed: a metric of the points' final checkpoint (did you mean nc3?)"),
            std::string::npos) << typo.err;
  EXPECT_TRUE(typo.out.empty()) << typo.out;
  EXPECT_EQ(table.out.rfind("lambda  classes  n  failed  nc1", 0), 0u) << table.out;
  EXPECT_EQ(std::count(table.out.begin(), table.out.end(), '\n'), 5);  // header + 2 × 2 groups
  const auto csv = run_cli("sweep --table " + test::quoted(out) + " --by classes --metrics objective --csv " + test::quoted(dir.path() / "t.csv"));
  ASSERT_EQ(csv.status, 0) << csv.err;
  const auto rows = lines_of(dir.path() / "t.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], "classes,n,failed,objective,objective_sd,objective_n");
  EXPECT_EQ(rows[1].rfind("3,6,0,", 0), 0u) << rows[1];
  // A table that cannot be written is status 5 (it was 0 on stdout, 2 for --csv); a --csv that could
  // never be written is refused first, status 2. No file may grow under `ulimit -f 0`, stderr's neither.
  const std::string no_room = "trap '' XFSZ; ulimit -f 0;";
  EXPECT_EQ(run_cli("sweep --table " + test::quoted(out) + " --metrics nc1", no_room).status, 5);
  const std::string to_csv = " --csv " + test::quoted(dir.path() / "u.csv");
  EXPECT_EQ(run_cli("sweep --table " + test::quoted(out) + to_csv, no_room).status, 5);
  const auto directory = run_cli("sweep --table " + test::quoted(out) + " --csv " + test::quoted(dir.path()));
  EXPECT_EQ(directory.status, 2) << directory.err;
  EXPECT_NE(directory.err.find("--csv: cannot write"), std::string::npos) << directory.err;
}

TEST(CliSweep, TheoryAndToySweepsRecordTheirResults) {
  TempDir dir;
  const fs::path theory = write_file(dir.path() / "t.json", R"({"command": "theory", "axes": {"lambda": [0.01, 0.2]}})");
  ASSERT_EQ(run_cli("sweep " + test::quoted(theory) + " --out " + test::quoted(dir.path() / "t.jsonl")).status, 0);
  const auto t = points_by_index(dir.path() / "t.jsonl");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_NE(t.at(0).find("\"prediction\":{"), std::string::npos) << t.at(0);
  const fs::path toy = write_file(dir.path() / "y.json", R"({"command": "toy", "base": {"time": 100}, "axes": {"p": ["0.2,0.5,0.3"]}})");
  ASSERT_EQ(run_cli("sweep " + test::quoted(toy) + " --out " + test::quoted(dir.path() / "y.jsonl")).status, 0);
  const auto y = points_by_index(dir.path() / "y.jsonl");
  ASSERT_EQ(y.size(), 1u);
  EXPECT_NE(y.at(0).find("\"limit\":"), std::string::npos) << y.at(0);
}

TEST(CliSweep, ARelativeToleranceBelowTheFloorIsRefusedInRunAndToyGrids) {
  TempDir dir;
  for (const std::string command : {"run", "toy"}) {
    const fs::path grid = write_file(dir.path() / (command + ".json"),
                                     R"({"command": ")" + command + R"(", "base": {"time": 10}, )" +
                                         R"("axes": {"rel_tol": [1e-6, 1e-30]}})");
    const auto r = run_cli("sweep " + test::quoted(grid) + " --list", "timeout -s KILL 60");
    EXPECT_EQ(r.status, 2) << command << ": " << r.err;
    EXPECT_NE(r.err.find("--rel-tol: got '1e-30', allowed: a finite number >= 2.22e-14"), std::string::npos) << r.err;
  }
}

TEST(CliSweep, ADivergingPointIsRecordedAndTheSweepGoesOn) {
  TempDir dir;
  const fs::path grid = write_file(dir.path() / "g.json",
                                   R"({"base": {"dynamics": "gd", "steps": 300, "num_checkpoints": 5, "init_scale": 3},
                                       "axes": {"lr": [0.1, 1000]}})");
  const auto r = run_cli("sweep " + test::quoted(grid) + " --out " + test::quoted(dir.path() / "r.jsonl"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto p = points_by_index(dir.path() / "r.jsonl");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_NE(p.at(0).find("\"exit_status\":0"), std::string::npos);
  EXPECT_NE(p.at(1).find("\"status\":\"diverged\",\"exit_status\":3"), std::string::npos) << p.at(1);
}

}  // namespace
}  // namespace ufm
