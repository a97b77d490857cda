#pragma once
/// The feature-level half of collapse_metrics, on precomputed class statistics (see nc.hpp).
#include <span>
#include <vector>

#include "ufm/linalg.hpp"
#include "ufm/metrics/class_stats.hpp"
#include "ufm/metrics/metric_set.hpp"

namespace ufm::detail {

/// What the feature metrics read of the features beyond their class statistics: from a pass over
/// them (put_feature_metrics), or from the second moments of features they are a linear image of
/// (linear_images.hpp), where they are never formed.
struct FeaturePass {
  Mat Pt;                  ///< N×K, class-major: P(c, i) = m̃_cᵀ(h_i − μ_G)
  Vec var;                 ///< K: Σ ‖h_i − μ_c‖² over the samples of class c
  double dist2_sum = 0.0;  ///< Σ_i ‖h_i − μ_{y_i}‖²
  double x_sq = 0.0;       ///< ‖H − μ_G1ᵀ‖²_F
  Mat gram;                ///< with spectra, the centred Gram: X Xᵀ (d×d) if d ≤ N, else XᵀX; lower triangle read
  Mat S;                   ///< when K×K, M̃ᵀΣ_W M̃ made by the caller: Pt is then read for the nearest centres only
  std::vector<int> ncc;    ///< when of N entries, the nearest class centres made by the caller: Pt is then
                           ///< read for S only (with S given too, not at all)
};

/// put_feature_metrics from the pass (its Pt is overwritten): the same metrics in the same order, on
/// d-dimensional features of the labelled samples with class statistics s. pass is not read when a
/// class is empty.
void put_feature_metrics_from(std::span<const int> labels, const ClassStats& s, Index d, FeaturePass& pass,
                              const MetricOptions& opt, MetricSet& out, std::vector<int>& ncc);

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
