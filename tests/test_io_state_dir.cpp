#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "test_io_util.hpp"
#include "test_util.hpp"
#include "ufm/io/npy.hpp"
#include "ufm/io/state_dir.hpp"

namespace ufm::io {
namespace {

namespace fs = std::filesystem;
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

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const IoError& e) {
    return e.what();
  }
  return "<no IoError>";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

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

}  // namespace
}  // namespace ufm::io
