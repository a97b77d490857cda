#include "ufm/metrics/nc.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "ufm/metrics/class_stats.hpp"
#include "ufm/metrics/classifier_level.hpp"
#include "ufm/metrics/feature_level.hpp"
#include "ufm/metrics/few_rows_product.hpp"

namespace ufm {
namespace {

LevelMetrics measure_level(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index K,
                           const MetricOptions& opt, const char* caller, const Eigen::Ref<const Mat>* W = nullptr,
                           Mat* WHt = nullptr) {
  if (W && (W->rows() != K || W->cols() != H.rows()))
    throw std::invalid_argument(std::string(caller) + ": W is " + std::to_string(W->rows()) + "x" +
                                std::to_string(W->cols()) + ", need K x d = " + std::to_string(K) + "x" +
                                std::to_string(H.rows()));
  LevelMetrics level{class_stats(H, labels, K, caller, W), {}, MetricSet::object()};
  detail::put_feature_metrics(H, labels, level.stats, opt, level.metrics, level.ncc, W, WHt);
  move_null_reasons_last(level.metrics);
  return level;
}

/// (W H)ᵀ (N×K, class-major), the logits without the bias.
Mat logits_without_bias(const Snapshot& sn) {
  Mat WHt;
  few_rows_product_t(sn.W, sn.H, WHt);
  return WHt;
}

/// collapse_metrics on `out`, the level's own metrics (copied or taken over by the caller).
MetricSet collapse_onto(MetricSet out, const Snapshot& sn, const LevelMetrics& level, const Eigen::Ref<const Mat>& WHt,
                        const Mat* residual_t) {
  detail::check_snapshot(sn, "collapse_metrics()");
  const Index N = sn.H.cols();
  if (WHt.rows() != N || WHt.cols() != sn.K || static_cast<Index>(level.stats.counts.size()) != sn.K ||
      level.stats.means.rows() != sn.H.rows())
    throw std::invalid_argument("collapse_metrics(): WHt is " + std::to_string(WHt.rows()) + "x" +
                                std::to_string(WHt.cols()) + " and the level has " +
                                std::to_string(level.stats.counts.size()) + " classes in " +
                                std::to_string(level.stats.means.rows()) + " dimensions; need N x K = " +
                                std::to_string(N) + "x" + std::to_string(sn.K) + " and the snapshot's K, d");
  if (residual_t && (residual_t->rows() != N || residual_t->cols() != sn.K))
    throw std::invalid_argument("collapse_metrics(): the residual is " + std::to_string(residual_t->rows()) + "x" +
                                std::to_string(residual_t->cols()) + "; need N x K = " + std::to_string(N) + "x" +
                                std::to_string(sn.K));
  detail::put_classifier_metrics(sn, level.stats, level.ncc, WHt, out, residual_t);
  detail::put_self_dual_etf_distance(out);
  move_null_reasons_last(out);
  return out;
}

}  // namespace

void feature_metrics(const ConstMatMap& H, std::span<const int> labels, Index K, const MetricOptions& opt,
                     MetricSet& out) {
  const ClassStats s = class_stats(H, labels, K, "feature_metrics()");
  std::vector<int> ncc;
  detail::put_feature_metrics(H, labels, s, opt, out, ncc);
  move_null_reasons_last(out);
}

LevelMetrics level_metrics(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index K,
                           const MetricOptions& opt) {
  return measure_level(H, labels, K, opt, "level_metrics()");
}

LevelMetrics level_metrics(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index K,
                           const MetricOptions& opt, const Eigen::Ref<const Mat>& W, Mat& WHt) {
  return measure_level(H, labels, K, opt, "level_metrics()", &W, &WHt);
}

LevelMetrics level_metrics(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index K,
                           const MetricOptions& opt, const Eigen::Ref<const Mat>& W) {
  return measure_level(H, labels, K, opt, "level_metrics()", &W);
}

void classifier_metrics(const Snapshot& sn, MetricSet& out) {
  detail::check_snapshot(sn, "classifier_metrics()");
  const Eigen::Ref<const Mat> W = sn.W;
  const ClassStats s = class_stats(sn.H, sn.labels, sn.K, "classifier_metrics()", &W);
  std::vector<int> ncc;
  if (s.mt_reason().empty()) ncc = nearest_class_center(s, centered_projections(sn.H, s).transpose());
  detail::put_classifier_metrics(sn, s, ncc, logits_without_bias(sn), out);
  move_null_reasons_last(out);
}

MetricSet collapse_metrics(const Snapshot& sn, const MetricOptions& opt) {
  detail::check_snapshot(sn, "collapse_metrics()");
  Mat WHt;
  const Eigen::Ref<const Mat> W = sn.W;
  LevelMetrics level = measure_level(sn.H, sn.labels, sn.K, opt, "collapse_metrics()", &W, &WHt);
  return collapse_metrics(sn, std::move(level), WHt);
}

MetricSet collapse_metrics(const Snapshot& sn, const LevelMetrics& level, const Eigen::Ref<const Mat>& WHt,
                           const Mat* residual_t) {
  return collapse_onto(level.metrics, sn, level, WHt, residual_t);  // feature metrics first, null_reasons last
}

MetricSet collapse_metrics(const Snapshot& sn, LevelMetrics&& level, const Eigen::Ref<const Mat>& WHt,
                           const Mat* residual_t) {
  MetricSet metrics = std::move(level.metrics);
  level.metrics = MetricSet::object();
  return collapse_onto(std::move(metrics), sn, level, WHt, residual_t);
}

}  // namespace ufm
