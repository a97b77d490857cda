#pragma once
/// What a checkpoint of `ufm-sim run` reports (theory.md §4 names).
#include <nlohmann/json.hpp>

#include "ufm/dynamics/observer.hpp"
#include "ufm/metrics/metric_set.hpp"
#include "ufm/objectives/deep_ufm_objective.hpp"

namespace ufm {

/// step, time, the objective and its parts, grad_norm, then every metric of the penultimate level
/// S_{L−1} (H itself for L = 1) with the classifier W_L, then null_reasons. For L ≥ 2 also
/// `penalty_layers` (λ_l/2 ‖W_l‖², l < L), `levels` (feature metrics of H1, S1, …, keyed by name)
/// and `weights` (norm and singular values of W_1..W_{L−1}, keyed "W1", …).
///
/// Cost: one forward pass for S_1..S_{L−1} (none for L = 1: H1 is read in place), the logits W_L S_{L−1}
/// once (the loss comes from them, not from another pass: DeepUfmObjective::parts up to rounding), and
/// every level's feature metrics once, the penultimate level's shared with the classifier metrics.
/// Per level the d×d Gram product and its eigenvalues dominate (nc.hpp). A linear stack whose levels
/// are cheaper to measure as images of H1 (linear_images) forms none of them: every level's metrics
/// then come from H1's class scatters (linear_images.hpp), equal to the formed route's up to rounding.
nlohmann::ordered_json checkpoint_report(const DeepUfmObjective& f, const Checkpoint& c, const MetricOptions& options);

/// true when checkpoint_report measures f's hidden levels as linear images of H1: linear layers, L ≥ 2,
/// and fewer flops so (linear_images_take_fewer_flops; with spectra, every width ≤ N).
bool linear_images(const DeepUfmObjective& f, const MetricOptions& options);

/// {"norm": ‖W‖_F, "singular_values": the largest max_singular_values (0 = all), descending} of a
/// weight matrix, through the smaller Gram matrix (singular_values_via_gram): a `weights` entry of
/// the UFM's and the network's checkpoints.
/// \param gram When not null, WᵀW (cols×cols, lower triangle read) made already, for a W with at least as
/// many rows as columns (its smaller Gram): the σ come from it.
nlohmann::ordered_json weight_report(const ConstMatMap& W, Index max_singular_values, const Mat* gram = nullptr);

}  // namespace ufm
