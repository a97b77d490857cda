#pragma once
/// The feature-level half of collapse_metrics, on precomputed class statistics (see nc.hpp).
#include <span>
#include <vector>

#include "ufm/linalg.hpp"
#include "ufm/metrics/class_stats.hpp"
#include "ufm/metrics/metric_set.hpp"

namespace ufm::detail {

/// Puts h_norm, nc1, nc1_tr, cdnv, equinorm_h, equiangle_h, etf_error_h, ncc_accuracy, singular_values,
/// explained_variance, effective_rank, stable_rank, nc1_unscaled, global_mean_norm, mean_of_means_norm.
/// \param ncc Out: nearest-class-centre prediction per sample, or empty when the class means are unusable.
void put_feature_metrics(const Eigen::Ref<const Mat>& H, std::span<const int> labels, const ClassStats& s,
                         const MetricOptions& opt, MetricSet& out, std::vector<int>& ncc);

}  // namespace ufm::detail
