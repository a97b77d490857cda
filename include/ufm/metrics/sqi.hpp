#pragma once
/// Symmetric quasi-interpolation (theory.md §4 SQI) of the model outputs.
#include <span>

#include "ufm/linalg.hpp"
#include "ufm/metrics/metric_set.hpp"
#include "ufm/objectives/model_spec.hpp"

namespace ufm {

/// Outputs f_i = z_i (mse) or softmax(z_i) (ce) of the logits Z (K×N, bias included);
/// ε_i = 1 − f_i[y_i] and ε̃_{i,c'} = f_i[c'] for c' ≠ y_i. Puts, in this order: eps_avg, eps_tilde_avg,
/// eps_std, eps_tilde_std (population), eps_rel_std, eps_tilde_rel_std (std/|avg|, null when
/// |avg| < 1e-12), sqi_avg_gap = |eps_avg − (K−1)·eps_tilde_avg| and sqi_pointwise_gap =
/// max_i |ε_i − eps_avg| + max_{i,c'≠y_i} |(K−1)ε̃_{i,c'} − eps_avg|. O(KN): the outputs are
/// formed once, in an N×K temporary, for both passes.
void put_sqi(const Eigen::Ref<const Mat>& Z, std::span<const int> labels, Loss loss, MetricSet& out);

/// put_sqi on the logits stored class-major, Zt = Zᵀ (N×K): every loop runs over contiguous samples
/// of one class (vectorized), and the caller's transpose is shared with read_logits_class_major.
void put_sqi_class_major(const Eigen::Ref<const Mat>& Zt, std::span<const int> labels, Loss loss,
                         MetricSet& out);

}  // namespace ufm
