#include "ufm/metrics/geometry.hpp"

#include <cmath>

namespace ufm {

void put_frame_geometry(const Mat& G, double scale_sq, const std::string& suffix, MetricSet& out) {
  const Index K = G.cols();
  const Vec norms = G.diagonal().cwiseMax(0.0).cwiseSqrt();
  const double mean = norms.mean();
  Index zero_col = -1;
  for (Index c = 0; c < K && zero_col < 0; ++c)
    if (negligible(G(c, c), scale_sq)) zero_col = c;

  if (negligible(mean * mean, scale_sq)) {
    put_metric(out, "equinorm_" + suffix, std::nullopt, "every vector is zero");
  } else {
    const double var = (norms.array() - mean).square().mean();
    put_metric(out, "equinorm_" + suffix, std::sqrt(var) / mean);
  }
  if (zero_col >= 0) {
    const std::string reason = "cosine with a zero vector (column " + std::to_string(zero_col) + ")";
    put_metric(out, "equiangle_" + suffix, std::nullopt, reason);
    put_metric(out, "etf_error_" + suffix, std::nullopt, reason);
    return;
  }
  const Vec inv = norms.cwiseInverse();
  const Mat U = inv.asDiagonal() * G * inv.asDiagonal();  // Gram of the unit vectors
  const double shift = 1.0 / static_cast<double>(K - 1);
  double sum = 0.0;
  for (Index c = 0; c < K; ++c)
    for (Index e = c + 1; e < K; ++e) sum += std::abs(U(c, e) + shift);
  put_metric(out, "equiangle_" + suffix, sum / (0.5 * static_cast<double>(K * (K - 1))));

  Mat J = -Mat::Constant(K, K, 1.0 / static_cast<double>(K));
  J.diagonal().array() += 1.0;  // ‖J‖_F = √(K−1)
  const double err = (U / U.norm() - J / std::sqrt(static_cast<double>(K - 1))).norm();
  put_metric(out, "etf_error_" + suffix, err);
}

std::optional<double> frame_distance(const Eigen::Ref<const Mat>& A, double a_scale_sq, const Eigen::Ref<const Mat>& B,
                                     double b_scale_sq) {
  const double a = A.squaredNorm(), b = B.squaredNorm();
  if (negligible(a, a_scale_sq) || negligible(b, b_scale_sq)) return std::nullopt;
  return (A / std::sqrt(a) - B / std::sqrt(b)).squaredNorm();
}

}  // namespace ufm
