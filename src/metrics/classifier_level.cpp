#include "ufm/metrics/classifier_level.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "ufm/metrics/geometry.hpp"
#include "ufm/metrics/spectra.hpp"
#include "ufm/metrics/sqi.hpp"

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

void put_classifier_metrics(const Snapshot& sn, const ClassStats& s, const std::vector<int>& ncc, MetricSet& out) {
  const Index K = sn.K, N = sn.H.cols();
  const double n = static_cast<double>(N);
  const auto labels = sn.labels;
  const double w_sq = sn.W.squaredNorm();
  const bool w_zero = negligible(w_sq);  // absolute: W has no scale of its own to compare with
  const bool has_ncc = !ncc.empty();

  // Logits without, then with, the bias: predictions with ties to the lowest class index.
  Mat Z(K, N);
  Z.noalias() = sn.W * sn.H;
  Index nc4_nb = 0;
  if (has_ncc)
    for (Index i = 0; i < N; ++i) nc4_nb += (argmax_lowest(Z.col(i)) != ncc[i]);
  if (sn.b.size() == K) Z.colwise() += sn.b;
  Index hits = 0, nc4 = 0;
  double margin = 0.0;
  for (Index i = 0; i < N; ++i) {
    const auto z = Z.col(i);
    const int y = labels[i];
    const int pred = argmax_lowest(z);
    hits += (pred == y);
    if (has_ncc) nc4 += (pred != ncc[i]);
    double other = -std::numeric_limits<double>::infinity();
    for (Index c = 0; c < K; ++c)
      if (c != y) other = std::max(other, z(c));
    margin += z(y) - other;
  }
  put_metric(out, "accuracy", static_cast<double>(hits) / n);
  put_metric(out, "w_norm", std::sqrt(w_sq));
  put_metric(out, "b_norm", sn.b.norm());
  put_metric(out, "margin_mean", margin / n);

  const Mat Wt = sn.W.transpose();  // d×K: the rows of W as columns
  if (w_zero) {
    for (const char* name : {"equinorm_w", "equiangle_w", "etf_error_w"})
      put_metric(out, name, std::nullopt, "classifier is zero");
  } else {
    put_frame_geometry(Wt, w_sq, "w", out);
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
  Mat WWt(K, K);
  WWt.noalias() = sn.W * sn.W.transpose();
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
    Vec inv_sqrt(K);
    for (Index c = 0; c < K; ++c) inv_sqrt(c) = s.counts[c] ? 1.0 / std::sqrt(static_cast<double>(s.counts[c])) : 0.0;
    double r = 0.0;  // only classes with samples occur in Y, so an empty class does not matter here
    for (Index i = 0; i < N; ++i) r += (sn.H.col(i) - inv_sqrt(labels[i]) * Wt.col(labels[i])).squaredNorm();
    put_metric(out, "snc_h", std::sqrt(r / h_sq));
  }

  put_sqi(Z, labels, sn.loss, out);

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
}

}  // namespace ufm::detail
