#include "ufm/metrics/class_stats.hpp"

#include <stdexcept>

#include "ufm/metrics/few_rows_product.hpp"
#include "ufm/metrics/geometry.hpp"
#include "ufm/metrics/logit_readings.hpp"
#include "ufm/objectives/labels.hpp"

namespace ufm {

std::string ClassStats::mt_reason() const {
  if (!empty_reason.empty()) return empty_reason;
  if (means_coincide) return "all class means coincide";
  return "";
}

ClassStats class_stats(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index K, const char* caller) {
  const Index d = H.rows(), N = H.cols();
  if (K < 2) throw std::invalid_argument(std::string(caller) + ": K must be at least 2, got " + std::to_string(K));
  if (static_cast<Index>(labels.size()) != N || N == 0)
    throw std::invalid_argument(std::string(caller) + ": " + std::to_string(labels.size()) + " labels for " +
                                std::to_string(N) + " feature columns (need as many, at least one)");
  ClassStats s;
  s.counts = class_counts(labels, K);  // throws on a label outside [0, K)
  s.means = Mat::Zero(d, K);
  Vec sq = Vec::Zero(d);  // Σ_i h_i² row by row: one reduction at the end, not one per column
  for (Index i = 0; i < N; ++i) {
    const double* __restrict h = H.col(i).data();
    double* __restrict mean = s.means.col(labels[i]).data();
    double* __restrict q = sq.data();
    for (Index r = 0; r < d; ++r) {
      mean[r] += h[r];
      q[r] += h[r] * h[r];
    }
  }
  s.h_sq = sq.sum();
  for (Index c = 0; c < K; ++c) {
    if (s.counts[c] == 0) {
      if (s.empty_reason.empty()) s.empty_reason = "class " + std::to_string(c) + " has no samples";
      continue;
    }
    s.means.col(c) /= static_cast<double>(s.counts[c]);
  }
  s.scale_sq = s.means.squaredNorm();
  s.mu_G = s.means.rowwise().mean();
  s.Mt = s.means.colwise() - s.mu_G;
  s.G.noalias() = s.Mt.transpose() * s.Mt;
  s.means_coincide = negligible(s.G.trace(), s.scale_sq);
  return s;
}

Mat centered_projections(const Eigen::Ref<const Mat>& H, const ClassStats& s) {
  Mat P;
  few_rows_product(s.Mt.transpose(), H, P);
  P.colwise() -= s.Mt.transpose() * s.mu_G;
  return P;
}

std::vector<int> nearest_class_center(const ClassStats& s, const Eigen::Ref<const Mat>& Pt) {
  // argmin_c of the score ‖m̃_c‖² − 2 P(c, i) is the argmax of its negation (exact), ties to the lowest
  // c: read_logits' rule, so the logit readings find it.
  Mat closeness(Pt.rows(), Pt.cols());  // N×K class-major
  for (Index c = 0; c < Pt.cols(); ++c) closeness.col(c) = -(s.G(c, c) - 2.0 * Pt.col(c).array());
  return read_logits_class_major(closeness, {}, false).argmax;
}

}  // namespace ufm
