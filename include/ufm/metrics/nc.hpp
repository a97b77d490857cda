#pragma once
/// Neural-collapse metrics of theory.md §4, on one feature level and on the classifier it feeds.
///
/// Conventions (theory.md §4): μ_c class means, μ_G = mean of the class means, M̃ = [μ_c − μ_G] (d×K),
/// Σ_W with 1/N. Undefined values are null with out["null_reasons"][name] (never NaN): see geometry.hpp
/// for what counts as zero. Labels may come in any order; a class without samples makes every metric
/// that needs its mean null. Bad shapes or labels throw std::invalid_argument.
/// Cost: one d²N Gram product (N²d if d > N; a symmetric rank update, BLAS syrk) and its eigenvalues
/// (min(d, N)³, LAPACK), two K·d·N products, one K²N product, and O(dN + K²N) loops. The Gram and its
/// eigenvalues are the floor: at d = 512, N = 5000 the Gram is 1.34 GFLOP (27-34 ms on one core at
/// 40-50 GFLOP/s) and the 512×512 eigenvalues take another 10-12 ms.
#include <span>
#include <vector>

#include "ufm/linalg.hpp"
#include "ufm/metrics/class_stats.hpp"
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

/// The feature metrics of one level together with what the classifier metrics of the same level
/// reuse, so that a level that is reported on its own and feeds the classifier is measured once.
struct LevelMetrics {
  ClassStats stats;      ///< counts, class means, M̃, M̃ᵀM̃ of the level
  std::vector<int> ncc;  ///< nearest class centre of every sample; empty when the class means are unusable
  MetricSet metrics;     ///< exactly what feature_metrics puts into an empty object
};

/// feature_metrics into a fresh object, keeping the class statistics and the NCC predictions.
/// \param H d×N features. Throws like feature_metrics.
LevelMetrics level_metrics(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index K,
                           const MetricOptions& opt);

/// The same for the level that the K×d classifier W reads, with the logits without the bias
/// WHt = (W H)ᵀ (resized to N×K, class-major: what collapse_metrics takes), few_rows_product_t's
/// product bit for bit, computed in the level's own pass over H.
LevelMetrics level_metrics(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index K,
                           const MetricOptions& opt, const Eigen::Ref<const Mat>& W, Mat& WHt);

/// The same where the logits are already formed (the evaluation's, Checkpoint::logits_t): W is read
/// only for the class statistics (the strong-collapse residual), and no product with W is made.
LevelMetrics level_metrics(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index K,
                           const MetricOptions& opt, const Eigen::Ref<const Mat>& W);

/// collapse_metrics(s, opt), the same object, from parts already computed: level =
/// level_metrics(s.H, s.labels, s.K, opt) and WHt = (s.W s.H)ᵀ, the logits without the bias stored
/// class-major (N×K, as few_rows_product_t gives them). Nothing of the feature level is computed again.
/// residual_t, when not null: the loss's residual of the logits with the bias, class-major (N×K, as
/// loss_and_residual_class_major of loss.hpp leaves it: the caller's loss and the SQI share one
/// softmax). Throws std::invalid_argument on bad shapes.
MetricSet collapse_metrics(const Snapshot& s, const LevelMetrics& level, const Eigen::Ref<const Mat>& WHt,
                           const Mat* residual_t = nullptr);

/// The same, taking the level's metrics over instead of copying them (level.metrics is left empty).
MetricSet collapse_metrics(const Snapshot& s, LevelMetrics&& level, const Eigen::Ref<const Mat>& WHt,
                           const Mat* residual_t = nullptr);

}  // namespace ufm
