#include "ufm/metrics/logit_readings.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "ufm/simd.hpp"

namespace ufm {

namespace {

/// read_logits_class_major's readings, simd::kLanes samples at a time: each lane runs the per-sample
/// loops' comparisons and selections, in their order (argmax over c ≥ 1 by v > best, the own logit and
/// the others' max by std::max's (other < v) ? v : other), so the values are theirs bit for bit. With
/// kBias the logit read is Zt(i, c) + b_c, the double that adding the bias in place would store;
/// without, Zt(i, c) itself (no + 0, which would turn −0 into +0). The samples after the last full
/// vector run the same steps one at a time.
template <bool kBias>
LogitReadings read_by_lanes(const Eigen::Ref<const Mat>& Zt, std::span<const int> labels, bool with_margin,
                            std::span<const double> bias) {
  using simd::Doubles;
  constexpr Index L = simd::kLanes;
  const Index K = Zt.cols(), N = Zt.rows(), ld = Zt.outerStride();
  const double* z = Zt.data();
  const auto b = [&](Index c) { return kBias ? bias[static_cast<std::size_t>(c)] : 0.0; };
  LogitReadings r;
  r.argmax.resize(static_cast<std::size_t>(N));
  if (with_margin) r.margin.resize(N);
  constexpr double kMinusInf = -std::numeric_limits<double>::infinity();
  Index i = 0;
  for (; i + L <= N; i += L) {
    const auto logit = [&](Index c) {
      const Doubles v = simd::load(z + c * ld + i);
      if constexpr (kBias) return v + simd::broadcast(b(c));
      return v;
    };
    Doubles best = logit(0), arg{};
    for (Index c = 1; c < K; ++c) {
      const Doubles v = logit(c);
      const auto higher = v > best;  // strict: a tie keeps the lower class
      best = higher ? v : best;
      arg = higher ? simd::broadcast(static_cast<double>(c)) : arg;
    }
    for (Index l = 0; l < L; ++l) r.argmax[static_cast<std::size_t>(i + l)] = static_cast<int>(arg[l]);
    if (!with_margin) continue;
    Doubles y;
    for (Index l = 0; l < L; ++l) y[l] = static_cast<double>(labels[static_cast<std::size_t>(i + l)]);
    Doubles own{}, other = simd::broadcast(kMinusInf);
    for (Index c = 0; c < K; ++c) {
      const Doubles v = logit(c);
      const auto is_own = y == simd::broadcast(static_cast<double>(c));
      own = is_own ? v : own;
      other = is_own ? other : (other < v ? v : other);
    }
    simd::store(r.margin.data() + i, own - other);
  }
  for (; i < N; ++i) {
    const auto logit = [&](Index c) { return kBias ? z[c * ld + i] + b(c) : z[c * ld + i]; };
    double best = logit(0);
    int arg = 0;
    for (Index c = 1; c < K; ++c)
      if (const double v = logit(c); v > best) best = v, arg = static_cast<int>(c);
    r.argmax[static_cast<std::size_t>(i)] = arg;
    if (!with_margin) continue;
    const int y = labels[static_cast<std::size_t>(i)];
    double own = 0.0, other = kMinusInf;
    for (Index c = 0; c < K; ++c) {
      const double v = logit(c);
      if (c == y)
        own = v;
      else
        other = std::max(other, v);
    }
    r.margin(i) = own - other;
  }
  return r;
}

}  // namespace

LogitReadings read_logits(const Eigen::Ref<const Mat>& Z, std::span<const int> labels, bool with_margin) {
  return read_logits_class_major(Z.transpose(), labels, with_margin);  // N×K: one class's logits contiguous
}

LogitReadings read_logits_class_major(const Eigen::Ref<const Mat>& Zt, std::span<const int> labels,
                                      bool with_margin, std::span<const double> bias) {
  const Index K = Zt.cols();
  if (!bias.empty() && static_cast<Index>(bias.size()) != K)
    throw std::invalid_argument("read_logits_class_major: " + std::to_string(bias.size()) + " biases for " +
                                std::to_string(K) + " classes");
  if (bias.empty())
    return read_by_lanes<false>(Zt, labels, with_margin, bias);
  return read_by_lanes<true>(Zt, labels, with_margin, bias);
}

}  // namespace ufm
