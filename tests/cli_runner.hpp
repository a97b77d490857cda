#pragma once
/// Runs the ufm-sim binary in a test and captures its exit status, stdout and stderr.
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_io_util.hpp"
#include "ufm/io/npy.hpp"

namespace ufm::test {

struct CliResult {
  int status = -1;
  std::string out;
  std::string err;
  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// `p` in single quotes, for a shell command line.
inline std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

/// `env` is prepended to the command line (e.g. "OMP_NUM_THREADS=2").
inline CliResult run_cli(const std::string& args, const std::string& env = "") {
  TempDir dir;
  const auto out = dir.path() / "stdout";
  const auto err = dir.path() / "stderr";
  const std::string cmd = env + " " + UFM_SIM_BINARY + " " + args + " >" + out.string() + " 2>" + err.string() +
                          " </dev/null";
  const int raw = std::system(cmd.c_str());
  CliResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

/// A saved state directory with state.json and every H.npy / W.npy value finite.
inline void expect_finite_state(const std::filesystem::path& state) {
  ASSERT_TRUE(std::filesystem::is_directory(state)) << state;
  for (const char* name : {"H.npy", "W.npy"}) {
    ASSERT_TRUE(std::filesystem::exists(state / name)) << name;
    const io::NpyArray a = io::read_npy(state / name);
    ASSERT_FALSE(a.data_f64.empty()) << name;
    for (double v : a.data_f64) ASSERT_TRUE(std::isfinite(v)) << name;
  }
  EXPECT_TRUE(std::filesystem::exists(state / "state.json"));
}

}  // namespace ufm::test
