#pragma once
/// Per-sample readings of the logits that accuracy, nc4 and the margins need, taken a vector of
/// samples at a time across the K classes (each class's logits contiguous), the argmax and the margin
/// of those samples held in registers. The values are exactly those of the per-sample loops. (The
/// class-at-a-time loops before kept each reading in memory, and GCC vectorized them with a branch
/// per vector: 10 of a medium checkpoint's 235 µs on the Xeon; the medium checkpoint's median
/// 229 → 223 µs.)
#include <span>
#include <vector>

#include "ufm/linalg.hpp"

namespace ufm {

struct LogitReadings {
  std::vector<int> argmax;  ///< argmax_c Z(c, i), ties to the lowest c (argmax_lowest of class_stats.hpp)
  Vec margin;               ///< z_{y_i} − max_{c≠y_i} z_c; empty unless asked for
};

/// argmax_c z(c, i) of every sample i < N over the classes c < K (K ≥ 1), ties to the lowest c, taken
/// one class at a time across the samples (the loop vectorizes where z(c, ·) reads contiguous memory).
template <class Logit>
std::vector<int> argmax_by_class(Index N, Index K, const Logit& z) {
  Vec best(N), arg = Vec::Zero(N);  // the class index as a double: one vector width with best
  for (Index i = 0; i < N; ++i) best[i] = z(0, i);
  for (Index c = 1; c < K; ++c) {
    const double cls = static_cast<double>(c);
    for (Index i = 0; i < N; ++i) {
      const double v = z(c, i);
      const bool higher = v > best[i];  // strict: a tie keeps the lower class
      best[i] = higher ? v : best[i];
      arg[i] = higher ? cls : arg[i];
    }
  }
  std::vector<int> out(static_cast<std::size_t>(N));
  for (Index i = 0; i < N; ++i) out[static_cast<std::size_t>(i)] = static_cast<int>(arg[i]);
  return out;
}

/// \param Z K×N logits, K ≥ 2. \param labels N labels in [0, K) (read only when with_margin).
LogitReadings read_logits(const Eigen::Ref<const Mat>& Z, std::span<const int> labels, bool with_margin);

/// read_logits on the logits stored class-major, Zt = Zᵀ (N×K): no transpose of its own, so a caller
/// that reads the same logits several times (with and without the bias, the SQI) transposes once.
/// \param bias empty, or K entries: the logits read are then Zt(i, c) + bias[c], the doubles that
/// adding the bias to Zt in place would give (no copy of Zt). std::invalid_argument for another size.
LogitReadings read_logits_class_major(const Eigen::Ref<const Mat>& Zt, std::span<const int> labels,
                                      bool with_margin, std::span<const double> bias = {});

}  // namespace ufm
