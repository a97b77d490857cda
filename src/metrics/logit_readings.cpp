#include "ufm/metrics/logit_readings.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace ufm {

LogitReadings read_logits(const Eigen::Ref<const Mat>& Z, std::span<const int> labels, bool with_margin) {
  return read_logits_class_major(Z.transpose(), labels, with_margin);  // N×K: one class's logits contiguous
}

LogitReadings read_logits_class_major(const Eigen::Ref<const Mat>& Zt, std::span<const int> labels,
                                      bool with_margin, std::span<const double> bias) {
  const Index K = Zt.cols(), N = Zt.rows();
  if (!bias.empty() && static_cast<Index>(bias.size()) != K)
    throw std::invalid_argument("read_logits_class_major: " + std::to_string(bias.size()) + " biases for " +
                                std::to_string(K) + " classes");
  // z + b_c is the double that adding the bias to the logits in place would store.
  const bool add = !bias.empty();
  const auto logit = [&](Index c, Index i) { return add ? Zt(i, c) + bias[static_cast<std::size_t>(c)] : Zt(i, c); };
  LogitReadings r;
  r.argmax = argmax_by_class(N, K, logit);
  if (!with_margin) return r;

  Vec y(N), own = Vec::Zero(N), other = Vec::Constant(N, -std::numeric_limits<double>::infinity());
  for (Index i = 0; i < N; ++i) y[i] = static_cast<double>(labels[static_cast<std::size_t>(i)]);
  for (Index c = 0; c < K; ++c) {
    const double cls = static_cast<double>(c);
    for (Index i = 0; i < N; ++i) {
      const double v = logit(c, i);
      const bool is_own = y[i] == cls;
      own[i] = is_own ? v : own[i];
      other[i] = is_own ? other[i] : std::max(other[i], v);
    }
  }
  r.margin = own - other;
  return r;
}

}  // namespace ufm
