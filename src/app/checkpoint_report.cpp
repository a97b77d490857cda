#include "ufm/app/checkpoint_report.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ufm/gemm.hpp"
#include "ufm/metrics/linear_images.hpp"
#include "ufm/metrics/nc.hpp"
#include "ufm/metrics/snapshot.hpp"
#include "ufm/metrics/spectra.hpp"
#include "ufm/objectives/loss.hpp"

namespace ufm {
namespace {

std::string level_name(Index l) { return l == 0 ? "H1" : "S" + std::to_string(l); }

/// DeepUfmObjective::parts(theta) without its forward pass: the loss from the logits that the metrics
/// need anyway, given as Rt: in, (W_L S_{L−1} + b1ᵀ)ᵀ (N×K, class-major); out, the loss's residual there,
/// which the SQI reads. The penalties by the objective's formulas (theory.md §2) on its validated spec
/// (λ_b is 0 there unless the bias is regularized), with ‖H1‖²_F = h1_sq from H1's class statistics.
DeepObjectiveParts parts_from_logits(const DeepUfmObjective& f, const Vec& theta, Mat& Rt, double h1_sq) {
  const DeepUfmLayout& L = f.layout();
  const DeepUfmSpec& spec = f.spec();
  DeepObjectiveParts p;
  p.loss = loss_and_residual_class_major(spec.loss, Rt, f.labels()) / static_cast<double>(L.N);
  p.penalty_h = 0.5 * spec.lambda_h * h1_sq;
  for (Index l = 1; l <= L.layers(); ++l)
    p.penalty_w.push_back(0.5 * spec.lambda_w[static_cast<std::size_t>(l - 1)] * L.W(l, theta).squaredNorm());
  if (L.has_bias) p.penalty_b = 0.5 * spec.lambda_b * L.b(theta).squaredNorm();
  return p;
}

}  // namespace

bool linear_images(const DeepUfmObjective& f, const MetricOptions& options) {
  const DeepUfmSpec& spec = f.spec();
  if (spec.layers() < 2 || spec.activation != Activation::kLinear) return false;
  std::vector<Index> dims{spec.dim};
  dims.insert(dims.end(), spec.widths.begin(), spec.widths.end());
  return linear_images_take_fewer_flops(f.layout().N, spec.K, dims, options.spectra);
}

nlohmann::ordered_json checkpoint_report(const DeepUfmObjective& f, const Checkpoint& c, const MetricOptions& options) {
  const DeepUfmLayout& L = f.layout();
  const Index layers = L.layers();

  const auto W = L.W(layers, c.theta);  // K×d_{L−1}
  const auto b = L.b(c.theta);          // K, or empty
  const bool handed = c.logits_t && c.logits_t->rows() == L.N && c.logits_t->cols() == L.K;
  // Every level's feature metrics once; the penultimate level's feed the classifier metrics too. The
  // logits without the bias, class-major, (W S)ᵀ (N×K): the evaluation's (c.logits_t), or else formed
  // by the penultimate level's pass.
  std::vector<LevelMetrics> by_level;
  Mat formed;
  const Eigen::Ref<const Mat> Wr = W;
  std::vector<ConstMatMap> hidden;
  const bool images = linear_images(f, options);
  Mat first_gram;  // with images, W₁ᵀW₁ (d₀×d₀, lower triangle), which W₁'s report shares where d₁ ≥ d₀
  if (images) {
    // A linear stack's hidden levels are images S_l = Q_l H1 (Q_l = W_l⋯W_1), measured without forming
    // them (linear_images.hpp): the penultimate level S exists here only as a shape.
    std::vector<Mat> Q;
    for (Index l = 1; l < layers; ++l) {
      const auto Wl = L.W(l, c.theta);  // d_l×d_{l−1}
      if (l == 1) {
        Q.emplace_back(Wl);
      } else {
        Q.emplace_back(Wl.rows(), L.dims[0]);
        gemm_into(Q.back(), Wl, false, Q[Q.size() - 2], false, 0.0);
      }
    }
    by_level = linear_stack_levels(L.H1(c.theta), f.labels(), L.K, Q, options, &Wr, handed ? nullptr : &formed,
                                   &first_gram);
  } else {
    // H1 is a view of theta; S_1..S_{L−1} come from one forward pass (L ≥ 2 only), read in the
    // objective's workspace (f is not evaluated again before the report is done).
    if (layers > 1) f.feature_level_views(c.theta, hidden);
    const auto level = [&](Index l) { return l == 0 ? L.H1(c.theta) : hidden[static_cast<std::size_t>(l)]; };
    for (Index l = 0; l + 1 < layers; ++l) by_level.push_back(level_metrics(level(l), f.labels(), L.K, options));
    if (handed)
      by_level.push_back(level_metrics(level(layers - 1), f.labels(), L.K, options, Wr));
    else
      by_level.push_back(level_metrics(level(layers - 1), f.labels(), L.K, options, Wr, formed));
  }
  // The penultimate level, d_{L−1}×N; a shape without data where it was never formed (the classifier
  // metrics then read nothing of it: its statistics carry the strong residual).
  const ConstMatMap S = layers == 1 ? L.H1(c.theta)
                        : images    ? ConstMatMap(nullptr, L.dims[layers - 1], L.N)
                                    : hidden.back();
  const Mat& WSt = handed ? *c.logits_t : formed;
  // N×K logits with the bias (copied and added in one pass), then the loss's residual there
  Mat Rt = b.size() == L.K ? Mat(WSt.rowwise() + b.transpose()) : WSt;
  const DeepObjectiveParts parts = parts_from_logits(f, c.theta, Rt, by_level.front().stats.h_sq);

  nlohmann::ordered_json j;
  j["step"] = c.step;
  j["time"] = c.time;
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

  const Snapshot snapshot{S, W, b, f.labels(), L.K, f.spec().loss};
  // One layer: the level's metrics are taken over (they are reported only here); more: copied, as
  // the penultimate level is reported under "levels" too.
  MetricSet metrics = layers == 1 ? collapse_metrics(snapshot, std::move(by_level.back()), WSt, &Rt)
                                  : collapse_metrics(snapshot, by_level.back(), WSt, &Rt);
  take_null_reasons(metrics, reasons);
  // The metrics' names are new to j (it holds step … grad_norm): appended in their order, moved.
  auto& fields = j.get_ref<nlohmann::ordered_json::object_t&>();
  for (auto& [name, value] : metrics.get_ref<nlohmann::ordered_json::object_t&>())
    fields.emplace_back(name, std::move(value));

  if (layers > 1) {
    nlohmann::ordered_json levels = nlohmann::ordered_json::object();
    for (Index l = 0; l < layers; ++l)  // each level keeps its own null_reasons
      levels[level_name(l)] = std::move(by_level[static_cast<std::size_t>(l)].metrics);
    j["levels"] = std::move(levels);
    nlohmann::ordered_json weights = nlohmann::ordered_json::object();
    for (Index l = 1; l < layers; ++l) {
      const auto Wl = L.W(l, c.theta);
      const bool shared = l == 1 && first_gram.size() > 0 && Wl.rows() >= Wl.cols();
      weights["W" + std::to_string(l)] = weight_report(Wl, options.max_singular_values, shared ? &first_gram : nullptr);
    }
    j["weights"] = std::move(weights);
  }
  j["null_reasons"] = std::move(reasons);
  return j;
}

nlohmann::ordered_json weight_report(const ConstMatMap& W, Index max_singular_values, const Mat* gram) {
  if (gram && (W.rows() < W.cols() || gram->rows() != W.cols() || gram->cols() != W.cols()))
    throw std::invalid_argument("weight_report(): gram must be W'W of a W with at least as many rows as columns");
  // Gram + eigensolver: 7-15x faster than an SVD
  const Vec sigma = gram ? singular_values_from_gram(*gram) : singular_values_via_gram(W);
  const Index shown = max_singular_values > 0 ? std::min(sigma.size(), max_singular_values) : sigma.size();
  return {{"norm", W.norm()}, {"singular_values", std::vector<double>(sigma.data(), sigma.data() + shown)}};
}

}  // namespace ufm
