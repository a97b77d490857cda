#include "ufm/metrics/nc.hpp"

#include "ufm/metrics/class_stats.hpp"
#include "ufm/metrics/classifier_level.hpp"
#include "ufm/metrics/feature_level.hpp"

namespace ufm {

void feature_metrics(const ConstMatMap& H, std::span<const int> labels, Index K, const MetricOptions& opt,
                     MetricSet& out) {
  const ClassStats s = class_stats(H, labels, K, "feature_metrics()");
  std::vector<int> ncc;
  detail::put_feature_metrics(H, labels, s, opt, out, ncc);
  move_null_reasons_last(out);
}

void classifier_metrics(const Snapshot& sn, MetricSet& out) {
  detail::check_snapshot(sn, "classifier_metrics()");
  const ClassStats s = class_stats(sn.H, sn.labels, sn.K, "classifier_metrics()");
  std::vector<int> ncc;
  if (s.mt_reason().empty()) ncc = nearest_class_center(s, centered_projections(sn.H, s));
  detail::put_classifier_metrics(sn, s, ncc, out);
  move_null_reasons_last(out);
}

MetricSet collapse_metrics(const Snapshot& sn, const MetricOptions& opt) {
  detail::check_snapshot(sn, "collapse_metrics()");
  const ClassStats s = class_stats(sn.H, sn.labels, sn.K, "collapse_metrics()");
  MetricSet out = MetricSet::object();
  std::vector<int> ncc;
  detail::put_feature_metrics(sn.H, sn.labels, s, opt, out, ncc);
  detail::put_classifier_metrics(sn, s, ncc, out);
  detail::put_self_dual_etf_distance(out);
  move_null_reasons_last(out);
  return out;
}

}  // namespace ufm
