// The nesting bound every JSON input goes through before it is parsed.
#include <gtest/gtest.h>

#include <string>

#include "ufm/io/json_depth.hpp"

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

}  // namespace
}  // namespace ufm::io
