#include "ufm/config/argument_check.hpp"

#include <algorithm>
#include <map>

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

std::string abbreviate(const std::string& text, std::size_t max_chars) {
  if (text.size() <= max_chars) return text;
  return text.substr(0, max_chars) + "...(" + std::to_string(text.size()) + " characters)";
}

void check_arguments(std::span<const std::string> args, const std::vector<OptionShape>& known,
                     const std::string& command) {
  std::map<std::string, const OptionShape*> by_name;
  std::vector<std::string> names;
  for (const OptionShape& o : known) by_name[o.name] = &o, names.push_back(o.name);
  std::map<std::string, int> seen;
  const std::string help = " (see " + command + " --help)";
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") continue;
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      if (!arg.empty() && arg[0] == '-')
        throw ConfigError("unknown option '" + abbreviate(arg) + "'; options are long, e.g. --classes 4" + help, arg);
      throw ConfigError("unexpected argument '" + abbreviate(arg) + "': options come as --name value" + help);
    }
    const std::size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const auto it = by_name.find(name);
    if (it == by_name.end()) {
      const std::string near = nearest_name(name, names);
      throw ConfigError("unknown option --" + abbreviate(name) + (near.empty() ? "" : " (did you mean --" + near + "?)") +
                            help,
                        "--" + name);
    }
    const OptionShape& o = *it->second;
    if (o.once && ++seen[name] > 1)
      throw ConfigError("--" + name + ": given twice; give it once", "--" + name);
    if (!o.takes_value) {
      if (eq != std::string::npos)
        throw ConfigError("--" + name + ": a flag, it takes no value (got '" + abbreviate(arg) + "')", "--" + name);
      continue;
    }
    if (eq != std::string::npos) continue;  // --name=value
    const auto is_option = [&](const std::string& next) {
      if (next.size() < 3 || next.compare(0, 2, "--") != 0) return false;
      const std::size_t e = next.find('=');
      return by_name.count(next.substr(2, e == std::string::npos ? std::string::npos : e - 2)) > 0;
    };
    if (i + 1 >= args.size() || is_option(args[i + 1]))
      throw ConfigError("--" + name + ": missing value" + help, "--" + name);
    ++i;  // the value, whatever it looks like (e.g. -1)
  }
}

}  // namespace ufm
