#include "ufm/metrics/sqi.hpp"

#include <algorithm>
#include <cmath>

namespace ufm {
namespace {

/// f = z (mse) or softmax(z) (ce, computed stably).
void output(const Eigen::Ref<const Mat>& Z, Index i, Loss loss, Vec& f) {
  f = Z.col(i);
  if (loss == Loss::kCrossEntropy) {
    f.array() = (f.array() - f.maxCoeff()).exp();
    f /= f.sum();
  }
}

}  // namespace

void put_sqi(const Eigen::Ref<const Mat>& Z, std::span<const int> labels, Loss loss, MetricSet& out) {
  const Index K = Z.rows(), N = Z.cols();
  const double km1 = static_cast<double>(K - 1);
  Vec f(K);
  // Pass 1: means. Pass 2: deviations (two passes: no cancellation in the variances).
  double eps_sum = 0.0, tilde_sum = 0.0;
  for (Index i = 0; i < N; ++i) {
    output(Z, i, loss, f);
    const int y = labels[i];
    eps_sum += 1.0 - f(y);
    for (Index c = 0; c < K; ++c)
      if (c != y) tilde_sum += f(c);
  }
  const double eps_avg = eps_sum / static_cast<double>(N);
  const double tilde_avg = tilde_sum / (static_cast<double>(N) * km1);
  double eps_var = 0.0, tilde_var = 0.0, eps_dev = 0.0, tilde_dev = 0.0;
  for (Index i = 0; i < N; ++i) {
    output(Z, i, loss, f);
    const int y = labels[i];
    const double e = 1.0 - f(y);
    eps_var += (e - eps_avg) * (e - eps_avg);
    eps_dev = std::max(eps_dev, std::abs(e - eps_avg));
    for (Index c = 0; c < K; ++c) {
      if (c == y) continue;
      tilde_var += (f(c) - tilde_avg) * (f(c) - tilde_avg);
      tilde_dev = std::max(tilde_dev, std::abs(km1 * f(c) - eps_avg));
    }
  }
  const double eps_std = std::sqrt(eps_var / static_cast<double>(N));
  const double tilde_std = std::sqrt(tilde_var / (static_cast<double>(N) * km1));
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
