#include "ufm/metrics/feature_level.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "ufm/gemm.hpp"
#include "ufm/metrics/few_rows_product.hpp"
#include "ufm/metrics/geometry.hpp"
#include "ufm/metrics/gram_kernel.hpp"
#include "ufm/metrics/spectra.hpp"
#include "ufm/simd.hpp"
#include "ufm/with_constant.hpp"

namespace ufm::detail {
namespace {

/// S = CCᵀ/N by K(K+1)/2 dot products of two N-columns up to this K, one product above: each dot
/// reads its two columns again, from L2 or beyond once Cᵀ (N×K) outgrows L1 (Xeon, N = 10,000: at
/// K = 24 0.33 against 0.31 ms, at K = 32 0.75 against 0.54, at K = 100 13.1 against 3.4).
constexpr Index kDotsUpToK = 24;

constexpr double kPinvRelTol = 1e-10;  ///< theory.md §4: eigenvalues of Σ_B below 1e-10 × the largest are dropped

/// Within this factor of tr G ≥ λ_max, nc1_from_inverse takes no eigenvalue of G on 1⊥: 1e4 times the
/// pseudo-inverse's cut, so none lies near it.
constexpr double kInverseRelFloor = 1e-6;

/// nc1 = tr(S G⁺²) without eigenvectors, when the only negligible direction of G = M̃ᵀM̃ is the one its
/// construction gives it: M̃'s columns sum to zero, so G1 = 0 (to rounding), and with c = tr(G)/K the
/// inverse of G + c11ᵀ is Y = G⁺ + 11ᵀ/(cK²) when rank G = K − 1. Then tr(S Y²) = tr(S G⁺²) +
/// 1ᵀS1/(K (tr G)²), and 1ᵀS1 = ‖C1‖²/N is rounding as well (C's rows sum to (Σ_c m̃_c)ᵀ(h − μ_y)).
/// Declines (nullopt) unless 1/‖Y‖_F, a lower bound on every eigenvalue of G on 1⊥, is above
/// kInverseRelFloor tr G: then the eigenpair formula keeps the same K − 1 eigenvalues, and the two agree
/// to rounding. A Cholesky factorization and two K×K products instead of a symmetric eigensolver with
/// vectors: at K = 10, 8 µs of a medium checkpoint's 190.
std::optional<double> nc1_from_inverse(const Mat& S, const Mat& G) {
  const Index K = G.rows();
  const double trace = G.trace();
  if (!(trace > 0.0) || !std::isfinite(trace)) return std::nullopt;
  const Mat Gc = G.array() + trace / static_cast<double>(K);
  const Eigen::LLT<Mat> llt(Gc);
  if (llt.info() != Eigen::Success) return std::nullopt;
  const Mat Y = llt.solve(Mat::Identity(K, K));
  const double norm = Y.norm();
  if (!std::isfinite(norm) || norm * trace * kInverseRelFloor >= 1.0) return std::nullopt;
  return (Y * S).cwiseProduct(Y).sum();  // tr(Y S Y), Y symmetric
}

/// nc1 = tr(M̃ᵀΣ_W M̃ (M̃ᵀM̃)^{+2}) with S = M̃ᵀΣ_W M̃ (K×K) and G = M̃ᵀM̃: Σ_k v_kᵀ S v_k / λ_k² over the
/// eigenpairs of G with λ_k > 1e-10 λ_max. Equals tr(Σ_W Σ_B⁺)/K (Σ_B = M̃M̃ᵀ/K shares G's nonzero
/// eigenvalues up to the factor K, so the same relative cut applies). Through nc1_from_inverse when it
/// applies (the means affinely independent, far from the cut); not tried when d < K − 1, where the
/// means cannot be (rank G ≤ d), so that a large K does not pay for a factorization it cannot use.
double nc1_from_gram(const Mat& S, const Mat& G, Index d) {
  const std::optional<double> fast = d + 1 >= G.rows() ? nc1_from_inverse(S, G) : std::nullopt;
  if (fast) return *fast;
  Eigen::SelfAdjointEigenSolver<Mat> eig(G);
  const Vec& lambda = eig.eigenvalues();  // ascending
  const double cut = kPinvRelTol * lambda(lambda.size() - 1);
  double nc1 = 0.0;
  for (Index k = 0; k < lambda.size(); ++k) {
    if (lambda(k) <= cut) continue;
    const auto v = eig.eigenvectors().col(k);
    nc1 += v.dot(S * v) / (lambda(k) * lambda(k));
  }
  return nc1;
}

/// ‖(1/N) Σ_i h_i‖ = ‖Σ_c n_c μ_c‖/N, from the class means (no pass over H).
double sample_mean_norm(const ClassStats& s, double n) {
  Vec total = Vec::Zero(s.means.rows());
  for (Index c = 0; c < s.means.cols(); ++c) total += static_cast<double>(s.counts[c]) * s.means.col(c);
  return total.norm() / n;
}

/// p[i] −= g[y[i]] for i < n, g a table of K entries indexed by the labels. With AVX-512 and K ≤ 16,
/// the table sits in two registers and eight lookups are one permute (vpermt2pd): 10,000 lookups
/// took 5.6 µs one at a time on the Zen 5, 0.6 µs so. The same subtractions either way.
void subtract_by_label(const double* g, [[maybe_unused]] Index K, const int* y, Index n, double* p) {
  Index i = 0;
#if defined(__AVX512F__)
  if (K <= 16) {
    alignas(64) double table[16] = {};
    std::copy(g, g + K, table);
    const __m512d low = _mm512_load_pd(table), high = _mm512_load_pd(table + 8);
    for (; i + 8 <= n; i += 8) {
      const __m512i index = _mm512_cvtepi32_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + i)));
      _mm512_storeu_pd(p + i, _mm512_sub_pd(_mm512_loadu_pd(p + i), _mm512_permutex2var_pd(low, index, high)));
    }
  }
#endif
  for (; i < n; ++i) p[i] -= g[y[i]];
}

/// Cᵀ = (M̃ᵀ(H − μ_y))ᵀ = Pᵀ − G[y_i, :], in place in Pt (N×K).
void subtract_by_labels(const Mat& G, std::span<const int> labels, Mat& Pt) {
  const Index N = Pt.rows(), K = Pt.cols();
  const Mat Gt = G.transpose();  // Gt.col(c) = G.row(c), contiguous: the loop gathers from it
  for (Index c = 0; c < K; ++c) subtract_by_label(Gt.col(c).data(), K, labels.data(), N, Pt.col(c).data());
}

/// S(a, b) = Σ_i C(i, a) C(i, b) for b ≤ a < K ≤ kDotsUpToK (C: N×K, contiguous columns), the lower
/// triangle: for each a, the a + 1 sums in vectors of simd::kLanes samples in registers (column a loaded
/// once per vector of samples, on fused multiply-adds where the ISA has them), then each one's lanes
/// in order, then the samples after the last full vector. One pass over the samples per a: Eigen's
/// dot products took one per pair, each a chain of dependent adds (5 of a medium checkpoint's 230 µs
/// on the Xeon).
void column_dots_lower(const Mat& C, Mat& S) {
  using simd::Doubles;
  constexpr Index L = simd::kLanes;
  const Index N = C.rows(), K = C.cols(), nv = N - N % L;
  for (Index a = 0; a < K; ++a)
    with_constant<kDotsUpToK>(static_cast<int>(a + 1), [&]<int B>() {
      Doubles acc[B] = {};
      const double* ca = C.col(a).data();
      for (Index i = 0; i < nv; i += L) {
        const Doubles x = simd::load(ca + i);
        for (int b = 0; b < B; ++b) acc[b] = simd::multiply_add(x, simd::load(C.col(b).data() + i), acc[b]);
      }
      for (int b = 0; b < B; ++b) {
        double total = 0.0;
        for (Index l = 0; l < L; ++l) total += acc[b][l];
        for (Index i = nv; i < N; ++i) total += ca[i] * C(i, b);
        S(a, b) = total;
      }
    });
}

void put_null_means_metrics(const std::string& why, MetricSet& out) {
  for (const char* name : {"nc1", "nc1_tr", "cdnv", "equinorm_h", "equiangle_h", "etf_error_h", "ncc_accuracy"})
    put_metric(out, name, std::nullopt, why);
}

}  // namespace

void put_feature_metrics(const Eigen::Ref<const Mat>& H, std::span<const int> labels, const ClassStats& s,
                         const MetricOptions& opt, MetricSet& out, std::vector<int>& ncc,
                         const Eigen::Ref<const Mat>* W, Mat* WHt) {
  const Index N = H.cols(), K = s.Mt.cols();
  // The classifier's product rides on the pass over H below when it can (contiguous columns, M̃ defined);
  // otherwise it is few_rows_product_t's own pass.
  const bool one_pass = H.outerStride() == H.rows() && s.empty_reason.empty();  // centring and M̃ᵀX
  const bool pair = W && WHt && one_pass;
  if (W && WHt && !pair) few_rows_product_t(*W, H, *WHt);
  FeaturePass pass;
  if (!s.empty_reason.empty()) {  // nothing is read of H beyond its class statistics
    put_feature_metrics_from(labels, s, H.rows(), pass, opt, out, ncc);
    return;
  }

  // One pass over H in blocks of columns X_b = H_b − μ_G1ᵀ (no d×N copy when d ≤ N): P = M̃ᵀX (as Pᵀ) and
  // ‖X‖²_F by few_rows_product.hpp, dist2_i = ‖h_i − μ_{y_i}‖² = ‖x_i − m̃_{y_i}‖² (direct: no
  // cancellation at collapse), and the lower triangle of the d×d Gram X Xᵀ by gram_kernel.hpp. If d > N
  // the spectrum needs the N×N Gram XᵀX instead, which takes the one centred d×N copy.
  const Index d = H.rows();
  const bool small_gram_is_dd = d <= N;
  const Index block = small_gram_is_dd ? std::min<Index>(N, 256) : N;
  Mat Xb(d, block);
  pass.Pt.resize(N, K);              // Pᵀ, class-major: the loops below run over contiguous samples
  const Mat MtT = s.Mt.transpose();  // K×d
  Mat Wc, Wt;                        // with pair: W (K×d, contiguous) and Wᵀ
  if (pair) {
    Wc = *W;
    Wt = Wc.transpose();
    WHt->resize(N, K);
  }
  if (opt.spectra && small_gram_is_dd) pass.gram = Mat::Zero(d, d);
  Vec dist2(N);
  pass.var = Vec::Zero(K);
  for (Index j0 = 0; j0 < N; j0 += block) {
    const Index nb = std::min(block, N - j0);
    auto X = Xb.leftCols(nb);
    if (pair)  // X_b, P and W H_b from one pass over the block
      pass.x_sq +=
          centred_and_raw_products_block(MtT, s.Mt, Wc, Wt, s.mu_G, H.col(j0).data(), nb, j0, X.data(), pass.Pt, *WHt);
    else if (one_pass)  // X_b and P
      pass.x_sq += centred_products_block(MtT, s.Mt, s.mu_G, H.col(j0).data(), nb, j0, X.data(), pass.Pt);
    else
      X = H.middleCols(j0, nb).colwise() - s.mu_G;
    for (Index j = 0; j < nb; ++j) {
      dist2(j0 + j) = (X.col(j) - s.Mt.col(labels[j0 + j])).squaredNorm();
      pass.var(labels[j0 + j]) += dist2(j0 + j);
    }
    if (!one_pass) pass.x_sq += few_rows_product_block(MtT, s.Mt, X.data(), nb, j0, pass.Pt);
    if (opt.spectra && small_gram_is_dd) add_gram_lower(X.data(), d, d, nb, pass.gram.data(), d);
  }
  if (opt.spectra && !small_gram_is_dd) {  // here Xb holds all of X
    pass.gram = Mat::Zero(N, N);
    pass.gram.selfadjointView<Eigen::Lower>().rankUpdate(Xb.transpose());
  }
  pass.dist2_sum = dist2.sum();
  put_feature_metrics_from(labels, s, d, pass, opt, out, ncc);
}

void put_feature_metrics_from(std::span<const int> labels, const ClassStats& s, Index d, FeaturePass& pass,
                              const MetricOptions& opt, MetricSet& out, std::vector<int>& ncc) {
  const Index N = static_cast<Index>(labels.size()), K = s.Mt.cols();
  const double n = static_cast<double>(N);
  ncc.clear();
  put_metric(out, "h_norm", std::sqrt(s.h_sq));
  if (!s.empty_reason.empty()) {  // μ_c of an empty class, hence μ_G and M̃, are undefined
    put_null_means_metrics(s.empty_reason, out);
    if (opt.spectra) put_null_spectrum(s.empty_reason + " (mu_G undefined)", out);
    put_metric(out, "nc1_unscaled", std::nullopt, s.empty_reason);
    put_metric(out, "global_mean_norm", sample_mean_norm(s, n));
    put_metric(out, "mean_of_means_norm", std::nullopt, s.empty_reason);
    return;
  }
  Mat& Pt = pass.Pt;
  Vec& var = pass.var;
  if (!s.means_coincide)
    ncc = pass.ncc.size() == static_cast<std::size_t>(N) ? std::move(pass.ncc) : nearest_class_center(s, Pt);

  // S = M̃ᵀΣ_W M̃ = C Cᵀ/N, C = M̃ᵀ(H − μ_y) (Cᵀ made in place from Pᵀ), one dot product of two columns of Cᵀ
  // per entry up to kDotsUpToK (at K = 10 a tenth of the time of a BLAS call, which packs both operands),
  // one product above; or the caller's.
  Mat S(K, K);
  if (pass.S.rows() == K && pass.S.cols() == K) {  // the caller's (a linear image's, from Σ_c C_c)
    S = pass.S;
  } else {
    subtract_by_labels(s.G, labels, Pt);
    if (K > kDotsUpToK)  // one product (our GEMM: each entry one sum, S(a, b) and S(b, a) alike)
      gemm_into(S, Pt, true, Pt, false, 0.0);
    else
      column_dots_lower(Pt, S);
    S.triangularView<Eigen::StrictlyUpper>() = S.transpose();  // symmetric whatever the product
    S /= n;
  }

  std::optional<double> nc1;
  if (s.means_coincide) {
    put_null_means_metrics(s.mt_reason(), out);
  } else {
    nc1 = nc1_from_gram(S, s.G, d);
    put_metric(out, "nc1", nc1);
    // tr(Σ_W)/tr(Σ_B) with tr(Σ_W) = Σ dist2/N and tr(Σ_B) = ‖M̃‖²_F/K.
    put_metric(out, "nc1_tr", (pass.dist2_sum / n) / (s.G.trace() / static_cast<double>(K)));
    for (Index c = 0; c < K; ++c) var(c) /= static_cast<double>(s.counts[c]);  // Var_c = mean ‖h − μ_c‖²
    double cdnv = 0.0;
    std::string cdnv_null;
    for (Index c = 0; c < K && cdnv_null.empty(); ++c) {
      for (Index e = c + 1; e < K; ++e) {
        const double gap2 = (s.means.col(c) - s.means.col(e)).squaredNorm();
        if (negligible(gap2, s.scale_sq)) {
          cdnv_null = "class means " + std::to_string(c) + " and " + std::to_string(e) + " coincide";
          break;
        }
        cdnv += (var(c) + var(e)) / (2.0 * gap2);
      }
    }
    if (cdnv_null.empty())
      put_metric(out, "cdnv", cdnv / (0.5 * static_cast<double>(K * (K - 1))));
    else
      put_metric(out, "cdnv", std::nullopt, cdnv_null);
    put_frame_geometry(s.G, s.scale_sq, "h", out);
    Index hits = 0;
    for (Index i = 0; i < N; ++i) hits += (ncc[i] == labels[i]);
    put_metric(out, "ncc_accuracy", static_cast<double>(hits) / n);
  }

  if (opt.spectra) {  // when skipped on request, the names are absent rather than null
    if (negligible(pass.x_sq, s.h_sq))
      put_null_spectrum("centred features are zero", out);
    else
      put_spectrum(singular_values_from_gram(pass.gram), K - 1, opt.max_singular_values, out);
  }

  if (nc1)
    put_metric(out, "nc1_unscaled", static_cast<double>(K) * *nc1);
  else
    put_metric(out, "nc1_unscaled", std::nullopt, s.mt_reason());
  put_metric(out, "global_mean_norm", sample_mean_norm(s, n));
  put_metric(out, "mean_of_means_norm", s.mu_G.norm());
}

}  // namespace ufm::detail
