#include "ufm/metrics/logit_readings.hpp"

#include <algorithm>
#include <limits>

namespace ufm {

LogitReadings read_logits(const Eigen::Ref<const Mat>& Z, std::span<const int> labels, bool with_margin) {
  return read_logits_class_major(Z.transpose(), labels, with_margin);  // N×K: one class's logits contiguous
}

LogitReadings read_logits_class_major(const Eigen::Ref<const Mat>& Zt, std::span<const int> labels,
                                      bool with_margin) {
  const Index K = Zt.cols(), N = Zt.rows();
  Vec best = Zt.col(0), arg = Vec::Zero(N);  // the class index as a double: one vector width with best
  for (Index c = 1; c < K; ++c) {
    const double* z = Zt.col(c).data();
    const double cls = static_cast<double>(c);
    for (Index i = 0; i < N; ++i) {
      const bool higher = z[i] > best[i];  // strict: a tie keeps the lower class
      best[i] = higher ? z[i] : best[i];
      arg[i] = higher ? cls : arg[i];
    }
  }
  LogitReadings r;
  r.argmax.resize(static_cast<std::size_t>(N));
  for (Index i = 0; i < N; ++i) r.argmax[static_cast<std::size_t>(i)] = static_cast<int>(arg[i]);
  if (!with_margin) return r;

  Vec y(N), own = Vec::Zero(N), other = Vec::Constant(N, -std::numeric_limits<double>::infinity());
  for (Index i = 0; i < N; ++i) y[i] = static_cast<double>(labels[static_cast<std::size_t>(i)]);
  for (Index c = 0; c < K; ++c) {
    const double* z = Zt.col(c).data();
    const double cls = static_cast<double>(c);
    for (Index i = 0; i < N; ++i) {
      const bool is_own = y[i] == cls;
      own[i] = is_own ? z[i] : own[i];
      other[i] = is_own ? other[i] : std::max(other[i], z[i]);
    }
  }
  r.margin = own - other;
  return r;
}

}  // namespace ufm
