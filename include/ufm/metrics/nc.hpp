#pragma once
/// Neural-collapse metrics of theory.md §4, on one feature level and on the classifier it feeds.
///
/// Conventions (theory.md §4): μ_c class means, μ_G = mean of the class means, M̃ = [μ_c − μ_G] (d×K),
/// Σ_W with 1/N. Undefined values are null with out["null_reasons"][name] (never NaN): see geometry.hpp
/// for what counts as zero. Labels may come in any order; a class without samples makes every metric
/// that needs its mean null. Bad shapes or labels throw std::invalid_argument.
/// Cost: one d×N centred copy, one d²N/2 Gram product (N²d/2 if d > N) and its eigenvalues, two
/// K·d·N products, and O(dN + K²N) loops.
#include <span>

#include "ufm/linalg.hpp"
#include "ufm/metrics/metric_set.hpp"
#include "ufm/metrics/snapshot.hpp"

namespace ufm {

/// Metrics of one feature level (any layer), in this order: h_norm, nc1, nc1_tr, cdnv, equinorm_h,
/// equiangle_h, etf_error_h, ncc_accuracy, singular_values, explained_variance, effective_rank,
/// stable_rank; extras nc1_unscaled (= K·nc1 = tr(Σ_W Σ_B⁺)), global_mean_norm (‖sample mean‖),
/// mean_of_means_norm (‖μ_G‖).
/// \param H d×N features. \param labels N labels in [0, K). \param out In/out: metrics are added.
void feature_metrics(const ConstMatMap& H, std::span<const int> labels, Index K, const MetricOptions& opt,
                     MetricSet& out);

/// Metrics of the level that feeds the classifier: accuracy, w_norm, b_norm, margin_mean, equinorm_w,
/// equiangle_w, etf_error_w, nc3, nc4, snc_w, snc_h, eps_avg, eps_tilde_avg, eps_std, eps_tilde_std,
/// eps_rel_std, eps_tilde_rel_std, sqi_avg_gap, sqi_pointwise_gap; extras nc3_uncentered (nc3 with the
/// uncentred means H̄), nc4_no_bias (argmax_c w_cᵀh), wh_singular_values (of W H̄, K×K) and
/// wwt_eigenvalues (of W Wᵀ, descending).
void classifier_metrics(const Snapshot& s, MetricSet& out);

/// Both, feature metrics first; the class statistics are computed once.
MetricSet collapse_metrics(const Snapshot& s, const MetricOptions& opt = {});

}  // namespace ufm
