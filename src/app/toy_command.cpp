#include "ufm/app/toy_command.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iostream>
#include <sstream>

#include "ufm/app/exit_status.hpp"
#include "ufm/app/standard_streams.hpp"
#include "ufm/app/steady_seconds.hpp"
#include "ufm/config/argument_check.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/config/config_file.hpp"
#include "ufm/config/number_parse.hpp"
#include "ufm/io/atomic_file.hpp"
#include "ufm/theory/toy_flow.hpp"
#include "ufm/version.hpp"

namespace ufm {
namespace {

std::array<double, 3> parse_triple(const std::string& option, const std::string& v, bool positive) {
  const std::string allowed = positive ? "three positive numbers x1,x2,x3" : "three finite numbers x1,x2,x3";
  std::array<double, 3> out{};
  std::stringstream in(v);
  std::string item;
  int i = 0;
  for (; std::getline(in, item, ','); ++i) {
    double x = 0;
    const char* end = item.data() + item.size();
    auto [ptr, ec] = std::from_chars(item.data(), end, x);
    if (i >= 3 || item.empty() || ec != std::errc() || ptr != end || !std::isfinite(x) || (positive && x <= 0))
      throw ConfigError(option, v, allowed);
    out[i] = x;
  }
  if (i != 3) throw ConfigError(option, v, allowed);
  return out;
}

double parse_positive(const std::string& option, const std::string& v) {
  const double x = parse_real(option, v, "a finite number > 0");
  if (x <= 0) throw ConfigError(option, v, "a finite number > 0");
  return x;
}

/// The options of `--config FILE` (a JSON object of toy options, or a previous toy output, whose
/// `config` is used without its `out`), as arguments placed before the command line's, which win.
std::vector<std::string> with_config_file(const std::vector<std::string>& args, const std::vector<OptionShape>& known) {
  const std::optional<std::string> file = config_option(args);
  if (!file) return args;
  bool is_output = false;
  const nlohmann::json doc = config_object(read_config_document(*file), *file, is_output, {"toy"});
  std::vector<std::string> keys;  // the options a file may give: all but --config itself
  for (const OptionShape& o : known)
    if (o.name != "config") keys.push_back(json_key(o.name));
  std::vector<std::string> merged;
  for (const auto& [key, value] : doc.items()) {
    const auto o = std::find_if(known.begin(), known.end(),
                                [&](const OptionShape& s) { return s.name != "config" && json_key(s.name) == key; });
    if (o == known.end()) throw unknown_config_key(*file, key, keys, "ufm-sim toy");
    if (value.is_null() || (is_output && key == "out")) continue;
    merged.push_back("--" + o->name);
    merged.push_back(as_argument(key, value, *file));
  }
  merged.insert(merged.end(), args.begin(), args.end());  // --config itself too: the app parses it
  return merged;
}

}  // namespace

int toy_command(const std::vector<std::string>& given_args) {
  std::vector<std::string> args = given_args;  // with --config FILE's options put first
  CLI::App app{"ufm-sim toy: gradient flow of the Wojtowytsch-E shallow-network toy (theory.md §5 (g)); reports "
               "h(1) - h(-1) = a3 - a2 - a1 against its limit log(p3/(2 p1)) at log-spaced times",
               "ufm-sim toy"};
  std::string p = "0.25,0.5,0.25", a0 = "0,0,0", time = "1e4", num = "50", abs_tol = "1e-12", rel_tol = "1e-12", out;
  app.add_option("--p", p, "masses p1,p2,p3 of the data at -1, 0, 1 (positive)")->default_str(p)->type_name("LIST");
  app.add_option("--a0", a0, "initial outer weights a1,a2,a3")->default_str(a0)->type_name("LIST");
  app.add_option("--time", time, "flow time T (> 0)")->default_str(time)->type_name("NUM");
  app.add_option("--num-checkpoints", num, "checkpoints: t = 0 and log-spaced from 1e-2 to T, in [2, 1e6]")
      ->default_str(num)
      ->type_name("NUM");
  app.add_option("--abs-tol", abs_tol, "dopri5 absolute tolerance (> 0)")->default_str(abs_tol)->type_name("NUM");
  app.add_option("--rel-tol", rel_tol, "dopri5 relative tolerance (>= 2.22e-14)")
      ->default_str(rel_tol)
      ->type_name("NUM");
  app.add_option("--out", out, "write the JSON here (atomically; a device or FIFO is written directly) instead of stdout")
      ->type_name("PATH");
  std::string config_file;
  app.add_option("--config", config_file,
                 "a JSON object of these options (p, a0, time, num_checkpoints, abs_tol, rel_tol, out), or a "
                 "previous toy output (its config, without out); the command line wins")
      ->type_name("FILE");
  app.footer("exit status: 0 done, 2 bad input or out of memory, 3 diverged, 5 the output (--out or stdout) not\n"
             "written (disk full, I/O error).");
  for (CLI::Option* o : app.get_options()) o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  const std::vector<OptionShape> shapes = {{"p"},       {"a0"},      {"time"}, {"num-checkpoints"},
                                           {"abs-tol"}, {"rel-tol"}, {"out"},  {"config", true, true}};
  ToyFlowInput input;
  try {
    check_arguments(args, shapes, "ufm-sim toy");
    if (std::find(args.begin(), args.end(), "--help") == args.end() &&
        std::find(args.begin(), args.end(), "-h") == args.end())
      args = with_config_file(args, shapes);
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
    input.p = parse_triple("--p", p, true);
    input.a0 = parse_triple("--a0", a0, false);
    input.time = parse_positive("--time", time);
    input.num_checkpoints = static_cast<int>(parse_integer_in("--num-checkpoints", num, 2, 1000000));
    input.abs_tol = parse_positive("--abs-tol", abs_tol);
    input.rel_tol = parse_positive("--rel-tol", rel_tol);
    check_rel_tol("--rel-tol", input.rel_tol);
    const bool out_given = std::find(args.begin(), args.end(), "--out") != args.end() ||
                           std::any_of(args.begin(), args.end(), [](const std::string& a) { return a.rfind("--out=", 0) == 0; });
    if (out_given && out.empty()) throw ConfigError("--out", "", "a non-empty path");
    if (!out.empty()) {
      try {
        io::check_writable(out);
      } catch (const io::IoError& e) {
        throw ConfigError(std::string("--out: ") + e.what(), "--out");
      }
    }
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::cerr << "ufm-sim toy: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const ConfigError& e) {
    std::cerr << "ufm-sim toy: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim toy: error: " << e.what() << "\n";
    return kExitBadInput;
  }
  const double start = steady_seconds();
  const ToyFlowResult result = run_toy_flow(input);
  nlohmann::ordered_json doc;
  doc["ufm_sim_version"] = kVersion;
  doc["command"] = "toy";
  doc.update(to_json(result, input));
  doc["config"]["out"] = out.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(out);
  doc["wall_seconds"] = steady_seconds() - start;
  const std::string text = doc.dump(1) + "\n";
  try {
    write_document(out, text, "--out");
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim toy: error: " << e.what() << "\n";
    return kExitOutputFailed;
  }
  if (result.summary.status == RunStatus::kDiverged) {  // the output says so too; stderr, as run and net do
    std::cerr << "ufm-sim toy: diverged: " << result.summary.message << "\n";
    return kExitDiverged;
  }
  return kExitOk;
}

}  // namespace ufm
