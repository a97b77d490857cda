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
nlohmann::ordered_json checkpoint_report(const DeepUfmObjective& f, const Checkpoint& c, const MetricOptions& options);

}  // namespace ufm
