#pragma once
/// What a checkpoint of `ufm-sim net` reports about one sample set (the training evaluation subset,
/// or the test set): the UFM's checkpoint shape, so one plotting script reads both.
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/linalg.hpp"
#include "ufm/metrics/metric_set.hpp"
#include "ufm/objectives/network_objective.hpp"

namespace ufm {

/// On the samples `subset` of f's data: `loss` (mean data loss) and `objective` (+ every
/// penalty), then every metric of theory.md §4 of the penultimate level S_{L−1} with the output
/// layer W_L (and b), `null_reasons`, and `levels` {"S1": {...}, …}: the classifier-free metrics
/// of every hidden level (nc1, nc1_tr, cdnv, NC2 of the class means, NCC accuracy, spectra).
/// `levels` is workspace.
nlohmann::ordered_json network_set_report(const NetworkObjective& f, const Vec& theta, std::span<const Index> subset,
                                          const MetricOptions& options, std::vector<Mat>& levels);

/// {"W1": {"norm", "singular_values"}, …, "WL": …}: singular values through the smaller Gram
/// matrix and a symmetric eigensolver (not an SVD of a 512×784 matrix at every checkpoint).
nlohmann::ordered_json network_weights_report(const NetworkObjective& f, const Vec& theta, Index max_singular_values);

/// {"samples", "loss", "accuracy"} over every sample of f's data (one forward pass for the logits):
/// the end-of-run numbers on the whole training and test sets, not on the evaluation subsets.
nlohmann::ordered_json network_full_set_report(const NetworkObjective& f, const Vec& theta);

/// Penalties of θ: penalty_w (the output layer's), penalty_layers (λ_l/2‖W_l‖², l < L), penalty_b.
nlohmann::ordered_json network_penalties(const NetworkObjective& f, const Vec& theta);

}  // namespace ufm
