#include "ufm/metrics/class_stats.hpp"

#include <algorithm>
#include <stdexcept>

#include "ufm/metrics/few_rows_product.hpp"
#include "ufm/metrics/geometry.hpp"
#include "ufm/metrics/logit_readings.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/with_constant.hpp"

namespace ufm {
namespace {

namespace ei = Eigen::internal;
using Packet = ei::packet_traits<double>::type;
constexpr Index kLanes = ei::packet_traits<double>::size;
/// Most packets of rows add_class_sums holds in registers (twice: sums and squares): d up to 64 with
/// AVX-512's 32 registers, 16 with AVX2's 16.
constexpr int kMaxStatPackets = kLanes == 8 ? 8 : 4;

/// The first NP·kLanes rows of the class sums Σ_{y_i = c} h_i (into means) and of Σ_i h_i² (into sq),
/// samples in order, in one pass over H. A class's running sum stays in registers over a run of
/// samples with its label and is stored when the label changes: the same additions in the same order
/// as updating means sample by sample, without the store-to-load round trip per sample that bounds
/// that loop at small d (at d = 64, N = 1,000: 15 → 9 µs). At larger d that loop is not bound by it,
/// and passes over H in blocks of rows defeat the prefetcher where H comes from memory (2.8 against
/// 1.1 ms at d = 512, N = 5,000): the loop stays.
template <int NP>
void add_class_sums(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Mat& means, Vec& sq) {
  Packet sum[NP], q[NP];
  for (int p = 0; p < NP; ++p) q[p] = ei::pset1<Packet>(0.0);
  const Index N = H.cols();
  for (Index i = 0; i < N;) {
    const int c = labels[i];
    double* mean = means.col(c).data();
    for (int p = 0; p < NP; ++p) sum[p] = ei::ploadu<Packet>(mean + p * kLanes);
    for (; i < N && labels[i] == c; ++i) {
      const double* h = H.col(i).data();
      for (int p = 0; p < NP; ++p) {
        const Packet x = ei::ploadu<Packet>(h + p * kLanes);
        sum[p] = ei::padd(sum[p], x);
        q[p] = ei::padd(q[p], ei::pmul(x, x));
      }
    }
    for (int p = 0; p < NP; ++p) ei::pstoreu(mean + p * kLanes, sum[p]);
  }
  for (int p = 0; p < NP; ++p) ei::pstoreu(sq.data() + p * kLanes, q[p]);
}

/// The same for rows r0..d−1, one sample at a time.
void add_class_sums_from(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index r0, Mat& means,
                         Vec& sq) {
  const Index d = H.rows();
  for (Index i = 0; i < H.cols(); ++i) {
    const double* __restrict h = H.col(i).data();
    double* __restrict mean = means.col(labels[i]).data();
    for (Index r = r0; r < d; ++r) {
      mean[r] += h[r];
      sq(r) += h[r] * h[r];
    }
  }
}

}  // namespace

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
  // Whole packets of rows in registers when they fit (small d, whose loop waits on its stores), the
  // rows left one sample at a time.
  const Index np = d / kLanes;
  Index r0 = 0;
  if (np >= 1 && np <= kMaxStatPackets) {
    with_constant<kMaxStatPackets>(static_cast<int>(np),
                                   [&]<int NP>() { add_class_sums<NP>(H, labels, s.means, sq); });
    r0 = np * kLanes;
  }
  add_class_sums_from(H, labels, r0, s.means, sq);
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
