#include "ufm/metrics/classifier_level.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "ufm/metrics/geometry.hpp"
#include "ufm/metrics/logit_readings.hpp"
#include "ufm/metrics/spectra.hpp"
#include "ufm/metrics/sqi.hpp"
#include "ufm/objectives/loss.hpp"

namespace ufm::detail {

void check_snapshot(const Snapshot& sn, const char* caller) {
  const std::string f(caller);
  if (sn.W.rows() != sn.K || sn.W.cols() != sn.H.rows())
    throw std::invalid_argument(f + ": W is " + std::to_string(sn.W.rows()) + "x" + std::to_string(sn.W.cols()) +
                                ", need K x d = " + std::to_string(sn.K) + "x" + std::to_string(sn.H.rows()));
  if (sn.b.size() != 0 && sn.b.size() != sn.K)
    throw std::invalid_argument(f + ": b has " + std::to_string(sn.b.size()) + " entries, need 0 or K = " +
                                std::to_string(sn.K));
}

void put_classifier_metrics(const Snapshot& sn, const ClassStats& s, const std::vector<int>& ncc,
                            const Eigen::Ref<const Mat>& WHt, MetricSet& out, const Mat* residual_t) {
  const Index K = sn.K, N = sn.H.cols();
  const double n = static_cast<double>(N);
  const auto labels = sn.labels;
  const double w_sq = sn.W.squaredNorm();
  const bool w_zero = negligible(w_sq);  // absolute: W has no scale of its own to compare with
  const bool has_ncc = !ncc.empty();

  // Logits without, then with, the bias: predictions with ties to the lowest class index. Both
  // readings and the SQI take the logits class-major, WHt = (W H)ᵀ (N×K); the bias is added as they
  // are read.
  Index nc4_nb = 0;
  if (has_ncc) {
    const LogitReadings no_bias = read_logits_class_major(WHt, labels, false);
    for (Index i = 0; i < N; ++i) nc4_nb += (no_bias.argmax[i] != ncc[i]);
  }
  const std::span<const double> bias = sn.b.size() == K ? std::span<const double>(sn.b.data(), K)
                                                        : std::span<const double>();
  const LogitReadings read = read_logits_class_major(WHt, labels, true, bias);
  Index hits = 0, nc4 = 0;
  double margin = 0.0, min_margin = std::numeric_limits<double>::infinity();
  for (Index i = 0; i < N; ++i) {
    const int pred = read.argmax[i];
    hits += (pred == labels[i]);
    if (has_ncc) nc4 += (pred != ncc[i]);
    margin += read.margin(i);
    min_margin = std::min(min_margin, read.margin(i));
  }
  put_metric(out, "accuracy", static_cast<double>(hits) / n);
  put_metric(out, "w_norm", std::sqrt(w_sq));
  put_metric(out, "b_norm", sn.b.norm());
  put_metric(out, "margin_mean", margin / n);

  const Mat Wt = sn.W.transpose();  // d×K: the rows of W as columns
  Mat WWt(K, K);                    // their Gram matrix
  WWt.noalias() = sn.W * sn.W.transpose();
  if (w_zero) {
    for (const char* name : {"equinorm_w", "equiangle_w", "etf_error_w"})
      put_metric(out, name, std::nullopt, "classifier is zero");
  } else {
    put_frame_geometry(WWt, w_sq, "w", out);
  }
  const std::string mt_why = s.mt_reason();
  if (w_zero)
    put_metric(out, "nc3", std::nullopt, "classifier is zero");
  else if (!mt_why.empty())
    put_metric(out, "nc3", std::nullopt, mt_why);
  else
    put_metric(out, "nc3", frame_distance(Wt, 0.0, s.Mt, s.scale_sq), "class means coincide");
  if (w_zero)
    put_metric(out, "nc4", std::nullopt, "classifier is zero");
  else if (!has_ncc)
    put_metric(out, "nc4", std::nullopt, mt_why);
  else
    put_metric(out, "nc4", static_cast<double>(nc4) / n);

  // Strong NC with D = diag(√n_c): D^{-1/2} W Wᵀ D^{-1/2} and H − Wᵀ D⁻¹ Y.
  if (!s.empty_reason.empty()) {
    put_metric(out, "snc_w", std::nullopt, s.empty_reason + " (D singular)");
  } else {
    Vec q(K);  // D^{-1/2} = diag(n_c^{-1/4})
    for (Index c = 0; c < K; ++c) q(c) = std::pow(static_cast<double>(s.counts[c]), -0.25);
    Mat E = q.asDiagonal() * WWt * q.asDiagonal();
    E.diagonal().array() -= 1.0;
    put_metric(out, "snc_w", E.norm() / std::sqrt(static_cast<double>(K)));
  }
  const double h_sq = s.h_sq;
  if (negligible(h_sq)) {
    put_metric(out, "snc_h", std::nullopt, "features are zero");
  } else {
    // The squares are summed per coordinate first (one d-vector), then over coordinates, in
    // class_stats' pass over H when it was given W; a level measured without W (level_metrics alone,
    // then collapse_metrics) takes that pass again, with W.
    const Vec* squares = &s.strong_residual_sq;
    ClassStats with_w;
    if (squares->size() != sn.H.rows()) {
      if (!sn.H.data())
        throw std::logic_error("collapse_metrics(): a level given only as a shape needs its strong residual");
      const Eigen::Ref<const Mat> W = sn.W;
      with_w = class_stats(sn.H, labels, K, "collapse_metrics()", &W);
      squares = &with_w.strong_residual_sq;
    }
    put_metric(out, "snc_h", std::sqrt(squares->sum() / h_sq));
  }

  if (residual_t) {
    put_sqi_from_residual(*residual_t, labels, out);
  } else {
    Mat Rt = WHt;  // the logits with the bias, then the loss's residual there
    if (!bias.empty()) Rt.rowwise() += sn.b.transpose();
    loss_and_residual_class_major(sn.loss, Rt, labels);
    put_sqi_from_residual(Rt, labels, out);
  }

  if (w_zero)
    put_metric(out, "nc3_uncentered", std::nullopt, "classifier is zero");
  else if (!s.empty_reason.empty())
    put_metric(out, "nc3_uncentered", std::nullopt, s.empty_reason);
  else
    put_metric(out, "nc3_uncentered", frame_distance(Wt, 0.0, s.means, 0.0), "class means are zero");
  if (w_zero)
    put_metric(out, "nc4_no_bias", std::nullopt, "classifier is zero");
  else if (!has_ncc)
    put_metric(out, "nc4_no_bias", std::nullopt, mt_why);
  else
    put_metric(out, "nc4_no_bias", static_cast<double>(nc4_nb) / n);
  if (!s.empty_reason.empty()) {
    put_metric(out, "wh_singular_values", std::nullopt, s.empty_reason);
  } else {
    const Mat WHbar = sn.W * s.means;  // K×K
    put_metric(out, "wh_singular_values", singular_values_descending(WHbar));
  }
  put_metric(out, "wwt_eigenvalues", eigenvalues_descending(WWt));
  put_margin_metrics(s, min_margin, w_sq, out);
  put_minority_metrics(sn, s, out);
}

void put_margin_metrics(const ClassStats& s, double min_margin, double w_sq, MetricSet& out) {
  put_metric(out, "min_margin", min_margin);
  const double theta_sq = w_sq + s.h_sq;
  if (negligible(theta_sq))
    put_metric(out, "normalized_min_margin", std::nullopt, "W and H are zero");
  else
    put_metric(out, "normalized_min_margin", min_margin / theta_sq);
}

void put_self_dual_etf_distance(MetricSet& out) {
  const auto ew = get_metric(out, "etf_error_w"), eh = get_metric(out, "etf_error_h"), nc3 = get_metric(out, "nc3");
  if (ew && eh && nc3)
    put_metric(out, "self_dual_etf_distance", std::sqrt(*ew * *ew + *eh * *eh + *nc3));
  else
    put_metric(out, "self_dual_etf_distance", std::nullopt, "etf_error_w, etf_error_h or nc3 is undefined");
}

void put_minority_metrics(const Snapshot& sn, const ClassStats& s, MetricSet& out) {
  const Index K = sn.K;
  const Index largest = *std::max_element(s.counts.begin(), s.counts.end());
  std::vector<Index> minority, majority;
  for (Index c = 0; c < K; ++c) (s.counts[c] < largest ? minority : majority).push_back(c);
  const char* names[] = {"minority_w_norm_mean", "majority_w_norm_mean", "minority_cosine_mean"};
  if (minority.empty()) {
    for (const char* name : names) put_metric(out, name, std::nullopt, "classes are balanced");
    return;
  }
  const auto mean_norm = [&](const std::vector<Index>& rows) {
    double total = 0.0;
    for (Index c : rows) total += sn.W.row(c).norm();
    return total / static_cast<double>(rows.size());
  };
  put_metric(out, names[0], mean_norm(minority));
  put_metric(out, names[1], mean_norm(majority));
  if (minority.size() < 2) {
    put_metric(out, names[2], std::nullopt, "fewer than two minority classes");
    return;
  }
  double total = 0.0;
  Index pairs = 0;
  for (std::size_t i = 0; i < minority.size(); ++i)
    for (std::size_t j = i + 1; j < minority.size(); ++j) {
      const double ni = sn.W.row(minority[i]).norm(), nj = sn.W.row(minority[j]).norm();
      if (negligible(ni * ni) || negligible(nj * nj)) {
        put_metric(out, names[2], std::nullopt, "a minority classifier row is zero");
        return;
      }
      total += sn.W.row(minority[i]).dot(sn.W.row(minority[j])) / (ni * nj);
      ++pairs;
    }
  put_metric(out, names[2], total / static_cast<double>(pairs));
}

}  // namespace ufm::detail
