#include "ufm/metrics/sqi.hpp"

#include <algorithm>
#include <cmath>

namespace ufm {
namespace {

/// F = Z (mse) or softmax of every column of Z (ce, computed stably: exp(z − max z) / Σ), K×N, with
/// the exponentials taken over the whole matrix at once (vectorized).
Mat outputs(const Eigen::Ref<const Mat>& Z, Loss loss) {
  if (loss != Loss::kCrossEntropy) return Z;
  Mat F = Z;
  F.rowwise() -= Z.colwise().maxCoeff();
  F.array() = F.array().exp();  // a plain array: Eigen's vectorized exp
  const Eigen::RowVectorXd total = F.colwise().sum();
  F.array().rowwise() /= total.array();
  return F;
}

}  // namespace

void put_sqi(const Eigen::Ref<const Mat>& Z, std::span<const int> labels, Loss loss, MetricSet& out) {
  const Index K = Z.rows(), N = Z.cols();
  const double km1 = static_cast<double>(K - 1);
  const Mat F = outputs(Z, loss);  // one softmax per sample, shared by both passes
  // ε_i = 1 − f_i[y_i]; the ε̃ entries are F off the labels: Off is F with F(y_i, i) set to 0, and
  // every sum and maximum over Off below skips the masked entries (set to 0 again after each shift).
  Vec eps(N);
  Mat Off = F;  // K×N
  for (Index i = 0; i < N; ++i) {
    eps(i) = 1.0 - F(labels[i], i);
    Off(labels[i], i) = 0.0;
  }
  const auto mask_labels = [&](Mat& A) {
    for (Index i = 0; i < N; ++i) A(labels[i], i) = 0.0;
  };
  // Pass 1: means. Pass 2: deviations (two passes: no cancellation in the variances).
  const double eps_avg = eps.mean();
  const double tilde_avg = Off.sum() / (static_cast<double>(N) * km1);
  const double eps_var = (eps.array() - eps_avg).square().sum();
  const double eps_dev = (eps.array() - eps_avg).abs().maxCoeff();
  Mat dev = Off.array() - tilde_avg;  // f − avg off the labels
  mask_labels(dev);
  const double tilde_var = dev.squaredNorm();
  dev = km1 * Off.array() - eps_avg;  // (K−1)f − eps_avg off the labels
  mask_labels(dev);
  const double tilde_dev = dev.cwiseAbs().maxCoeff();
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
