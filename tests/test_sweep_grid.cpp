// Grid expansion, ids and validation (in process): the order is fixed and documented, ids are
// stable, and every bad grid is refused with a message naming the axis, the value and the reason.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "ufm/sweep/grid.hpp"
#include "ufm/sweep/run_point.hpp"

namespace ufm::sweep {
namespace {

using Json = nlohmann::ordered_json;

Grid grid_of(const std::string& text) { return parse_grid(Json::parse(text), "grid.json"); }

/// The message of the GridError that `text` raises ("" if none).
std::string error_of(const std::string& text) {
  try {
    grid_of(text);
  } catch (const GridError& e) {
    return e.what();
  }
  return "";
}

constexpr const char* kBase = R"("base": {"dynamics": "gd", "lr": 0.5, "steps": 300, "num_checkpoints": 5})";

TEST(Fnv1a64, MatchesTheReferenceVectors) {
  EXPECT_EQ(fnv1a64_hex(""), "cbf29ce484222325");
  EXPECT_EQ(fnv1a64_hex("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(fnv1a64_hex("foobar"), "85944171f73967e8");
}

TEST(Grid, ExpandsTheFirstAxisSlowestAndTheSeedFastest) {
  const Grid g = grid_of(std::string("{") + kBase + R"(, "axes": {"lambda": [0.001, 0.01], "classes": [3, 4, 5]}, "seeds": 2})");
  ASSERT_EQ(g.points.size(), 12u);
  EXPECT_EQ(g.axes.back().name, "seed");
  EXPECT_EQ(g.points[0].values.dump(), R"({"lambda":0.001,"classes":3,"seed":0})");
  EXPECT_EQ(g.points[1].values.dump(), R"({"lambda":0.001,"classes":3,"seed":1})");
  EXPECT_EQ(g.points[2].values.dump(), R"({"lambda":0.001,"classes":4,"seed":0})");
  EXPECT_EQ(g.points[6].values.dump(), R"({"lambda":0.01,"classes":3,"seed":0})");
  EXPECT_EQ(g.points[11].values.dump(), R"({"lambda":0.01,"classes":5,"seed":1})");
  for (std::size_t i = 0; i < g.points.size(); ++i) {
    EXPECT_EQ(g.points[i].index, static_cast<long>(i));
    EXPECT_EQ(g.points[i].resolved->config["lambda"], g.points[i].values["lambda"]);
    EXPECT_EQ(g.points[i].resolved->config["classes"], g.points[i].values["classes"]);
    EXPECT_EQ(g.points[i].resolved->config["seed"], g.points[i].values["seed"]);
  }
}

TEST(Grid, ExpandsLogspaceLinspaceAndRangeToRoundNumbers) {
  const Grid g = grid_of(std::string("{") + kBase +
                         R"(, "axes": {"lambda": {"logspace": [-4, -2, 3]}, "init_scale": {"linspace": [0.1, 0.3, 3]},
                                        "dim": {"range": [4, 10, 3]}}})");
  EXPECT_EQ(Json(g.axes[0].values).dump(), "[0.0001,0.001,0.01]");
  EXPECT_EQ(Json(g.axes[1].values).dump(), "[0.1,0.2,0.3]");
  EXPECT_EQ(Json(g.axes[2].values).dump(), "[4,7]");
  EXPECT_EQ(g.points.size(), 18u);
}

TEST(Grid, ALinspaceWhoseSpanOverflowsStillGivesItsFiniteValues) {
  // b − a times i overflowed before the division: [0, 1e308, 5] was "10^inf is not a finite double".
  const Grid g = grid_of(std::string("{") + kBase + R"(, "axes": {"init_scale": {"linspace": [0, 1e308, 5]}}})");
  EXPECT_EQ(Json(g.axes[0].values).dump(), "[0.0,2.5e+307,5e+307,7.5e+307,1e+308]");
}

TEST(Grid, ZippedAxesVaryTogetherAtThePlaceOfTheFirst) {
  const Grid g = grid_of(std::string("{") + kBase +
                         R"(, "axes": {"lambda_w": [0.001, 0.01], "classes": [3, 4], "lambda_h": [0.002, 0.02]},
                              "zip": [["lambda_w", "lambda_h"]]})");
  ASSERT_EQ(g.points.size(), 4u);
  EXPECT_EQ(g.points[0].values.dump(), R"({"lambda_w":0.001,"classes":3,"lambda_h":0.002})");
  EXPECT_EQ(g.points[1].values.dump(), R"({"lambda_w":0.001,"classes":4,"lambda_h":0.002})");
  EXPECT_EQ(g.points[2].values.dump(), R"({"lambda_w":0.01,"classes":3,"lambda_h":0.02})");
  EXPECT_EQ(g.points[3].resolved->config["lambda_h"], 0.02);
}

TEST(Grid, IdIsTheDocumentedHashOfTheResolvedConfig) {
  // The README's example: this grid's only point has this id, from any build on any machine.
  const Grid g = grid_of(R"({"command": "run", "base": {"dynamics": "gd", "lr": 0.5, "steps": 300},
                             "axes": {"lambda": [0.001]}, "seeds": 1})");
  ASSERT_EQ(g.points.size(), 1u);
  EXPECT_EQ(g.points[0].id, "72ec35a0f016a0c3");
  EXPECT_EQ(g.points[0].id, fnv1a64_hex(g.points[0].resolved->config.dump()));
  // The same point written another way (dashes, base instead of axis) has the same id.
  const Grid h = grid_of(R"({"base": {"dynamics": "gd", "lr": 0.5, "steps": 300, "lambda": 1e-3, "seed": 0}})");
  ASSERT_EQ(h.points.size(), 1u);
  EXPECT_EQ(h.points[0].id, "72ec35a0f016a0c3");
  EXPECT_EQ(g.hash, h.hash);
}

TEST(Grid, KeepsTheResolvedConfigOfTheKeptPointsOnlyWithTheSameIdsAndHash) {
  const std::string text =
      R"({"base": {"dynamics": "gd", "steps": 10}, "axes": {"lambda": [0.001, 0.01, 0.1]}, "seeds": 2})";
  const Grid all = grid_of(text);
  const Grid odd = parse_grid(Json::parse(text), "grid.json", [](long index) { return index % 2 == 1; });
  ASSERT_EQ(odd.points.size(), all.points.size());
  EXPECT_EQ(odd.hash, all.hash);
  for (std::size_t i = 0; i < all.points.size(); ++i) {
    EXPECT_EQ(odd.points[i].id, all.points[i].id);
    EXPECT_EQ(odd.points[i].values, all.points[i].values);
    ASSERT_TRUE(all.points[i].resolved);
    if (i % 2 == 0) {
      EXPECT_FALSE(odd.points[i].resolved) << i;
      EXPECT_THROW(run_point(SweepCommand::kRun, odd.points[i], false, nullptr), std::invalid_argument);
    } else {
      ASSERT_TRUE(odd.points[i].resolved) << i;
      EXPECT_EQ(odd.points[i].resolved->config, all.points[i].resolved->config);
    }
  }
  // A point that is not kept is still validated: a bad one refuses the grid.
  EXPECT_THROW(parse_grid(Json::parse(R"({"axes": {"lambda": [0.001, -1]}})"), "grid.json", [](long) { return false; }),
               GridError);
}

TEST(Grid, AnyThreadCountGivesTheSamePointsAndReportsTheFirstProblemInPointOrder) {
  // 1,000 points; `bad` (an index, or -1) gets a refused λ, `twin` the λ of the point before it.
  const auto grid_text = [](int bad, int twin) {
    Json lambdas = Json::array();
    for (int i = 0; i < 1000; ++i)
      lambdas.push_back(i == bad ? -1.0 : i == twin ? 1e-3 * (i - 1) + 1e-6 : 1e-3 * i + 1e-6);
    return Json{{"base", {{"dynamics", "gd"}, {"steps", 10}}}, {"axes", {{"lambda", lambdas}}}};
  };
  const Grid one = parse_grid(grid_text(-1, -1), "grid.json", {}, 1);
  const Grid four = parse_grid(grid_text(-1, -1), "grid.json", [](long i) { return i % 3 == 0; }, 4);
  ASSERT_EQ(one.points.size(), 1000u);
  ASSERT_EQ(four.points.size(), 1000u);
  EXPECT_EQ(four.hash, one.hash);
  for (std::size_t i = 0; i < one.points.size(); ++i) {
    EXPECT_EQ(four.points[i].index, static_cast<long>(i));
    EXPECT_EQ(four.points[i].id, one.points[i].id);
    EXPECT_EQ(four.points[i].values, one.points[i].values);
    EXPECT_EQ(static_cast<bool>(four.points[i].resolved), i % 3 == 0);
  }
  const auto message = [&](const Json& grid, int threads) {
    try {
      parse_grid(grid, "grid.json", {}, threads);
    } catch (const GridError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  for (const auto& [bad, twin, expected] :
       {std::tuple{700, 301, "points 300 and 301"}, std::tuple{200, 301, "point 200 "},
        std::tuple{999, -1, "point 999 "}, std::tuple{3, 2, "points 1 and 2"}}) {
    const std::string first = message(grid_text(bad, twin), 1);
    EXPECT_NE(first.find(expected), std::string::npos) << first;
    EXPECT_EQ(message(grid_text(bad, twin), 2), first);
    EXPECT_EQ(message(grid_text(bad, twin), 7), first);
  }
}

TEST(Grid, TheoryAndToyPointsResolveLikeTheirCommands) {
  const Grid t = grid_of(R"({"command": "theory", "axes": {"lambda": [0.001, 0.01]}})");
  ASSERT_EQ(t.points.size(), 2u);
  EXPECT_FALSE(t.points[0].resolved->config.contains("seed"));
  EXPECT_FALSE(t.points[0].resolved->config.contains("dynamics"));
  const Grid toy = grid_of(R"({"command": "toy", "base": {"time": 100}, "axes": {"p": [[0.2, 0.5, 0.3], "0.25,0.5,0.25"]}})");
  ASSERT_EQ(toy.points.size(), 2u);
  EXPECT_EQ(toy.points[0].resolved->config.dump(),
            R"({"p":[0.2,0.5,0.3],"a0":[0.0,0.0,0.0],"time":100.0,"num_checkpoints":50,"abs_tol":1e-12,"rel_tol":1e-12})");
}

TEST(Grid, RefusesEachBadGridNamingTheProblem) {
  const std::string b = std::string("{") + kBase + ", ";
  struct Case {
    std::string grid, expected;
  };
  const Case cases[] = {
      {b + R"("axes": {"lambda": [1]}, "sedes": 3})", "unknown key 'sedes' (did you mean 'seeds'?)"},
      {b + R"("axes": {"lambda": []}})", "axis 'lambda' is empty"},
      {b + R"("axes": {"lambda": {"range": [5, 2]}}})", "axis 'lambda' is empty"},
      {b + R"("axes": {"lamda": [1e-3]}})", "axis 'lamda': 'lamda' is not an option of `ufm-sim run` (did you mean 'lambda'?)"},
      {b + R"("axes": {"classes": [4, 1]}})", "point 1 (classes=1): axis 'classes' value 1: --classes: got '1'"},
      {b + R"("axes": {"lambda": [1e-3, -1]}})", "axis 'lambda' value -1"},
      {b + R"("axes": {"time": [10]}})", "--time"},
      {b + R"("axes": {"lambda_w": [1, 2], "lambda_h": [1]}, "zip": [["lambda_w", "lambda_h"]]})",
       "zip: axes 'lambda_w' (2 values) and 'lambda_h' (1 values) must have the same length"},
      {b + R"("axes": {"lambda": [1e-3]}, "zip": [["lambda", "nope"]]})", "zip: 'nope' is not an axis"},
      {b + R"("axes": {"out": ["x.json"]}})", "'out' cannot be set in a grid"},
      {b + R"("axes": {"lambda": {"logspace": [-4, -2]}}})", "allowed: [a, b, n]"},
      {b + R"("axes": {"lambda": [0.001, 1e-3]}})", "points 0 and 1 (lambda=0.001) resolve to the same config"},
      {R"({"command": "theory", "axes": {"lambda": [1e-3]}, "seeds": 2})", "seeds: 'seed' is not an option of `ufm-sim theory`"},
      {R"({"command": "fit"})", "command: got 'fit', allowed: run | theory | toy"},
      {R"({"command": "toy", "axes": {"p": [[1, 2]]}})", "--p: got '[1,2]', allowed: three positive numbers"},
      {b + R"("axes": {"lambda": {"linspace": [0, 1, 1000]}, "dim": {"range": [1, 1001]}}, "seeds": 2})",
       "2000000 points; at most 1000000"},
      {b + R"("axes": {"dim": [16, 1000000000]}})",
       "point 1 (dim=1000000000): axis 'dim' value 1000000000: --dim: got 1000000000, but the point would need about"},
  };
  for (const Case& c : cases) {
    const std::string message = error_of(c.grid);
    EXPECT_NE(message.find(c.expected), std::string::npos) << "grid: " << c.grid << "\nmessage: " << message;
  }
}

}  // namespace
}  // namespace ufm::sweep
