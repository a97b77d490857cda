#include "ufm/config/config_file.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "ufm/config/argument_check.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/config/number_parse.hpp"
#include "ufm/io/json_input.hpp"
#include "ufm/io/whole_file.hpp"

namespace ufm {
namespace {

constexpr std::size_t kMaxConfigBytes = 16u << 20;

std::string read_text(const std::string& file) {
  if (file.empty()) throw ConfigError("--config", file, "a non-empty path");
  try {
    return io::read_whole_file(file, io::Readable::kRegularFileOrPipe, kMaxConfigBytes);
  } catch (const io::ReadRefused& e) {
    if (e.reason() == io::ReadRefused::Reason::kTooLarge)
      throw ConfigError("--config", file,
                        "a JSON file of at most " + std::to_string(kMaxConfigBytes >> 20) + " MiB");
    const bool kind = e.reason() == io::ReadRefused::Reason::kWrongKind;  // "is a device, not …"
    throw ConfigError("--config", file,
                      std::string("a readable JSON file (") + (kind ? "this " : "") + e.what() + ")");
  }
}

}  // namespace

std::optional<std::string> config_option(std::span<const std::string> args) {
  std::optional<std::string> file;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) file = args[i + 1];
    if (args[i].rfind("--config=", 0) == 0) file = args[i].substr(9);
  }
  return file;
}

ConfigError unknown_config_key(const std::string& file, const std::string& key, const std::vector<std::string>& known,
                               const std::string& command) {
  const std::string near = nearest_name(key, known);
  return ConfigError(file + ": unknown key '" + abbreviate(key, 60) + "'" +
                         (near.empty() ? "" : " (did you mean '" + near + "'?)") + "; see " + command + " --help",
                     "--config");
}

nlohmann::json read_config_document(const std::string& file) {
  const std::string text = read_text(file);
  try {
    return io::parse_json_input(text);
  } catch (const io::JsonInputError& e) {
    throw ConfigError("--config: " + file + ": " + e.what() + "; a config is a flat object of options", "--config");
  } catch (const nlohmann::json::exception& e) {  // parse errors, and numbers such as 1e400 (out_of_range)
    throw ConfigError("--config: " + file + " is not valid JSON: " + abbreviate(e.what(), 200), "--config");
  }
}

nlohmann::json config_object(nlohmann::json doc, const std::string& file, bool& is_output,
                             std::initializer_list<std::string_view> readable) {
  is_output = doc.is_object() && doc.contains("ufm_sim_version") && doc.contains("config");
  if (is_output) {
    if (doc.contains("command")) {  // without one: an output of an earlier version, read as before
      const nlohmann::json& c = doc["command"];
      const std::string name = c.is_string() ? c.get<std::string>() : c.dump();
      if (std::find(readable.begin(), readable.end(), name) == readable.end()) {
        std::string reads;
        for (std::string_view r : readable)
          reads += (reads.empty() ? "`ufm-sim " : " or `ufm-sim ") + std::string(r) + "`";
        throw ConfigError(file + ": the output of `ufm-sim " + abbreviate(name, 20) +
                              "`; this command reads the output of " + reads + ", or an object of its options",
                          "--config");
      }
    }
    doc = doc["config"];
  }
  if (!doc.is_object()) throw ConfigError("--config", file, "a JSON object of options");
  return doc;
}

std::string as_argument(const std::string& key, const nlohmann::json& v, const std::string& file) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) return format_number(v.get<double>());
  if (v.is_array() && !v.empty()) {  // lists such as class_counts: "10,10,5"
    std::string joined;
    for (const auto& item : v) {
      if (!item.is_number() && !item.is_string()) {
        joined.clear();
        break;
      }
      joined += (joined.empty() ? "" : ",") + as_argument(key, item, file);
    }
    if (!joined.empty()) return joined;
  }
  const std::string type = v.type_name();
  const std::string article = std::string("aeiou").find(type[0]) != std::string::npos ? "an " : "a ";
  throw ConfigError(file + ": key '" + key + "' has " + article + type + " value " + abbreviate(v.dump(), 60) +
                        ", allowed: a number, a string or a list of them",
                    "--config");
}

std::string json_key(std::string name) {
  for (char& ch : name)
    if (ch == '-') ch = '_';
  return name;
}

}  // namespace ufm
