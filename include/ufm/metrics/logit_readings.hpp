#pragma once
/// Per-sample readings of the logits that accuracy, nc4 and the margins need, taken one class at a
/// time across all samples (loops over contiguous samples that the compiler vectorizes) instead of
/// one sample at a time across its K classes. The values are exactly those of the per-sample loops.
#include <span>
#include <vector>

#include "ufm/linalg.hpp"

namespace ufm {

struct LogitReadings {
  std::vector<int> argmax;  ///< argmax_c Z(c, i), ties to the lowest c (argmax_lowest of class_stats.hpp)
  Vec margin;               ///< z_{y_i} − max_{c≠y_i} z_c; empty unless asked for
};

/// \param Z K×N logits, K ≥ 2. \param labels N labels in [0, K) (read only when with_margin).
LogitReadings read_logits(const Eigen::Ref<const Mat>& Z, std::span<const int> labels, bool with_margin);

/// read_logits on the logits stored class-major, Zt = Zᵀ (N×K): no transpose of its own, so a caller
/// that reads the same logits several times (with and without the bias, the SQI) transposes once.
LogitReadings read_logits_class_major(const Eigen::Ref<const Mat>& Zt, std::span<const int> labels,
                                      bool with_margin);

}  // namespace ufm
