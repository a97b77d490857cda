#include "ufm/app/compare_command.hpp"

#include <cctype>
#include <cstdio>
#include <iostream>
#include <set>
#include <sstream>

#include "ufm/app/environment.hpp"
#include "ufm/app/exit_status.hpp"
#include "ufm/app/interrupt.hpp"
#include "ufm/app/net_training.hpp"
#include "ufm/app/output_paths.hpp"
#include "ufm/app/progress_bar.hpp"
#include "ufm/app/simulate.hpp"
#include "ufm/app/standard_streams.hpp"
#include "ufm/app/steady_seconds.hpp"
#include "ufm/app/theory_command.hpp"
#include "ufm/config/cli.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/config/number_parse.hpp"
#include "ufm/config/resources.hpp"
#include "ufm/io/atomic_file.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/simplex_etf.hpp"
#include "ufm/version.hpp"

namespace ufm {
namespace {

using Json = nlohmann::ordered_json;

/// `run` options the network fixes: given as --ufm-NAME they are an error.
const std::set<std::string> kFixedByNetwork = {
    "classes", "per-class", "imbalance", "majority-classes", "class-counts", "dim",  "layers", "widths",
    "activation", "lambda-layer", "loss", "bias", "init-state", "out", "format", "save-state", "quiet", "config"};

struct CompareArgs {
  std::vector<std::string> net, ufm;  ///< ufm: with the --ufm- prefix taken off
  std::set<std::string> ufm_given;    ///< names of the --ufm- options given
};

/// Splits the arguments: --ufm-NAME[=VALUE] (and its value, the next argument unless that is an
/// option) go to the UFM, everything else to the network.
CompareArgs split_arguments(const std::vector<std::string>& args) {
  CompareArgs out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--ufm-", 0) != 0) {
      out.net.push_back(a);
      continue;
    }
    const std::size_t eq = a.find('=');
    const std::string name = a.substr(6, eq == std::string::npos ? std::string::npos : eq - 6);
    if (kFixedByNetwork.count(name))
      throw ConfigError("--ufm-" + name + ": set by the network (K, samples per class, d = the last width, loss, bias "
                        "and depth carry over; the output is compare's own); allowed --ufm- options: the dynamics, "
                        "the weight decays, --ufm-seed, --ufm-init-scale, the checkpoints and metrics of ufm-sim run",
                        "--ufm-" + name);
    out.ufm_given.insert(name);
    out.ufm.push_back("--" + a.substr(6));
    if (eq == std::string::npos && i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) out.ufm.push_back(args[++i]);
  }
  return out;
}

/// The UFM's options: the network's K, samples per class, d, loss and bias, its classifier's weight
/// decay as λ_W (and λ_b), λ_H = λ_W unless given, then the --ufm- options.
std::vector<std::string> ufm_arguments(const NetConfig& c, const CompareArgs& a, Index K, Index per_class) {
  const double lambda_w = layer_decays(c).back();
  std::vector<std::string> u = {"--classes", std::to_string(K), "--per-class", std::to_string(per_class),
                                "--dim", std::to_string(c.widths.back()), "--loss", c.loss == Loss::kMse ? "mse" : "ce",
                                "--bias", c.last_bias ? "reg" : "none", "--quiet"};
  const bool all = a.ufm_given.count("lambda") > 0;
  if (!all && !a.ufm_given.count("lambda-w")) u.insert(u.end(), {"--lambda-w", format_number(lambda_w)});
  if (!all && !a.ufm_given.count("lambda-h")) u.insert(u.end(), {"--lambda-h", format_number(lambda_w)});
  if (c.last_bias && !all && !a.ufm_given.count("lambda-b"))
    u.insert(u.end(), {"--lambda-b", format_number(c.lambda_b.value_or(c.lambda))});
  u.insert(u.end(), a.ufm.begin(), a.ufm.end());
  return u;
}

/// A message of the run parser with its options named as compare takes them (--time -> --ufm-time).
std::string with_ufm_prefix(const std::string& message) {
  std::string out;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const bool option = message.compare(i, 2, "--") == 0 && i + 2 < message.size() && std::islower(static_cast<unsigned char>(message[i + 2])) &&
                        (i == 0 || !std::isalnum(static_cast<unsigned char>(message[i - 1]))) &&
                        message.compare(i, 6, "--help") != 0;  // "see ufm-sim run --help" stays as it is
    if (option) {
      out += "--ufm-";
      ++i;
      continue;
    }
    out += message[i];
  }
  return out;
}

std::string help() {
  return "ufm-sim compare: train a network (ufm-sim net), then run the UFM with the same K, samples per class,\n"
         "loss, d = the last hidden width and weight decay, from a random init and from the network's own\n"
         "penultimate features and classifier; one JSON with network, ufm, ufm_from_network, theory and a table\n"
         "of final metrics side by side (also printed on stderr)\n\n"
         "usage: ufm-sim compare [net options] [--ufm-OPTION VALUE ...]\n\n"
         "  net options      as ufm-sim net --help (--format json only: compare writes one document)\n"
         "  --ufm-OPTION     any ufm-sim run option with the prefix --ufm- (e.g. --ufm-dynamics gd --ufm-steps 1e4),\n"
         "                   except those the network fixes: classes, per-class, imbalance, dim, layers, loss, bias, ...\n\n"
         "The UFM's samples: the network's balanced evaluation subset (--metric-samples / K per class); its\n"
         "weight decays: lambda_W = the network's output-layer decay, lambda_H = lambda_W (--ufm-lambda-h to\n"
         "change it), lambda_b = --lambda-b with --last-bias (then --bias reg).\n\n"
         "exit status: 0 done, 2 bad input (nothing run or written) or out of memory during a run, 3 a run\n"
         "diverged (output written), 4 --ufm-check-theory: a UFM run's final state does not match the prediction\n"
         "(output written), 5 an output not written (disk full, I/O error), 130/143/129 stopped by\n"
         "SIGINT/SIGTERM/SIGHUP (output written).\n";
}

/// The rows of the table: (key in the checkpoints, the theory prediction's key or "").
const std::vector<std::pair<const char*, const char*>> kRows = {
    {"accuracy", ""},        {"loss", ""},          {"objective", "min_value"}, {"nc1", ""},
    {"cdnv", ""},            {"equinorm_h", ""},    {"equiangle_h", ""},        {"etf_error_h", ""},
    {"equinorm_w", ""},      {"equiangle_w", ""},   {"etf_error_w", ""},        {"nc3", ""},
    {"nc4", ""},             {"eps_avg", ""},       {"eps_tilde_avg", ""},      {"sqi_avg_gap", ""},
    {"sqi_pointwise_gap", ""}, {"h_norm", "h_norm"}, {"w_norm", "w_norm"},        {"b_norm", "b_norm"}};

Json value_of(const Json& final, const char* key) {
  return final.is_object() && final.contains(key) && final[key].is_number() ? final[key] : Json(nullptr);
}

Json make_table(const Json& network, const Json& ufm, const Json& from_network, const Json& prediction) {
  Json table = Json::array();
  for (const auto& [key, theory_key] : kRows) {
    Json row;
    row["metric"] = key;
    // The network's objective has every layer's decay and no λ_H: not the UFM's F, so not shown.
    row["network"] = std::string(key) == "objective" ? Json(nullptr) : value_of(network, key);
    row["ufm"] = value_of(ufm, key);
    row["ufm_from_network"] = value_of(from_network, key);
    row["theory"] = *theory_key ? value_of(prediction, theory_key) : Json(nullptr);
    table.push_back(std::move(row));
  }
  return table;
}

std::string table_text(const Json& table) {
  auto cell = [](const Json& v) {
    if (!v.is_number()) return std::string("-");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v.get<double>());
    return std::string(buf);
  };
  std::ostringstream s;
  char line[160];
  std::snprintf(line, sizeof line, "%-18s %12s %12s %18s %12s\n", "metric", "network", "ufm", "ufm_from_network",
                "theory");
  s << line;
  for (const Json& row : table) {
    std::snprintf(line, sizeof line, "%-18s %12s %12s %18s %12s\n", row["metric"].get<std::string>().c_str(),
                  cell(row["network"]).c_str(), cell(row["ufm"]).c_str(), cell(row["ufm_from_network"]).c_str(),
                  cell(row["theory"]).c_str());
    s << line;
  }
  return s.str();
}

/// One UFM run from theta, its document kept in memory.
SimulationResult run_ufm(const ResolvedConfig& config, std::vector<int> labels, Vec theta, Json& document) {
  const DeepUfmObjective f = make_objective(config, std::move(labels));
  TrajectoryWriter writer{TrajectoryWriter::InMemory{}};
  SimulationResult r = simulate(config, f, std::move(theta), writer, false, interrupt_flag());
  document = writer.document();
  return r;
}

int exit_status_of(RunStatus status) {
  if (status == RunStatus::kDiverged) return kExitDiverged;
  if (status == RunStatus::kStopped && interrupt_requested()) return exit_status_for_signal(interrupt_signal());
  return kExitOk;
}

/// exit_status_of, and with --ufm-check-theory a mismatch of the UFM run `which` (4, said on stderr).
int exit_status_of(const SimulationResult& r, const char* which, const ResolvedConfig& config) {
  const int status = exit_status_of(r.summary.status);
  if (status != kExitOk || r.theory_pass != false) return status;
  std::cerr << "ufm-sim compare: " << which << ": the final state does not match the theory.md §5 prediction within "
            << "--ufm-theory-tol " << config.theory_tol << " (see its theory_check)\n";
  return kExitTheoryFailed;
}

}  // namespace

int compare_command(const std::vector<std::string>& args) {
  const double start = steady_seconds();
  NetConfig c;
  NetworkInputs inputs;
  ResolvedConfig ufm;
  std::vector<std::string> ufm_args;
  try {
    for (const std::string& a : args)
      if (a == "--help" || a == "-h") {
        std::cout << help();
        return kExitOk;
      }
    const CompareArgs split = split_arguments(args);
    bool unused_help = false;
    c = parse_net_options(split.net, unused_help, "ufm-sim compare");
    if (c.format != OutputFormat::kJson)
      throw ConfigError("--format", "jsonl", "json (compare writes one document)");
    if (!c.out.empty()) {
      try {
        io::check_writable(c.out);
      } catch (const io::IoError& e) {
        throw ConfigError(std::string("--out: ") + e.what(), "--out");
      }
    }
    inputs = prepare_network(c);
    const Index K = inputs.split.train.K;
    const Index per_class = evaluation_per_class(inputs.split.train, c.metric_samples);
    ufm_args = ufm_arguments(c, split, K, per_class);
    ParsedRun parsed;
    try {
      parsed = parse_run_options(ufm_args);
      validate(parsed.config);
    } catch (const ConfigError& e) {
      throw ConfigError(with_ufm_prefix(e.what()), "--ufm");
    }
    require_memory(parsed.config, estimated_run_bytes(parsed.config), "the UFM run");
    ufm = resolve(parsed.config);
    check_output_paths(c.out, c.save_state);
    install_interrupt_handlers();
  } catch (const ConfigError& e) {
    std::cerr << "ufm-sim compare: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim compare: error: " << e.what() << "\n";
    return kExitBadInput;
  }

  const bool talk = !c.quiet;
  if (talk) std::cerr << "[1/3] the network\n";
  TrajectoryWriter net_writer{TrajectoryWriter::InMemory{}};
  TrainedNetwork net = train_network(c, std::move(inputs), net_writer, talk && stderr_is_terminal(), start);
  Json doc;
  doc["ufm_sim_version"] = kVersion;
  doc["command"] = "compare";
  doc["config"] = {{"network", to_json(c)}, {"ufm", to_json(ufm)}, {"ufm_arguments", ufm_args}};
  doc["seed"] = {{"network", c.seed}, {"ufm", ufm.given.seed}};
  doc["network"] = net_writer.document();
  doc["ufm"] = nullptr;
  doc["ufm_from_network"] = nullptr;
  int status = exit_status_of(net.summary.status);
  Json ufm_final, from_network_final;
  if (net.summary.status != RunStatus::kStopped) {
    if (talk) std::cerr << "[2/3] the UFM from a random init\n";
    InitialModel init = initial_model(ufm);
    Json ufm_doc, from_doc;
    const SimulationResult a = run_ufm(ufm, std::move(init.labels), std::move(init.theta), ufm_doc);
    doc["ufm"] = std::move(ufm_doc);
    ufm_final = a.final;
    if (status == kExitOk) status = exit_status_of(a, "ufm", ufm);
    if (a.summary.status != RunStatus::kStopped) {
      if (talk) std::cerr << "[3/3] the UFM from the network's features and classifier\n";
      const DeepUfmLayout layout(deep_spec(ufm), static_cast<Index>(net.labels.size()));
      Vec theta = Vec::Zero(layout.size());
      layout.H1(theta) = net.features;
      layout.W(1, theta) = net.W;
      if (layout.has_bias) layout.b(theta) = net.b;
      if (ufm.given.fixed_classifier == FixedClassifier::kEtf)  // as from any state (initial_model)
        layout.W(1, theta) = simplex_etf_classifier(layout.K, layout.cols(1), ufm.classifier_norm);
      const SimulationResult b = run_ufm(ufm, net.labels, std::move(theta), from_doc);
      doc["ufm_from_network"] = std::move(from_doc);
      from_network_final = b.final;
      if (status == kExitOk) status = exit_status_of(b, "ufm_from_network", ufm);
    }
  }
  const Json theory = prediction_json(predict_for(ufm));
  doc["theory"] = theory;
  const Json prediction = theory.contains("prediction") ? theory["prediction"] : Json(nullptr);
  doc["table"] = make_table(net.final, ufm_final, from_network_final, prediction);
  doc["environment"] = environment_json();
  doc["wall_seconds"] = steady_seconds() - start;
  if (talk) std::cerr << table_text(doc["table"]);
  try {
    write_document(c.out, doc.dump(1) + "\n", "--out");
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim compare: error: " << e.what() << "\n";
    return kExitOutputFailed;
  }
  try {
    if (!c.save_state.empty()) save_network_state(c, net);
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim compare: error: --save-state: " << e.what() << "\n";
    return kExitOutputFailed;
  }
  return status;
}

}  // namespace ufm
