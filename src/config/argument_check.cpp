#include "ufm/config/argument_check.hpp"

#include <algorithm>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ufm/config/config_error.hpp"

namespace ufm {
namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string nearest_name(const std::string& given, const std::vector<std::string>& known) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, given.size() / 3) + 1;
  for (const std::string& name : known) {
    const std::size_t d = edit_distance(given, name);
    if (d < best_distance) best = name, best_distance = d;
  }
  return best;
}

std::string non_utf8_argument(std::span<const std::string> args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const nlohmann::json text = args[i];
    try {
      (void)text.dump();  // the check nlohmann makes when the output is written
    } catch (const nlohmann::json::type_error&) {
      const std::string shown = abbreviate(text.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      const std::string& arg = args[i];
      const bool value = i > 0 && args[i - 1].rfind("--", 0) == 0 && args[i - 1].find('=') == std::string::npos;
      const bool joined = arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos;  // --out=VALUE
      const std::string name = value    ? args[i - 1]
                               : joined ? arg.substr(0, arg.find('='))
                                        : "argument " + std::to_string(i + 1);
      return name + ": got " + shown + ", allowed: UTF-8 text (every output records its options in JSON, which "
             "holds UTF-8 only; invalid bytes shown as \uFFFD)";
    }
  }
  return "";
}

void check_arguments(std::span<const std::string> args, const std::vector<OptionShape>& known,
                     const std::string& command) {
  // A scan of `known` per argument, nothing allocated unless an error is thrown: a sweep checks every
  // point's arguments, and building a map of the hundred names of `run` per call took a sixth of
  // resolving a point.
  const auto find = [&](std::string_view name) -> const OptionShape* {
    for (const OptionShape& o : known)
      if (o.name == name) return &o;
    return nullptr;
  };
  const auto name_of = [](std::string_view arg) {  // "--name" or "--name=value" -> name
    return arg.substr(2, arg.find('=') == std::string_view::npos ? std::string_view::npos : arg.find('=') - 2);
  };
  const auto help = [&] { return " (see " + command + " --help)"; };
  std::vector<std::string_view> seen_once;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") continue;
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      if (!arg.empty() && arg[0] == '-')
        throw ConfigError("unknown option '" + abbreviate(arg) + "'; options are long, e.g. --classes 4" + help(), arg);
      throw ConfigError("unexpected argument '" + abbreviate(arg) + "': options come as --name value" + help());
    }
    const bool has_value = arg.find('=') != std::string::npos;
    const std::string_view name = name_of(arg);
    if (name.empty())  // "--=x": no name to look up or to suggest one for
      throw ConfigError("unexpected argument '" + abbreviate(arg) + "': options come as --name value" + help());
    const OptionShape* shape = find(name);
    if (!shape) {
      std::vector<std::string> names;
      for (const OptionShape& o : known) names.push_back(o.name);
      const std::string near = nearest_name(std::string(name), names);
      throw ConfigError("unknown option --" + abbreviate(std::string(name)) +
                            (near.empty() ? "" : " (did you mean --" + near + "?)") + help(),
                        "--" + std::string(name));
    }
    if (shape->once) {
      if (std::find(seen_once.begin(), seen_once.end(), name) != seen_once.end())
        throw ConfigError("--" + shape->name + ": given twice; give it once", "--" + shape->name);
      seen_once.push_back(name);
    }
    if (!shape->takes_value) {
      if (has_value)
        throw ConfigError("--" + shape->name + ": a flag, it takes no value (got '" + abbreviate(arg) + "')",
                          "--" + shape->name);
      continue;
    }
    if (has_value) continue;  // --name=value
    const auto is_option = [&](const std::string& next) {
      return next.size() >= 3 && next.compare(0, 2, "--") == 0 && find(name_of(next)) != nullptr;
    };
    if (i + 1 >= args.size() || is_option(args[i + 1]))
      throw ConfigError("--" + shape->name + ": missing value" + help(), "--" + shape->name);
    ++i;  // the value, whatever it looks like (e.g. -1)
  }
}

}  // namespace ufm
