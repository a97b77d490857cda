#pragma once
/// The classifier half of collapse_metrics, on precomputed class statistics (see nc.hpp).
#include <vector>

#include "ufm/metrics/class_stats.hpp"
#include "ufm/metrics/metric_set.hpp"
#include "ufm/metrics/snapshot.hpp"

namespace ufm::detail {

/// Throws std::invalid_argument (naming `caller`) unless W is K×d, b has 0 or K entries, and H has d rows.
void check_snapshot(const Snapshot& sn, const char* caller);

/// Puts accuracy, w_norm, b_norm, margin_mean, equinorm_w, equiangle_w, etf_error_w, nc3, nc4, snc_w,
/// snc_h, the SQI block (sqi.hpp), nc3_uncentered, nc4_no_bias, wh_singular_values, wwt_eigenvalues.
/// \param ncc nearest-class-centre predictions (empty when the class means are unusable).
void put_classifier_metrics(const Snapshot& sn, const ClassStats& s, const std::vector<int>& ncc, MetricSet& out);

}  // namespace ufm::detail
