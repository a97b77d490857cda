// The nesting bound every JSON input goes through before it is parsed, and the strict parse of the
// JSON a user writes (no key twice in one object).
#include <gtest/gtest.h>

#include <string>

#include "ufm/io/json_depth.hpp"
#include "ufm/io/json_input.hpp"

namespace ufm::io {
namespace {

TEST(JsonDepth, CountsArraysAndObjectsButNotBracketsInsideStrings) {
  EXPECT_EQ(json_nesting_depth("1"), 0);
  EXPECT_EQ(json_nesting_depth(R"({"a": [1, {"b": []}], "c": {}})"), 4);
  EXPECT_EQ(json_nesting_depth(R"({"a": "[[[{{{"})"), 1);
  EXPECT_EQ(json_nesting_depth(R"({"a": "\"[[", "b": [[]]})"), 3);  // an escaped quote does not end the string
  EXPECT_EQ(json_nesting_depth(R"({"a": "\\", "b": [[]]})"), 3);    // an escaped backslash does not escape the quote
}

TEST(JsonDepth, AllowsSixtyFourLevelsAndRefusesSixtyFive) {
  EXPECT_FALSE(json_too_deep(std::string(64, '[') + std::string(64, ']')));
  EXPECT_TRUE(json_too_deep(std::string(65, '[') + std::string(65, ']')));
  EXPECT_TRUE(json_too_deep(std::string(100000, '{')));  // unclosed: still too deep, refused before the parse
}

TEST(JsonInput, RefusesAKeyGivenTwiceInOneObjectNamingItsPath) {
  EXPECT_THROW(parse_json_input(R"({"a": 1, "a": 2})"), JsonInputError);
  try {
    parse_json_input(R"({"base": {"x": 1}, "axes": {"l": [1], "m": [{"k": 1}, {"k": 2, "k": 3}]}})");
    ADD_FAILURE() << "no error";
  } catch (const JsonInputError& e) {
    EXPECT_STREQ(e.what(), "key 'k' appears twice in one object (at axes.m.k)");
  }
}

TEST(JsonInput, AcceptsTheSameKeyInSeparateObjectsAndKeepsTheFilesOrderWhenAsked) {
  const auto doc = parse_json_input<nlohmann::ordered_json>(R"({"z": {"k": 1}, "a": [{"k": 2}, {"k": 3}]})");
  EXPECT_EQ(doc.dump(), R"({"z":{"k":1},"a":[{"k":2},{"k":3}]})");
  EXPECT_EQ(parse_json_input(R"({"z": 1, "a": 2})").dump(), R"({"a":2,"z":1})");
  EXPECT_THROW(parse_json_input(std::string(65, '[') + std::string(65, ']')), JsonInputError);
  EXPECT_THROW(parse_json_input("{"), nlohmann::json::parse_error);
}

}  // namespace
}  // namespace ufm::io
