#pragma once
/// `--config FILE`: a JSON object of options (long names with '_' for '-'), read defensively and
/// turned into the command-line arguments it stands for, so that a file goes through exactly the
/// same parsing and validation as the command line. Shared by `run`, `theory`, `net`, `compare` and
/// `toy`.
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ufm {

class ConfigError;

/// The FILE of `--config FILE` or `--config=FILE` in args (check_arguments has made sure it is given
/// at most once, with a value), or nothing.
std::optional<std::string> config_option(std::span<const std::string> args);

/// The document in FILE: at most 16 MiB, nesting at most 64 deep (checked before parsing, so a
/// hostile file cannot exhaust the parser's or the destructor's stack), valid JSON (numbers such as
/// 1e400 included). Throws ConfigError naming --config and the file.
nlohmann::json read_config_document(const std::string& file);

/// A previous output document of ufm-sim (it has "ufm_sim_version" and "config") of one of the
/// `readable` commands: its config object, with `is_output` set; otherwise the document itself.
/// Throws ConfigError unless an object results, and for the output of another command ("FILE: the
/// output of `ufm-sim toy`; this reads the output of `ufm-sim run` or `ufm-sim theory`, or an object
/// of options"), whose first foreign key the user would otherwise be told about.
nlohmann::json config_object(nlohmann::json doc, const std::string& file, bool& is_output,
                             std::initializer_list<std::string_view> readable);

/// A JSON value as the string a user would type after the option: strings as they are, numbers in
/// their shortest form, lists joined by commas. Throws ConfigError for other values ("key 'x' has
/// an object value {...}, allowed: a number, a string or a list of them").
std::string as_argument(const std::string& key, const nlohmann::json& value, const std::string& file);

/// "lambda-w" → "lambda_w".
std::string json_key(std::string option_name);

/// The error for a key of `file` that names none of `known` (JSON names): "FILE: unknown key 'x'
/// (did you mean 'y'?); see COMMAND --help".
ConfigError unknown_config_key(const std::string& file, const std::string& key, const std::vector<std::string>& known,
                               const std::string& command);

}  // namespace ufm
