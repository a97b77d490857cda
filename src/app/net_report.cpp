#include "ufm/app/net_report.hpp"

#include "ufm/app/checkpoint_report.hpp"

#include "ufm/metrics/nc.hpp"
#include "ufm/objectives/loss.hpp"
#include "ufm/metrics/snapshot.hpp"

namespace ufm {

nlohmann::ordered_json network_penalties(const NetworkObjective& f, const Vec& theta) {
  const NetworkLayout& L = f.layout();
  const Index layers = f.spec().layers();
  std::vector<double> hidden;
  for (Index l = 1; l < layers; ++l) hidden.push_back(0.5 * f.spec().lambda_w[l - 1] * L.W(l, theta).squaredNorm());
  nlohmann::ordered_json j;
  j["penalty_w"] = 0.5 * f.spec().lambda_w.back() * L.W(layers, theta).squaredNorm();
  j["penalty_layers"] = hidden;
  j["penalty_b"] = f.spec().last_bias ? 0.5 * f.spec().lambda_b * L.b(theta).squaredNorm() : 0.0;
  return j;
}

nlohmann::ordered_json network_full_set_report(const NetworkObjective& f, const Vec& theta) {
  Mat Z;  // K×N logits
  f.logits(theta, Z);
  Index correct = 0;
  for (Index i = 0; i < Z.cols(); ++i) {
    Index predicted = 0;
    Z.col(i).maxCoeff(&predicted);
    correct += predicted == f.labels()[static_cast<std::size_t>(i)];
  }
  nlohmann::ordered_json j;
  j["samples"] = f.num_samples();
  put_metric(j, "loss", loss_sum(f.spec().loss, Z, f.labels()) / static_cast<double>(std::max<Index>(1, Z.cols())));
  put_metric(j, "accuracy", static_cast<double>(correct) / static_cast<double>(std::max<Index>(1, Z.cols())));
  return j;
}

nlohmann::ordered_json network_set_report(const NetworkObjective& f, const Vec& theta, std::span<const Index> subset,
                                          const MetricOptions& options, std::vector<Mat>& levels) {
  const NetworkLayout& L = f.layout();
  const Index layers = f.spec().layers(), K = f.spec().K;
  std::vector<int> labels(subset.size());
  for (std::size_t i = 0; i < subset.size(); ++i) labels[i] = f.labels()[static_cast<std::size_t>(subset[i])];
  nlohmann::ordered_json j;
  const double objective = f.value_batch(theta, subset);
  const nlohmann::ordered_json penalties = network_penalties(f, theta);
  double penalty_sum = penalties["penalty_w"].get<double>() + penalties["penalty_b"].get<double>();
  for (double p : penalties["penalty_layers"]) penalty_sum += p;
  put_metric(j, "objective", objective);
  put_metric(j, "loss", objective - penalty_sum);
  j["samples"] = subset.size();
  nlohmann::ordered_json reasons = nlohmann::ordered_json::object();
  take_null_reasons(j, reasons);

  f.feature_levels(theta, levels, subset);
  const Mat& S = levels.back();  // penultimate level S_{L−1} (the input X for a network without hidden layers)
  const ConstMatMap Sm(S.data(), S.rows(), S.cols());
  const auto W = L.W(layers, theta);  // K×d_{L−1}
  const Snapshot snapshot{Sm, W, L.b(theta), labels, K, f.spec().loss};
  // The penultimate level once: its feature metrics feed the classifier metrics and its own entry.
  Mat WSt;  // (W S)ᵀ, n×K: the logits without the bias, class-major, from the level's own pass over S
  LevelMetrics penultimate = level_metrics(Sm, labels, K, options, W, WSt);
  MetricSet metrics = collapse_metrics(snapshot, penultimate, WSt);
  take_null_reasons(metrics, reasons);
  j.update(metrics);
  j["null_reasons"] = std::move(reasons);
  nlohmann::ordered_json by_level = nlohmann::ordered_json::object();
  for (Index l = 1; l < layers; ++l) {
    MetricSet m = MetricSet::object();
    if (l + 1 == layers) {
      m = std::move(penultimate.metrics);
    } else {
      const Mat& level = levels[static_cast<std::size_t>(l)];
      feature_metrics(ConstMatMap(level.data(), level.rows(), level.cols()), labels, K, options, m);
    }
    by_level["S" + std::to_string(l)] = std::move(m);
  }
  j["levels"] = std::move(by_level);
  return j;
}

nlohmann::ordered_json network_weights_report(const NetworkObjective& f, const Vec& theta, Index max_singular_values) {
  const NetworkLayout& L = f.layout();
  nlohmann::ordered_json weights = nlohmann::ordered_json::object();
  for (Index l = 1; l <= f.spec().layers(); ++l)
    weights["W" + std::to_string(l)] = weight_report(L.W(l, theta), max_singular_values);
  return weights;
}

}  // namespace ufm
