#include "ufm/metrics/sqi.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ufm/objectives/loss.hpp"
#include "ufm/simd.hpp"

namespace ufm {

namespace {

/// The SQI's two passes over the residual Rt (N×K, class-major), per sample over its classes in class
/// order: T = simd::Doubles for a vector of samples from i, double for one. first: ε_i = −R(i, y_i)
/// and off_i = Σ_{c ≠ y_i} R(i, c) (from 0, each class adding 0 or R). second: var_i = Σ_{c ≠ y_i}
/// (R − avg)² and dev_i = max_{c ≠ y_i} |(K − 1) R − ε_avg| (std::max's order, from 0).
struct SqiLanes {
  const Eigen::Ref<const Mat>& Rt;
  std::span<const int> labels;

  template <class T>
  T read(Index c, Index i) const {
    if constexpr (std::is_same_v<T, double>)
      return Rt(i, c);
    else
      return simd::load(Rt.col(c).data() + i);
  }
  template <class T>
  T label(Index i) const {
    if constexpr (std::is_same_v<T, double>) {
      return static_cast<double>(labels[static_cast<std::size_t>(i)]);
    } else {
      T y;
      for (int l = 0; l < simd::kLanes; ++l) y[l] = static_cast<double>(labels[static_cast<std::size_t>(i + l)]);
      return y;
    }
  }
  template <class T>
  static T splat(double v) {
    if constexpr (std::is_same_v<T, double>)
      return v;
    else
      return simd::broadcast(v);
  }
  template <class T>
  static void put(double* out, Index i, T v) {
    if constexpr (std::is_same_v<T, double>)
      out[i] = v;
    else
      simd::store(out + i, v);
  }

  template <class T>
  void first_at(Index i, double* eps_out, double* off_out) const {
    const T y = label<T>(i);
    T eps = splat<T>(std::numeric_limits<double>::quiet_NaN()), off = splat<T>(0.0);
    for (Index c = 0; c < Rt.cols(); ++c) {
      const T f = read<T>(c, i);
      const auto is_own = y == splat<T>(static_cast<double>(c));
      eps = is_own ? -f : eps;
      off += is_own ? splat<T>(0.0) : f;
    }
    put(eps_out, i, eps);
    put(off_out, i, off);
  }
  template <class T>
  void second_at(Index i, double km1, double eps_avg, double tilde_avg, double* var_out, double* dev_out) const {
    const T y = label<T>(i);
    T var = splat<T>(0.0), dev = splat<T>(0.0);
    for (Index c = 0; c < Rt.cols(); ++c) {
      const T f = read<T>(c, i);
      const auto is_own = y == splat<T>(static_cast<double>(c));
      const T gap = f - splat<T>(tilde_avg);                              // f − avg off the labels
      const T scaled = simd::abs(splat<T>(km1) * f - splat<T>(eps_avg));  // |(K−1)f − eps_avg| off the labels
      var += is_own ? splat<T>(0.0) : gap * gap;
      dev = is_own ? dev : (dev < scaled ? scaled : dev);
    }
    put(var_out, i, var);
    put(dev_out, i, dev);
  }
};

}  // namespace

void put_sqi(const Eigen::Ref<const Mat>& Z, std::span<const int> labels, Loss loss, MetricSet& out) {
  Mat Rt = Z.transpose();
  loss_and_residual_class_major(loss, Rt, labels);
  put_sqi_from_residual(Rt, labels, out);
}

void put_sqi_from_residual(const Eigen::Ref<const Mat>& Rt, std::span<const int> labels, MetricSet& out) {
  const Index N = Rt.rows(), K = Rt.cols();
  const double n = static_cast<double>(N), km1 = static_cast<double>(K - 1);
  // ε_i = 1 − f_i[y_i] = −R_{i,y_i}; the ε̃ entries are R off the labels. Each sample's readings run
  // over its K classes in class order, a vector of samples at a time in registers (the one class's
  // logits of those samples contiguous), the rest one at a time, the same arithmetic per sample; each
  // total is one reduction at the end.
  Vec eps(N), off(N), var(N), dev(N);
  const SqiLanes lanes{Rt, labels};
  Index i = 0;
  for (; i + simd::kLanes <= N; i += simd::kLanes) lanes.first_at<simd::Doubles>(i, eps.data(), off.data());
  for (; i < N; ++i) lanes.first_at<double>(i, eps.data(), off.data());
  // Pass 1: means. Pass 2: deviations (two passes: no cancellation in the variances).
  const double eps_avg = eps.mean();
  const double tilde_avg = off.sum() / (n * km1);
  const double eps_var = (eps.array() - eps_avg).square().sum();
  const double eps_dev = (eps.array() - eps_avg).abs().maxCoeff();
  for (i = 0; i + simd::kLanes <= N; i += simd::kLanes)
    lanes.second_at<simd::Doubles>(i, km1, eps_avg, tilde_avg, var.data(), dev.data());
  for (; i < N; ++i) lanes.second_at<double>(i, km1, eps_avg, tilde_avg, var.data(), dev.data());
  const double tilde_var = var.sum(), tilde_dev = dev.maxCoeff();
  const double eps_std = std::sqrt(eps_var / n);
  const double tilde_std = std::sqrt(tilde_var / (n * km1));
  put_metric(out, "eps_avg", eps_avg);
  put_metric(out, "eps_tilde_avg", tilde_avg);
  put_metric(out, "eps_std", eps_std);
  put_metric(out, "eps_tilde_std", tilde_std);
  constexpr double kTinyAvg = 1e-12;
  if (std::abs(eps_avg) < kTinyAvg)
    put_metric(out, "eps_rel_std", std::nullopt, "|eps_avg| < 1e-12");
  else
    put_metric(out, "eps_rel_std", eps_std / std::abs(eps_avg));
  if (std::abs(tilde_avg) < kTinyAvg)
    put_metric(out, "eps_tilde_rel_std", std::nullopt, "|eps_tilde_avg| < 1e-12");
  else
    put_metric(out, "eps_tilde_rel_std", tilde_std / std::abs(tilde_avg));
  put_metric(out, "sqi_avg_gap", std::abs(eps_avg - km1 * tilde_avg));
  put_metric(out, "sqi_pointwise_gap", eps_dev + tilde_dev);
}

}  // namespace ufm
