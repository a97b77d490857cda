#include "ufm/config/cli.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "ufm/config/config_error.hpp"

namespace ufm {
namespace {

using Setter = std::function<void(RunConfig&, const std::string& option, const std::string& value)>;

struct OptionSpec {
  std::string name;         ///< long name without dashes, e.g. "lambda-w"; JSON key uses '_'
  std::string default_str;  ///< shown in --help
  std::string help;         ///< meaning and allowed values
  Setter set;               ///< empty for flags
  bool RunConfig::*flag = nullptr;  ///< for flags: the field set to true
};

double parse_double(const std::string& option, const std::string& v) {
  double x = 0;
  const char* end = v.data() + v.size();
  auto [ptr, ec] = std::from_chars(v.data(), end, x);
  if (v.empty() || ec != std::errc() || ptr != end || !std::isfinite(x))
    throw ConfigError(option, v, "a finite number");
  return x;
}

long long parse_integer(const std::string& option, const std::string& v) {
  long long x = 0;
  const char* end = v.data() + v.size();
  auto [ptr, ec] = std::from_chars(v.data(), end, x);
  if (v.empty() || ec != std::errc() || ptr != end) throw ConfigError(option, v, "an integer");
  return x;
}

/// "10,10,5" -> {10, 10, 5}.
std::vector<Index> parse_list(const std::string& option, const std::string& v) {
  std::vector<Index> list;
  std::stringstream in(v);
  for (std::string item; std::getline(in, item, ',');) list.push_back(parse_integer(option, item));
  if (list.empty() || v.back() == ',') throw ConfigError(option, v, "a comma-separated list of integers");
  return list;
}

template <class E>
E parse_enum(const std::string& option, const std::string& v, const std::map<std::string, E>& choices) {
  const auto it = choices.find(v);
  if (it != choices.end()) return it->second;
  std::string allowed;
  for (const auto& [name, _] : choices) allowed += (allowed.empty() ? "" : " | ") + name;
  throw ConfigError(option, v, allowed);
}

Setter real(double RunConfig::*field) {
  return [field](RunConfig& c, const std::string& o, const std::string& v) { c.*field = parse_double(o, v); };
}
Setter optional_real(std::optional<double> RunConfig::*field) {
  return [field](RunConfig& c, const std::string& o, const std::string& v) { c.*field = parse_double(o, v); };
}
Setter count(Index RunConfig::*field) {
  return [field](RunConfig& c, const std::string& o, const std::string& v) { c.*field = parse_integer(o, v); };
}
Setter text(std::string RunConfig::*field) {
  return [field](RunConfig& c, const std::string&, const std::string& v) { c.*field = v; };
}

const std::vector<OptionSpec>& option_specs() {
  static const std::vector<OptionSpec> specs = {
      {"classes", "4", "number of classes K (>= 2)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.classes = parse_integer(o, v);
         c.classes_given = true;
       }},
      {"per-class", "10", "samples per class n (>= 1); N = K n",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.per_class = parse_integer(o, v);
         c.per_class_given = true;
       }},
      {"layers", "1", "L >= 1: free H1, then L-1 hidden layers W_1..W_{L-1}, then the classifier W_L",
       [](RunConfig& c, const std::string& o, const std::string& v) { c.layers = parse_integer(o, v); }},
      {"width", "--dim", "width of every hidden layer (--layers >= 2)",
       [](RunConfig& c, const std::string& o, const std::string& v) { c.width = parse_integer(o, v); }},
      {"widths", "", "hidden widths d1,...,d_{L-1}, one per hidden layer",
       [](RunConfig& c, const std::string& o, const std::string& v) { c.widths = parse_list(o, v); }},
      {"activation", "linear", "linear | relu, between hidden layers (--layers >= 2)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.activation = parse_enum<Activation>(o, v, {{"linear", Activation::kLinear}, {"relu", Activation::kRelu}});
       }},
      {"imbalance", "", "ratio R >= 1: the first K_maj classes get n samples, the rest max(1, round(n/R))",
       optional_real(&RunConfig::imbalance)},
      {"majority-classes", "K/2", "K_maj in [1, K-1], with --imbalance",
       [](RunConfig& c, const std::string& o, const std::string& v) { c.majority_classes = parse_integer(o, v); }},
      {"class-counts", "", "explicit samples per class n1,n2,... (K = their number; each >= 1)",
       [](RunConfig& c, const std::string& o, const std::string& v) { c.class_counts = parse_list(o, v); }},
      {"dim", "16", "feature dimension d (>= 1)", count(&RunConfig::dim)},
      {"loss", "mse", "ce | mse",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.loss = parse_enum<Loss>(o, v, {{"ce", Loss::kCrossEntropy}, {"mse", Loss::kMse}});
       }},
      {"bias", "none", "none (bias-free) | free (trained, unregularized) | reg (trained, lambda_b)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.bias = parse_enum<BiasMode>(
             o, v, {{"none", BiasMode::kNone}, {"free", BiasMode::kFree}, {"reg", BiasMode::kRegularized}});
       }},
      {"lambda", "5e-4", "weight decay of every factor (>= 0); lambda_b only with --bias reg",
       real(&RunConfig::lambda)},
      {"lambda-w", "--lambda", "weight decay of the classifier W (>= 0)", optional_real(&RunConfig::lambda_w)},
      {"lambda-h", "--lambda", "weight decay of the features H, on the sum over samples (>= 0)",
       optional_real(&RunConfig::lambda_h)},
      {"lambda-layer", "--lambda",
       "weight decays of hidden weights, l=x,... with l in 1..L-1 (W_1 acts on H1; the classifier W_L is --lambda-w)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.lambda_layer.clear();
         std::stringstream in(v);
         for (std::string item; std::getline(in, item, ',');) {
           const auto eq = item.find('=');
           if (eq == std::string::npos) throw ConfigError(o, v, "l=x pairs separated by commas, e.g. 1=1e-3,2=5e-4");
           c.lambda_layer.emplace_back(parse_integer(o, item.substr(0, eq)), parse_double(o, item.substr(eq + 1)));
         }
         if (c.lambda_layer.empty()) throw ConfigError(o, v, "l=x pairs separated by commas, e.g. 1=1e-3");
       }},
      {"lambda-b", "--lambda", "weight decay of the bias b (>= 0; --bias reg only)",
       optional_real(&RunConfig::lambda_b)},
      {"fixed-classifier", "none", "none | etf (W frozen to a simplex ETF of norm --classifier-norm; needs d >= K-1)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.fixed_classifier =
             parse_enum<FixedClassifier>(o, v, {{"none", FixedClassifier::kNone}, {"etf", FixedClassifier::kEtf}});
       }},
      {"classifier-norm", "1", "Frobenius norm of the fixed ETF classifier (> 0)",
       optional_real(&RunConfig::classifier_norm)},
      {"init-scale", "0.1", "standard deviation sigma of the Gaussian init of H, W and b (>= 0)",
       real(&RunConfig::init_scale)},
      {"seed", "0", "random seed (integer >= 0); same seed => bit-identical output",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         const long long s = parse_integer(o, v);
         if (s < 0) throw ConfigError(o, v, "an integer >= 0");
         c.seed = static_cast<std::uint64_t>(s);
       }},
      {"init-state", "", "start from a directory written by --save-state (shapes must match)",
       text(&RunConfig::init_state)},
      {"dynamics", "flow", "flow (gradient flow ODE) | gd (gradient descent) | momentum (heavy ball)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.dynamics = parse_enum<Dynamics>(
             o, v, {{"flow", Dynamics::kFlow}, {"gd", Dynamics::kGd}, {"momentum", Dynamics::kMomentum}});
       }},
      {"integrator", "dopri5", "flow: rk4 (fixed step --dt) | dopri5 (adaptive, --abs-tol/--rel-tol); rk4 with relu",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.integrator = parse_enum<Integrator>(o, v, {{"rk4", Integrator::kRk4}, {"dopri5", Integrator::kDopri5}});
       }},
      {"dt", "0.1", "flow: rk4 step, dopri5 initial step (> 0)", optional_real(&RunConfig::dt)},
      {"abs-tol", "1e-10", "flow, dopri5: absolute error tolerance (> 0)", optional_real(&RunConfig::abs_tol)},
      {"rel-tol", "1e-10", "flow, dopri5: relative error tolerance (> 0)", optional_real(&RunConfig::rel_tol)},
      {"time", "2e4", "flow: integrate up to time T (> 0)", optional_real(&RunConfig::time)},
      {"max-steps", "1e8", "flow: cap on integrator steps (>= 1)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.max_steps = static_cast<long>(parse_double(o, v));
         if (static_cast<double>(*c.max_steps) != parse_double(o, v)) throw ConfigError(o, v, "an integer >= 1");
       }},
      {"lr", "0.1", "gd, momentum: learning rate (> 0)", optional_real(&RunConfig::lr)},
      {"steps", "10000", "gd, momentum: number of steps (>= 0)",
       [](RunConfig& c, const std::string& o, const std::string& v) { c.steps = parse_integer(o, v); }},
      {"momentum", "0.9", "momentum: heavy-ball coefficient beta in [0, 1)", optional_real(&RunConfig::momentum)},
      {"grad-tol", "0", "stop as converged when ||grad F|| <= this (>= 0; 0 = never)", real(&RunConfig::grad_tol)},
      {"checkpoints", "log", "log | linear spacing of the checkpoints",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.checkpoints = parse_enum<Spacing>(o, v, {{"log", Spacing::kLog}, {"linear", Spacing::kLinear}});
       }},
      {"num-checkpoints", "100", "about this many checkpoints, always with the first and last (>= 2)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.num_checkpoints = static_cast<int>(parse_integer(o, v));
       }},
      {"max-singular-values", "100", "report at most this many singular values (0 = all)",
       count(&RunConfig::max_singular_values)},
      {"format", "json", "json (one document) | jsonl (one line per checkpoint, streamed)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.format = parse_enum<OutputFormat>(o, v, {{"json", OutputFormat::kJson}, {"jsonl", OutputFormat::kJsonl}});
       }},
      {"out", "stdout", "write the output to this file (atomically: temp file, then rename)", text(&RunConfig::out)},
      {"save-state", "", "write the final H, W, b and labels as .npy files into this directory",
       text(&RunConfig::save_state)},
      {"quiet", "off", "no progress bar on stderr", {}, &RunConfig::quiet},
      {"check-theory", "off", "compare the final state with the closed-form prediction (exit 4 on mismatch)", {},
       &RunConfig::check_theory},
      {"theory-tol", "1e-5", "relative tolerance of --check-theory (> 0)", optional_real(&RunConfig::theory_tol)},
  };
  return specs;
}

/// What --help shows for the option's value: CHOICE, PATH, LIST or NUM.
std::string type_name(const OptionSpec& spec) {
  if (spec.help.find(" | ") != std::string::npos) return "CHOICE";
  if (spec.name == "out" || spec.name == "init-state" || spec.name == "save-state") return "PATH";
  if (spec.name == "class-counts" || spec.name == "widths" || spec.name == "lambda-layer") return "LIST";
  return "NUM";
}

std::string json_key(std::string name) {
  for (char& ch : name)
    if (ch == '-') ch = '_';
  return name;
}

struct App {
  CLI::App app{"ufm-sim run: simulate the unconstrained features model and report neural-collapse metrics", "ufm-sim"};
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> options;
  std::string config_file;
  std::map<std::string, bool> flags;

  App() {
    app.set_help_flag("-h,--help", "print this help and exit");
    app.get_formatter()->column_width(34);
    for (const OptionSpec& spec : option_specs()) {
      CLI::Option* opt = spec.set ? app.add_option("--" + spec.name, values[spec.name], spec.help)
                                  : app.add_flag("--" + spec.name, flags[spec.name], spec.help);
      opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      if (spec.set) opt->default_str(spec.default_str)->type_name(type_name(spec));
      options[spec.name] = opt;
    }
    app.add_option("--config", config_file,
                   "read options from a JSON file (keys as the long names with '_', or a previous output "
                   "document); command-line options win")
        ->type_name("PATH");
  }

  void parse(std::vector<std::string> args) {
    std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
    try {
      app.parse(args);
    } catch (const CLI::CallForHelp&) {
      throw;
    } catch (const CLI::ExtrasError& e) {
      throw ConfigError(std::string(e.what()) + " (see ufm-sim --help)");
    } catch (const CLI::ParseError& e) {
      throw ConfigError(e.what());
    }
  }

  bool given(const std::string& name) const { return options.at(name)->count() > 0; }

  void apply(RunConfig& c) const {
    for (const OptionSpec& spec : option_specs()) {
      if (!given(spec.name)) continue;
      if (spec.set)
        spec.set(c, "--" + spec.name, values.at(spec.name));
      else
        c.*spec.flag = flags.at(spec.name);
    }
  }
};

/// A JSON value as the string a user would type after the option.
std::string as_argument(const std::string& key, const nlohmann::json& v, const std::string& file) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) {
    std::ostringstream s;
    s.precision(17);
    s << v.get<double>();
    return s.str();
  }
  if (v.is_array() && !v.empty()) {  // lists such as class_counts: "10,10,5"
    std::string joined;
    for (const auto& item : v) {
      if (!item.is_number() && !item.is_string()) break;
      joined += (joined.empty() ? "" : ",") + as_argument(key, item, file);
    }
    if (!joined.empty()) return joined;
  }
  throw ConfigError(file + ": key '" + key + "' has a " + v.type_name() + " value " + v.dump() +
                    ", allowed: a number, a string or a list of them");
}

/// The options a --config file gives, as command-line arguments.
std::vector<std::string> config_file_arguments(const std::string& file, const App& cli) {
  std::ifstream in(file);
  if (!in) throw ConfigError("--config", file, "a readable JSON file");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError("--config: " + file + " is not valid JSON: " + e.what());
  }
  // A previous output document: rerun its experiment, but not its output destination.
  std::set<std::string> skipped;
  if (doc.is_object() && doc.contains("ufm_sim_version") && doc.contains("config")) {
    doc = doc["config"];
    skipped = {"out", "format", "save_state", "quiet"};
  }
  if (!doc.is_object()) throw ConfigError("--config", file, "a JSON object of options");

  std::map<std::string, const OptionSpec*> by_key;
  for (const OptionSpec& spec : option_specs()) by_key[json_key(spec.name)] = &spec;
  const bool cli_sets_lambda = cli.given("lambda");
  std::vector<std::string> args;
  for (const auto& [key, value] : doc.items()) {
    const auto it = by_key.find(key);
    if (it == by_key.end()) {
      std::string allowed;
      for (const auto& [k, _] : by_key) allowed += (allowed.empty() ? "" : ", ") + k;
      throw ConfigError(file + ": unknown key '" + key + "'; allowed keys: " + allowed);
    }
    if (value.is_null() || skipped.count(key)) continue;  // null: "does not apply" in an output's config
    // --lambda on the command line replaces every per-factor decay of the file.
    if (cli_sets_lambda && (key == "lambda_w" || key == "lambda_h" || key == "lambda_b" || key == "lambda_layer"))
      continue;
    const std::string flag = "--" + it->second->name;
    if (it->second->flag) {
      if (!value.is_boolean()) throw ConfigError(file + ": key '" + key + "' must be true or false");
      if (value.get<bool>()) args.push_back(flag);
      continue;
    }
    args.push_back(flag);
    args.push_back(as_argument(key, value, file));
  }
  return args;
}

}  // namespace

ParsedRun parse_run_options(const std::vector<std::string>& args) {
  ParsedRun parsed;
  App cli;
  try {
    cli.parse(args);
  } catch (const CLI::CallForHelp&) {
    parsed.help = true;
    parsed.help_text = run_help_text();
    return parsed;
  }
  if (!cli.config_file.empty()) {
    std::vector<std::string> file_args = config_file_arguments(cli.config_file, cli);
    {  // attribute a bad value to the file before merging
      App from_file;
      from_file.parse(file_args);
      RunConfig scratch;
      try {
        from_file.apply(scratch);
      } catch (const ConfigError& e) {
        throw ConfigError(std::string(e.what()) + " (in --config " + cli.config_file + ")");
      }
    }
    file_args.insert(file_args.end(), args.begin(), args.end());
    App merged;
    merged.parse(file_args);
    merged.apply(parsed.config);
    try {
      validate(parsed.config);
    } catch (const ConfigError& e) {  // blame the file when the option came from it alone
      const std::string name = e.option().empty() ? "" : e.option().substr(2);
      if (!name.empty() && cli.options.count(name) && !cli.given(name))
        throw ConfigError(std::string(e.what()) + " (in --config " + cli.config_file + ")", e.option());
      throw;
    }
  } else {
    cli.apply(parsed.config);
  }
  return parsed;
}

std::string run_help_text() {
  App cli;
  return cli.app.help();
}

}  // namespace ufm
