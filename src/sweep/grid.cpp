#include "ufm/sweep/grid.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <new>
#include <regex>
#include <set>
#include <sstream>

#include "ufm/config/argument_check.hpp"
#include "ufm/config/cli.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/config/number_parse.hpp"
#include "ufm/config/resources.hpp"
#include "ufm/io/json_input.hpp"
#include "ufm/io/whole_file.hpp"

namespace ufm::sweep {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::size_t kMaxGridBytes = 16u << 20;
/// Points, values per axis and seeds. A point keeps its resolved config, about 5 KB, where the caller
/// asks for it (its shard's points), and 0.6 KB for its id and values elsewhere; every point is resolved
/// (10^5 in 2.4–3.0 s on one thread; 18 s before the memory check read /proc once per grid and the
/// option parser was reused). 10^7 points ended in std::bad_alloc when each kept 5 KB; 10^6 keeping all take 5 GB.
constexpr long kMaxPoints = 1000000;

/// Options a grid may not set: the sweep owns the output.
const std::set<std::string> kForbidden = {"out", "format", "save_state", "quiet", "config", "help"};

/// The toy flow's options and their defaults (as `ufm-sim toy`).
const std::vector<std::string> kToyOptions = {"p", "a0", "time", "num_checkpoints", "abs_tol", "rel_tol"};

/// Shortest text of x with at most 15 significant digits, read back: 10^-3 computed as
/// 0.0010000000000000002 becomes 0.001.
double round15(double x) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.15g", x);
  return std::strtod(buffer, nullptr);
}

std::string key_of(std::string name) {
  for (char& ch : name)
    if (ch == '-') ch = '_';
  return name;
}
std::string flag_of(std::string key) {
  for (char& ch : key)
    if (ch == '_') ch = '-';
  return "--" + key;
}

/// Every option name of a command of `run`/`theory`, read from its --help text.
const std::set<std::string>& known_options(SweepCommand command) {
  static const auto collect = [](Command c) {
    std::set<std::string> names;
    const std::string text = help_text(c);
    const std::regex option("--([a-z0-9][a-z0-9-]*)");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), option); it != std::sregex_iterator(); ++it)
      names.insert(key_of((*it)[1].str()));
    return names;
  };
  static const std::set<std::string> run = collect(Command::kRun), theory = collect(Command::kTheory),
                                     toy(kToyOptions.begin(), kToyOptions.end());
  return command == SweepCommand::kRun ? run : command == SweepCommand::kTheory ? theory : toy;
}

std::string short_dump(const Json& v) { return abbreviate(v.dump(), 60); }

/// A JSON value as the text a user would type after the option ("" and false: nothing to pass).
std::string as_argument(const Json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) return format_number(v.get<double>());
  if (v.is_array() && !v.empty()) {
    std::string joined;
    for (const Json& item : v) {
      if (!item.is_number() && !item.is_string()) throw GridError(where + ": a list of numbers or strings, got " + short_dump(v));
      joined += (joined.empty() ? "" : ",") + as_argument(item, where);
    }
    return joined;
  }
  throw GridError(where + ": got " + short_dump(v) + ", allowed: a number, a string, true/false or a list of them");
}

void push_option(std::vector<std::string>& args, const std::string& key, const Json& v, const std::string& where) {
  if (v.is_null()) return;
  if (v.is_boolean()) {
    if (v.get<bool>()) args.push_back(flag_of(key));
    return;
  }
  args.push_back(flag_of(key));
  args.push_back(as_argument(v, where));
}

void check_option_name(const std::string& key, SweepCommand command, const std::string& where) {
  if (kForbidden.count(key))
    throw GridError(where + ": '" + key + "' cannot be set in a grid (the sweep writes its own output; see ufm-sim sweep --help)");
  const std::set<std::string>& known = known_options(command);
  if (known.count(key)) return;
  const std::string near = nearest_name(key, std::vector<std::string>(known.begin(), known.end()));
  throw GridError(where + ": '" + key + "' is not an option of `ufm-sim " + std::string(to_string(command)) + "`" +
                  (near.empty() ? "" : " (did you mean '" + near + "'?)"));
}

double number_in(const Json& v, const std::string& where) {
  if (!v.is_number()) throw GridError(where + ": got " + short_dump(v) + ", allowed: a number");
  const double x = v.get<double>();
  if (!std::isfinite(x)) throw GridError(where + ": got " + short_dump(v) + ", allowed: a finite number");
  return x;
}

long long integer_in(const Json& v, const std::string& where, long long lo, long long hi) {
  if (!(v.is_number_integer() || v.is_number_unsigned()) && !(v.is_number_float() && v.get<double>() == std::floor(v.get<double>())))
    throw GridError(where + ": got " + short_dump(v) + ", allowed: an integer");
  const double x = v.get<double>();
  if (x < static_cast<double>(lo) || x > static_cast<double>(hi))
    throw GridError(where + ": got " + short_dump(v) + ", allowed: an integer in [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]");
  return v.is_number_float() ? static_cast<long long>(x) : v.get<long long>();
}

/// An axis's values: a list, or a logspace / linspace / range object.
std::vector<Json> expand_axis(const std::string& key, const Json& spec, const std::string& where) {
  std::vector<Json> values;
  if (spec.is_array()) {
    for (const Json& v : spec) {
      if (v.is_object() || (v.is_array() && v.empty()))
        throw GridError(where + ": value " + short_dump(v) + " is not an option value (a number, a string, true/false or a list)");
      values.push_back(v);
    }
  } else if (spec.is_object() && spec.size() == 1) {
    const std::string kind = spec.begin().key();
    const Json& p = spec.begin().value();
    const std::string at = where + ": {\"" + kind + "\": " + short_dump(p) + "}";
    if (kind == "logspace" || kind == "linspace") {
      if (!p.is_array() || p.size() != 3) throw GridError(at + ": allowed: [a, b, n]");
      const double a = number_in(p[0], at + " a"), b = number_in(p[1], at + " b");
      const long long n = integer_in(p[2], at + " n", 0, kMaxPoints);
      for (long long i = 0; i < n; ++i) {
        const double t = n == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(n - 1);
        double x = n == 1 ? a : a + (b - a) * static_cast<double>(i) / static_cast<double>(n - 1);
        if (!std::isfinite(x)) x = a * (1.0 - t) + b * t;  // b − a, or its multiple, overflows: [0, 1e308, 5]
        const double v = round15(kind == "logspace" ? std::pow(10.0, x) : x);
        if (!std::isfinite(v))
          throw GridError(at + ": " + (kind == "logspace" ? "10^" : "") + format_number(x) + " is not a finite double");
        values.emplace_back(v);
      }
    } else if (kind == "range") {
      if (!p.is_array() || (p.size() != 2 && p.size() != 3)) throw GridError(at + ": allowed: [a, b] or [a, b, step] (integers, b excluded)");
      const long long lim = 1LL << 53;
      const long long a = integer_in(p[0], at + " a", -lim, lim), b = integer_in(p[1], at + " b", -lim, lim);
      const long long step = p.size() == 3 ? integer_in(p[2], at + " step", -lim, lim) : 1;
      if (step == 0) throw GridError(at + ": the step must not be 0");
      for (long long x = a; step > 0 ? x < b : x > b; x += step) {
        values.emplace_back(x);
        if (static_cast<long>(values.size()) > kMaxPoints) break;
      }
    } else {
      throw GridError(where + ": unknown range kind '" + abbreviate(kind, 40) + "', allowed: logspace | linspace | range, or a list of values");
    }
  } else {
    throw GridError(where + ": got " + short_dump(spec) +
                    ", allowed: a list of values, {\"logspace\": [a, b, n]}, {\"linspace\": [a, b, n]} or {\"range\": [a, b, step]}");
  }
  if (values.empty()) throw GridError(where + ": the axis '" + key + "' is empty (" + short_dump(spec) + ")");
  if (static_cast<long>(values.size()) > kMaxPoints) throw GridError(where + ": more than " + std::to_string(kMaxPoints) + " values");
  return values;
}

/// p and a0 of the toy: [x, y, z] or "x,y,z".
std::array<double, 3> toy_triple(const Json& v, const std::string& option, bool positive) {
  const std::string allowed = positive ? "three positive numbers" : "three finite numbers";
  std::vector<double> xs;
  if (v.is_array()) {
    for (const Json& item : v) {
      if (!item.is_number()) throw ConfigError(option, v.dump(), allowed);
      xs.push_back(item.get<double>());
    }
  } else if (v.is_string()) {
    std::stringstream in(v.get<std::string>());
    for (std::string item; std::getline(in, item, ',');) xs.push_back(parse_real(option, item, allowed));
  } else {
    throw ConfigError(option, v.dump(), allowed);
  }
  if (xs.size() != 3) throw ConfigError(option, v.dump(), allowed);
  std::array<double, 3> out{};
  for (int i = 0; i < 3; ++i) {
    if (!std::isfinite(xs[i]) || (positive && xs[i] <= 0)) throw ConfigError(option, v.dump(), allowed);
    out[i] = xs[i];
  }
  return out;
}

double toy_positive(const Json& v, const std::string& option) {
  const double x = v.is_string() ? parse_real(option, v.get<std::string>()) : v.is_number() ? v.get<double>() : -1.0;
  if (!(x > 0) || !std::isfinite(x)) throw ConfigError(option, v.dump(), "a finite number > 0");
  return x;
}

/// A toy point: the options of `ufm-sim toy` (defaults as there), checked by ToyFlowInput::validate.
void resolve_toy(const Json& options, ResolvedPoint& point) {
  ToyFlowInput in;
  in.p = {0.25, 0.5, 0.25};
  in.a0 = {0, 0, 0};
  in.time = 1e4;
  in.num_checkpoints = 50;
  in.abs_tol = in.rel_tol = 1e-12;
  for (const auto& [key, v] : options.items()) {
    if (v.is_null()) continue;
    const std::string option = flag_of(key);
    if (key == "p") in.p = toy_triple(v, option, true);
    else if (key == "a0") in.a0 = toy_triple(v, option, false);
    else if (key == "time") in.time = toy_positive(v, option);
    else if (key == "abs_tol") in.abs_tol = toy_positive(v, option);
    else if (key == "rel_tol") check_rel_tol(option, in.rel_tol = toy_positive(v, option));
    else if (key == "num_checkpoints")
      in.num_checkpoints = static_cast<int>(parse_integer_in(option, v.is_string() ? v.get<std::string>() : v.dump(), 2, 1000000));
  }
  try {
    in.validate();
  } catch (const std::invalid_argument& e) {
    throw ConfigError(e.what());
  }
  point.toy = in;
  point.config = Json{{"p", in.p}, {"a0", in.a0}, {"time", in.time}, {"num_checkpoints", in.num_checkpoints},
                      {"abs_tol", in.abs_tol}, {"rel_tol", in.rel_tol}};
}


/// Resolves one point exactly as the command would; throws ConfigError / GridError.
void resolve_point(SweepCommand command, const Json& base, const Json& values, ResolvedPoint& point,
                   const std::string& where, std::uint64_t available_memory) {
  if (command == SweepCommand::kToy) {
    Json options = base;
    for (const auto& [key, v] : values.items()) options[key] = v;
    resolve_toy(options, point);
    return;
  }
  std::vector<std::string> args;
  for (const auto& [key, v] : base.items()) push_option(args, key, v, where + ": base '" + key + "'");
  for (const auto& [key, v] : values.items()) push_option(args, key, v, where + ": axis '" + key + "'");
  const Command c = command == SweepCommand::kRun ? Command::kRun : Command::kTheory;
  const ParsedRun parsed = parse_run_options(args, c);
  validate(parsed.config);
  require_memory(parsed.config,
                 c == Command::kRun ? estimated_run_bytes(parsed.config) : estimated_theory_bytes(parsed.config),
                 "the point", available_memory);
  point.run = resolve(parsed.config);
  point.config = c == Command::kRun ? to_json(point.run) : model_json(point.run);
}

}  // namespace

std::string_view to_string(SweepCommand command) {
  switch (command) {
    case SweepCommand::kRun:
      return "run";
    case SweepCommand::kTheory:
      return "theory";
    case SweepCommand::kToy:
      return "toy";
  }
  return "?";
}

std::string fnv1a64_hex(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char ch : bytes) {
    h ^= ch;
    h *= 0x100000001b3ULL;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

std::string point_id(const nlohmann::ordered_json& config) { return fnv1a64_hex(config.dump()); }

std::string describe(const nlohmann::ordered_json& values) {
  std::string s;
  for (const auto& [key, v] : values.items())
    s += (s.empty() ? "" : " ") + key + "=" + (v.is_string() ? v.get<std::string>() : abbreviate(v.dump(), 40));
  return s;
}

Grid parse_grid(const nlohmann::ordered_json& source, const std::string& name, const std::function<bool(long)>& keep,
                int threads) {
  Grid grid;
  grid.source = source;
  if (!source.is_object()) throw GridError(name + ": a grid is a JSON object with \"command\", \"base\" and \"axes\"");
  static const std::vector<std::string> top = {"command", "base", "axes", "seeds", "zip", "description"};
  for (const auto& [key, _] : source.items()) {
    if (std::find(top.begin(), top.end(), key) != top.end()) continue;
    const std::string near = nearest_name(key, top);
    throw GridError(name + ": unknown key '" + abbreviate(key, 60) + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)") +
                    ", allowed: command | base | axes | seeds | zip | description");
  }
  if (source.contains("description") && !source["description"].is_string())
    throw GridError(name + ": description: a string (free text, kept in the results' header), got " +
                    short_dump(source["description"]));
  if (source.contains("command")) {
    const Json& c = source["command"];
    const std::string s = c.is_string() ? c.get<std::string>() : c.dump();
    if (s == "run") grid.command = SweepCommand::kRun;
    else if (s == "theory") grid.command = SweepCommand::kTheory;
    else if (s == "toy") grid.command = SweepCommand::kToy;
    else throw GridError(name + ": command: got '" + abbreviate(s, 40) + "', allowed: run | theory | toy");
  }
  // base
  Json base = Json::object();
  if (source.contains("base")) {
    if (!source["base"].is_object()) throw GridError(name + ": base: a JSON object of options, got " + short_dump(source["base"]));
    for (const auto& [key0, v] : source["base"].items()) {
      const std::string key = key_of(key0);
      check_option_name(key, grid.command, name + ": base");
      if (base.contains(key)) throw GridError(name + ": base: '" + key + "' given twice");
      base[key] = v;
    }
  }
  // axes, in file order
  if (source.contains("axes")) {
    if (!source["axes"].is_object()) throw GridError(name + ": axes: a JSON object {\"option\": values, ...}, got " + short_dump(source["axes"]));
    for (const auto& [key0, spec] : source["axes"].items()) {
      const std::string key = key_of(key0);
      const std::string where = name + ": axis '" + key + "'";
      check_option_name(key, grid.command, where);
      if (base.contains(key)) throw GridError(where + ": also set in base; give it in one place");
      for (const Axis& a : grid.axes)
        if (a.name == key) throw GridError(where + ": given twice");
      grid.axes.push_back({key, expand_axis(key, spec, where)});
    }
  }
  if (source.contains("seeds")) {
    const long long s = integer_in(source["seeds"], name + ": seeds", 1, kMaxPoints);
    check_option_name("seed", grid.command, name + ": seeds");
    if (base.contains("seed")) throw GridError(name + ": seeds: base sets 'seed' too; give one of them");
    for (const Axis& a : grid.axes)
      if (a.name == "seed") throw GridError(name + ": seeds: 'seed' is an axis too; give one of them");
    Axis seed{"seed", {}};
    for (long long i = 0; i < s; ++i) seed.values.emplace_back(i);
    grid.axes.push_back(std::move(seed));
  }
  // zip groups: dimension of each axis
  std::vector<int> group_of(grid.axes.size(), -1);
  std::vector<std::vector<std::size_t>> dims;  // each: the axes that vary together
  if (source.contains("zip")) {
    const Json& zip = source["zip"];
    if (!zip.is_array()) throw GridError(name + ": zip: a list of groups of axis names, e.g. [[\"lambda_w\", \"lambda_h\"]]");
    for (std::size_t g = 0; g < zip.size(); ++g) {
      const Json& group = zip[g];
      if (!group.is_array() || group.size() < 2) throw GridError(name + ": zip: group " + short_dump(group) + " must list at least two axis names");
      for (const Json& n : group) {
        if (!n.is_string()) throw GridError(name + ": zip: " + short_dump(n) + " is not an axis name");
        const std::string key = key_of(n.get<std::string>());
        std::size_t i = 0;
        while (i < grid.axes.size() && grid.axes[i].name != key) ++i;
        if (i == grid.axes.size()) throw GridError(name + ": zip: '" + key + "' is not an axis");
        if (group_of[i] >= 0) throw GridError(name + ": zip: axis '" + key + "' is in two groups (or twice in one)");
        group_of[i] = static_cast<int>(g);
      }
    }
  }
  {
    std::map<int, std::size_t> dim_of_group;
    for (std::size_t i = 0; i < grid.axes.size(); ++i) {
      if (group_of[i] < 0) {
        dims.push_back({i});
        continue;
      }
      const auto it = dim_of_group.find(group_of[i]);
      if (it == dim_of_group.end()) {
        dim_of_group[group_of[i]] = dims.size();
        dims.push_back({i});
      } else {
        const Axis& first = grid.axes[dims[it->second].front()];
        if (grid.axes[i].values.size() != first.values.size())
          throw GridError(name + ": zip: axes '" + first.name + "' (" + std::to_string(first.values.size()) + " values) and '" +
                          grid.axes[i].name + "' (" + std::to_string(grid.axes[i].values.size()) + " values) must have the same length");
        dims[it->second].push_back(i);
      }
    }
  }
  long double total = 1;
  for (const auto& d : dims) total *= static_cast<long double>(grid.axes[d.front()].values.size());
  if (total > kMaxPoints) {
    const std::string points =
        total < 1e18L ? std::to_string(static_cast<long long>(total)) : format_number(static_cast<double>(total));
    throw GridError(name + ": " + points + " points; at most " + std::to_string(kMaxPoints));
  }
  const long count = static_cast<long>(total);

  // Expand: every point's values in order (the first dimension slowest), then the points resolved on
  // up to `threads` threads, each point by one of them: its id, validation and kept config do not
  // depend on which. A thread skips the points after the first refused one found so far, so every
  // point before the first refused one is resolved, and the scan below reports the first problem in
  // point order, as one thread would: a refused point, or a point with the config of one before it.
  grid.points.resize(static_cast<std::size_t>(count));
  std::vector<std::size_t> digit(dims.size(), 0);
  for (long index = 0; index < count; ++index) {
    SweepPoint& point = grid.points[static_cast<std::size_t>(index)];
    point.index = index;
    point.values = Json::object();
    for (std::size_t a = 0; a < grid.axes.size(); ++a) {
      std::size_t dim = 0;
      while (std::find(dims[dim].begin(), dims[dim].end(), a) == dims[dim].end()) ++dim;
      point.values[grid.axes[a].name] = grid.axes[a].values[digit[dim]];
    }
    for (std::size_t d = dims.size(); d-- > 0;) {  // the last dimension fastest
      if (++digit[d] < grid.axes[dims[d].front()].values.size()) break;
      digit[d] = 0;
    }
  }
  const std::uint64_t available_memory = available_memory_bytes();  // each point is checked against it
  std::atomic<long> first_refused{count};
  std::exception_ptr refusal;
  std::mutex refusal_mutex;
  const Json& shared_base = base;  // read by every thread: const access only
  const int team = static_cast<int>(std::clamp<long>(threads, 1, std::max<long>(1, count / 64)));
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 16) num_threads(team)
#endif
  for (long index = 0; index < count; ++index) {
    if (index > first_refused.load(std::memory_order_relaxed)) continue;
    SweepPoint& point = grid.points[static_cast<std::size_t>(index)];
    try {
      const std::string where = name + ": point " + std::to_string(index) + " (" + describe(point.values) + ")";
      ResolvedPoint resolved;
      try {
        resolve_point(grid.command, shared_base, point.values, resolved, where, available_memory);
      } catch (const ConfigError& e) {
        const std::string key = e.option().size() > 2 ? key_of(e.option().substr(2)) : "";
        std::string blame;
        if (!key.empty() && point.values.contains(key))
          blame = "axis '" + key + "' value " + short_dump(point.values.at(key)) + ": ";
        else if (!key.empty() && shared_base.contains(key))
          blame = "base '" + key + "' value " + short_dump(shared_base.at(key)) + ": ";
        throw GridError(where + ": " + blame + e.what());
      }
      point.id = point_id(resolved.config);
      if (!keep || keep(index)) point.resolved = std::make_shared<const ResolvedPoint>(std::move(resolved));
    } catch (...) {  // nothing leaves an OpenMP loop: kept if it is the first in point order
      const std::lock_guard<std::mutex> lock(refusal_mutex);
      if (index < first_refused.load()) {
        first_refused.store(index);
        refusal = std::current_exception();
      }
    }
  }
  std::map<std::string, long> seen;  // id -> index
  for (const SweepPoint& point : grid.points) {
    if (point.index == first_refused.load()) std::rethrow_exception(refusal);
    const auto [it, fresh] = seen.emplace(point.id, point.index);
    if (!fresh)
      throw GridError(name + ": points " + std::to_string(it->second) + " and " + std::to_string(point.index) + " (" +
                      describe(point.values) + ") resolve to the same config (id " + point.id + ")");
  }
  std::string ids = std::string(to_string(grid.command)) + "\n";
  for (const SweepPoint& p : grid.points) ids += p.id + "\n";
  grid.hash = fnv1a64_hex(ids);
  return grid;
}

Grid load_grid(const std::string& file, const std::function<bool(long)>& keep, int threads) {
  const std::string path = abbreviate(file);  // as every message echoes it
  std::string text;
  try {
    text = io::read_whole_file(file, io::Readable::kRegularFileOrPipe, kMaxGridBytes);
  } catch (const io::ReadRefused& e) {
    if (e.reason() == io::ReadRefused::Reason::kTooLarge) throw GridError(path + ": a grid file of at most 16 MiB");
    if (e.reason() == io::ReadRefused::Reason::kWrongKind) throw GridError(path + ": not a grid file: it " + e.what());
    throw GridError(path + ": " + e.what());
  }
  Json source;
  try {
    source = io::parse_json_input<Json>(text);
  } catch (const io::JsonInputError& e) {
    throw GridError(path + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw GridError(path + ": not valid JSON: " + abbreviate(e.what(), 200));
  }
  try {
    return parse_grid(source, path, keep, threads);
  } catch (const std::bad_alloc&) {  // a grid within kMaxPoints whose points memory cannot hold
    throw GridError(path + ": its points do not fit in memory; split it into smaller grids");
  }
}

}  // namespace ufm::sweep
