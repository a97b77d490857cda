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
/// \param W When not null, the K×d classifier that reads these features: WHt (resized to N×K) receives
/// (W H)ᵀ, few_rows_product_t's product bit for bit, from the same pass over H as the metrics' own; with
/// WHt null, no product with W is made.
void put_feature_metrics(const Eigen::Ref<const Mat>& H, std::span<const int> labels, const ClassStats& s,
                         const MetricOptions& opt, MetricSet& out, std::vector<int>& ncc,
                         const Eigen::Ref<const Mat>* W = nullptr, Mat* WHt = nullptr);

}  // namespace ufm::detail
