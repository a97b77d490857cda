#include "ufm/objectives/layer_stack.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>
#include <string>

#include "ufm/dynamics/descent_update.hpp"
#include "ufm/gemm.hpp"
#include "ufm/objectives/loss.hpp"
#include "ufm/parallel.hpp"

namespace ufm {
namespace {

/// At most 8 column chunks: at the medium size (N = 1,000, d = 64) 8 chunks of 125 columns took the
/// ReLU step 6% (one thread) and 9% (two) less time than 15 of 66, whose products were short and whose
/// partial W-gradients more; at the paper size 8 and 16 measure alike. The count depends on N only
/// (never on the threads), so the partials' order, and with it every bit, is the same on any team.
constexpr Index kMaxStackChunks = 8;
constexpr Index kMinChunkCols = 64;  ///< narrower chunks make the products inefficient
constexpr double kMaxPartialBytes = 64.0 * (1 << 20);  ///< cap on the chunks' W-gradient partials

/// d_i ·= (s_i > 0 ? 1 : 0), the product as the mask's cast to double gave it (±0 or NaN where the
/// mask is 0), in a loop the compiler vectorizes: the bool-to-double cast ran one entry at a time,
/// about a third of run_chunk's own time in the ReLU step at the paper size.
void apply_relu_mask(double* __restrict d, const double* __restrict s, Index size) {
  for (Index i = 0; i < size; ++i) d[i] *= s[i] > 0.0 ? 1.0 : 0.0;
}

}  // namespace

std::string_view to_string(Activation activation) {
  return activation == Activation::kRelu ? "relu" : "linear";
}

LayerStackLayout::LayerStackLayout(std::vector<Index> d, bool bias, Index bottom_size)
    : K(d.back()), has_bias(bias), dims(std::move(d)) {
  const Index L = layers();
  offsets.assign(L + 2, 0);
  offsets[1] = bottom_size;
  for (Index l = 1; l <= L; ++l) offsets[l + 1] = offsets[l] + rows(l) * cols(l);
}

double LayerStackLayout::weight_count() const {
  double w = 0.0;
  for (Index l = 1; l <= layers(); ++l) w += static_cast<double>(rows(l)) * static_cast<double>(cols(l));
  return w;
}

LayerStack::LayerStack(LayerStackLayout layout, Options options, Index capacity)
    : layout_(std::move(layout)), options_(options), capacity_(capacity), weights_(layout_.weight_count()),
      Z_(layout_.K, capacity) {
  const Index L = layout_.layers();
  A_.resize(L);
  D_.resize(L);
  for (Index l = 1; l < L; ++l) {
    A_[l].resize(layout_.dims[l], capacity);
    D_[l].resize(layout_.dims[l], capacity);
  }
  chunks_.resize(static_cast<std::size_t>(chunks_for(capacity)));  // chunks_for grows with n
  for (Chunk& ch : chunks_) {
    ch.gW.resize(L + 1);
    for (Index l = 1; l <= L; ++l) ch.gW[l].resize(layout_.rows(l), layout_.cols(l));
    ch.gW_top_t.resize(layout_.cols(L), layout_.rows(L));
    ch.gb.resize(layout_.K);
  }
  W_packed_.resize(L + 1);
  Wt_packed_.resize(L + 1);
  for (Index l = 1; l <= L; ++l) {
    W_packed_[l].reserve(layout_.rows(l), layout_.cols(l));
    Wt_packed_[l].reserve(layout_.cols(l), layout_.rows(l));
  }
  gemm_prepare_threads();  // every product is gemm's: no thread allocates its buffers in a run
}

Index LayerStack::chunks_for(Index n) const {
  const Index by_memory = std::max<Index>(1, static_cast<Index>(kMaxPartialBytes / (8.0 * weights_)));
  return std::clamp<Index>(std::min(n / kMinChunkCols, by_memory), 1, kMaxStackChunks);
}

ConstMatMap LayerStack::level(Index l) const {
  return {A_[l].data(), A_[l].rows(), cols_};
}

void LayerStack::run_chunk(Chunk& c, Index i0, Index n, const Vec& theta, ConstMatMap S0,
                           std::span<const int> labels, const Backward* back) const {
  const Index L = layout_.layers();
  const bool relu = options_.activation == Activation::kRelu;
  // S_l restricted to the chunk (d_l×n): the bottom for l = 0, else A_l's buffer (σ applied there).
  auto S = [&](Index l) {
    if (l == 0) return ConstMatMap(S0.data() + S0.rows() * i0, S0.rows(), n);
    return ConstMatMap(A_[l].data() + A_[l].rows() * i0, A_[l].rows(), n);
  };
  for (Index l = 1; l < L; ++l) {
    auto A = A_[l].middleCols(i0, n);
    gemm_into(A, W_packed_[l], S(l - 1), false, 0.0);  // W_l S_{l−1}
    // In place: the backward pass reads σ'(A_l) as S_l > 0, the same mask (max(a, 0) > 0 exactly
    // when a > 0, NaN included). A second d_l×N buffer cost the ReLU step its write-allocate traffic.
    if (relu) A = A.cwiseMax(0.0);
  }
  auto Z = Z_.middleCols(i0, n);  // K×n
  gemm_into(Z, W_packed_[L], S(L - 1), false, 0.0);
  if (layout_.has_bias) Z.colwise() += layout_.b(theta);
  const std::span<const int> y = labels.subspan(static_cast<std::size_t>(i0), static_cast<std::size_t>(n));
  if (!back) {
    c.loss = loss_sum(options_.loss, Z, y);
    return;
  }
  c.loss = loss_and_residual(options_.loss, Z, y);
  Z *= back->scale;  // G = dF/dZ (K×n)
  // dF/dW_L = G S_{L−1}ᵀ made as its transpose S_{L−1} Gᵀ (d_{L−1}×K): our GEMM's 24-row tiles then
  // run along d_{L−1}, not along K (10 of 24 rows used at K = 10). Each entry is the same sum of the
  // same products in the same order either way, so the same bits; 347 → 244 µs per chunk of 625
  // columns at d = 512 (Xeon), the transpose's copy included.
  if (!options_.freeze_classifier) {
    gemm_into(c.gW_top_t, S(L - 1), false, Z, true, 0.0);
    c.gW[L] = c.gW_top_t.transpose();
  }
  if (layout_.has_bias) c.gb.noalias() = Z.rowwise().sum();

  const Index d0 = layout_.dims[0];
  MatMap dS0(back->dS0 ? back->dS0 + d0 * i0 : nullptr, d0, back->dS0 ? n : 0);  // d₀×n
  if (back->dS0) dS0 = back->bottom_decay * S(0);
  // GD's step of the chunk's columns of S₀, once dS₀ is complete and S₀ read no more (Backward::descend).
  const auto descend_bottom = [&] {
    if (!back->descend || !back->dS0) return;
    double* t = back->descend + d0 * i0;
    const double* g = dS0.data();
    const double lr = back->lr;
    for (Index i = 0; i < d0 * n; ++i) t[i] = descended(t[i], lr, g[i]);
  };
  if (L == 1) {
    if (back->dS0) gemm_into(dS0, Wt_packed_[L], Z, false, 1.0);
    descend_bottom();
    return;
  }
  gemm_into(D_[L - 1].middleCols(i0, n), Wt_packed_[L], Z, false, 0.0);  // dF/dS_{L−1} = W_Lᵀ G
  for (Index l = L - 1; l >= 1; --l) {
    auto D = D_[l].middleCols(i0, n);
    if (relu) apply_relu_mask(D.data(), S(l).data(), D.size());  // dF/dA_l from S_l > 0, σ'(0) = 0
    gemm_into(c.gW[l], D, false, S(l - 1), true, 0.0);
    if (l > 1)
      gemm_into(D_[l - 1].middleCols(i0, n), Wt_packed_[l], D, false, 0.0);  // dF/dS_{l−1} = W_lᵀ D
    else if (back->dS0)
      gemm_into(dS0, Wt_packed_[1], D, false, 1.0);
  }
  descend_bottom();
}

void LayerStack::pack_weights(const Vec& theta, const Backward* back) const {
  const Index L = layout_.layers();
  for (Index l = 1; l <= L; ++l) {
    const Index rows = layout_.rows(l), cols = layout_.cols(l);
    const GemmOperand W{layout_.W(l, theta).data(), rows};
    W_packed_[l].pack(rows, cols, W);
    if (back && (l > 1 || back->dS0)) Wt_packed_[l].pack(cols, rows, {W.data, rows, true});  // the backward's W_lᵀ
  }
}

double LayerStack::pass(const Vec& theta, ConstMatMap S0, std::span<const int> labels,
                        const Backward* back) const {
  const Index n = S0.cols();
  assert(n <= capacity_ && S0.rows() == layout_.dims[0] && static_cast<Index>(labels.size()) == n);
  cols_ = n;
  chunks_used_ = chunks_for(n);
  pack_weights(theta, back);
  const bool parallel = 6.0 * weights_ * static_cast<double>(n) >= kParallelFlops;
  auto run = [&](Index c) {
    const Index begin = n * c / chunks_used_, end = n * (c + 1) / chunks_used_;
    run_chunk(chunks_[static_cast<std::size_t>(c)], begin, end - begin, theta, S0, labels, back);
  };
  for_each_chunk(chunks_used_, parallel, run);
  double loss = 0.0;  // chunk partials, added in chunk order
  for (Index c = 0; c < chunks_used_; ++c) loss += chunks_[static_cast<std::size_t>(c)].loss;
  return loss;
}

double LayerStack::forward(const Vec& theta, ConstMatMap S0, std::span<const int> labels) const {
  return pass(theta, S0, labels, nullptr);
}

double LayerStack::forward_backward(const Vec& theta, ConstMatMap S0,
                                    std::span<const int> labels, const Backward& back) const {
  return pass(theta, S0, labels, &back);
}

void LayerStack::add_weight_gradient(Vec& grad, bool first) const {
  const Index L = layout_.layers();
  for (Index l = 1; l <= L; ++l) {
    auto gW = layout_.W(l, grad);
    if (l == L && options_.freeze_classifier) {
      gW.setZero();
      continue;
    }
    // Entry by entry, the chunks' partials in chunk order: ranges of W on the team (a serial sum of
    // 16 partials of 2 MiB each was 9% of the 2-layer paper step's main thread on two threads).
    for_each_range(gW.size(), [&](Index, Index begin, Index end) {
      VecMap out(gW.data() + begin, end - begin);
      const auto partial = [&](Index c) {
        return ConstVecMap(chunks_[static_cast<std::size_t>(c)].gW[l].data() + begin, end - begin);
      };
      if (first)
        out = partial(0);
      else
        out += partial(0);
      for (Index c = 1; c < chunks_used_; ++c) out += partial(c);
    });
  }
  if (layout_.has_bias) {
    auto gb = layout_.b(grad);
    if (first)
      gb = chunks_[0].gb;
    else
      gb += chunks_[0].gb;
    for (Index c = 1; c < chunks_used_; ++c) gb += chunks_[static_cast<std::size_t>(c)].gb;
  }
}

void LayerStack::add_weight_decay(const Vec& theta, Vec& grad, std::span<const double> lambda_w,
                                  double lambda_b) const {
  const Index L = layout_.layers();
  for (Index l = 1; l <= L; ++l) {
    if (l == L && options_.freeze_classifier) continue;
    const double lambda = lambda_w[static_cast<std::size_t>(l - 1)];
    double* g = layout_.W(l, grad).data();
    const double* w = layout_.W(l, theta).data();
    for_each_range(layout_.rows(l) * layout_.cols(l), [&](Index, Index begin, Index end) {
      VecMap(g + begin, end - begin) += lambda * ConstVecMap(w + begin, end - begin);
    });
  }
  if (layout_.has_bias) layout_.b(grad) += lambda_b * layout_.b(theta);
}

void LayerStack::set_weight_gradient_with_decay(const Vec& theta, Vec& grad, std::span<const double> lambda_w,
                                                double lambda_b) const {
  if (chunks_used_ > 2) {  // the general path: as many partials as chunks
    add_weight_gradient(grad, true);
    add_weight_decay(theta, grad, lambda_w, lambda_b);
    return;
  }
  // Eigen evaluates each expression elementwise left to right, (c₀ + c₁) + λW, with no FMA
  // (-ffp-contract=off): the same roundings as the copy, the add and the decay one after another.
  const Index L = layout_.layers();
  const Chunk& c0 = chunks_[0];
  for (Index l = 1; l <= L; ++l) {
    auto gW = layout_.W(l, grad);
    if (l == L && options_.freeze_classifier) {
      gW.setZero();
      continue;
    }
    const double lambda = lambda_w[static_cast<std::size_t>(l - 1)];
    if (chunks_used_ == 2)
      gW = c0.gW[l] + chunks_[1].gW[l] + lambda * layout_.W(l, theta);
    else
      gW = c0.gW[l] + lambda * layout_.W(l, theta);
  }
  if (layout_.has_bias) {
    auto gb = layout_.b(grad);
    if (chunks_used_ == 2)
      gb = c0.gb + chunks_[1].gb + lambda_b * layout_.b(theta);
    else
      gb = c0.gb + lambda_b * layout_.b(theta);
  }
}

double LayerStack::weight_penalties(const Vec& theta, std::span<const double> lambda_w, double lambda_b,
                                    DeepObjectiveParts* parts, double sum) const {
  return weight_penalties(theta.data() + layout_.offsets[1], lambda_w, lambda_b, parts, sum);
}

double LayerStack::weight_penalties(const double* weights, std::span<const double> lambda_w, double lambda_b,
                                    DeepObjectiveParts* parts, double sum) const {
  const Index L = layout_.layers();
  if (parts) parts->penalty_w.assign(L, 0.0);
  double total = sum;
  for (Index l = 1; l <= L; ++l) {
    const double p = 0.5 * lambda_w[static_cast<std::size_t>(l - 1)] * layout_.W_from(l, weights).squaredNorm();
    if (parts) parts->penalty_w[l - 1] = p;
    total += p;
  }
  if (layout_.has_bias) {
    const double p = 0.5 * lambda_b * layout_.b_from(weights).squaredNorm();
    if (parts) parts->penalty_b = p;
    total += p;
  }
  return total;
}

void check_stack_spec(const std::string& who, Index K, const char* bottom_name, Index bottom,
                      const std::vector<Index>& widths, const std::vector<double>& lambda_w, double lambda_b) {
  const auto fail = [&](const std::string& what) { throw std::invalid_argument(who + ": " + what); };
  const auto check_decay = [&](const char* field, double lambda) {
    if (!(lambda >= 0.0) || !std::isfinite(lambda))
      fail(std::string("'") + field + "' must be finite and >= 0; got " + std::to_string(lambda));
  };
  if (K < 2) fail("'K' must be >= 2; got " + std::to_string(K));
  if (bottom < 1) fail(std::string("'") + bottom_name + "' must be >= 1; got " + std::to_string(bottom));
  for (std::size_t i = 0; i < widths.size(); ++i)
    if (widths[i] < 1) fail("'widths' must all be >= 1; widths[" + std::to_string(i) + "] = " + std::to_string(widths[i]));
  if (lambda_w.size() != widths.size() + 1)
    fail("'lambda_w' has " + std::to_string(lambda_w.size()) + " entries; need L = " +
         std::to_string(widths.size() + 1) + " (one per W_l)");
  for (double l : lambda_w) check_decay("lambda_w", l);
  check_decay("lambda_b", lambda_b);
}

}  // namespace ufm
