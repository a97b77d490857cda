#pragma once
/// `ufm-bench net`: seconds per epoch of ufm-sim's network step (NetworkObjective + MinibatchSgd),
/// the protocol of torch_mlp.py: the data set in memory as one fp64 matrix, SGD with momentum and
/// weight decay over shuffled minibatches, no checkpoints; each epoch timed on its own, the median
/// reported, with the GEMM FLOP of an epoch and the rate reached.
#include <algorithm>
#include <chrono>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/data/source.hpp"
#include "ufm/data/transforms.hpp"
#include "ufm/dynamics/minibatch_sgd.hpp"
#include "ufm/objectives/network_objective.hpp"

namespace ufm::bench {

struct NetArgs {
  std::string data = "fashion-mnist";
  std::string widths = "512,512";
  std::string loss = "mse";
  Index batch = 128;
  int epochs = 3;
  double lr = 0.01, momentum = 0.9, lam = 5e-4;
  std::uint64_t seed = 0;
};

/// GEMM FLOP of one SGD step per sample: forward 2·Σ d_l d_{l−1}, weight gradients the same again,
/// and the backpropagated signal 2·d_l d_{l−1} for every layer but the first.
inline double network_flops_per_sample(const std::vector<Index>& dims) {
  double f = 0;
  for (std::size_t l = 1; l < dims.size(); ++l) {
    const double p = static_cast<double>(dims[l]) * static_cast<double>(dims[l - 1]);
    f += 4 * p + (l > 1 ? 2 * p : 0);
  }
  return f;
}

inline nlohmann::ordered_json time_network(const NetArgs& a) {
  using Clock = std::chrono::steady_clock;
  data::DataSplit split = data::load_data(a.data, data::DataSourceOptions{});
  if (split.train.raw_bytes) data::scale_pixels(split);
  NetworkSpec spec;
  spec.input_dim = split.train.input_dim();
  std::stringstream in(a.widths);
  for (std::string w; std::getline(in, w, ',');) spec.widths.push_back(std::stol(w));
  spec.K = split.train.K;
  spec.loss = a.loss == "mse" ? Loss::kMse : Loss::kCrossEntropy;
  spec.lambda_w.assign(spec.widths.size() + 1, a.lam);
  const Index N = split.train.size();
  const NetworkObjective f(spec, std::make_shared<const Mat>(std::move(split.train.X)), split.train.labels, a.batch);
  Vec theta;
  init_kaiming(f.layout(), theta, a.seed);
  std::vector<double> times;
  for (int e = 0; e < a.epochs; ++e) {
    MinibatchSgd::Options o;
    o.batch_size = a.batch;
    o.epochs = 1;
    o.lr = a.lr;
    o.momentum = a.momentum;
    o.seed = a.seed + static_cast<std::uint64_t>(e);
    const auto t0 = Clock::now();
    const RunSummary r = MinibatchSgd(o).run(f, theta, std::span<const long>{}, NullObserver{});
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    if (r.status != RunStatus::kMaxSteps)  // a diverged epoch is cut short: its time means nothing
      throw std::runtime_error("ufm-bench net: epoch " + std::to_string(e) + " ended " +
                               std::string(to_string(r.status)) + ": " + r.message + " (lower --lr)");
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  std::vector<Index> dims{spec.input_dim};
  dims.insert(dims.end(), spec.widths.begin(), spec.widths.end());
  dims.push_back(spec.K);
  const double flops = network_flops_per_sample(dims) * static_cast<double>(N);
  nlohmann::ordered_json j;
  j["impl"] = "ufm-sim-net";
  j["data"] = a.data;
  j["dims"] = dims;
  j["loss"] = a.loss;
  j["batch"] = a.batch;
  j["N"] = N;
  j["epochs"] = a.epochs;
  j["epoch_seconds"] = times;
  j["sec_per_epoch"] = median;
  j["gemm_flops_per_epoch"] = flops;
  j["gemm_gflops_achieved"] = flops / median / 1e9;
  j["final_value"] = f.value(theta);
  return j;
}

}  // namespace ufm::bench
