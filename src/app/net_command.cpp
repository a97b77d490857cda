#include "ufm/app/net_command.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>

#include "ufm/app/environment.hpp"
#include "ufm/app/exit_status.hpp"
#include "ufm/app/interrupt.hpp"
#include "ufm/app/net_report.hpp"
#include "ufm/app/progress_bar.hpp"
#include "ufm/app/trajectory_writer.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/config/net_config.hpp"
#include "ufm/config/resources.hpp"
#include "ufm/data/data_error.hpp"
#include "ufm/data/source.hpp"
#include "ufm/data/subsets.hpp"
#include "ufm/data/transforms.hpp"
#include "ufm/dynamics/gradient_descent.hpp"
#include "ufm/dynamics/minibatch_sgd.hpp"
#include "ufm/dynamics/schedule.hpp"
#include "ufm/io/atomic_file.hpp"
#include "ufm/objectives/network_objective.hpp"
#include "ufm/version.hpp"

namespace ufm {
namespace {

/// The data the config names, scaled, subset and standardized as asked. Throws data::DataError.
data::DataSplit load(const NetConfig& c) {
  data::DataSourceOptions so;
  so.label_column = c.label_column;
  so.synthetic = {c.classes, c.per_class, c.input_dim, c.separation, c.seed, c.test_per_class};
  data::DataSplit split = data::load_data(c.data, so);
  if (split.train.raw_bytes) data::scale_pixels(split);
  if (c.train_per_class) split.train = data::balanced_subset(split.train, *c.train_per_class, c.seed);
  if (c.standardize) data::standardize(split);
  return split;
}

/// A balanced evaluation subset: metric_samples / K per class, at most the smallest class.
std::vector<Index> evaluation_subset(const data::Dataset& ds, Index metric_samples, std::uint64_t seed) {
  const std::vector<Index> counts = data::class_counts(ds.labels, ds.K);
  Index per_class = std::max<Index>(1, metric_samples / ds.K);
  for (Index n : counts) per_class = std::min(per_class, n);
  return data::stratified_indices(ds.labels, per_class, seed, ds.name);
}

/// Refuses, before the network is built, a model whose parameters, work buffers and checkpoint
/// metrics would not fit in memory (the data set is already loaded). Throws ConfigError naming --widths.
void require_network_memory(const NetConfig& c, Index input_dim, Index K, Index N, Index batch) {
  long double params = 0, hidden = 0, prev = static_cast<long double>(input_dim);
  for (Index w : c.widths) params += prev * static_cast<long double>(w), hidden += w, prev = static_cast<long double>(w);
  params += prev * static_cast<long double>(K) + K;
  const long double capacity = std::max<long double>(batch, std::min<long double>(N, 4096));
  const long double evaluation = 2.0L * static_cast<long double>(c.metric_samples);
  const long double bytes = 8.0L * (6 * params + capacity * (4 * hidden + 2 * K + input_dim) +
                                    evaluation * (2 * hidden + input_dim) + 4 * prev * prev);
  const std::uint64_t available = available_memory_bytes();
  if (bytes > static_cast<long double>(available))
    throw ConfigError("--widths: the network would need about " + human_bytes(bytes) + " of memory and " +
                          human_bytes(static_cast<long double>(available)) + " is available; allowed: widths that fit",
                      "--widths");
}

std::string short_number(double x) {
  std::ostringstream s;
  s.precision(3);
  s << x;
  return s.str();
}

}  // namespace

int net_command(const std::vector<std::string>& args) {
  const auto start = std::chrono::steady_clock::now();
  NetConfig c;
  data::DataSplit split;
  std::unique_ptr<TrajectoryWriter> writer;
  try {
    bool help = false;
    c = parse_net_options(args, help);
    if (help) {
      std::cout << net_help_text();
      return kExitOk;
    }
    if (!c.out.empty()) {
      try {
        io::check_writable(c.out);
      } catch (const io::IoError& e) {
        throw ConfigError(std::string("--out: ") + e.what(), "--out");
      }
    }
    try {
      split = load(c);
    } catch (const data::DataError& e) {
      throw ConfigError(std::string("--data: ") + e.what(), "--data");
    }
    const Index n_train = split.train.size();
    require_network_memory(c, split.train.input_dim(), split.train.K, n_train,
                           c.full_batch ? n_train : std::min<Index>(c.batch_size.value_or(128), n_train));
    install_interrupt_handlers();
    writer = std::make_unique<TrajectoryWriter>(c.format, c.out);
  } catch (const ConfigError& e) {
    std::cerr << "ufm-sim net: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim net: error: --out: " << e.what() << "\n";
    return kExitBadInput;
  }

  const data::Dataset& train = split.train;
  NetworkSpec spec;
  spec.input_dim = train.input_dim();
  spec.widths = c.widths;
  spec.K = train.K;
  spec.activation = c.activation;
  spec.loss = c.loss;
  spec.last_bias = c.last_bias;
  spec.lambda_w = layer_decays(c);
  spec.lambda_b = c.last_bias ? c.lambda_b.value_or(c.lambda) : 0.0;
  const Index N = train.size();
  const Index batch = c.full_batch ? N : std::min<Index>(c.batch_size.value_or(128), N);
  const auto X = std::make_shared<const Mat>(std::move(split.train.X));
  const NetworkObjective f(spec, X, train.labels, c.full_batch ? 0 : batch);
  std::unique_ptr<NetworkObjective> f_test;
  std::vector<Index> test_eval;
  if (split.test && split.test->size() > 0) {
    test_eval = evaluation_subset(*split.test, c.metric_samples, c.seed + 2);
    const Index capacity = std::min<Index>(4096, split.test->size());
    f_test = std::make_unique<NetworkObjective>(spec, std::make_shared<const Mat>(std::move(split.test->X)),
                                                split.test->labels, capacity);
  }
  const std::vector<Index> train_eval = evaluation_subset(train, c.metric_samples, c.seed + 1);

  Vec theta;
  if (c.init == NetInit::kKaiming)
    init_kaiming(f.layout(), theta, c.seed);
  else
    init_gaussian(f.layout(), theta, c.init_scale.value_or(0.1), c.seed);

  nlohmann::ordered_json header;
  header["ufm_sim_version"] = kVersion;
  header["command"] = "net";
  header["config"] = to_json(c);
  header["seed"] = c.seed;
  std::vector<Index> dims{spec.input_dim};
  dims.insert(dims.end(), spec.widths.begin(), spec.widths.end());
  dims.push_back(spec.K);
  header["model"] = {{"K", spec.K},
                     {"input_dim", spec.input_dim},
                     {"layers", spec.layers()},
                     {"dims", dims},
                     {"N", N},
                     {"N_test", f_test ? f_test->num_samples() : 0},
                     {"class_counts", data::class_counts(train.labels, train.K)},
                     {"data", train.name},
                     {"evaluation_samples", train_eval.size()},
                     {"test_evaluation_samples", test_eval.size()},
                     {"num_params", f.num_params()}};
  header["environment"] = environment_json();
  writer->header(header);

  const MetricOptions metric_options{c.max_singular_values};
  const bool progress = !c.quiet && stderr_is_terminal();
  ProgressBar bar(progress);
  const long per_epoch = c.full_batch ? 1 : MinibatchSgd::batches_per_epoch(N, batch);
  const long total = per_epoch * c.epochs;
  std::vector<Mat> levels;
  nlohmann::ordered_json final;
  auto observe = [&](const Checkpoint& cp) {
    nlohmann::ordered_json j;
    j["step"] = cp.step;
    j["epoch"] = static_cast<double>(cp.step) / static_cast<double>(per_epoch);
    j[c.full_batch ? "full_objective" : "batch_objective"] = cp.value;
    j["grad_norm"] = cp.grad_norm;
    nlohmann::ordered_json train_report = network_set_report(f, cp.theta, train_eval, metric_options, levels);
    j.update(network_penalties(f, cp.theta));
    j.update(train_report);
    j["weights"] = network_weights_report(f, cp.theta, c.max_singular_values);
    if (f_test) j["test"] = network_set_report(*f_test, cp.theta, test_eval, metric_options, levels);
    const double acc = j["accuracy"].is_number() ? j["accuracy"].get<double>() : 0.0;
    const double fraction = total > 0 ? static_cast<double>(cp.step) / static_cast<double>(total) : 1.0;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string eta = fraction > 0 ? " ETA " + short_number(elapsed * (1 - fraction) / fraction) + " s" : "";
    bar.update(fraction, "epoch " + short_number(j["epoch"].get<double>()) + " loss=" +
                             short_number(j["loss"].get<double>()) + " acc=" + short_number(acc) + eta);
    writer->checkpoint(j);
    final = std::move(j);
    return ObserverAction::kContinue;
  };

  RunSummary summary;
  const std::vector<long> steps = checkpoint_steps(total, c.num_checkpoints, Spacing::kLog);
  if (c.full_batch) {
    GradientDescent::Options o;
    o.lr = c.lr;
    o.max_steps = c.epochs;
    o.momentum = c.dynamics.value_or(Dynamics::kMomentum) == Dynamics::kMomentum ? c.momentum : 0.0;
    o.stop_request = interrupt_flag();
    summary = GradientDescent(o).run(f, theta, steps, observe);
  } else {
    MinibatchSgd::Options o;
    o.batch_size = batch;
    o.epochs = c.epochs;
    o.lr = c.lr;
    o.momentum = c.momentum;
    o.schedule = c.lr_schedule;
    o.seed = c.seed;
    o.stop_request = interrupt_flag();
    summary = MinibatchSgd(o).run(f, theta, steps, observe);
  }
  bar.done();

  nlohmann::ordered_json footer;
  footer["final"] = final;
  footer["status"] = to_string(summary.status);
  footer["message"] = summary.message;
  footer["summary"] = {{"steps", summary.steps},
                       {"epochs", static_cast<double>(summary.steps) / static_cast<double>(per_epoch)},
                       {"gradient_evaluations", summary.gradient_evaluations}};
  footer["wall_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  try {
    writer->finish(footer);
  } catch (const io::IoError& e) {
    std::cerr << "ufm-sim net: error: --out: " << e.what() << "\n";
    return kExitBadInput;
  }
  if (summary.status == RunStatus::kDiverged) {
    std::cerr << "ufm-sim net: diverged: " << summary.message << "\n";
    return kExitDiverged;
  }
  if (summary.status == RunStatus::kStopped && interrupt_requested()) {
    std::cerr << "ufm-sim net: " << summary.message << "\n";
    return exit_status_for_signal(interrupt_signal());
  }
  return kExitOk;
}

}  // namespace ufm
