#include "ufm/objectives/loss.hpp"

#include <cmath>

namespace ufm {
namespace {

/// -log softmax(z)_y, computed stably.
double cross_entropy(const Eigen::Ref<const Mat>& Z, Index i, int y) {
  const double m = Z.col(i).maxCoeff();
  const double s = (Z.col(i).array() - m).exp().sum();
  return m + std::log(s) - Z(y, i);
}

}  // namespace

double loss_and_residual(Loss loss, Eigen::Ref<Mat> Z, std::span<const int> labels) {
  const Index N = Z.cols();
  double total = 0.0;
  if (loss == Loss::kMse) {
    for (Index i = 0; i < N; ++i) {
      Z(labels[i], i) -= 1.0;
      total += 0.5 * Z.col(i).squaredNorm();
    }
    return total;
  }
  for (Index i = 0; i < N; ++i) {
    auto z = Z.col(i);
    const int y = labels[i];
    const double zy = z(y);
    const double m = z.maxCoeff();
    z.array() = (z.array() - m).exp();
    const double s = z.sum();
    total += m + std::log(s) - zy;
    z /= s;
    z(y) -= 1.0;
  }
  return total;
}

double loss_sum(Loss loss, const Eigen::Ref<const Mat>& Z, std::span<const int> labels) {
  const Index N = Z.cols();
  double total = 0.0;
  for (Index i = 0; i < N; ++i) {
    const int y = labels[i];
    if (loss == Loss::kMse) {
      double sq = 0.0;  // ||z - e_y||^2 term by term: no cancellation near the optimum
      for (Index c = 0; c < Z.rows(); ++c) {
        const double r = Z(c, i) - (c == y ? 1.0 : 0.0);
        sq += r * r;
      }
      total += 0.5 * sq;
    } else {
      total += cross_entropy(Z, i, y);
    }
  }
  return total;
}

}  // namespace ufm
