#include "ufm/config/net_config.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "ufm/config/argument_check.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/config/config_file.hpp"
#include "ufm/config/number_parse.hpp"
#include "ufm/config/resources.hpp"

namespace ufm {
namespace {

constexpr long long kSizeCap = 1LL << 40;

using NetSetter = std::function<void(NetConfig&, const std::string& option, const std::string& value)>;

struct NetOption {
  std::string name, type, default_str, help;
  NetSetter set;  ///< empty for flags
  bool NetConfig::*flag = nullptr;
  bool synthetic_only = false;
};

std::vector<Index> parse_widths(const std::string& o, const std::string& v) {
  const std::string allowed = "a comma-separated list of hidden widths in [1, 2^40], e.g. 512,512";
  std::vector<Index> w;
  std::stringstream in(v);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      w.push_back(parse_integer_in(o, item, 1, kSizeCap));
    } catch (const ConfigError&) {
      throw ConfigError(o, v, allowed);
    }
  }
  if (w.empty() || v.back() == ',') throw ConfigError(o, v, allowed);
  return w;
}


NetSetter positive_real(std::optional<double> NetConfig::*field) {
  return [field](NetConfig& c, const std::string& o, const std::string& v) {
    const double x = parse_real(o, v, "a finite number > 0");
    if (!(x > 0)) throw ConfigError(o, v, "a finite number > 0");
    c.*field = x;
  };
}

NetSetter non_empty_path(std::string NetConfig::*field) {
  return [field](NetConfig& c, const std::string& o, const std::string& v) {
    if (v.empty()) throw ConfigError(o, v, "a non-empty path");
    c.*field = v;
  };
}

const std::vector<NetOption>& net_options() {
  using C = NetConfig;
  static const std::vector<NetOption> options = {
      {"data", "SOURCE", "synthetic",
       "fashion-mnist | idx:DIR | cifar10:DIR | csv:FILE | synthetic (a seeded Gaussian mixture)",
       [](C& c, const std::string& o, const std::string& v) {
         if (v.empty()) throw ConfigError(o, v, "fashion-mnist | idx:DIR | cifar10:DIR | csv:FILE | synthetic");
         c.data = v;
       }},
      {"label-column", "COLUMN", "-1", "csv: the label column, an index (negative from the end) or a header name",
       [](C& c, const std::string& o, const std::string& v) {
         if (v.empty()) throw ConfigError(o, v, "an index or a header name");
         c.label_column = v;
       }},
      {"classes", "NUM", "4", "synthetic: number of classes K (>= 2)",
       [](C& c, const std::string& o, const std::string& v) { c.classes = parse_integer_in(o, v, 2, 255); }, nullptr,
       true},
      {"per-class", "NUM", "100", "synthetic: training samples per class",
       [](C& c, const std::string& o, const std::string& v) { c.per_class = parse_integer_in(o, v, 1, kSizeCap); },
       nullptr, true},
      {"test-per-class", "NUM", "100", "synthetic: test samples per class (0: no test split)",
       [](C& c, const std::string& o, const std::string& v) { c.test_per_class = parse_integer_in(o, v, 0, kSizeCap); },
       nullptr, true},
      {"input-dim", "NUM", "16", "synthetic: input dimension",
       [](C& c, const std::string& o, const std::string& v) { c.input_dim = parse_integer_in(o, v, 1, kSizeCap); },
       nullptr, true},
      {"separation", "NUM", "3", "synthetic: norm of every class mean (samples are mean + N(0, I))",
       [](C& c, const std::string& o, const std::string& v) {
         c.separation = parse_real(o, v, "a finite number >= 0");
         if (c.separation < 0) throw ConfigError(o, v, "a finite number >= 0");
       },
       nullptr, true},
      {"train-per-class", "NUM", "all", "a balanced, seeded subset of the training set, n per class",
       [](C& c, const std::string& o, const std::string& v) { c.train_per_class = parse_integer_in(o, v, 1, kSizeCap); }},
      {"standardize", "", "off", "standardize every input feature with the training set's mean and std", {},
       &C::standardize},
      {"widths", "LIST", "512,512", "hidden widths d1,...,d_{L-1} (the network has L = their number + 1 layers)",
       [](C& c, const std::string& o, const std::string& v) { c.widths = parse_widths(o, v); }},
      {"activation", "CHOICE", "relu", "relu | linear (a deep linear network)",
       [](C& c, const std::string& o, const std::string& v) {
         c.activation = parse_choice<Activation>(o, v, {{"relu", Activation::kRelu}, {"linear", Activation::kLinear}});
       }},
      {"last-bias", "", "off", "a bias on the output layer only (the network is then no longer homogeneous)", {},
       &C::last_bias},
      {"init", "CHOICE", "kaiming", "kaiming (W_l ~ N(0, 2/d_{l-1})) | gaussian (N(0, --init-scale^2))",
       [](C& c, const std::string& o, const std::string& v) {
         c.init = parse_choice<NetInit>(o, v, {{"kaiming", NetInit::kKaiming}, {"gaussian", NetInit::kGaussian}});
       }},
      {"init-scale", "NUM", "0.1", "--init gaussian: the standard deviation (>= 0)",
       [](C& c, const std::string& o, const std::string& v) {
         c.init_scale = parse_real(o, v, "a finite number >= 0");
         if (*c.init_scale < 0) throw ConfigError(o, v, "a finite number >= 0");
       }},
      {"loss", "CHOICE", "mse", "mse (1/2 ||z - e_y||^2) | ce",
       [](C& c, const std::string& o, const std::string& v) {
         c.loss = parse_choice<Loss>(o, v, {{"mse", Loss::kMse}, {"ce", Loss::kCrossEntropy}});
       }},
      {"lambda", "NUM", "5e-4", "weight decay of every layer (>= 0): (lambda/2)||W_l||^2 in the objective",
       [](C& c, const std::string& o, const std::string& v) {
         c.lambda = parse_real(o, v, "a finite number >= 0");
         if (c.lambda < 0) throw ConfigError(o, v, "a finite number >= 0");
       }},
      {"lambda-layer", "LIST", "--lambda", "per-layer decays l=x,... with l in 1..L (L = the output layer)",
       [](C& c, const std::string& o, const std::string& v) {
         c.lambda_layer.clear();
         std::stringstream in(v);
         for (std::string item; std::getline(in, item, ',');) {
           const auto eq = item.find('=');
           if (eq == std::string::npos) throw ConfigError(o, v, "l=x pairs separated by commas, e.g. 1=1e-3");
           const double x = parse_real(o, item.substr(eq + 1), "l=x with x >= 0");
           if (x < 0) throw ConfigError(o, v, "l=x with x >= 0");
           const Index l = parse_integer_in(o, item.substr(0, eq), 1, 100000);
           for (const auto& [given, _] : c.lambda_layer)
             if (given == l) throw ConfigError(o, v, "each layer l at most once (" + std::to_string(l) + " is twice)");
           c.lambda_layer.emplace_back(l, x);
         }
         if (c.lambda_layer.empty()) throw ConfigError(o, v, "l=x pairs separated by commas");
       }},
      {"lambda-b", "NUM", "--lambda", "--last-bias: weight decay of the bias (>= 0)",
       [](C& c, const std::string& o, const std::string& v) {
         c.lambda_b = parse_real(o, v, "a finite number >= 0");
         if (*c.lambda_b < 0) throw ConfigError(o, v, "a finite number >= 0");
       }},
      {"batch-size", "NUM", "128", "minibatch size (>= 1), or full: the whole set with --dynamics gd|momentum|flow",
       [](C& c, const std::string& o, const std::string& v) {
         if (v == "full") {
           c.full_batch = true;
           c.batch_size = 0;
           return;
         }
         try {
           c.batch_size = parse_integer_in(o, v, 1, kSizeCap);
         } catch (const ConfigError&) {
           throw ConfigError(o, v, "an integer in [1, 2^40] or full");
         }
         c.full_batch = false;
       }},
      {"lr", "NUM", "0.01", "learning rate (> 0); with --lr-schedule the initial one",
       [](C& c, const std::string& o, const std::string& v) {
         c.lr = parse_real(o, v, "a finite number > 0");
         if (c.lr <= 0) throw ConfigError(o, v, "a finite number > 0");
       }},
      {"momentum", "NUM", "0.9", "heavy-ball momentum beta in [0, 1): v <- beta v + g, theta <- theta - lr v",
       [](C& c, const std::string& o, const std::string& v) {
         c.momentum = parse_real(o, v, "a number in [0, 1)");
         if (!(c.momentum >= 0 && c.momentum < 1)) throw ConfigError(o, v, "a number in [0, 1)");
       }},
      {"epochs", "NUM", "10", "passes over the training set (full batch: steps)",
       [](C& c, const std::string& o, const std::string& v) { c.epochs = parse_integer_in(o, v, 0, 1000000000); }},
      {"lr-schedule", "SCHEDULE", "constant", "constant | step:E1,E2:gamma | cosine (minibatch training)",
       [](C& c, const std::string& o, const std::string& v) { c.lr_schedule = parse_lr_schedule(o, v); }},
      {"dynamics", "CHOICE", "momentum",
       "--batch-size full: gd | momentum (--epochs full-batch steps) | flow (gradient flow up to --time)",
       [](C& c, const std::string& o, const std::string& v) {
         c.dynamics = parse_choice<Dynamics>(
             o, v, {{"gd", Dynamics::kGd}, {"momentum", Dynamics::kMomentum}, {"flow", Dynamics::kFlow}});
       }},
      {"integrator", "CHOICE", "rk4", "flow: rk4 (fixed step --dt) | dopri5 (adaptive, --abs-tol/--rel-tol)",
       [](C& c, const std::string& o, const std::string& v) {
         c.integrator = parse_choice<Integrator>(o, v, {{"rk4", Integrator::kRk4}, {"dopri5", Integrator::kDopri5}});
       }},
      {"dt", "NUM", "0.01", "flow: rk4 step, dopri5 initial step (> 0)", positive_real(&C::dt)},
      {"time", "NUM", "10", "flow: integrate up to time T (> 0)", positive_real(&C::time)},
      {"abs-tol", "NUM", "1e-8", "flow, dopri5: absolute error tolerance (> 0)", positive_real(&C::abs_tol)},
      {"rel-tol", "NUM", "1e-8", "flow, dopri5: relative error tolerance (>= 2.22e-14)", positive_real(&C::rel_tol)},
      {"error-norm", "CHOICE", "max", "flow, dopri5: max | rms of the per-entry scaled errors (as ufm-sim run's)",
       [](C& c, const std::string& o, const std::string& v) {
         c.error_norm = parse_choice<ErrorNorm>(o, v, {{"max", ErrorNorm::kMax}, {"rms", ErrorNorm::kRms}});
       }},
      {"seed", "NUM", "0", "seed of the init, the shuffles, the subsets and synthetic data; in [0, 2^64-1]",
       [](C& c, const std::string& o, const std::string& v) { c.seed = parse_unsigned(o, v); }},
      {"init-state", "DIR", "none",
       "start from the network saved in DIR by --save-state (its weights; the momentum and schedule restart)",
       non_empty_path(&C::init_state)},
      {"metric-samples", "NUM", "2000",
       "checkpoint metrics on a balanced, seeded subset of this many training (and test) samples",
       [](C& c, const std::string& o, const std::string& v) { c.metric_samples = parse_integer_in(o, v, 2, 1000000); }},
      {"num-checkpoints", "NUM", "30", "about this many log-spaced checkpoints (finer in the first epoch), in [2, 1e6]",
       [](C& c, const std::string& o, const std::string& v) {
         c.num_checkpoints = static_cast<int>(parse_integer_in(o, v, 2, 1000000));
       }},
      {"max-singular-values", "NUM", "100", "report at most this many singular values (0 = all)",
       [](C& c, const std::string& o, const std::string& v) { c.max_singular_values = parse_integer_in(o, v, 0, kSizeCap); }},
      {"format", "CHOICE", "json", "json | jsonl",
       [](C& c, const std::string& o, const std::string& v) {
         c.format = parse_choice<OutputFormat>(o, v, {{"json", OutputFormat::kJson}, {"jsonl", OutputFormat::kJsonl}});
       }},
      {"out", "PATH", "stdout", "write the output here (atomically; a device or FIFO is written directly)",
       [](C& c, const std::string& o, const std::string& v) {
         if (v.empty()) throw ConfigError(o, v, "a non-empty path");
         c.out = v;
       }},
      {"save-state", "DIR", "none",
       "at the end: the weights (net_W1.npy ..., W.npy = W_L) and the training evaluation samples' "
       "penultimate features (H.npy, labels.npy), for `ufm-sim run --init-state DIR`",
       non_empty_path(&C::save_state)},
      {"quiet", "", "off", "no progress bar on stderr", {}, &C::quiet},
  };
  return options;
}

const NetOption* find_option(const std::string& name) {
  for (const NetOption& o : net_options())
    if (o.name == name) return &o;
  return nullptr;
}

/// Applies `args` (already checked) to c, recording what was given.
void apply_arguments(const std::vector<std::string>& args, NetConfig& c) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const std::size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (name == "config") {
      if (eq == std::string::npos) ++i;
      continue;
    }
    const NetOption* o = find_option(name);
    if (!o) continue;
    c.given.push_back(name);
    if (!o->set) {
      c.*(o->flag) = true;
      continue;
    }
    const std::string value = eq == std::string::npos ? args[++i] : arg.substr(eq + 1);
    o->set(c, "--" + name, value);
  }
}

std::vector<OptionShape> shapes() {
  std::vector<OptionShape> s;
  for (const NetOption& o : net_options()) s.push_back({o.name, static_cast<bool>(o.set), false});
  s.push_back({"config", true, true});
  return s;
}

bool given(const NetConfig& c, const std::string& name) {
  return std::find(c.given.begin(), c.given.end(), name) != c.given.end();
}

}  // namespace

NetConfig parse_net_options(const std::vector<std::string>& args, bool& help, const std::string& command) {
  help = std::find(args.begin(), args.end(), "--help") != args.end() ||
         std::find(args.begin(), args.end(), "-h") != args.end();
  if (help) return {};
  check_arguments(args, shapes(), command);
  std::vector<std::string> merged;
  const std::optional<std::string> file = config_option(args);
  if (file) {
    const std::string& config_file = *file;
    bool is_output = false;
    const nlohmann::json doc = config_object(read_config_document(config_file), config_file, is_output, {"net"});
    const std::set<std::string> skipped = is_output ? std::set<std::string>{"out", "format", "save_state", "quiet"}
                                                    : std::set<std::string>{};
    for (const auto& [key, value] : doc.items()) {
      const NetOption* o = nullptr;
      for (const NetOption& cand : net_options())
        if (json_key(cand.name) == key) o = &cand;
      if (!o) {
        std::vector<std::string> keys;
        for (const NetOption& cand : net_options()) keys.push_back(json_key(cand.name));
        throw unknown_config_key(config_file, key, keys, command);
      }
      if (value.is_null() || skipped.count(key)) continue;
      if (!o->set) {
        if (!value.is_boolean()) throw ConfigError(config_file + ": key '" + key + "' must be true or false", "--config");
        if (value.get<bool>()) merged.push_back("--" + o->name);
        continue;
      }
      merged.push_back("--" + o->name);
      merged.push_back(as_argument(key, value, config_file));
    }
  }
  merged.insert(merged.end(), args.begin(), args.end());
  NetConfig c;
  try {
    apply_arguments(merged, c);
  } catch (const ConfigError& e) {
    throw ConfigError(std::string(e.what()) + (file ? " (or in --config " + *file + ")" : ""), e.option());
  }
  validate(c);
  return c;
}

std::vector<double> layer_decays(const NetConfig& c) {
  std::vector<double> decays(c.widths.size() + 1, c.lambda);
  for (const auto& [l, x] : c.lambda_layer) decays[static_cast<std::size_t>(l - 1)] = x;
  return decays;
}

void validate(const NetConfig& c) {
  const bool synthetic = c.data == "synthetic";
  for (const NetOption& o : net_options())
    if (o.synthetic_only && !synthetic && given(c, o.name))
      throw ConfigError("--" + o.name + ": applies only with --data synthetic (the data set fixes it)", "--" + o.name);
  if (given(c, "label-column") && c.data.rfind("csv:", 0) != 0)
    throw ConfigError("--label-column: applies only with --data csv:FILE", "--label-column");
  if (c.init_scale && c.init != NetInit::kGaussian)
    throw ConfigError("--init-scale: applies only with --init gaussian (kaiming sets the scale per layer)",
                      "--init-scale");
  if (c.lambda_b && !c.last_bias) throw ConfigError("--lambda-b: applies only with --last-bias", "--lambda-b");
  const Index L = static_cast<Index>(c.widths.size()) + 1;
  for (const auto& [l, x] : c.lambda_layer)
    if (l > L)
      throw ConfigError("--lambda-layer", std::to_string(l) + "=" + format_number(x),
                        "l=x with l in [1, L] = [1, " + std::to_string(L) + "] (L = the output layer)");
  const bool flow = c.full_batch && c.dynamics == Dynamics::kFlow;
  for (const char* name : {"integrator", "dt", "time", "abs-tol", "rel-tol", "error-norm"})
    if (!flow && given(c, name))
      throw ConfigError(std::string("--") + name + ": applies only with --batch-size full --dynamics flow",
                        std::string("--") + name);
  if (flow) {
    for (const char* name : {"epochs", "lr", "momentum"})
      if (given(c, name))
        throw ConfigError(std::string("--") + name + ": does not apply to --dynamics flow (it integrates up to --time)",
                          std::string("--") + name);
    if (c.integrator.value_or(NetDefaults::kIntegrator) == Integrator::kRk4) {
      check_flow_step_count(c.time.value_or(NetDefaults::kTime), c.dt.value_or(NetDefaults::kDt));
      for (const char* name : {"abs-tol", "rel-tol", "error-norm"})
        if (given(c, name))
          throw ConfigError(std::string("--") + name + ": applies only to --integrator dopri5 (rk4 takes fixed --dt steps)",
                            std::string("--") + name);
    }
    if (c.rel_tol) check_rel_tol("--rel-tol", *c.rel_tol);
  }
  if (!c.init_state.empty())
    for (const char* name : {"init", "init-scale"})
      if (given(c, name))
        throw ConfigError(std::string("--") + name + ": does not apply with --init-state (the state gives the weights)",
                          std::string("--") + name);
  if (c.full_batch) {
    if (given(c, "lr-schedule"))
      throw ConfigError("--lr-schedule: applies only to minibatch training, not --batch-size full", "--lr-schedule");
    if (c.dynamics == Dynamics::kGd && given(c, "momentum"))
      throw ConfigError("--momentum: applies only to --dynamics momentum, not gd", "--momentum");
  } else if (c.dynamics) {
    throw ConfigError("--dynamics: applies only with --batch-size full (minibatches use SGD with --momentum)",
                      "--dynamics");
  }
  if (synthetic && c.metric_samples < c.classes)
    throw ConfigError("--metric-samples", std::to_string(c.metric_samples), "at least one per class (>= K)");
  if (synthetic) {  // the data set is made here: its size must fit (the real sets have a known size)
    const long double bytes = 8.0L * static_cast<long double>(c.input_dim) * static_cast<long double>(c.classes) *
                              (static_cast<long double>(c.per_class) + static_cast<long double>(c.test_per_class));
    const std::uint64_t available = available_memory_bytes();
    if (bytes > static_cast<long double>(available)) {
      const char* worst = c.input_dim >= c.per_class ? "--input-dim" : "--per-class";
      throw ConfigError(std::string(worst) + ": the synthetic data set would need " + human_bytes(bytes) + " and " +
                            human_bytes(static_cast<long double>(available)) + " is available",
                        worst);
    }
  }
}

nlohmann::ordered_json to_json(const NetConfig& c) {
  const bool synthetic = c.data == "synthetic";
  const auto or_null = [](bool applies, auto value) -> nlohmann::ordered_json {
    return applies ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
  };
  nlohmann::ordered_json j;
  j["data"] = c.data;
  j["label_column"] = or_null(c.data.rfind("csv:", 0) == 0, c.label_column);
  j["classes"] = or_null(synthetic, c.classes);
  j["per_class"] = or_null(synthetic, c.per_class);
  j["test_per_class"] = or_null(synthetic, c.test_per_class);
  j["input_dim"] = or_null(synthetic, c.input_dim);
  j["separation"] = or_null(synthetic, c.separation);
  j["train_per_class"] = or_null(c.train_per_class.has_value(), c.train_per_class.value_or(0));
  j["standardize"] = c.standardize;
  j["widths"] = c.widths;
  j["activation"] = c.activation == Activation::kRelu ? "relu" : "linear";
  j["last_bias"] = c.last_bias;
  const bool random_init = c.init_state.empty();
  j["init"] = or_null(random_init, c.init == NetInit::kKaiming ? "kaiming" : "gaussian");
  j["init_scale"] = or_null(random_init && c.init == NetInit::kGaussian, c.init_scale.value_or(0.1));
  j["init_state"] = or_null(!random_init, c.init_state);
  j["loss"] = c.loss == Loss::kMse ? "mse" : "ce";
  j["lambda"] = c.lambda;
  nlohmann::ordered_json per_layer = nlohmann::ordered_json::array();
  const std::vector<double> decays = layer_decays(c);
  for (std::size_t l = 0; l < decays.size(); ++l) per_layer.push_back(std::to_string(l + 1) + "=" + format_number(decays[l]));
  j["lambda_layer"] = per_layer;
  j["lambda_b"] = or_null(c.last_bias, c.lambda_b.value_or(c.lambda));
  j["batch_size"] = c.full_batch ? nlohmann::ordered_json("full") : nlohmann::ordered_json(c.batch_size.value_or(128));
  const bool momentum = !c.full_batch || c.dynamics.value_or(Dynamics::kMomentum) == Dynamics::kMomentum;
  const bool flow = c.full_batch && c.dynamics == Dynamics::kFlow;
  const Integrator integrator = c.integrator.value_or(NetDefaults::kIntegrator);
  j["dynamics"] = or_null(c.full_batch, std::string(to_string(c.dynamics.value_or(Dynamics::kMomentum))));
  j["lr"] = or_null(!flow, c.lr);
  j["momentum"] = or_null(momentum, c.momentum);
  j["epochs"] = or_null(!flow, c.epochs);
  j["integrator"] = or_null(flow, std::string(to_string(integrator)));
  j["dt"] = or_null(flow, c.dt.value_or(NetDefaults::kDt));
  j["time"] = or_null(flow, c.time.value_or(NetDefaults::kTime));
  j["abs_tol"] = or_null(flow && integrator == Integrator::kDopri5, c.abs_tol.value_or(NetDefaults::kAbsTol));
  j["rel_tol"] = or_null(flow && integrator == Integrator::kDopri5, c.rel_tol.value_or(NetDefaults::kRelTol));
  // Only when rms, as in run's config: configs from before the option existed stay the same.
  if (flow && integrator == Integrator::kDopri5 && c.error_norm.value_or(ErrorNorm::kMax) == ErrorNorm::kRms)
    j["error_norm"] = "rms";
  j["lr_schedule"] = or_null(!c.full_batch, c.lr_schedule.to_string());
  j["seed"] = c.seed;
  j["metric_samples"] = c.metric_samples;
  j["num_checkpoints"] = c.num_checkpoints;
  j["max_singular_values"] = c.max_singular_values;
  j["format"] = c.format == OutputFormat::kJson ? "json" : "jsonl";
  j["out"] = or_null(!c.out.empty(), c.out);
  j["save_state"] = or_null(!c.save_state.empty(), c.save_state);
  j["quiet"] = c.quiet;
  return j;
}

std::string net_help_text() {
  std::ostringstream s;
  s << "ufm-sim net: train a bias-free (homogeneous) ReLU network on data and report neural-collapse metrics\n"
       "of every hidden layer over training (theory.md §1, §4)\n\nusage: ufm-sim net [options]\n\noptions:\n";
  for (const NetOption& o : net_options()) {
    std::string left = "  --" + o.name + (o.type.empty() ? "" : " " + o.type);
    left.resize(std::max<std::size_t>(left.size() + 1, 32), ' ');
    s << left << o.help << " [" << o.default_str << "]\n";
  }
  s << "  --config PATH                 options from a JSON file (keys as the long names with '_'); the command\n"
       "                                line wins\n  -h, --help                    this help\n\n"
       "Checkpoint metrics (every hidden layer on --metric-samples training and test samples) cost a forward\n"
       "pass over those samples and one spectrum per layer; the output's timing says what they took\n"
       "(checkpoint_seconds) beside the training (dynamics_seconds).\n\n"
       "exit status: 0 done, 1 internal error, 2 bad input or data file (nothing run or written) or out of memory\n"
       "during the run, 3 diverged\n"
       "(output so far written), 5 an output not written (disk full, I/O error), 130/143/129 stopped by\n"
       "SIGINT/SIGTERM/SIGHUP (output written, status \"stopped\").\n";
  return s.str();
}

}  // namespace ufm
