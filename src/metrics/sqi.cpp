#include "ufm/metrics/sqi.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ufm/objectives/loss.hpp"

namespace ufm {

void put_sqi(const Eigen::Ref<const Mat>& Z, std::span<const int> labels, Loss loss, MetricSet& out) {
  Mat Rt = Z.transpose();
  loss_and_residual_class_major(loss, Rt, labels);
  put_sqi_from_residual(Rt, labels, out);
}

void put_sqi_from_residual(const Eigen::Ref<const Mat>& Rt, std::span<const int> labels, MetricSet& out) {
  const Index N = Rt.rows(), K = Rt.cols();
  const double n = static_cast<double>(N), km1 = static_cast<double>(K - 1);
  // ε_i = 1 − f_i[y_i] = −R_{i,y_i}; the ε̃ entries are R off the labels. The loops run over one class's
  // samples (contiguous) and skip those labelled with that class; they accumulate per sample, element
  // by element, and each total is one reduction at the end.
  Vec y(N), eps = Vec::Constant(N, std::numeric_limits<double>::quiet_NaN()), off = Vec::Zero(N);
  for (Index i = 0; i < N; ++i) y(i) = static_cast<double>(labels[static_cast<std::size_t>(i)]);
  for (Index c = 0; c < K; ++c) {
    const double* f = Rt.col(c).data();
    const double cls = static_cast<double>(c);
    for (Index i = 0; i < N; ++i) {
      const bool is_own = y(i) == cls;
      eps(i) = is_own ? -f[i] : eps(i);
      off(i) += is_own ? 0.0 : f[i];
    }
  }
  // Pass 1: means. Pass 2: deviations (two passes: no cancellation in the variances).
  const double eps_avg = eps.mean();
  const double tilde_avg = off.sum() / (n * km1);
  const double eps_var = (eps.array() - eps_avg).square().sum();
  const double eps_dev = (eps.array() - eps_avg).abs().maxCoeff();
  Vec var = Vec::Zero(N), dev = Vec::Zero(N);
  for (Index c = 0; c < K; ++c) {
    const double* f = Rt.col(c).data();
    const double cls = static_cast<double>(c);
    for (Index i = 0; i < N; ++i) {
      const bool is_own = y(i) == cls;
      const double gap = f[i] - tilde_avg;                   // f − avg off the labels
      const double scaled = std::abs(km1 * f[i] - eps_avg);  // |(K−1)f − eps_avg| off the labels
      var(i) += is_own ? 0.0 : gap * gap;
      dev(i) = is_own ? dev(i) : std::max(dev(i), scaled);
    }
  }
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
