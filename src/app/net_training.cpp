#include "ufm/app/net_training.hpp"

#include <algorithm>
#include <memory>
#include <sstream>

#include "ufm/app/environment.hpp"
#include "ufm/app/interrupt.hpp"
#include "ufm/app/net_report.hpp"
#include "ufm/app/progress_bar.hpp"
#include "ufm/app/run_timing.hpp"
#include "ufm/app/steady_seconds.hpp"
#include "ufm/config/config_error.hpp"
#include "ufm/config/resources.hpp"
#include "ufm/data/data_error.hpp"
#include "ufm/data/source.hpp"
#include "ufm/data/subsets.hpp"
#include "ufm/data/transforms.hpp"
#include "ufm/dynamics/gradient_descent.hpp"
#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/dynamics/minibatch_sgd.hpp"
#include "ufm/dynamics/schedule.hpp"
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

/// A balanced evaluation subset (evaluation_per_class samples of each class).
std::vector<Index> evaluation_subset(const data::Dataset& ds, Index metric_samples, std::uint64_t seed) {
  return data::stratified_indices(ds.labels, evaluation_per_class(ds, metric_samples), seed, ds.name);
}

Index batch_size(const NetConfig& c, Index N) { return c.full_batch ? N : std::min<Index>(c.batch_size.value_or(128), N); }

/// Refuses, before the network is built, a model whose parameters (and the W_l and W_lᵀ packed for
/// the products), work buffers and checkpoint metrics would not fit in memory (the data set is
/// already loaded). Throws ConfigError naming --widths.
void require_network_memory(const NetConfig& c, Index input_dim, Index K, Index N, Index batch) {
  long double params = 0, hidden = 0, prev = static_cast<long double>(input_dim);
  for (Index w : c.widths) params += prev * static_cast<long double>(w), hidden += w, prev = static_cast<long double>(w);
  params += prev * static_cast<long double>(K) + K;
  const long double capacity = std::max<long double>(batch, std::min<long double>(N, 4096));
  const long double evaluation = 2.0L * static_cast<long double>(c.metric_samples);
  const long double bytes = 8.0L * (8 * params + capacity * (4 * hidden + 2 * K + input_dim) +
                                    evaluation * (2 * hidden + input_dim) + 4 * prev * prev);
  const std::uint64_t available = available_memory_bytes();
  if (bytes > static_cast<long double>(available))
    throw ConfigError("--widths: the network would need about " + human_bytes(bytes) + " of memory and " +
                          human_bytes(static_cast<long double>(available)) + " is available; allowed: widths that fit",
                      "--widths");
}

/// d_in, d₁, …, d_{L−1}: the dimensions a network state's layers are checked against.
std::vector<Index> input_and_hidden_dims(const NetConfig& c, Index input_dim) {
  std::vector<Index> dims{input_dim};
  dims.insert(dims.end(), c.widths.begin(), c.widths.end());
  return dims;
}

std::string short_number(double x) {
  std::ostringstream s;
  s.precision(3);
  s << x;
  return s.str();
}

}  // namespace

Index evaluation_per_class(const data::Dataset& ds, Index metric_samples) {
  Index per_class = std::max<Index>(1, metric_samples / ds.K);
  for (Index n : data::class_counts(ds.labels, ds.K)) per_class = std::min(per_class, n);
  return per_class;
}

NetworkInputs prepare_network(const NetConfig& c) {
  NetworkInputs in;
  try {
    in.split = load(c);
  } catch (const data::DataError& e) {
    throw ConfigError(std::string("--data: ") + e.what(), "--data");
  }
  const data::Dataset& train = in.split.train;
  require_network_memory(c, train.input_dim(), train.K, train.size(), batch_size(c, train.size()));
  if (!c.init_state.empty()) {
    try {
      in.initial = io::load_network_state(c.init_state, input_and_hidden_dims(c, train.input_dim()), train.K,
                                          c.last_bias);
    } catch (const io::IoError& e) {
      throw ConfigError(std::string("--init-state: ") + e.what(), "--init-state");
    }
  }
  return in;
}

TrainedNetwork train_network(const NetConfig& c, NetworkInputs inputs, TrajectoryWriter& writer, bool progress,
                             double start_seconds) {
  data::DataSplit& split = inputs.split;
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
  const Index batch = batch_size(c, N);
  const std::vector<Index> train_eval = evaluation_subset(train, c.metric_samples, c.seed + 1);
  const std::vector<int> train_labels = train.labels;
  const std::string data_name = train.name;
  const auto X = std::make_shared<const Mat>(std::move(split.train.X));
  const NetworkObjective f(spec, X, train_labels, c.full_batch ? 0 : batch);
  std::unique_ptr<NetworkObjective> f_test;
  std::vector<Index> test_eval;
  if (split.test && split.test->size() > 0) {
    test_eval = evaluation_subset(*split.test, c.metric_samples, c.seed + 2);
    const Index capacity = std::min<Index>(4096, split.test->size());
    f_test = std::make_unique<NetworkObjective>(spec, std::make_shared<const Mat>(std::move(split.test->X)),
                                                split.test->labels, capacity);
  }

  const NetworkLayout& layout = f.layout();
  const Index layers = spec.layers();
  Vec theta;
  if (inputs.initial) {
    const io::ModelState& s = *inputs.initial;
    theta.setZero(layout.size());
    for (Index l = 1; l < layers; ++l) layout.W(l, theta) = s.network[static_cast<std::size_t>(l - 1)];
    layout.W(layers, theta) = s.W;
    if (spec.last_bias) layout.b(theta) = s.b;
    inputs.initial.reset();
  } else if (c.init == NetInit::kKaiming) {
    init_kaiming(layout, theta, c.seed);
  } else {
    init_gaussian(layout, theta, c.init_scale.value_or(0.1), c.seed);
  }

  nlohmann::ordered_json header;
  header["ufm_sim_version"] = kVersion;
  header["command"] = "net";
  header["config"] = to_json(c);
  header["seed"] = c.seed;
  std::vector<Index> dims = input_and_hidden_dims(c, spec.input_dim);
  dims.push_back(spec.K);
  header["model"] = {{"K", spec.K},
                     {"input_dim", spec.input_dim},
                     {"layers", layers},
                     {"dims", dims},
                     {"N", N},
                     {"N_test", f_test ? f_test->num_samples() : 0},
                     {"class_counts", data::class_counts(train_labels, spec.K)},
                     {"data", data_name},
                     {"evaluation_samples", train_eval.size()},
                     {"test_evaluation_samples", test_eval.size()},
                     {"num_params", f.num_params()}};
  header["environment"] = environment_json();
  writer.header(header);

  const MetricOptions metric_options{c.max_singular_values};
  ProgressBar bar(progress);
  const bool flow = c.full_batch && c.dynamics == Dynamics::kFlow;
  const double flow_time = c.time.value_or(NetDefaults::kTime);
  const long per_epoch = c.full_batch ? 1 : MinibatchSgd::batches_per_epoch(N, batch);
  const long total = per_epoch * c.epochs;
  std::vector<Mat> levels;
  TrainedNetwork net;
  auto observe = [&](const Checkpoint& cp) {
    nlohmann::ordered_json j;
    j["step"] = cp.step;
    j["epoch"] = flow ? nlohmann::ordered_json(nullptr)
                      : nlohmann::ordered_json(static_cast<double>(cp.step) / static_cast<double>(per_epoch));
    j["time"] = flow ? nlohmann::ordered_json(cp.time) : nlohmann::ordered_json(nullptr);  // SGD: see epoch
    j[c.full_batch ? "full_objective" : "batch_objective"] = cp.value;
    j["grad_norm"] = cp.grad_norm;
    nlohmann::ordered_json train_report = network_set_report(f, cp.theta, train_eval, metric_options, levels);
    j.update(network_penalties(f, cp.theta));
    j.update(train_report);
    j["weights"] = network_weights_report(f, cp.theta, c.max_singular_values);
    if (f_test) j["test"] = network_set_report(*f_test, cp.theta, test_eval, metric_options, levels);
    const double acc = j["accuracy"].is_number() ? j["accuracy"].get<double>() : 0.0;
    const double fraction = flow        ? cp.time / flow_time
                            : total > 0 ? static_cast<double>(cp.step) / static_cast<double>(total)
                                        : 1.0;
    const double elapsed = steady_seconds() - start_seconds;
    const std::string eta = fraction > 0 ? " ETA " + short_number(elapsed * (1 - fraction) / fraction) + " s" : "";
    const std::string where = flow ? "t " + short_number(cp.time) : "epoch " + short_number(j["epoch"].get<double>());
    bar.update(fraction, where + " loss=" + short_number(j["loss"].get<double>()) + " acc=" + short_number(acc) + eta);
    writer.checkpoint(j);
    net.final = std::move(j);
    return ObserverAction::kContinue;
  };
  RunTiming timing;
  auto timed_observe = timing.timed(observe);

  const std::vector<long> steps = checkpoint_steps(total, c.num_checkpoints, Spacing::kLog);
  if (flow) {
    GradientFlow::Options o;
    o.integrator = c.integrator.value_or(NetDefaults::kIntegrator);
    o.dt = c.dt.value_or(NetDefaults::kDt);
    o.abs_tol = c.abs_tol.value_or(NetDefaults::kAbsTol);
    o.rel_tol = c.rel_tol.value_or(NetDefaults::kRelTol);
    o.error_norm = c.error_norm.value_or(ErrorNorm::kMax);
    o.max_time = flow_time;
    o.stop_request = interrupt_flag();
    const std::vector<double> times =
        flow_checkpoint_times(o.integrator == Integrator::kRk4, flow_time, o.dt, c.num_checkpoints, Spacing::kLog);
    net.summary = timing.time_run([&] { return GradientFlow(o).run(f, theta, times, timed_observe); });
  } else if (c.full_batch) {
    GradientDescent::Options o;
    o.lr = c.lr;
    o.max_steps = c.epochs;
    o.momentum = c.dynamics.value_or(Dynamics::kMomentum) == Dynamics::kMomentum ? c.momentum : 0.0;
    o.stop_request = interrupt_flag();
    net.summary = timing.time_run([&] { return GradientDescent(o).run(f, theta, steps, timed_observe); });
  } else {
    MinibatchSgd::Options o;
    o.batch_size = batch;
    o.epochs = c.epochs;
    o.lr = c.lr;
    o.momentum = c.momentum;
    o.schedule = c.lr_schedule;
    o.seed = c.seed;
    o.stop_request = interrupt_flag();
    net.summary = timing.time_run([&] { return MinibatchSgd(o).run(f, theta, steps, timed_observe); });
  }
  bar.done();
  name_the_signal(net.summary);  // "stopped by SIGINT at step ...", as a run says

  nlohmann::ordered_json footer;
  footer["final"] = net.final;
  footer["status"] = to_string(net.summary.status);
  footer["message"] = net.summary.message;
  footer["summary"] = {{"steps", net.summary.steps},
                       {"epochs", flow ? nlohmann::ordered_json(nullptr)
                                       : nlohmann::ordered_json(static_cast<double>(net.summary.steps) /
                                                                static_cast<double>(per_epoch))},
                       {"time", net.summary.time},
                       {"gradient_evaluations", net.summary.gradient_evaluations}};
  footer["full_sets"] = {{"train", network_full_set_report(f, theta)},
                         {"test", f_test ? network_full_set_report(*f_test, theta) : nlohmann::ordered_json(nullptr)}};
  footer["timing"] = to_json(timing);
  footer["wall_seconds"] = steady_seconds() - start_seconds;
  writer.finish(footer);

  // What the network hands on: its weights, and the features its output layer sees.
  for (Index l = 1; l < layers; ++l) net.hidden.emplace_back(layout.W(l, theta));
  net.W = layout.W(layers, theta);
  if (spec.last_bias) net.b = layout.b(theta);
  f.feature_levels(theta, levels, train_eval);
  net.features = std::move(levels.back());
  for (Index i : train_eval) net.labels.push_back(train_labels[static_cast<std::size_t>(i)]);
  return net;
}

void save_network_state(const NetConfig& c, const TrainedNetwork& net) {
  io::ModelState state;
  state.H = net.features;
  state.W = net.W;
  state.b = net.b;
  state.network = net.hidden;
  state.labels = net.labels;
  const Index K = net.W.rows();
  const Index per_class = static_cast<Index>(net.labels.size()) / K;  // the evaluation subset is balanced
  state.meta = {{"ufm_sim_version", kVersion},
                {"command", "net"},
                {"config", to_json(c)},
                {"step", net.summary.steps},
                {"continue_with", "ufm-sim run --init-state DIR --classes " + std::to_string(K) + " --per-class " +
                                      std::to_string(per_class) + " --dim " + std::to_string(net.features.rows()) +
                                      " --loss " + (c.loss == Loss::kMse ? "mse" : "ce") +
                                      (c.last_bias ? " --bias reg" : "")}};
  io::save_state(c.save_state, state);
}

}  // namespace ufm
