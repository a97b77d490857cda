#include "ufm/config/cli.hpp"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "ufm/config/argument_check.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/config/config_file.hpp"
#include "ufm/config/number_parse.hpp"

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

double parse_double(const std::string& option, const std::string& v) { return parse_real(option, v); }

/// Bounds of the integer options: large enough for any machine, small enough that products of
/// sizes cannot overflow before the memory check (resources.hpp) refuses them.
constexpr long long kMaxSize = 1LL << 40;
constexpr long long kMaxClasses = 2147483647;  // labels are int
constexpr long long kMaxLayers = 10000;
constexpr long long kMaxCheckpoints = 1000000;

long long parse_integer(const std::string& option, const std::string& v, long long lo = 0, long long hi = kMaxSize) {
  return parse_integer_in(option, v, lo, hi);
}

/// "10,10,5" -> {10, 10, 5}.
std::vector<Index> parse_list(const std::string& option, const std::string& v) {
  const std::string allowed = "a comma-separated list of integers in [1, " + std::to_string(kMaxSize) + "]";
  std::vector<Index> list;
  std::stringstream in(v);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) throw ConfigError(option, v, allowed + " (an empty item)");
    try {
      list.push_back(parse_integer(option, item, 1, kMaxSize));
    } catch (const ConfigError&) {
      throw ConfigError(option, v, allowed + " ('" + abbreviate(item, 30) + "' is not)");
    }
  }
  if (list.empty() || v.back() == ',') throw ConfigError(option, v, allowed);
  return list;
}


Setter real(double RunConfig::*field) {
  return [field](RunConfig& c, const std::string& o, const std::string& v) { c.*field = parse_double(o, v); };
}
Setter optional_real(std::optional<double> RunConfig::*field) {
  return [field](RunConfig& c, const std::string& o, const std::string& v) { c.*field = parse_double(o, v); };
}
Setter count(Index RunConfig::*field, long long lo) {
  return [field, lo](RunConfig& c, const std::string& o, const std::string& v) { c.*field = parse_integer(o, v, lo); };
}
/// A path: never empty (an empty --out would silently mean stdout, an empty --save-state nothing).
Setter path(std::string RunConfig::*field) {
  return [field](RunConfig& c, const std::string& o, const std::string& v) {
    if (v.empty()) throw ConfigError(o, v, "a non-empty path");
    c.*field = v;
  };
}

const std::vector<OptionSpec>& option_specs() {
  static const std::vector<OptionSpec> specs = {
      {"classes", "4", "number of classes K (>= 2)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.classes = parse_integer(o, v, 2, kMaxClasses);
         c.classes_given = true;
       }},
      {"per-class", "10", "samples per class n (>= 1); N = K n",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.per_class = parse_integer(o, v, 1);
         c.per_class_given = true;
       }},
      {"layers", "1", "L >= 1: free H1, then L-1 hidden layers W_1..W_{L-1}, then the classifier W_L",
       [](RunConfig& c, const std::string& o, const std::string& v) { c.layers = parse_integer(o, v, 1, kMaxLayers); }},
      {"width", "--dim", "width of every hidden layer (--layers >= 2)",
       [](RunConfig& c, const std::string& o, const std::string& v) { c.width = parse_integer(o, v, 1); }},
      {"widths", "", "hidden widths d1,...,d_{L-1}, one per hidden layer",
       [](RunConfig& c, const std::string& o, const std::string& v) { c.widths = parse_list(o, v); }},
      {"activation", "linear", "linear | relu, between hidden layers (--layers >= 2)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.activation = parse_choice<Activation>(o, v, {{"linear", Activation::kLinear}, {"relu", Activation::kRelu}});
       }},
      {"imbalance", "", "ratio R >= 1: the first K_maj classes get n samples, the rest max(1, round(n/R))",
       optional_real(&RunConfig::imbalance)},
      {"majority-classes", "K/2", "K_maj in [1, K-1], with --imbalance",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.majority_classes = parse_integer(o, v, 1, kMaxClasses);
       }},
      {"class-counts", "", "explicit samples per class n1,n2,... (K = their number; each >= 1)",
       [](RunConfig& c, const std::string& o, const std::string& v) { c.class_counts = parse_list(o, v); }},
      {"dim", "16", "feature dimension d (>= 1)", count(&RunConfig::dim, 1)},
      {"loss", "mse", "ce | mse",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.loss = parse_choice<Loss>(o, v, {{"ce", Loss::kCrossEntropy}, {"mse", Loss::kMse}});
       }},
      {"bias", "none", "none (bias-free) | free (trained, unregularized) | reg (trained, lambda_b)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.bias = parse_choice<BiasMode>(
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
           if (eq == std::string::npos)
             throw ConfigError(o, v, "l=x pairs separated by commas, e.g. 1=1e-3,2=5e-4");
           const Index l = parse_integer(o, item.substr(0, eq), 1, kMaxLayers);
           for (const auto& [given, x] : c.lambda_layer)
             if (given == l) throw ConfigError(o, v, "each layer l at most once (" + std::to_string(l) + " is twice)");
           c.lambda_layer.emplace_back(l, parse_double(o, item.substr(eq + 1)));
         }
         if (c.lambda_layer.empty()) throw ConfigError(o, v, "l=x pairs separated by commas, e.g. 1=1e-3");
       }},
      {"lambda-b", "--lambda", "weight decay of the bias b (>= 0; --bias reg only)",
       optional_real(&RunConfig::lambda_b)},
      {"fixed-classifier", "none", "none | etf (W frozen to a simplex ETF of norm --classifier-norm; needs d >= K-1)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.fixed_classifier =
             parse_choice<FixedClassifier>(o, v, {{"none", FixedClassifier::kNone}, {"etf", FixedClassifier::kEtf}});
       }},
      {"classifier-norm", "1", "Frobenius norm of the fixed ETF classifier (> 0)",
       optional_real(&RunConfig::classifier_norm)},
      {"init-scale", "0.1", "standard deviation sigma of the Gaussian init of H, W and b (>= 0; not with --init-state)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.init_scale = parse_double(o, v);
         c.init_scale_given = true;
       }},
      {"seed", "0", "random seed in [0, 2^64-1]; same seed => bit-identical output (not with --init-state)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.seed = parse_unsigned(o, v);
         c.seed_given = true;
       }},
      {"init-state", "", "start from a directory written by --save-state (shapes must match); replaces the "
                         "random init, so --seed and --init-scale do not apply",
       path(&RunConfig::init_state)},
      {"dynamics", "flow", "flow (gradient flow ODE) | gd (gradient descent) | momentum (heavy ball)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.dynamics = parse_choice<Dynamics>(
             o, v, {{"flow", Dynamics::kFlow}, {"gd", Dynamics::kGd}, {"momentum", Dynamics::kMomentum}});
       }},
      {"integrator", "dopri5", "flow: rk4 (fixed step --dt) | dopri5 (adaptive, --abs-tol/--rel-tol); rk4 with relu",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.integrator = parse_choice<Integrator>(o, v, {{"rk4", Integrator::kRk4}, {"dopri5", Integrator::kDopri5}});
       }},
      {"dt", "0.1", "flow: rk4 step, dopri5 initial step (> 0)", optional_real(&RunConfig::dt)},
      {"abs-tol", "1e-10", "flow, dopri5: absolute error tolerance (> 0)", optional_real(&RunConfig::abs_tol)},
      {"rel-tol", "1e-10", "flow, dopri5: relative error tolerance (>= 2.22e-14)", optional_real(&RunConfig::rel_tol)},
      {"error-norm", "max", "flow, dopri5: max (odeint's) | rms (scipy solve_ivp's, MATLAB ode45's) of the per-entry "
                            "scaled errors, which the step control keeps <= 1",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.error_norm = parse_choice<ErrorNorm>(o, v, {{"max", ErrorNorm::kMax}, {"rms", ErrorNorm::kRms}});
       }},
      {"time", "2e4", "flow: integrate up to time T (> 0)", optional_real(&RunConfig::time)},
      {"max-steps", "1e8", "flow: cap on integrator steps (>= 1)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.max_steps = parse_integer(o, v, 1, kMaxRunSteps);
       }},
      {"lr", "0.1", "gd, momentum: learning rate (> 0)", optional_real(&RunConfig::lr)},
      {"steps", "10000", "gd, momentum: number of steps (>= 0)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.steps = parse_integer(o, v, 0, kMaxRunSteps);
       }},
      {"momentum", "0.9", "momentum: heavy-ball coefficient beta in [0, 1)", optional_real(&RunConfig::momentum)},
      {"grad-tol", "0", "stop as converged when ||grad F|| <= this (>= 0; 0 = never)", real(&RunConfig::grad_tol)},
      {"checkpoints", "log", "log | linear spacing of the checkpoints",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.checkpoints = parse_choice<Spacing>(o, v, {{"log", Spacing::kLog}, {"linear", Spacing::kLinear}});
       }},
      {"num-checkpoints", "100",
       "about this many checkpoints, always with the first and last (>= 2); each computes every metric, about "
       "1-5 GD steps of work (one layer with d >> K: about 10, mostly the spectrum; linear --layers >= 2 with d >> K: "
       "5-22, as the step runs end to end and a checkpoint reports every level's d x d statistics; see --no-spectra)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.num_checkpoints = static_cast<int>(parse_integer(o, v, 2, kMaxCheckpoints));
       }},
      {"max-singular-values", "100", "report at most this many singular values (0 = all)",
       count(&RunConfig::max_singular_values, 0)},
      {"format", "json", "json (one document) | jsonl (one line per checkpoint, streamed)",
       [](RunConfig& c, const std::string& o, const std::string& v) {
         c.format = parse_choice<OutputFormat>(o, v, {{"json", OutputFormat::kJson}, {"jsonl", OutputFormat::kJsonl}});
       }},
      {"out", "stdout",
       "write the output to this file (atomically: temp file, then rename; a device or FIFO is written directly)",
       path(&RunConfig::out)},
      {"save-state", "", "write the final H, W, b and labels as .npy files into this (new, empty or state) directory",
       path(&RunConfig::save_state)},
      {"quiet", "off", "no progress bar on stderr", {}, &RunConfig::quiet},
      {"no-spectra", "off",
       "skip each level's feature spectrum (singular_values, explained_variance, effective_rank, stable_rank are "
       "then absent): its d x d Gram product is most of a one-layer checkpoint's cost at large d",
       {}, &RunConfig::no_spectra},
      {"check-theory", "off", "compare the final state with the closed-form prediction (exit 4 on mismatch)", {},
       &RunConfig::check_theory},
      {"theory-tol", "1e-5", "relative tolerance of --check-theory (> 0)", optional_real(&RunConfig::theory_tol)},
  };
  return specs;
}

constexpr const char* kExitStatuses =
    "exit status: 0 done (converged, max_steps, max_time), 1 internal error, 2 bad input (nothing run or written)\n"
    "or out of memory during the run (\"out of memory at ...\"), 3 diverged (trajectory and state so far written),\n"
    "4 --check-theory mismatch, 5 an output not written (disk full, I/O error), 130/143/129 stopped by\n"
    "SIGINT/SIGTERM/SIGHUP (output written with status \"stopped\"; a second signal ends the run at once).";

const std::string kRunFooter =
    std::string("Options that do not apply to the chosen dynamics or model are errors. --init-state replaces the random\n"
                "initialization: --seed and --init-scale do not apply with it. A checkpoint computes every metric of\n"
                "the state: about 10-12 gradient steps' worth with one layer at K=10, n=500, d=512 (mostly the d x d\n"
                "Gram product and eigenvalues of the feature spectrum), about 3 at K=10, d=64, 1.5-2 at K=100, d=512,\n"
                "and about one with two ReLU layers (one core, Zen 4 and Zen 5); with two linear layers, whose step\n"
                "runs end to end, about 4.5-5 at d=64, 17-19 at d=512 and 2.9-3.2 at K=100 (one core, Intel Xeon and\n"
                "Zen 5); --no-spectra halves the one-layer cost at d=64 and takes it to 1-2 at d=512; see the\n"
                "README's 'Cost of metrics'. The output's timing says what the checkpoints and the dynamics took in\n"
                "the run itself (checkpoint_seconds, dynamics_seconds).\n\n") +
    kExitStatuses;

const std::string kTheoryFooter =
    std::string("Takes the model options only; options of the dynamics and of the output format are errors here.\n"
                "--config reads a file's model options (a run's output document works) and skips the rest.\n"
                "Where no closed form applies the output is \"prediction\": null with the reason, exit status 0.\n\n") +
    "exit status: 0 printed, 2 bad input, 5 --out not written (disk full, I/O error).";

/// The options of `ufm-sim theory`: the model, and where to write the prediction.
bool is_theory_option(const std::string& name) {
  static const std::set<std::string> names = {
      "classes", "per-class", "layers", "width", "widths", "activation", "imbalance", "majority-classes",
      "class-counts", "dim", "loss", "bias", "lambda", "lambda-w", "lambda-h", "lambda-layer", "lambda-b",
      "fixed-classifier", "classifier-norm", "out"};
  return names.count(name) > 0;
}

bool applies(const OptionSpec& spec, Command command) {
  return command == Command::kRun || is_theory_option(spec.name);
}

/// What --help shows for the option's value: CHOICE, PATH, LIST or NUM.
std::string type_name(const OptionSpec& spec) {
  if (spec.help.find(" | ") != std::string::npos) return "CHOICE";
  if (spec.name == "out" || spec.name == "init-state" || spec.name == "save-state") return "PATH";
  if (spec.name == "class-counts" || spec.name == "widths" || spec.name == "lambda-layer") return "LIST";
  return "NUM";
}

const char* command_name(Command command) { return command == Command::kRun ? "ufm-sim run" : "ufm-sim theory"; }

struct App {
  Command command;
  CLI::App app;
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> options;
  std::string config_file;
  std::map<std::string, bool> flags;
  std::vector<OptionShape> shapes;

  explicit App(Command which)
      : command(which),
        app(which == Command::kRun
                ? "ufm-sim run: simulate the unconstrained features model and report neural-collapse metrics"
                : "ufm-sim theory: the closed-form global minimizer (theory.md §5) of the model these options describe",
            command_name(which)) {
    app.set_help_flag("-h,--help", "print this help and exit");
    app.get_formatter()->column_width(34);
    for (const OptionSpec& spec : option_specs()) {
      if (!applies(spec, command)) continue;
      CLI::Option* opt = spec.set ? app.add_option("--" + spec.name, values[spec.name], spec.help)
                                  : app.add_flag("--" + spec.name, flags[spec.name], spec.help);
      opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      if (spec.set) opt->default_str(spec.default_str)->type_name(type_name(spec));
      options[spec.name] = opt;
      shapes.push_back({spec.name, static_cast<bool>(spec.set), false});
    }
    app.add_option("--config", config_file,
                   "read options from a JSON file (keys as the long names with '_', or a previous output "
                   "document); command-line options win")
        ->type_name("PATH");
    shapes.push_back({"config", true, true});
    app.footer(which == Command::kRun ? kRunFooter : kTheoryFooter);
  }

  /// Throws ConfigError; CLI::CallForHelp passes through. `checked`: the arguments come from a user
  /// (generated config-file arguments are known to be well formed).
  void parse(std::vector<std::string> args, bool checked = true) {
    if (checked) {
      try {
        check_arguments(args, shapes, command_name(command));
      } catch (const ConfigError& e) {
        // An option of `run` given to `theory`: say that, not "unknown".
        const std::string name = e.option().size() > 2 ? e.option().substr(2) : "";
        if (command == Command::kTheory && !name.empty() && name != "config" && is_run_option(name))
          throw ConfigError("--" + name + ": does not apply to `ufm-sim theory`, which takes the model options only "
                                "(see ufm-sim theory --help)",
                            "--" + name);
        throw;
      }
    }
    std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
    try {
      app.parse(args);
    } catch (const CLI::CallForHelp&) {
      throw;
    } catch (const CLI::ParseError& e) {
      throw ConfigError(std::string(command_name(command)) + ": " + e.what() + " (see " + command_name(command) +
                        " --help)");
    }
  }

  static bool is_run_option(const std::string& name) {
    for (const OptionSpec& spec : option_specs())
      if (spec.name == name) return true;
    return false;
  }

  bool given(const std::string& name) const { return options.count(name) && options.at(name)->count() > 0; }

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

/// The options a --config file gives, as command-line arguments.
std::vector<std::string> config_file_arguments(const std::string& file, const App& cli) {
  bool is_output = false;
  const nlohmann::json doc = config_object(read_config_document(file), file, is_output, {"run", "theory"});
  // A previous output document: rerun its experiment, but not its output destination.
  std::set<std::string> skipped;
  if (is_output) skipped = {"out", "format", "save_state", "quiet"};

  std::map<std::string, const OptionSpec*> by_key;
  for (const OptionSpec& spec : option_specs()) by_key[json_key(spec.name)] = &spec;
  const bool cli_sets_lambda = cli.given("lambda");
  // --init-state on the command line replaces the file's random initialization.
  if (cli.given("init-state")) skipped.insert({"seed", "init_scale"});
  std::vector<std::string> args;
  for (const auto& [key, value] : doc.items()) {
    const auto it = by_key.find(key);
    if (it == by_key.end()) {
      std::vector<std::string> keys;
      for (const auto& [k, _] : by_key) keys.push_back(k);
      throw unknown_config_key(file, key, keys, "ufm-sim");
    }
    if (value.is_null() || skipped.count(key)) continue;  // null: "does not apply" in an output's config
    // theory reads the model part of a run's config; the rest describes how to simulate it.
    if (!applies(*it->second, cli.command)) continue;
    // --lambda on the command line replaces every per-factor decay of the file.
    if (cli_sets_lambda && (key == "lambda_w" || key == "lambda_h" || key == "lambda_b" || key == "lambda_layer"))
      continue;
    const std::string flag = "--" + it->second->name;
    if (it->second->flag) {
      if (!value.is_boolean()) throw ConfigError(file + ": key '" + key + "' must be true or false", "--config");
      if (value.get<bool>()) args.push_back(flag);
      continue;
    }
    args.push_back(flag);
    args.push_back(as_argument(key, value, file));
  }
  return args;
}

/// The calling thread's App of the command, built on its first use. Building one (its hundred
/// options, each checked against those added before it) was 60% of resolving a sweep point, which
/// parses every point's options: a grid of 10^4 points took 1.4 s to resolve. CLI11 clears an App's
/// results when a parse starts; the variables its options write keep their last values, but apply()
/// reads only the options given to this parse, and the --config path is cleared here.
App& reusable_app(Command command) {
  thread_local std::unique_ptr<App> apps[2];
  std::unique_ptr<App>& app = apps[command == Command::kRun ? 0 : 1];
  if (!app) app = std::make_unique<App>(command);
  app->config_file.clear();
  return *app;
}

}  // namespace

ParsedRun parse_run_options(const std::vector<std::string>& args, Command command) {
  ParsedRun parsed;
  App& cli = reusable_app(command);
  try {
    cli.parse(args);
  } catch (const CLI::CallForHelp&) {
    parsed.help = true;
    parsed.help_text = help_text(command);
    return parsed;
  }
  if (!cli.config_file.empty() || std::find(args.begin(), args.end(), "--config") != args.end()) {
    if (cli.config_file.empty()) throw ConfigError("--config", "", "a non-empty path");
    std::vector<std::string> file_args = config_file_arguments(cli.config_file, cli);
    {  // attribute a bad value to the file before merging
      App from_file(command);
      RunConfig scratch;
      try {
        from_file.parse(file_args, false);
        from_file.apply(scratch);
      } catch (const ConfigError& e) {
        throw ConfigError(std::string(e.what()) + " (in --config " + cli.config_file + ")", e.option());
      }
    }
    file_args.insert(file_args.end(), args.begin(), args.end());
    App merged(command);
    merged.parse(file_args, false);
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

std::string help_text(Command command) {
  App cli(command);
  return cli.app.help();
}

std::string run_help_text() { return help_text(Command::kRun); }

}  // namespace ufm
