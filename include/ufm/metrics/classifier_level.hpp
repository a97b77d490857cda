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
/// snc_h, the SQI block (sqi.hpp), nc3_uncentered, nc4_no_bias, wh_singular_values, wwt_eigenvalues,
/// then the margin metrics and the minority metrics below.
/// \param ncc nearest-class-centre predictions (empty when the class means are unusable).
/// \param WHt the logits without the bias, class-major: (W H)ᵀ (N×K).
/// \param residual_t the loss's residual of the logits with the bias, class-major (N×K, as
/// loss_and_residual_class_major leaves it), when the caller has it; null: computed here.
void put_classifier_metrics(const Snapshot& sn, const ClassStats& s, const std::vector<int>& ncc,
                            const Eigen::Ref<const Mat>& WHt, MetricSet& out, const Mat* residual_t = nullptr);

/// Unregularized CE (theory.md §5 (e)): min_margin = min_i z_{y_i} − max_{c≠y_i} z_c (bias included);
/// normalized_min_margin = min_margin / (‖W‖²_F + ‖H‖²_F), Ji et al.'s normalized margin of the
/// degree-2 homogeneous bias-free model.
void put_margin_metrics(const ClassStats& s, double min_margin, double w_sq, MetricSet& out);

/// self_dual_etf_distance = √(etf_error_w² + etf_error_h² + nc3) from the values already in out:
/// zero exactly when W and M̃ form a self-dual simplex ETF (the max-margin direction of §5 (e)).
void put_self_dual_etf_distance(MetricSet& out);

/// Minority collapse (theory.md §5 (f)): minority classes are those with fewer samples than the
/// largest class. minority_w_norm_mean / majority_w_norm_mean: mean ‖w_c‖ over each group;
/// minority_cosine_mean: mean pairwise cosine of the minority rows of W (→ 1 at minority collapse).
/// All null ("classes are balanced") when every class has the same count.
void put_minority_metrics(const Snapshot& sn, const ClassStats& s, MetricSet& out);

}  // namespace ufm::detail
