#pragma once
/// JSON a user writes (a `--config` file, a sweep's grid), parsed strictly: nested at most
/// kMaxJsonDepth deep (json_depth.hpp), and no key twice in one object. JSON allows a repeated key
/// and nlohmann keeps the last one, so a grid with two "lambda" axes (one meant as "lambda_w") ran
/// only the second, silently.
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ufm::io {

/// Why parse_json_input refused the text: "nests arrays or objects deeper than 64 levels", or
/// "key 'lambda' appears twice in one object (at axes.lambda)". Callers add the file's name.
class JsonInputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The document in text, as nlohmann::json or nlohmann::ordered_json (a grid's axes keep the
/// file's order). Throws JsonInputError (too deep, a repeated key) or nlohmann's own exceptions (not
/// JSON; numbers such as 1e400).
template <class Json = nlohmann::json>
Json parse_json_input(std::string_view text);

extern template nlohmann::json parse_json_input<nlohmann::json>(std::string_view);
extern template nlohmann::ordered_json parse_json_input<nlohmann::ordered_json>(std::string_view);

}  // namespace ufm::io
