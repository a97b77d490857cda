#include "ufm/metrics/linear_images.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>

#include "ufm/gemm.hpp"
#include "ufm/metrics/class_stats.hpp"
#include "ufm/metrics/feature_level.hpp"
#include "ufm/metrics/few_rows_product.hpp"
#include "ufm/metrics/gram_kernel.hpp"
#include "ufm/metrics/logit_readings.hpp"
#include "ufm/simd.hpp"

namespace ufm {
namespace {

/// Columns gathered per Gram product: at d = 512 the Gram tiles ran at 58 GFLOP/s on blocks of 64
/// samples and 47 on 256 (the Xeon, one core: a block and G both in its 2 MiB L2 at 64), the checkpoint
/// of the 2-layer paper model 10.3 → 9.8 s in 100 checkpoints.
constexpr Index kBlock = 64;
/// Columns per block of a class scatter from d₀ = 256 where the Gram runs gemm's 24×8 tiles or the
/// 16-row AVX-512 ones (Intel, the Zen 5; not the Zen 4's 8-row tiles, nor the AVX2 build's dsyrk
/// there, not measured so): a class of 100 samples is one block rather than 64 + 36, and the scatter's
/// d₀×d₀ lower triangle is read and written once for it rather than twice. The Xeon, one core, medians
/// of 15 checkpoints in three runs interleaved with blocks of 64: the large two-layer one 144.8–150.5 →
/// 139.9–146.0 ms, the paper one 72.2–73.7 → 70.9–71.5 (at d₀ = 64 the medium one was 3% slower with
/// 128). The Zen 5, one core, d = 512, N = 10,000: the 16-row tiles 41.8 ms in blocks of 64, 36.0 in
/// blocks of 128.
constexpr Index kWideBlock = 128;

/// true where the class scatters take blocks of kWideBlock columns (above), of kBlock otherwise.
bool wide_blocks_pay(Index d0) {
  const GramTiles tiles = preferred_gram_tiles();
  return d0 >= 256 && (tiles == GramTiles::kRowsOf16Fused || (simd::kLanes == 8 && tiles != GramTiles::kRowsOf8));
}

/// Columns per GEMM in stacked_projections and in BlockNearestCentres.
constexpr Index kStackedBlock = 256;

/// Pt (resized to N×K) = (A (H − μ1ᵀ))ᵀ for A K×d and, with P (K×d) given, Zt (resized to N×K) =
/// (P H)ᵀ: put_feature_metrics' kernels over blocks of contiguous columns, Eigen's products otherwise.
void projections(const Eigen::Ref<const Mat>& H, const Mat& A, const Vec& mu, const Mat* P, Mat& Pt, Mat* Zt) {
  const Index d = H.rows(), N = H.cols(), K = A.rows();
  Pt.resize(N, K);
  if (P) Zt->resize(N, K);
  if (H.outerStride() != d || d == 0) {
    Pt.noalias() = ((A * H).colwise() - A * mu).transpose();
    if (P) few_rows_product_t(*P, H, *Zt);
    return;
  }
  const Mat At = A.transpose();
  Mat Pc, Pct;
  if (P) {
    Pc = *P;
    Pct = Pc.transpose();
  }
  Mat Xc(d, std::min(N, kBlock));  // the centred block, which the kernels write and nothing here reads
  for (Index j0 = 0; j0 < N; j0 += kBlock) {
    const Index nb = std::min(kBlock, N - j0);
    if (P)
      centred_and_raw_products_block(A, At, Pc, Pct, mu, H.col(j0).data(), nb, j0, Xc.data(), Pt, *Zt);
    else
      centred_products_block(A, At, mu, H.col(j0).data(), nb, j0, Xc.data(), Pt);
  }
}

/// projections() of two levels at once, Pt (N×K) of A and Qt of B, from one pass over H: each entry
/// projections' own, bit for bit. At K = 10, d = 64, N = 1,000 (the medium two-layer checkpoint): one
/// pass instead of two.
void two_level_projections(const Eigen::Ref<const Mat>& H, const Mat& A, const Mat& B, const Vec& mu, Mat& Pt,
                           Mat& Qt) {
  const Index d = H.rows(), N = H.cols(), K = A.rows();
  if (H.outerStride() != d || d == 0) {
    projections(H, A, mu, nullptr, Pt, nullptr);
    projections(H, B, mu, nullptr, Qt, nullptr);
    return;
  }
  Pt.resize(N, K);
  Qt.resize(N, K);
  const Mat At = A.transpose(), Bt = B.transpose();
  Mat Xc(d, std::min(N, kBlock));  // scratch of the kernels
  for (Index j0 = 0; j0 < N; j0 += kBlock)
    centred_two_products_block(A, At, B, Bt, mu, H.col(j0).data(), std::min(kBlock, N - j0), j0, Xc.data(), Pt, Qt);
}

/// K from which the projections of all levels go through our GEMM at once (stacked_projections): below
/// it the pair kernels make two K-row products in one pass over H (block_centred_pair, K ≤ 10).
constexpr Index kStackedFromClasses = 11;

bool stacked_projections_pay(const Eigen::Ref<const Mat>& H, Index K) {
  return gemm_has_own_kernel() && K >= kStackedFromClasses && H.rows() > 0;
}

/// The A_l (K×d each) stacked into one (levels·K)×d matrix and packed once for our GEMM.
void pack_stacked(const std::vector<Mat>& A, PackedA& packed) {
  const Index K = A.front().rows(), d = A.front().cols(), levels = static_cast<Index>(A.size()), rows = K * levels;
  Mat stacked(rows, d);
  for (Index l = 0; l < levels; ++l) stacked.middleRows(l * K, K) = A[static_cast<std::size_t>(l)];
  packed.reserve(rows, d);
  packed.pack(rows, d, {stacked.data(), rows});
}

/// passes[l].Pt (resized to N×K) = (A_l (H − μ1ᵀ))ᵀ for every level l: the A_l (K×d each) stacked into
/// one matrix, packed once, times each centred block of H by our GEMM, and transposed into place.
void stacked_projections(const Eigen::Ref<const Mat>& H, const std::vector<Mat>& A, const Vec& mu,
                         std::vector<detail::FeaturePass>& passes) {
  const Index d = H.rows(), N = H.cols(), K = A.front().rows(), levels = static_cast<Index>(A.size());
  const Index rows = K * levels;
  PackedA packed;
  pack_stacked(A, packed);
  for (detail::FeaturePass& pass : passes) pass.Pt.resize(N, K);
  const Index width = std::min(N, kStackedBlock);
  Mat Xc(d, width), C(rows, width);  // a centred block, and its products (levels·K)×nb
  for (Index j0 = 0; j0 < N; j0 += kStackedBlock) {
    const Index nb = std::min(kStackedBlock, N - j0);
    Xc.leftCols(nb) = H.middleCols(j0, nb).colwise() - mu;
    gemm(nb, packed, {Xc.data(), d}, 0.0, C.data(), rows);
    for (Index l = 0; l < levels; ++l)
      passes[static_cast<std::size_t>(l)].Pt.middleRows(j0, nb) = C.block(l * K, 0, K, nb).transpose();
  }
}

/// true when each level's S = M̃ᵀΣ_W M̃ = A Σ_c C_c Aᵀ/N (A = M̃ᵀQ_l, K×d₀) comes from the class scatters'
/// sum (d₀×d₀, two products) rather than from the level's projections (N×K, put_feature_metrics_from's
/// route): for K ≥ kStackedFromClasses (below, the projections' dot products in registers are cheap)
/// where it takes fewer flops. At K = 100, d₀ = 512, N = 10,000: 62 against 200 MFLOP per level, and
/// no pass over the projections; the two-layer checkpoint there 166–170 → 155–159 ms (the Xeon).
bool s_from_scatters_pays(Index K, Index d0, Index N) {
  const double k = static_cast<double>(K), d = static_cast<double>(d0);
  return K >= kStackedFromClasses && 2.0 * k * d * d + 2.0 * k * k * d < 2.0 * k * k * static_cast<double>(N);
}

/// Every level's nearest class centres, from the class-gathered blocks of centred columns that the
/// scatters are made of: where S comes from the scatters (s_from_scatters_pays) and the stacked GEMM
/// makes the projections (stacked_projections_pay), the projections are read for the nearest centres
/// alone, and this takes them from columns gathered anyway. The closeness of sample i to class c is
/// nearest_class_center's 2m̃_cᵀ(h_i − μ_G) − ‖m̃_c‖², with m̃_cᵀ(h_i − μ_G) = m̃_cᵀ(h_i − μ_y) + m̃_cᵀm̃_y:
/// one product of the stacked A_l = M̃_lᵀQ_l with the gathered columns, plus an offset by class. No N×K
/// projections, no second pass over H, no centred copy of it. The doubles compared are associated
/// differently from nearest_class_center's, so a sample at a tie to rounding may take the other class.
///
/// The scatters' blocks are gathered into one buffer of kStackedBlock columns, and the product made when
/// it is full: with one product per block of 64 columns, the stacked A (K·levels×d₀, 800 KiB at K = 100)
/// streams from L3 four times as often. The large two-layer checkpoint (the Xeon, ufm-bench, three rounds
/// against stacked_projections' 148.5–152.0 ms): 144.9–148.7 ms so, 139.5–150.7 with the buffer.
class BlockNearestCentres {
 public:
  /// \param A each level's A_l (K×d₀); \param G each level's M̃_lᵀM̃_l (K×K); \param block the most
  /// columns a block commits.
  BlockNearestCentres(const std::vector<Mat>& A, const std::vector<const Mat*>& G, Index N, Index block)
      : K_(A.front().rows()), levels_(static_cast<Index>(A.size())), block_(block),
        X_(A.front().cols(), std::max(block, std::min(N, kStackedBlock))), C_(K_ * levels_, X_.cols()),
        samples_(static_cast<std::size_t>(X_.cols())), classes_(samples_.size()) {
    pack_stacked(A, packed_);
    for (const Mat* g : G) {
      // offset(c, y) = 2G(c, y) − G(c, c): the closeness of a class-y sample to class c, less 2m̃_cᵀ(h − μ_y)
      offset_.push_back(2.0 * *g);
      offset_.back().colwise() -= g->diagonal();
      ncc_.emplace_back(static_cast<std::size_t>(N), 0);
    }
  }
  /// Where the next block's columns go (d₀×block, contiguous).
  double* block() { return X_.col(used_).data(); }
  /// The block's first nb columns are h_i − μ_y for the class-y samples i = samples[j].
  void commit(Index nb, Index y, const Index* samples) {
    for (Index j = 0; j < nb; ++j) {
      samples_[static_cast<std::size_t>(used_ + j)] = samples[j];
      classes_[static_cast<std::size_t>(used_ + j)] = y;
    }
    used_ += nb;
    if (used_ + block_ > X_.cols()) flush();
  }
  /// Every level's nearest centres, once all blocks are committed.
  std::vector<int> take(Index l) {
    flush();
    return std::move(ncc_[static_cast<std::size_t>(l)]);
  }

 private:
  void flush() {
    if (used_ == 0) return;
    gemm(used_, packed_, {X_.data(), X_.rows()}, 0.0, C_.data(), C_.rows());
    for (Index l = 0; l < levels_; ++l) {
      const Mat& offset = offset_[static_cast<std::size_t>(l)];
      const auto closeness = [&](Index c, Index j) {
        return 2.0 * C_(l * K_ + c, j) + offset(c, classes_[static_cast<std::size_t>(j)]);
      };
      const std::vector<int> nearest = argmax_by_class(used_, K_, closeness);  // ties to the lower class
      std::vector<int>& ncc = ncc_[static_cast<std::size_t>(l)];
      for (Index j = 0; j < used_; ++j)
        ncc[static_cast<std::size_t>(samples_[static_cast<std::size_t>(j)])] = nearest[static_cast<std::size_t>(j)];
    }
    used_ = 0;
  }

  Index K_, levels_, block_, used_ = 0;
  Mat X_;  // gathered centred columns, d₀×(≥ kStackedBlock when N allows)
  Mat C_;  // their products, (levels·K)×X_.cols()
  std::vector<Index> samples_, classes_;  // of X_'s columns
  PackedA packed_;
  std::vector<Mat> offset_;  // per level, K×K
  std::vector<std::vector<int>> ncc_;
};

/// The lower triangle of C = A Bᵀ (A and B d×k, C resized to d×d, zero above its diagonal blocks): by
/// blocks of 64 columns, each from its diagonal down, 56% of the full product's flops at d = 512. With
/// our GEMM each entry has the full product's bits (gemm.hpp).
void lower_product_into(Mat& C, const Mat& A, const Mat& B) {
  constexpr Index kColumns = 64;
  const Index d = A.rows(), k = A.cols();
  C.resize(d, d);
  for (Index j0 = 0; j0 < d; j0 += kColumns) {
    const Index nb = std::min(kColumns, d - j0);
    C.block(0, j0, j0, nb).setZero();
    gemm(d - j0, nb, k, {A.data() + j0, A.outerStride()}, {B.data() + j0, B.outerStride(), true}, 0.0,
         C.data() + j0 + j0 * d, d);
  }
}

void check_shapes(Index d0, Index N, Index K, std::span<const Mat> Q, const MetricOptions& opt,
                  const Eigen::Ref<const Mat>* W) {
  const std::string f = "linear_stack_levels(): ";
  for (std::size_t l = 0; l < Q.size(); ++l)
    if (Q[l].cols() != d0)
      throw std::invalid_argument(f + "Q[" + std::to_string(l) + "] has " + std::to_string(Q[l].cols()) +
                                  " columns, need d0 = " + std::to_string(d0));
  const Index dm = Q.empty() ? d0 : Q.back().rows();
  if (W && (W->rows() != K || W->cols() != dm))
    throw std::invalid_argument(f + "W is " + std::to_string(W->rows()) + "x" + std::to_string(W->cols()) +
                                ", need K x d = " + std::to_string(K) + "x" + std::to_string(dm));
  if (!opt.spectra) return;
  Index widest = d0;
  for (const Mat& q : Q) widest = std::max(widest, q.rows());
  if (widest > N)
    throw std::invalid_argument(f + "a level of width " + std::to_string(widest) + " > N = " + std::to_string(N) +
                                " needs the N x N Gram for its spectrum: measure it formed (level_metrics)");
}

}  // namespace

std::vector<LevelMetrics> linear_stack_levels(const Eigen::Ref<const Mat>& H, std::span<const int> labels, Index K,
                                              std::span<const Mat> Q, const MetricOptions& opt,
                                              const Eigen::Ref<const Mat>* W, Mat* WHt, Mat* first_gram) {
  const Index d0 = H.rows(), N = H.cols(), m = static_cast<Index>(Q.size());
  check_shapes(d0, N, K, Q, opt, W);
  std::vector<LevelMetrics> levels(static_cast<std::size_t>(m + 1));
  // H's statistics (and its strong residual when W reads H itself); they validate labels and K.
  levels[0].stats = class_stats(H, labels, K, "linear_stack_levels()", m == 0 ? W : nullptr);
  const ClassStats& h = levels[0].stats;
  const bool defined = h.empty_reason.empty();  // else only the norms are read (put_feature_metrics_from)
  // Each image's class statistics: S_l = Q_l H has class means Q_l μ_c (its h_sq once the spreads are known).
  for (Index l = 1; l <= m; ++l) {
    ClassStats& s = levels[static_cast<std::size_t>(l)].stats;
    s.counts = h.counts;
    s.empty_reason = h.empty_reason;
    const Mat& q = Q[static_cast<std::size_t>(l - 1)];
    s.means.resize(q.rows(), K);
    gemm_into(s.means, q, false, h.means, false, 0.0);  // an empty class's zero column stays zero
    centre_class_means(s);
  }
  // Every level's A_l = M̃_lᵀQ_l (K×d₀), whose products with H's centred columns are its projections.
  std::vector<Mat> A;
  if (defined)
    for (Index l = 0; l <= m; ++l) {
      const Mat& Mt = levels[static_cast<std::size_t>(l)].stats.Mt;
      if (l == 0) {
        A.push_back(Mt.transpose());
        continue;
      }
      A.emplace_back(K, d0);
      gemm_into(A.back(), Mt, true, Q[static_cast<std::size_t>(l - 1)], false, 0.0);
    }
  const bool s_from_scatters = defined && s_from_scatters_pays(K, d0, N);
  const Index block_cols = std::min(N, wide_blocks_pay(d0) ? kWideBlock : kBlock);
  std::optional<BlockNearestCentres> nearest;
  if (s_from_scatters && stacked_projections_pay(H, K)) {
    std::vector<const Mat*> G;
    for (const LevelMetrics& level : levels) G.push_back(&level.stats.G);
    nearest.emplace(A, G, N, block_cols);
  }

  // Each class's scatter C_c (lower triangle) from its centred columns, gathered block_cols at a time; its
  // spread in every level, tr(Q_l C_c Q_lᵀ) = ⟨Q_lᵀQ_l, C_c⟩, and within = Σ_c C_c.
  std::vector<Mat> QtQ(static_cast<std::size_t>(m));
  for (Index l = 0; l < m; ++l) {
    const Mat Qt = Q[l].transpose();  // d0×d_l: Q_lᵀQ_l is its Gram
    QtQ[l] = Mat::Zero(d0, d0);
    add_gram_lower(Qt.data(), d0, d0, Q[l].rows(), QtQ[l].data(), d0);
  }
  Mat within = Mat::Zero(d0, d0), Xb(d0, nearest ? 0 : block_cols);
  std::vector<Index> members(static_cast<std::size_t>(block_cols));  // the samples of the block's columns
  Mat spread = Mat::Zero(K, m + 1);  // spread(c, l) = Σ_{y_i = c} ‖s_i − μ_c‖² in level l (0: H)
  // The classes two at a time, each into a scatter of its own, then one pass over both: Q_lᵀQ_l's column
  // and within's are read from memory once for two classes (the large two-layer checkpoint: these passes
  // 12.5 ms of its 170, three d₀×d₀ matrices per class streaming from L3). The same operations on each
  // entry in the same order as one class at a time: the same bits.
  std::vector<Index> classes;
  for (Index c = 0; c < K; ++c)
    if (h.counts[c] > 0) classes.push_back(c);
  // The samples of each class in order (a counting sort): scanning all N labels once per class took
  // K·N label tests, a sixth of this function's own time at K = 10, N = 1,000.
  const auto at = [](Index i) { return static_cast<std::size_t>(i); };
  std::vector<Index> first_of(at(K) + 1, 0), by_class(at(N));
  for (Index c = 0; c < K; ++c) first_of[at(c) + 1] = first_of[at(c)] + h.counts[c];
  {
    std::vector<Index> next(first_of.begin(), first_of.end() - 1);
    for (Index i = 0; i < N; ++i) by_class[at(next[at(labels[i])]++)] = i;
  }
  Mat scatters[2] = {Mat::Zero(d0, d0), Mat::Zero(d0, d0)};
  const auto levels_u = static_cast<std::size_t>(m);
  std::vector<double> diagonal(2 * levels_u), below(2 * levels_u);  // [k·m + l]: scatter k, level l
  for (std::size_t first = 0; first < classes.size(); first += 2) {
    const std::size_t pair = std::min<std::size_t>(2, classes.size() - first);
    for (std::size_t k = 0; k < pair; ++k) {
      const Index c = classes[first + k];
      Mat& scatter = scatters[k];
      Index nb = 0;
      double* xb = nearest ? nearest->block() : Xb.data();  // d0×nb
      const auto add_block = [&] {
        add_gram_lower(xb, d0, d0, nb, scatter.data(), d0);
        if (nearest) {
          nearest->commit(nb, c, members.data());
          xb = nearest->block();
        }
        nb = 0;
      };
      for (Index k_i = first_of[at(c)]; k_i < first_of[at(c) + 1]; ++k_i) {
        const Index i = by_class[at(k_i)];
        members[static_cast<std::size_t>(nb)] = i;
        Eigen::Map<Vec>(xb + nb++ * d0, d0) = H.col(i) - h.means.col(c);
        if (nb == block_cols) add_block();
      }
      if (nb > 0) add_block();
      spread(c, 0) = scatter.diagonal().sum();
    }
    // In one pass over the scatters' columns: each one's spread in each level, ⟨Q_lᵀQ_l, C_c⟩ = Σ_{r,s}
    // from the lower triangles (the diagonal, plus twice the entries below it); within += C_c in class
    // order; each C_c's lower triangle zeroed for the next pair.
    std::fill(diagonal.begin(), diagonal.end(), 0.0);
    std::fill(below.begin(), below.end(), 0.0);
    for (Index s = 0; s < d0; ++s) {
      auto sum = within.col(s).tail(d0 - s);
      for (std::size_t k = 0; k < pair; ++k) {
        auto column = scatters[k].col(s).tail(d0 - s);
        for (Index l = 0; l < m; ++l) {
          const auto u = static_cast<std::size_t>(l);
          diagonal[k * levels_u + u] += QtQ[u](s, s) * column(0);
          below[k * levels_u + u] += QtQ[u].col(s).tail(d0 - s - 1).dot(column.tail(d0 - s - 1));
        }
        sum += column;
        column.setZero();
      }
    }
    for (std::size_t k = 0; k < pair; ++k)
      for (Index l = 0; l < m; ++l) {
        const std::size_t at = k * levels_u + static_cast<std::size_t>(l);
        spread(classes[first + k], l + 1) = diagonal[at] + 2.0 * below[at];
      }
  }
  within = within.selfadjointView<Eigen::Lower>();
  Vec n_c(K);
  for (Index c = 0; c < K; ++c) n_c(c) = static_cast<double>(h.counts[c]);

  for (Index l = 1; l <= m; ++l) {
    ClassStats& s = levels[static_cast<std::size_t>(l)].stats;
    s.h_sq = 0.0;
    for (Index c = 0; c < K; ++c) s.h_sq += spread(c, l) + n_c(c) * s.means.col(c).squaredNorm();
  }
  // The logits of the last level's classifier, ((W Q_m) H)ᵀ, when they were not handed over.
  const bool logits = W && WHt;
  const Mat P = !logits ? Mat() : m > 0 ? Mat(*W * Q.back()) : Mat(*W);
  // Every level's projections Pt_l = (A_l (H − μ1ᵀ))ᵀ: none when the nearest centres came with the
  // scatters; else one pass for all levels through our GEMM, or the pair kernels' pass per two levels
  // (a last level alone takes the logits into its pass).
  std::vector<detail::FeaturePass> passes(static_cast<std::size_t>(m + 1));
  if (!defined || nearest) {
    if (logits) few_rows_product_t(P, H, *WHt);
    if (nearest)
      for (Index l = 0; l <= m; ++l) passes[static_cast<std::size_t>(l)].ncc = nearest->take(l);
  } else {
    if (stacked_projections_pay(H, K)) {
      stacked_projections(H, A, h.mu_G, passes);
      if (logits) few_rows_product_t(P, H, *WHt);
    } else {
      const auto u = [](Index l) { return static_cast<std::size_t>(l); };
      Index l = 0;
      for (; l + 1 <= m; l += 2)
        two_level_projections(H, A[u(l)], A[u(l + 1)], h.mu_G, passes[u(l)].Pt, passes[u(l + 1)].Pt);
      if (l == m)
        projections(H, A[u(m)], h.mu_G, logits ? &P : nullptr, passes[u(m)].Pt, WHt);
      else if (logits)
        few_rows_product_t(P, H, *WHt);
    }
  }
  if (first_gram && m > 0) *first_gram = std::move(QtQ.front());  // no longer read here
  for (Index l = 0; l <= m; ++l) {
    LevelMetrics& level = levels[static_cast<std::size_t>(l)];
    ClassStats& s = level.stats;
    const bool last = l == m;
    const Mat* q = l > 0 ? &Q[l - 1] : nullptr;  // S_l = Q_l H
    const Index d = q ? q->rows() : d0;
    // T = Q_l within: the images' within-class Gram is T Q_lᵀ, and its diagonal the strong residual's.
    Mat T;
    const bool strong = q && last && W;
    if (q && (opt.spectra || strong)) {
      T.resize(d, d0);
      gemm_into(T, *q, false, within, false, 0.0);
    }
    if (strong) {  // Σ_i (s_i − a_{y_i} w_{y_i})² by row: within-class part plus each class's offset
      s.strong_residual_sq = T.cwiseProduct(*q).rowwise().sum();
      for (Index c = 0; c < K; ++c) {
        if (h.counts[c] == 0) continue;
        const double a = 1.0 / std::sqrt(n_c(c));
        s.strong_residual_sq += n_c(c) * (s.means.col(c) - a * W->row(c).transpose()).cwiseAbs2();
      }
    }
    detail::FeaturePass& pass = passes[static_cast<std::size_t>(l)];
    if (s_from_scatters) {  // S = A Σ_c C_c Aᵀ/N, its lower triangle mirrored
      const Mat& Al = A[static_cast<std::size_t>(l)];
      Mat AC(K, d0);
      gemm_into(AC, Al, false, within, false, 0.0);
      pass.S.resize(K, K);
      gemm_into(pass.S, AC, false, Al, true, 0.0);
      pass.S.triangularView<Eigen::StrictlyUpper>() = pass.S.transpose();
      pass.S /= static_cast<double>(N);
    }
    if (defined) {
      pass.var = spread.col(l);
      pass.dist2_sum = pass.var.sum();
      pass.x_sq = pass.dist2_sum + s.G.diagonal().dot(n_c);  // ‖S − μ_G1ᵀ‖² = Σ_c (spread + n_c‖m̃_c‖²)
      if (opt.spectra) {
        const Mat MtD = s.Mt * n_c.asDiagonal();  // d×K
        if (q) {
          lower_product_into(pass.gram, T, *q);  // Q_l within Q_lᵀ: the lower triangle is read
        } else {
          pass.gram = within;
        }
        gemm_into(pass.gram, MtD, false, s.Mt, true, 1.0);
      }
    }
    level.metrics = MetricSet::object();
    detail::put_feature_metrics_from(labels, s, d, pass, opt, level.metrics, level.ncc);
    move_null_reasons_last(level.metrics);
  }
  return levels;
}

bool linear_images_take_fewer_flops(Index N, Index K, std::span<const Index> dims, bool spectra) {
  if (dims.size() < 2) return false;
  if (spectra)
    for (const Index d : dims)
      if (d > N) return false;
  const double n = static_cast<double>(N), k = static_cast<double>(K), d0 = static_cast<double>(dims[0]);
  const double g = spectra ? 1.0 : 0.0;
  // Both: H's projections, 2Kd0N. Formed: H's Gram, then per level its product, projections and Gram.
  // Images: the class scatters, then per level Q_l (l ≥ 2), Q_lᵀQ_l, the K contractions, T and T Q_lᵀ.
  double formed = 2.0 * k * d0 * n + g * d0 * d0 * n, images = 2.0 * k * d0 * n + d0 * d0 * n;
  for (std::size_t l = 1; l < dims.size(); ++l) {
    const double d = static_cast<double>(dims[l]), prev = static_cast<double>(dims[l - 1]);
    const bool last = l + 1 == dims.size();
    formed += 2.0 * d * prev * n + 2.0 * k * d * n + g * d * d * n;
    images += (l >= 2 ? 2.0 * d * prev * d0 : 0.0) + d0 * d0 * d + k * d0 * d0 + 2.0 * k * d0 * n +
              (spectra || last ? 2.0 * d * d0 * d0 : 0.0) + g * 2.0 * d * d * d0;
  }
  return images < formed;
}

}  // namespace ufm
