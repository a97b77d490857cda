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
/// formed once, as the loss's residual (loss.hpp) in an N×K temporary, for both passes.
void put_sqi(const Eigen::Ref<const Mat>& Z, std::span<const int> labels, Loss loss, MetricSet& out);

/// put_sqi from the residual of the loss, stored class-major: Rt = (F − Y)ᵀ (N×K), as
/// loss_and_residual_class_major leaves it, so that a checkpoint's loss and SQI share one softmax.
/// ε_i = −R_{i,y_i} and ε̃_{i,c'} = R_{i,c'}; every loop runs over contiguous samples of one class.
void put_sqi_from_residual(const Eigen::Ref<const Mat>& Rt, std::span<const int> labels, MetricSet& out);

}  // namespace ufm
