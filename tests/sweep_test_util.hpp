#pragma once
// Helpers of the sweep CLI tests: grid files, results files read back, lines compared without
// their wall time.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace ufm::test {

/// A small grid: K=4, n=10, d=16 points with `steps` GD steps, 2 lambdas × `classes` × `seeds`.
inline std::string small_grid(int steps = 300, int seeds = 3, const std::string& classes = "[3, 4]") {
  return R"({"command": "run", "base": {"dynamics": "gd", "lr": 0.5, "steps": )" + std::to_string(steps) +
         R"(, "num_checkpoints": 5, "dim": 16, "per_class": 10},
            "axes": {"lambda": [0.001, 0.01], "classes": )" + classes + R"(}, "seeds": )" + std::to_string(seeds) + "}";
}

inline std::filesystem::path write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p) << text;
  return p;
}

/// The complete (newline-terminated) lines of `p`: a line cut by a SIGKILL mid-write is left out,
/// as the sweep itself drops it on resume.
inline std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::vector<std::string> lines;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);)
    if (!in.eof()) lines.push_back(line);  // getline hit the end of file before a '\n': a cut line
  return lines;
}

/// index -> the point's line without wall_seconds; fails the test on a repeated index.
inline std::map<long, std::string> points_by_index(const std::filesystem::path& p) {
  std::map<long, std::string> points;
  const std::vector<std::string> lines = lines_of(p);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(lines[i]);
    j.erase("wall_seconds");
    const long index = j["index"].get<long>();
    EXPECT_EQ(points.count(index), 0u) << "point " << index << " appears twice in " << p;
    points[index] = j.dump();
  }
  return points;
}

}  // namespace ufm::test
