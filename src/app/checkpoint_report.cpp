#include "ufm/app/checkpoint_report.hpp"

#include <string>
#include <vector>

#include "ufm/metrics/nc.hpp"
#include "ufm/metrics/snapshot.hpp"
#include "ufm/metrics/spectra.hpp"

namespace ufm {
namespace {

std::string level_name(Index l) { return l == 0 ? "H1" : "S" + std::to_string(l); }

}  // namespace

nlohmann::ordered_json checkpoint_report(const DeepUfmObjective& f, const Checkpoint& c, const MetricOptions& options) {
  const DeepUfmLayout& L = f.layout();
  const Index layers = L.layers();
  nlohmann::ordered_json j;
  j["step"] = c.step;
  j["time"] = c.time;
  const DeepObjectiveParts parts = f.parts(c.theta);
  put_metric(j, "objective", c.value);
  put_metric(j, "loss", parts.loss);
  put_metric(j, "penalty_w", parts.penalty_w.back());  // the classifier's
  put_metric(j, "penalty_h", parts.penalty_h);
  put_metric(j, "penalty_b", parts.penalty_b);
  if (layers > 1)
    put_metric(j, "penalty_layers", std::vector<double>(parts.penalty_w.begin(), parts.penalty_w.end() - 1));
  put_metric(j, "grad_norm", c.grad_norm);
  nlohmann::ordered_json reasons = nlohmann::ordered_json::object();
  take_null_reasons(j, reasons);

  std::vector<Mat> levels;
  f.feature_levels(c.theta, levels);
  const Mat& S = levels.back();  // penultimate level, d_{L−1}×N
  const Snapshot snapshot{ConstMatMap(S.data(), S.rows(), S.cols()), L.W(layers, c.theta), L.b(c.theta),
                          f.labels(), L.K, f.spec().loss};
  MetricSet metrics = collapse_metrics(snapshot, options);
  take_null_reasons(metrics, reasons);
  j.update(metrics);

  if (layers > 1) {
    nlohmann::ordered_json by_level = nlohmann::ordered_json::object();
    for (Index l = 0; l < layers; ++l) {
      MetricSet m = MetricSet::object();
      feature_metrics(ConstMatMap(levels[l].data(), levels[l].rows(), levels[l].cols()), f.labels(), L.K, options, m);
      by_level[level_name(l)] = std::move(m);  // each level keeps its own null_reasons
    }
    j["levels"] = std::move(by_level);
    nlohmann::ordered_json weights = nlohmann::ordered_json::object();
    for (Index l = 1; l < layers; ++l) {
      const auto W = L.W(l, c.theta);
      const Vec sigma = singular_values_via_gram(W);  // Gram + eigensolver: 7-15x faster than an SVD
    std::vector<double> sv(sigma.data(), sigma.data() + sigma.size());
      if (options.max_singular_values > 0 && static_cast<Index>(sv.size()) > options.max_singular_values)
        sv.resize(options.max_singular_values);
      weights["W" + std::to_string(l)] = {{"norm", W.norm()}, {"singular_values", sv}};
    }
    j["weights"] = std::move(weights);
  }
  j["null_reasons"] = std::move(reasons);
  return j;
}

}  // namespace ufm
