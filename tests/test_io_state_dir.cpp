#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "test_io_util.hpp"
#include "test_util.hpp"
#include "ufm/io/npy.hpp"
#include "ufm/io/state_dir.hpp"

namespace ufm::io {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using test::FileSizeLimit;
using test::listing;
using test::TempDir;

constexpr Index kD = 4, kN = 6, kK = 3;

ModelState make_state(bool with_bias) {
  ModelState s;
  s.H = test::random_mat(kD, kN, 1);
  s.W = test::random_mat(kK, kD, 2);
  if (with_bias) s.b = test::random_vec(kK, 3);
  s.labels = {0, 0, 1, 1, 2, 2};
  s.meta = {{"step", 1200}, {"loss", "ce"}, {"lambda", {{"w", 5e-4}, {"h", 5e-4}}}};
  return s;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

using Names = std::vector<std::string>;

/// A two-layer state: H (kD×kN), W1 (5×kD), W (kK×5).
ModelState make_deep_state(bool with_bias) {
  ModelState s = make_state(with_bias);
  s.hidden.push_back(test::random_mat(5, kD, 4));
  s.W = test::random_mat(kK, 5, 5);
  return s;
}

/// Rewrites state.json with `edit` applied to its JSON.
void edit_state_json(const fs::path& dir, const std::function<void(nlohmann::ordered_json&)>& edit) {
  auto j = nlohmann::ordered_json::parse(test::read_bytes(dir / "state.json"));
  edit(j);
  test::write_bytes(dir / "state.json", j.dump(2));
}

/// Changes the working directory while alive.
class WorkingDirectory {
 public:
  explicit WorkingDirectory(const fs::path& dir) : saved_(fs::current_path()) { fs::current_path(dir); }
  ~WorkingDirectory() { fs::current_path(saved_); }

 private:
  fs::path saved_;
};

TEST(StateDir, RoundTripsWithBias) {
  TempDir tmp;
  const ModelState s = make_state(true);
  save_state(tmp / "state", s);
  const ModelState r = load_state(tmp / "state", kD, kN, kK, true);
  EXPECT_EQ(r.H, s.H);
  EXPECT_EQ(r.W, s.W);
  EXPECT_EQ(r.b, s.b);
  EXPECT_EQ(r.labels, s.labels);
  EXPECT_EQ(r.meta, s.meta);  // "format" and "shapes" are stripped again on load
  EXPECT_EQ(r.meta.begin().key(), "step");  // order kept
}

TEST(StateDir, RoundTripsWithoutBiasAndRemovesAStaleBias) {
  TempDir tmp;
  save_state(tmp / "state", make_state(true));
  ASSERT_TRUE(fs::exists(tmp / "state" / "b.npy"));
  const ModelState s = make_state(false);
  save_state(tmp / "state", s);
  EXPECT_FALSE(fs::exists(tmp / "state" / "b.npy"));
  const ModelState r = load_state(tmp / "state", kD, kN, kK, false);
  EXPECT_EQ(r.H, s.H);
  EXPECT_EQ(r.W, s.W);
  EXPECT_EQ(r.b.size(), 0);
  EXPECT_EQ(r.labels, s.labels);
}

TEST(StateDir, WritesStateJsonWithShapesAndFormat) {
  TempDir tmp;
  save_state(tmp / "a", make_state(true));
  save_state(tmp / "b", make_state(false));
  const auto ja = nlohmann::ordered_json::parse(test::read_bytes(tmp / "a" / "state.json"));
  EXPECT_EQ(ja.begin().key(), "format");
  EXPECT_EQ(ja["format"], kStateFormat);
  EXPECT_EQ(ja["step"], 1200);
  EXPECT_EQ(ja["shapes"]["H"], nlohmann::json::array({kD, kN}));
  EXPECT_EQ(ja["shapes"]["W"], nlohmann::json::array({kK, kD}));
  EXPECT_EQ(ja["shapes"]["b"], nlohmann::json::array({kK}));
  EXPECT_EQ(ja["shapes"]["labels"], nlohmann::json::array({kN}));
  const auto jb = nlohmann::json::parse(test::read_bytes(tmp / "b" / "state.json"));
  EXPECT_TRUE(jb["shapes"]["b"].is_null());
  // The files are ordinary .npy: H is stored d×N.
  EXPECT_EQ(read_npy(tmp / "a" / "H.npy").shape, (std::vector<std::size_t>{kD, kN}));
  EXPECT_EQ(read_npy(tmp / "a" / "labels.npy").dtype, "<i8");
}

TEST(StateDir, StateJsonIsOptionalButMustBeValid) {
  TempDir tmp;
  save_state(tmp / "s", make_state(false));
  fs::remove(tmp / "s" / "state.json");
  EXPECT_TRUE(load_state(tmp / "s", kD, kN, kK, false).meta.is_null());
  test::write_bytes(tmp / "s" / "state.json", "{\"step\": 3,");
  EXPECT_TRUE(contains(error_of([&] { load_state(tmp / "s", kD, kN, kK, false); }), "state.json: invalid JSON"));
  test::write_bytes(tmp / "s" / "state.json", "{\"format\": \"something else\"}");
  EXPECT_TRUE(contains(error_of([&] { load_state(tmp / "s", kD, kN, kK, false); }), "state.json: format"));
}

TEST(StateDir, ShapeMismatchNamesTheFile) {
  TempDir tmp;
  save_state(tmp / "s", make_state(true));
  const std::string h = error_of([&] { load_state(tmp / "s", kD + 1, kN, kK, true); });
  EXPECT_TRUE(contains(h, "H.npy: shape (4, 6) but expected (5, 6)")) << h;
  const std::string n = error_of([&] { load_state(tmp / "s", kD, kN + 2, kK, true); });
  EXPECT_TRUE(contains(n, "H.npy")) << n;
  const std::string k = error_of([&] { load_state(tmp / "s", kD, kN, kK + 1, true); });
  EXPECT_TRUE(contains(k, "W.npy: shape (3, 4) but expected (4, 4)")) << k;
  write_npy(tmp / "s" / "b.npy", Vec(Vec::Zero(kK + 1)));
  const std::string b = error_of([&] { load_state(tmp / "s", kD, kN, kK, true); });
  EXPECT_TRUE(contains(b, "b.npy")) << b;
}

TEST(StateDir, BiasFileMustMatchTheModel) {
  TempDir tmp;
  save_state(tmp / "nobias", make_state(false));
  const std::string missing = error_of([&] { load_state(tmp / "nobias", kD, kN, kK, true); });
  EXPECT_TRUE(contains(missing, "b.npy: missing")) << missing;
  save_state(tmp / "bias", make_state(true));
  const std::string extra = error_of([&] { load_state(tmp / "bias", kD, kN, kK, false); });
  EXPECT_TRUE(contains(extra, "b.npy: present")) << extra;
}

TEST(StateDir, RejectsBadLabelsAndMissingDirectories) {
  TempDir tmp;
  save_state(tmp / "s", make_state(false));
  const std::vector<int> bad{0, 0, 1, 1, 2, 3};
  write_npy(tmp / "s" / "labels.npy", std::span<const int>(bad));
  const std::string msg = error_of([&] { load_state(tmp / "s", kD, kN, kK, false); });
  EXPECT_TRUE(contains(msg, "labels.npy: label 3 at index 5")) << msg;
  const std::string none = error_of([&] { load_state(tmp / "absent", kD, kN, kK, false); });
  EXPECT_TRUE(contains(none, "absent") && contains(none, "does not exist")) << none;
  fs::remove(tmp / "s" / "W.npy");
  EXPECT_TRUE(contains(error_of([&] { load_state(tmp / "s", kD, kN, kK, false); }), "W.npy"));
}

TEST(StateDir, SaveRejectsInconsistentStates) {
  TempDir tmp;
  ModelState s = make_state(true);
  s.labels.pop_back();
  EXPECT_THROW(save_state(tmp / "s", s), std::invalid_argument);
  s = make_state(true);
  s.W = Mat::Zero(kK, kD + 1);
  EXPECT_THROW(save_state(tmp / "s", s), std::invalid_argument);
  s = make_state(true);
  s.meta = nlohmann::ordered_json::array({1, 2});
  EXPECT_THROW(save_state(tmp / "s", s), std::invalid_argument);
  EXPECT_FALSE(fs::exists(tmp / "s"));  // checked before anything is written
}

TEST(StateDir, ExtraMatricesRoundTrip) {
  TempDir tmp;
  const Mat W2 = test::random_mat(5, 4, 9);
  save_matrix(tmp / "deep", "W2", W2);
  EXPECT_EQ(load_matrix(tmp / "deep", "W2", 5, 4), W2);
  EXPECT_TRUE(contains(error_of([&] { load_matrix(tmp / "deep", "W2", 4, 5); }), "W2.npy"));
}

TEST(StateDirSave, ReplacingADeepStateWithAShallowOneLeavesNoStaleHiddenWeights) {
  TempDir tmp;
  save_state(tmp / "state", make_deep_state(true));
  ASSERT_EQ(listing(tmp / "state"), (Names{"H.npy", "W.npy", "W1.npy", "b.npy", "labels.npy", "state.json"}));
  const ModelState s = make_state(false);
  save_state(tmp / "state", s);
  EXPECT_EQ(listing(tmp / "state"), (Names{"H.npy", "W.npy", "labels.npy", "state.json"}));
  EXPECT_EQ(listing(tmp.path()), Names{"state"});  // no temp or old directory left beside it
  const ModelState r = load_state(tmp / "state", kD, kN, kK, false);
  EXPECT_EQ(r.W, s.W);
  const auto j = nlohmann::json::parse(test::read_bytes(tmp / "state" / "state.json"));
  EXPECT_FALSE(j["shapes"].contains("W1"));
}

TEST(StateDirSave, FillsAnEmptyDirectoryAndFollowsATrailingSlash) {
  TempDir tmp;
  fs::create_directories(tmp / "empty");
  save_state((tmp / "empty").string() + "/", make_state(true));
  EXPECT_EQ(listing(tmp / "empty"), (Names{"H.npy", "W.npy", "b.npy", "labels.npy", "state.json"}));
  EXPECT_EQ(listing(tmp.path()), Names{"empty"});
  EXPECT_EQ(load_state(tmp / "empty", kD, kN, kK, true).b, make_state(true).b);
}

TEST(StateDirSave, RefusesADirectoryHoldingOtherFilesBeforeWritingAnything) {
  TempDir tmp;
  fs::create_directories(tmp / "home");
  test::write_bytes(tmp / "home" / "notes.txt", "mine");
  test::write_bytes(tmp / "home" / "H.npy", "not ours");
  const std::string msg = error_of([&] { save_state(tmp / "home", make_state(true)); });
  EXPECT_TRUE(contains(msg, "cannot write state directory '" + (tmp / "home").string() + "'")) << msg;
  EXPECT_TRUE(contains(msg, "exists and is not a ufm-sim state directory (it holds 'notes.txt')")) << msg;
  EXPECT_TRUE(contains(msg, "choose a new or empty directory")) << msg;
  EXPECT_EQ(listing(tmp / "home"), (Names{"H.npy", "notes.txt"}));
  EXPECT_EQ(test::read_bytes(tmp / "home" / "H.npy"), "not ours");
  EXPECT_EQ(listing(tmp.path()), Names{"home"});  // no temp directory either
  EXPECT_EQ(error_of([&] { check_state_dir_writable(tmp / "home"); }), msg);

  // Only state file names, but no state.json: not recognisably ours either.
  fs::remove(tmp / "home" / "notes.txt");
  const std::string no_json = error_of([&] { save_state(tmp / "home", make_state(true)); });
  EXPECT_TRUE(contains(no_json, "(it holds 'H.npy' but no state.json)")) << no_json;
  EXPECT_EQ(test::read_bytes(tmp / "home" / "H.npy"), "not ours");

  // A subdirectory named like a state file is not a state file.
  save_state(tmp / "s", make_state(false));
  fs::create_directories(tmp / "s" / "b.npy");
  EXPECT_TRUE(contains(error_of([&] { save_state(tmp / "s", make_state(true)); }), "(it holds 'b.npy')"));
  EXPECT_TRUE(fs::is_directory(tmp / "s" / "b.npy"));
}

TEST(StateDirSave, RefusesTheCurrentDirectory) {
  TempDir tmp;
  fs::create_directories(tmp / "work");
  WorkingDirectory cwd(tmp / "work");
  const std::string msg = error_of([&] { save_state(".", make_state(true)); });
  EXPECT_TRUE(contains(msg, "current directory")) << msg;
  EXPECT_TRUE(listing(tmp / "work").empty());
  EXPECT_EQ(listing(tmp.path()), Names{"work"});
}

TEST(StateDirSave, ASymlinkedStateDirectoryStaysALinkToTheNewState) {
  TempDir tmp;
  save_state(tmp / "real", make_deep_state(false));
  fs::create_symlink("real", tmp / "link");
  const ModelState s = make_state(true);
  save_state(tmp / "link", s);
  EXPECT_TRUE(fs::is_symlink(tmp / "link"));
  EXPECT_EQ(listing(tmp / "real"), (Names{"H.npy", "W.npy", "b.npy", "labels.npy", "state.json"}));
  EXPECT_EQ(listing(tmp.path()), (Names{"link", "real"}));
  EXPECT_EQ(load_state(tmp / "link", kD, kN, kK, true).b, s.b);
}

TEST(StateDirSave, AFailedWriteKeepsTheOldStateWholeAndLeavesNoTempDirectory) {
  TempDir tmp;
  const ModelState old_state = make_deep_state(false);
  save_state(tmp / "state", old_state);
  const std::string old_h = test::read_bytes(tmp / "state" / "H.npy");
  ModelState big = make_state(false);
  big.H = Mat::Ones(kD, 4000);
  big.labels.assign(4000, 0);
  {
    FileSizeLimit limit(64 * 1024);  // H.npy needs 128 KB
    EXPECT_TRUE(contains(error_of([&] { save_state(tmp / "state", big); }), "H.npy"));
  }
  EXPECT_EQ(listing(tmp.path()), Names{"state"});
  EXPECT_EQ(listing(tmp / "state"), (Names{"H.npy", "W.npy", "W1.npy", "labels.npy", "state.json"}));
  EXPECT_EQ(test::read_bytes(tmp / "state" / "H.npy"), old_h);
  EXPECT_EQ(load_state(tmp / "state", std::vector<Index>{kD, 5}, kN, kK, false).hidden[0], old_state.hidden[0]);
}

TEST(StateDirCheck, CreatesNothingAndReportsEachProblem) {
  TempDir tmp;
  EXPECT_NO_THROW(check_state_dir_writable(tmp / "new"));
  EXPECT_TRUE(listing(tmp.path()).empty());  // the directory is not created

  const std::string no_parent = error_of([&] { check_state_dir_writable(tmp / "a" / "b"); });
  EXPECT_TRUE(contains(no_parent, "does not exist")) << no_parent;
  EXPECT_FALSE(fs::exists(tmp / "a"));
  EXPECT_TRUE(contains(error_of([&] { save_state(tmp / "a" / "b", make_state(true)); }), "does not exist"));
  EXPECT_FALSE(fs::exists(tmp / "a"));

  // /proc: access() would let root "write" there, but nothing can be created.
  const std::string proc = error_of([&] { check_state_dir_writable("/proc/ufm-state"); });
  EXPECT_TRUE(contains(proc, "cannot create a directory in '/proc'")) << proc;

  test::write_bytes(tmp / "file", "x");
  EXPECT_TRUE(contains(error_of([&] { check_state_dir_writable(tmp / "file"); }), "is not a directory"));
  EXPECT_TRUE(contains(error_of([&] { check_state_dir_writable(tmp / "file" / "s"); }), "is not a directory"));

  fs::create_symlink("loop2", tmp / "loop1");
  fs::create_symlink("loop1", tmp / "loop2");
  EXPECT_TRUE(
      contains(error_of([&] { check_state_dir_writable(tmp / "loop1"); }), "too many levels of symbolic links"));

  fs::create_directories(tmp / "empty");
  EXPECT_NO_THROW(check_state_dir_writable(tmp / "empty"));
  save_state(tmp / "state", make_state(true));
  EXPECT_NO_THROW(check_state_dir_writable(tmp / "state"));
  EXPECT_EQ(listing(tmp.path()), (Names{"empty", "file", "loop1", "loop2", "state"}));
  EXPECT_TRUE(listing(tmp / "empty").empty());
}

TEST(StateDirLoad, RejectsNaNOrInfNamingTheFileAndTheIndex) {
  TempDir tmp;
  ModelState s = make_state(true);
  s.H(2, 3) = std::numeric_limits<double>::quiet_NaN();
  save_state(tmp / "nan", s);
  const std::string nan = error_of([&] { load_state(tmp / "nan", kD, kN, kK, true); });
  EXPECT_TRUE(contains(nan, (tmp / "nan" / "H.npy").string() + ": non-finite value nan at index (2, 3)")) << nan;

  s = make_state(true);
  s.b(1) = -std::numeric_limits<double>::infinity();
  save_state(tmp / "inf", s);
  const std::string inf = error_of([&] { load_state(tmp / "inf", kD, kN, kK, true); });
  EXPECT_TRUE(contains(inf, "b.npy: non-finite value -inf at index (1,)")) << inf;

  s = make_deep_state(false);
  s.hidden[0](4, 0) = std::numeric_limits<double>::infinity();
  save_state(tmp / "deep", s);
  const std::string deep = error_of([&] { load_state(tmp / "deep", std::vector<Index>{kD, 5}, kN, kK, false); });
  EXPECT_TRUE(contains(deep, "W1.npy: non-finite value inf at index (4, 0)")) << deep;
}

TEST(StateDirLoad, ChecksEveryFileAgainstTheShapesInStateJson) {
  TempDir tmp;
  save_state(tmp / "s", make_state(true));
  EXPECT_NO_THROW(load_state(tmp / "s", kD, kN, kK, true));
  // H.npy replaced by hand with one of a shape the model would accept, state.json left stale.
  edit_state_json(tmp / "s", [](auto& j) { j["shapes"]["H"] = {kD + 1, kN}; });
  const std::string h = error_of([&] { load_state(tmp / "s", kD, kN, kK, true); });
  EXPECT_TRUE(contains(h, "H.npy: shape (4, 6) but state.json's shapes say (5, 6)")) << h;

  save_state(tmp / "s", make_state(true));
  edit_state_json(tmp / "s", [](auto& j) { j["shapes"]["labels"] = {kN + 1}; });
  EXPECT_TRUE(contains(error_of([&] { load_state(tmp / "s", kD, kN, kK, true); }),
                       "labels.npy: shape (6,) but state.json's shapes say (7,)"));

  save_state(tmp / "s", make_state(true));
  edit_state_json(tmp / "s", [](auto& j) { j["shapes"]["b"] = nullptr; });
  EXPECT_TRUE(contains(error_of([&] { load_state(tmp / "s", kD, kN, kK, true); }),
                       "b.npy: present, but state.json's shapes say the state has no bias"));

  save_state(tmp / "s", make_state(false));
  edit_state_json(tmp / "s", [](auto& j) { j["shapes"]["b"] = {kK}; });
  EXPECT_TRUE(contains(error_of([&] { load_state(tmp / "s", kD, kN, kK, false); }),
                       "b.npy: missing, but state.json's shapes list it as (3,)"));

  save_state(tmp / "s", make_state(false));
  edit_state_json(tmp / "s", [](auto& j) { j["shapes"]["W"] = "big"; });
  EXPECT_TRUE(contains(error_of([&] { load_state(tmp / "s", kD, kN, kK, false); }),
                       "state.json: shapes.W must be a list of non-negative integers"));
  edit_state_json(tmp / "s", [](auto& j) { j["shapes"] = 3; });
  EXPECT_TRUE(contains(error_of([&] { load_state(tmp / "s", kD, kN, kK, false); }), "\"shapes\" must be an object"));
}

TEST(StateDirLoad, ADeeperStateInAShallowerModelNamesTheExtraFile) {
  TempDir tmp;
  save_state(tmp / "deep", make_deep_state(false));
  const std::string msg = error_of([&] { load_state(tmp / "deep", kD, kN, kK, false); });
  EXPECT_TRUE(contains(msg, (tmp / "deep" / "W1.npy").string() + ": present, but the model has 1 layer;")) << msg;
  EXPECT_TRUE(contains(msg, "the state is from a model with 2 layers")) << msg;

  // Listed in state.json only (W1.npy deleted): still a deeper state.
  fs::remove(tmp / "deep" / "W1.npy");
  const std::string listed = error_of([&] { load_state(tmp / "deep", kD, kN, kK, false); });
  EXPECT_TRUE(contains(listed, "W1.npy: listed in state.json's shapes, but the model has 1 layer")) << listed;
}

TEST(StateDirLoad, AShallowerStateInADeeperModelNamesTheMissingFile) {
  TempDir tmp;
  save_state(tmp / "s", make_state(false));
  const std::string msg = error_of([&] { load_state(tmp / "s", std::vector<Index>{kD, 5, 5}, kN, kK, false); });
  EXPECT_TRUE(contains(msg, (tmp / "s" / "W1.npy").string() + ": missing, but the model has 3 layers")) << msg;
  EXPECT_TRUE(contains(msg, "the state is from a model with 1 layer")) << msg;
  // A deep state loads into the deep model it came from.
  const ModelState d = make_deep_state(false);
  save_state(tmp / "d", d);
  const ModelState r = load_state(tmp / "d", std::vector<Index>{kD, 5}, kN, kK, false);
  ASSERT_EQ(r.hidden.size(), 1u);
  EXPECT_EQ(r.hidden[0], d.hidden[0]);
  EXPECT_EQ(r.W, d.W);
}

TEST(StateDirLoad, AcceptsFloat32FilesAsDoubles) {
  TempDir tmp;
  save_state(tmp / "s", make_state(false));
  // H.npy as NumPy writes float32 in C order: H[i, j] = (i - j) / 4, exact in float.
  std::string data;
  Mat expected(kD, kN);
  for (Index i = 0; i < kD; ++i)
    for (Index j = 0; j < kN; ++j) {
      const float v = static_cast<float>(i - j) / 4.0f;
      test::append_le(data, v);
      expected(i, j) = v;
    }
  test::write_bytes(tmp / "s" / "H.npy",
                    test::npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 6), }", data));
  const ModelState r = load_state(tmp / "s", kD, kN, kK, false);
  EXPECT_EQ(r.H, expected);
  EXPECT_EQ(r.H(3, 0), 0.75);
}

}  // namespace
}  // namespace ufm::io
