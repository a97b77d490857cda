#pragma once
/// A view of one model state for the metrics: no copies of H, W or b.
#include <span>

#include "ufm/linalg.hpp"
#include "ufm/objectives/model_spec.hpp"

namespace ufm {

struct Snapshot {
  /// d×N features (penultimate level). collapse_metrics from a measured level (nc.hpp) reads only its
  /// shape when the level's statistics carry the strong residual: it may then be a map without data.
  ConstMatMap H;
  ConstMatMap W;                ///< K×d classifier
  ConstVecMap b;                ///< K, or size 0 when bias-free
  std::span<const int> labels;  ///< N labels in [0, K), any order (not necessarily class blocks)
  Index K;
  Loss loss;                    ///< selects SQI's output map: logits z (mse) or softmax(z) (ce)
};

}  // namespace ufm
