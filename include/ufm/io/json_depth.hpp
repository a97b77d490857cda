#pragma once
/// A bound on how deep a JSON input nests, checked on its text before it is parsed. nlohmann's
/// parser keeps its own stack, but copying, comparing, dumping and destroying a document recurse once
/// per level: a grid of 100,000 nested brackets parsed, then overflowed the stack (a segfault) when
/// `sweep` copied it. Every JSON input ufm-sim reads (a config, a grid, each line of a results file,
/// a state's state.json) goes through this check; none of them nests beyond a handful of levels.
#include <string>
#include <string_view>

namespace ufm::io {

/// The deepest any input may nest.
inline constexpr int kMaxJsonDepth = 64;

/// The deepest nesting of '[' and '{' in text, outside strings (escapes inside strings honoured).
/// Text that is not JSON gets some number; its parse fails afterwards.
int json_nesting_depth(std::string_view text);

/// json_nesting_depth(text) > kMaxJsonDepth.
inline bool json_too_deep(std::string_view text) { return json_nesting_depth(text) > kMaxJsonDepth; }

/// "nests arrays or objects deeper than 64 levels": the reason each reader puts in its own error.
inline std::string json_too_deep_reason() {
  return "nests arrays or objects deeper than " + std::to_string(kMaxJsonDepth) + " levels";
}

}  // namespace ufm::io
