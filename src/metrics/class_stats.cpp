#include "ufm/metrics/class_stats.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
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
constexpr Index kStatLanes = ei::packet_traits<double>::size;
/// Most packets of rows add_class_sums holds in registers (three times: sums, squares and the strong
/// residual's squares): 64 rows with AVX-512's 32 registers, 16 with AVX2's 16.
constexpr int kMaxStatPackets = kStatLanes == 8 ? 8 : 4;
/// d up to this: the sums in registers, over slices of at most kMaxStatPackets packets of rows (one
/// pass over H per slice: four with AVX2 at d = 64), the rows after the last whole packet one sample
/// at a time.
constexpr Index kMaxRegisterRows = 64;

/// The residual of strong NC, H − Wᵀ D⁻¹ Y, summed in the pass over H when the classifier is given:
/// its squares r(row) += Σ_i (h_i − a_{y_i} w_{y_i})²(row), samples in order (Wt = Wᵀ: d×K, a: K).
struct StrongResidual {
  const Mat& Wt;
  const Vec& a;
  Vec& r;
};

/// Rows r0 … r0 + NP·kStatLanes − 1 of the class sums Σ_{y_i = c} h_i (into means) and of Σ_i h_i² (into
/// sq), samples in order, in one pass over H. A class's running sum stays in registers over a run of
/// samples with its label and is stored when the label changes: the same additions in the same order
/// as updating means sample by sample, without the store-to-load round trip per sample that bounds
/// that loop at small d (at d = 64, N = 1,000: 15 → 9 µs with AVX-512's one slice; with AVX2's four,
/// residual included, 23 → 18 µs in the checkpoint's profile). At larger d that loop is not bound by it,
/// and passes over H in blocks of rows defeat the prefetcher where H comes from memory (2.8 against
/// 1.1 ms at d = 512, N = 5,000): the loop stays. With kResidual, the strong residual's squares too,
/// their sums in registers as well: a pass over H fewer (its own pass took 3.8% of a medium
/// checkpoint's samples in perf on the Zen 5; the checkpoint gained 1–5 µs of about 205).
template <int NP, bool kResidual>
void add_class_sums(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index r0, Mat& means, Vec& sq,
                    [[maybe_unused]] const StrongResidual* strong) {
  Packet sum[NP], q[NP], res[NP];
  for (int p = 0; p < NP; ++p) q[p] = ei::pset1<Packet>(0.0);
  if constexpr (kResidual)
    for (int p = 0; p < NP; ++p) res[p] = ei::ploadu<Packet>(strong->r.data() + r0 + p * kStatLanes);
  const Index N = H.cols();
  for (Index i = 0; i < N;) {
    const int c = labels[i];
    double* mean = means.col(c).data() + r0;
    for (int p = 0; p < NP; ++p) sum[p] = ei::ploadu<Packet>(mean + p * kStatLanes);
    [[maybe_unused]] const double* w = kResidual ? strong->Wt.col(c).data() + r0 : nullptr;
    [[maybe_unused]] const Packet ac = ei::pset1<Packet>(kResidual ? strong->a(c) : 0.0);
    Index end = i + 1;  // the run of class c's samples: found first, so the loop below has no label test
    while (end < N && labels[end] == c) ++end;
    for (; i < end; ++i) {
      const double* h = H.col(i).data() + r0;
      for (int p = 0; p < NP; ++p) {
        const Packet x = ei::ploadu<Packet>(h + p * kStatLanes);
        sum[p] = ei::padd(sum[p], x);
        q[p] = ei::padd(q[p], ei::pmul(x, x));
        if constexpr (kResidual) {
          const Packet e = ei::psub(x, ei::pmul(ac, ei::ploadu<Packet>(w + p * kStatLanes)));
          res[p] = ei::padd(res[p], ei::pmul(e, e));
        }
      }
    }
    for (int p = 0; p < NP; ++p) ei::pstoreu(mean + p * kStatLanes, sum[p]);
  }
  for (int p = 0; p < NP; ++p) ei::pstoreu(sq.data() + r0 + p * kStatLanes, q[p]);
  if constexpr (kResidual)
    for (int p = 0; p < NP; ++p) ei::pstoreu(strong->r.data() + r0 + p * kStatLanes, res[p]);
}

/// The same for rows r0..d−1, one sample at a time: whole packets of rows, then the rest. The packets
/// are written out because GCC 12 left the plain loop over rows (sq and the sums may alias for all it
/// knows) at about 15 cycles per vector of four: d = 512, N = 10,000, K = 100 on the Xeon 4.1 → 2.5 ms
/// (best of 20), the same additions in the same order.
void add_class_sums_from(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index r0, Mat& means,
                         Vec& sq, const StrongResidual* strong) {
  const Index d = H.rows(), packets_end = r0 + (d - r0) / kStatLanes * kStatLanes;
  if (r0 >= d) return;  // every row was summed in registers (d = 64: a loop over the samples for nothing)
  double* q = sq.data();
  for (Index i = 0; i < H.cols(); ++i) {
    const double* h = H.col(i).data();
    double* mean = means.col(labels[i]).data();
    Index r = r0;
    for (; r < packets_end; r += kStatLanes) {
      const Packet x = ei::ploadu<Packet>(h + r);
      ei::pstoreu(mean + r, ei::padd(ei::ploadu<Packet>(mean + r), x));
      ei::pstoreu(q + r, ei::padd(ei::ploadu<Packet>(q + r), ei::pmul(x, x)));
    }
    for (; r < d; ++r) {
      mean[r] += h[r];
      q[r] += h[r] * h[r];
    }
    if (!strong) continue;
    const double* w = strong->Wt.col(labels[i]).data();
    const double a = strong->a(labels[i]);
    const Packet ac = ei::pset1<Packet>(a);
    double* res = strong->r.data();
    for (r = r0; r < packets_end; r += kStatLanes) {
      const Packet e = ei::psub(ei::ploadu<Packet>(h + r), ei::pmul(ac, ei::ploadu<Packet>(w + r)));
      ei::pstoreu(res + r, ei::padd(ei::ploadu<Packet>(res + r), ei::pmul(e, e)));
    }
    for (; r < d; ++r) {
      const double e = h[r] - a * w[r];
      res[r] += e * e;
    }
  }
}

}  // namespace

std::string ClassStats::mt_reason() const {
  if (!empty_reason.empty()) return empty_reason;
  if (means_coincide) return "all class means coincide";
  return "";
}

ClassStats class_stats(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index K, const char* caller,
                       const Eigen::Ref<const Mat>* W) {
  const Index d = H.rows(), N = H.cols();
  if (K < 2) throw std::invalid_argument(std::string(caller) + ": K must be at least 2, got " + std::to_string(K));
  if (static_cast<Index>(labels.size()) != N || N == 0)
    throw std::invalid_argument(std::string(caller) + ": " + std::to_string(labels.size()) + " labels for " +
                                std::to_string(N) + " feature columns (need as many, at least one)");
  ClassStats s;
  s.counts = class_counts(labels, K);  // throws on a label outside [0, K)
  s.means = Mat::Zero(d, K);
  Vec sq = Vec::Zero(d);  // Σ_i h_i² row by row: one reduction at the end, not one per column
  if (W && (W->rows() != K || W->cols() != d))
    throw std::invalid_argument(std::string(caller) + ": W is " + std::to_string(W->rows()) + "x" +
                                std::to_string(W->cols()) + ", need K x d = " + std::to_string(K) + "x" +
                                std::to_string(d));
  Mat Wt;
  Vec inv_sqrt;  // D⁻¹ = diag(1/√n_c): only classes with samples occur in Y, an empty one's entry is unused
  std::optional<StrongResidual> strong;
  if (W) {
    Wt = W->transpose();
    inv_sqrt.resize(K);
    for (Index c = 0; c < K; ++c) inv_sqrt(c) = s.counts[c] ? 1.0 / std::sqrt(static_cast<double>(s.counts[c])) : 0.0;
    s.strong_residual_sq = Vec::Zero(d);
    strong.emplace(StrongResidual{Wt, inv_sqrt, s.strong_residual_sq});
  }
  const StrongResidual* residual = strong ? &*strong : nullptr;
  // Whole packets of rows in registers when they fit (small d, whose loop waits on its stores), the
  // rows left one sample at a time.
  const Index np = d / kStatLanes;
  Index r0 = 0;
  if (np >= 1 && np * kStatLanes <= kMaxRegisterRows) {
    for (Index p0 = 0; p0 < np; p0 += kMaxStatPackets) {
      const int slice = static_cast<int>(std::min<Index>(kMaxStatPackets, np - p0));
      with_constant<kMaxStatPackets>(slice, [&]<int NP>() {
        if (residual)
          add_class_sums<NP, true>(H, labels, p0 * kStatLanes, s.means, sq, residual);
        else
          add_class_sums<NP, false>(H, labels, p0 * kStatLanes, s.means, sq, nullptr);
      });
    }
    r0 = np * kStatLanes;
  }
  add_class_sums_from(H, labels, r0, s.means, sq, residual);
  s.h_sq = sq.sum();
  for (Index c = 0; c < K; ++c) {
    if (s.counts[c] == 0) {
      if (s.empty_reason.empty()) s.empty_reason = "class " + std::to_string(c) + " has no samples";
      continue;
    }
    s.means.col(c) /= static_cast<double>(s.counts[c]);
  }
  centre_class_means(s);
  return s;
}

void centre_class_means(ClassStats& s) {
  s.scale_sq = s.means.squaredNorm();
  s.mu_G = s.means.rowwise().mean();
  s.Mt = s.means.colwise() - s.mu_G;
  s.G.noalias() = s.Mt.transpose() * s.Mt;
  s.means_coincide = negligible(s.G.trace(), s.scale_sq);
}

Mat centered_projections(const Eigen::Ref<const Mat>& H, const ClassStats& s) {
  Mat P;
  few_rows_product(s.Mt.transpose(), H, P);
  P.colwise() -= s.Mt.transpose() * s.mu_G;
  return P;
}

std::vector<int> nearest_class_center(const ClassStats& s, const Eigen::Ref<const Mat>& Pt) {
  // argmin_c of the score ‖m̃_c‖² − 2 P(c, i) is the argmax of its negation (exact), ties to the lowest
  // c: read_logits' rule, the scores formed as they are read (no N×K matrix of them).
  const auto closeness = [&](Index c, Index i) { return -(s.G(c, c) - 2.0 * Pt(i, c)); };
  return argmax_by_class(Pt.rows(), Pt.cols(), closeness);
}

}  // namespace ufm
