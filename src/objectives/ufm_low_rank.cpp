// UfmObjective::gradient_low_rank_at: the RK4 flow's stages with low-rank slopes (low_rank_slope.hpp).
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "ufm/gemm.hpp"
#include "ufm/objectives/detail/residual_products.hpp"
#include "ufm/objectives/detail/ufm_kernels.hpp"
#include "ufm/objectives/loss.hpp"
#include "ufm/objectives/ufm_objective.hpp"
#include "ufm/parallel.hpp"
#include "ufm/transpose.hpp"

namespace ufm {
namespace {

/// c's H part as alpha·base + Σ coef_t Wt_t Rt_tᵀ: its one explicit source and its low-rank slopes'
/// expansions. `who` names the combination in the error.
LowRankH flatten(const LinearCombination& c, const char* who) {
  LowRankH h;
  if (!flatten_low_rank(c, h))
    throw std::logic_error(std::string("UfmObjective::gradient_low_rank_at(): ") + who +
                           " is not one state plus low-rank slopes");
  return h;
}

/// [coef_t Wt_t …] (d×(terms·K)) into `factors` (resized if too small), then packed into `packed`.
void pack_factors(const LowRankH& h, Index d, Index K, Mat& factors, PackedA& packed) {
  reserve_term_columns(factors, d, K, LowRankH::kMaxTerms * K);
  for (int u = 0; u < h.terms; ++u) {
    const auto v = static_cast<std::size_t>(u);
    factors.middleCols(u * K, K) = h.coef[v] * ConstMatMap(h.Wt[v], d, K);
  }
  packed.reserve(d, LowRankH::kMaxTerms * K);
  packed.pack(d, h.terms * K, {factors.data(), d});
}

/// out (d×nb) = h.alpha·xb + Σ_t (coef_t Wt_t) (rows c0 … of Rt_t)ᵀ, h's factors packed; Rg: the
/// terms' rows stacked from column col0 on (nb×(terms·K) within Rg). out may be xb (an update in place).
void form_block(const LowRankH& h, const PackedA& packed, const double* xb, Index d, Index nb, Index N, Index K,
                Index c0, Mat& Rg, Index col0, double* out) {
  if (h.base != nullptr)
    for (Index e = 0; e < nb * d; ++e) out[e] = h.alpha * xb[e];
  else
    std::fill(out, out + nb * d, 0.0);
  if (h.terms == 0) return;
  for (int u = 0; u < h.terms; ++u)
    Rg.block(0, col0 + u * K, nb, K) = ConstMatMap(h.Rt[static_cast<std::size_t>(u)], N, K).middleRows(c0, nb);
  gemm(nb, packed, {Rg.data() + col0 * Rg.rows(), Rg.rows(), true}, 1.0, out, d);
}

}  // namespace

bool UfmObjective::takes_low_rank_slopes() const { return backward_kernels_ && layout_.K <= detail::kMaxDescendK; }

bool UfmObjective::low_rank_slopes_pay() const { return takes_low_rank_slopes() && stream_gradient_; }

double UfmObjective::gradient_low_rank_at(const LinearCombination& x, double* grad, LowRankSlope& slope,
                                          Mat* logits_t, const LinearCombination* update, double* update_out,
                                          const ScaledErrorSpec* error, double* norm) const {
  if (!takes_low_rank_slopes())
    throw std::logic_error("UfmObjective::gradient_low_rank_at(): K = " + std::to_string(layout_.K) +
                           " above the kernel's " + std::to_string(detail::kMaxDescendK));
  const Index K = layout_.K, d = layout_.d, N = layout_.N, hs = layout_.h_size();
  const double inv_n = 1.0 / static_cast<double>(N);
  // x's H part, before anything is written (slope may not be a source of x: its payload is rewritten).
  for (int t = 0; t < x.terms; ++t)
    if (x.slope[static_cast<std::size_t>(t)] == &slope)
      throw std::logic_error("UfmObjective::gradient_low_rank_at(): the slope written is a source of x");
  const LowRankH point = flatten(x, "x");
  if (point.base == nullptr)
    throw std::logic_error("UfmObjective::gradient_low_rank_at(): x has no state among its sources");
  const bool state_alone = point.terms == 0 && point.alpha == 1.0;
  // dopri5's last stage: the point is the update, the trial state written in this pass. F is then
  // taken at it (its squares from the written blocks), and the slope rebased onto it.
  const bool at_update = update == &x;
  if (error && (!norm || !at_update))
    throw std::logic_error("UfmObjective::gradient_low_rank_at(): an error norm needs its output and the trial state");
  // W and b of x, formed before any gradient is written (grad may be a source).
  double* wb = stage_wb_.data();
  x.form(hs, hs + static_cast<Index>(stage_wb_.size()), wb);
  const ConstMatMap W(wb, K, d);
  const double* b = layout_.has_bias ? wb + layout_.w_size() : nullptr;
  // The slope's factors: Wᵀ now, the residual in the pass.
  if (slope.Wt.rows() != d || slope.Wt.cols() != K) slope.Wt.resize(d, K);
  if (slope.Rt.rows() != N || slope.Rt.cols() != K) slope.Rt.resize(N, K);
  transpose(W.data(), K, d, slope.Wt.data());
  // Room for form_low_rank (a reader of the slope's entries) now, so that no later read allocates.
  reserve_term_columns(slope.scratch, d, K, LowRankH::kMaxTerms * K);
  // The logits' weights alpha·W (W itself for the state alone: value_and_gradient's logits, bit for bit),
  // and their corrections C = Σ_t Rt_t (coef_t W Wt_t)ᵀ (N×K, class-major as the logits): one register
  // kernel per chunk over all terms, at the chunk's start (detail::residuals_times_transposed; per block,
  // gemm's packing took as long as its arithmetic).
  if (low_rank_aW_.rows() != K || low_rank_aW_.cols() != d) low_rank_aW_.resize(K, d), low_rank_aWt_.resize(d, K);
  if (state_alone)
    low_rank_aW_ = W;
  else
    low_rank_aW_ = point.alpha * W;
  transpose(low_rank_aW_.data(), K, d, low_rank_aWt_.data());
  reserve_term_columns(low_rank_corrections_, K, K, LowRankH::kMaxTerms * K);
  for (int t = 0; t < point.terms; ++t) {
    const auto u = static_cast<std::size_t>(t);
    auto M = low_rank_corrections_.middleCols(t * K, K);
    gemm(K, K, d, {W.data(), K}, {point.Wt[u], d}, 0.0, M.data(), K);  // W Wt_t
    M *= point.coef[u];
  }
  if (point.terms > 0 && (low_rank_offset_.rows() != N || low_rank_offset_.cols() != K)) low_rank_offset_.resize(N, K);
  double* offset = point.terms > 0 ? low_rank_offset_.data() : nullptr;
  // The slope's expansion: λ_H (x's H part) + Wᵀ R. Set now: an update may read it.
  LowRankH h;
  h.add(lambda_.h, point);
  for (int t = h.terms - 1; t >= 0; --t)  // no zero terms (λ_H = 0): fewer products when it is read
    if (h.coef[static_cast<std::size_t>(t)] == 0.0) {
      for (int s = t; s + 1 < h.terms; ++s) {
        const auto v = static_cast<std::size_t>(s);
        h.coef[v] = h.coef[v + 1], h.Wt[v] = h.Wt[v + 1], h.Rt[v] = h.Rt[v + 1];
      }
      --h.terms;
    }
  if (h.alpha == 0.0) h.base = nullptr;  // λ_H = 0: no state term
  LowRankH own;
  own.terms = 1;
  own.coef[0] = 1.0;
  own.Wt[0] = slope.Wt.data();
  own.Rt[0] = slope.Rt.data();
  if (!h.add(1.0, own)) throw std::logic_error("UfmObjective::gradient_low_rank_at(): too many low-rank terms");
  slope.h = h;
  slope.at_step = LowRankH{};
  slope.active = true;
  slope.formed = false;
  // The update's H part alpha_u·x_H + Σ_u coef_u Wt_u Rt_uᵀ: the factors [coef_u Wt_u …] packed once.
  LowRankH up;
  if (update) {
    up = flatten(*update, "the update");
    if (up.base != point.base)
      throw std::logic_error("UfmObjective::gradient_low_rank_at(): the update is not of x's state");
    pack_factors(up, d, K, low_rank_factors_, low_rank_update_);
  }
  // The error estimate's H part E and the old slope's G (dopri5), formed per block once the block's
  // residual is made: E reads this slope (its expansion over the state, set above).
  LowRankH E, G;
  if (error) {
    E = flatten(error->estimate, "the error estimate");
    if (error->g_low_rank != nullptr && !add_expansion(G, 1.0, *error->g_low_rank))
      throw std::logic_error("UfmObjective::gradient_low_rank_at(): the old slope is not of x's state");
    for (const LowRankH* e : {&E, &G})
      if ((e->base != nullptr && e->base != point.base) || (e == &E && error->x != point.base))
        throw std::logic_error("UfmObjective::gradient_low_rank_at(): the error estimate is not of x's state");
    pack_factors(E, d, K, low_rank_error_factors_, low_rank_error_);
    pack_factors(G, d, K, low_rank_g_factors_, low_rank_g_);
  }
  const Index rg_cols = (up.terms + E.terms + G.terms) * K;
  double* logits = logits_t ? logits_out(*logits_t) : nullptr;

  const Index chunks = static_cast<Index>(chunks_.size());
  const bool parallel =
      4.0 * static_cast<double>(K) * static_cast<double>(d) * static_cast<double>(N) >= kParallelFlops;
  const int team = chunk_team(chunks, parallel);
  ensure_scratch(static_cast<std::size_t>(team));
  const bool with_gw = !freeze_w_;
  auto run = [&](Index ci) {
    BlockScratch& s = scratch_[static_cast<std::size_t>(team > 1 ? thread_number() : 0)];
    Chunk& c = chunks_[static_cast<std::size_t>(ci)];
    c.loss = c.h_squared = 0.0;
    c.gb.setZero();
    if (with_gw) c.gWt.setZero();
    if (error) c.error = {};
    if (s.Rg.rows() < block_ || s.Rg.cols() < rg_cols) s.Rg.resize(block_, 3 * LowRankH::kMaxTerms * K);
    const Index r0 = c.first_block * block_, rows = std::min(N, c.end_block * block_) - r0;  // the chunk's samples
    if (point.terms > 0) {
      std::array<const double*, LowRankH::kMaxTerms> R{};
      for (int t = 0; t < point.terms; ++t) R[static_cast<std::size_t>(t)] = point.Rt[static_cast<std::size_t>(t)] + r0;
      detail::residuals_times_transposed(rows, K, point.terms, R.data(), N, low_rank_corrections_.data(), offset + r0,
                                         N);
    }
    for (Index blk = c.first_block; blk < c.end_block; ++blk) {
      const Index c0 = blk * block_, nb = std::min(block_, N - c0);
      const double* xb = point.base + c0 * d;
      double* Zt = slope.Rt.data() + c0;  // nb×K, leading dimension N: the logits, then the residual
      c.h_squared += detail::block_logits(d, K, low_rank_aW_.data(), low_rank_aWt_.data(), xb, nb, nullptr, Zt,
                                          nullptr, N, state_alone && !at_update);
      for (Index k = 0; k < K; ++k) {
        double* z = Zt + k * N;
        if (offset) {
          const double* o = offset + k * N + c0;
          for (Index i = 0; i < nb; ++i) z[i] += o[i];
        }
        if (logits) std::copy(z, z + nb, logits + k * N + c0);
        if (b)
          for (Index i = 0; i < nb; ++i) z[i] += b[k];
      }
      c.loss += loss_and_residual_class_major(loss_, Zt, K, nb, N, labels_.data() + c0, inv_n, s.work.data());
      for (Index k = 0; k < K; ++k) {
        const double* g = Zt + k * N;
        double sum = 0.0;
        for (Index i = 0; i < nb; ++i) sum += g[i];
        c.gb(k) += sum;
      }
      if (with_gw) detail::block_gw(d, K, xb, nb, Zt, N, c.gWt.data());
      if (update) {  // the block's new state: alpha_u x_b (in place where it is the state), then the factors
        double* out = update_out + c0 * d;
        form_block(up, low_rank_update_, xb, d, nb, N, K, c0, s.Rg, 0, out);
        if (at_update) c.h_squared += ConstVecMap(out, nb * d).squaredNorm();
      }
      if (error) {  // the block's scaled errors: e = E's block, g = G's (or the explicit old slope's)
        double* e = s.Hs.data();
        form_block(E, low_rank_error_, xb, d, nb, N, K, c0, s.Rg, up.terms * K, e);
        const double* g = error->g + c0 * d;
        if (error->g_low_rank != nullptr) {
          form_block(G, low_rank_g_, xb, d, nb, N, K, c0, s.Rg, (up.terms + E.terms) * K, s.Hg.data());
          g = s.Hg.data();
        }
        ScaledErrorSpec block = *error;
        block.estimate = LinearCombination{};
        block.estimate.add(1.0, e);
        block.x = error->x + c0 * d;
        block.g = g;
        c.error.add(block, 0, nb * d);
      }
    }
    if (with_gw && point.terms > 0) {  // the chunk's R Rₜᵀ, its residuals all made
      reserve_term_columns(c.rr, K, K, point.terms * K);
      for (int t = 0; t < point.terms; ++t)
        detail::residual_cross_product(rows, K, slope.Rt.data() + r0, N, point.Rt[static_cast<std::size_t>(t)] + r0, N,
                                       c.rr.data() + t * K * K);
    }
  };
  for_each_chunk(chunks, parallel, run);

  double loss = 0.0, h_squared = 0.0;
  for (const Chunk& c : chunks_) loss += c.loss, h_squared += c.h_squared;
  // W's gradient: alpha·R x_Hᵀ (the chunks' partials, in chunk order) + Σ_t coef_t (R R_tᵀ) W_t + λ_W W.
  MatMap gW(grad + hs, K, d);
  sum_chunk_gradients(freeze_w_ ? nullptr : gW.data(), grad + hs + layout_.w_size());
  if (freeze_w_) {
    gW.setZero();
  } else {
    if (!state_alone) gW *= point.alpha;
    if (low_rank_rr_.rows() != K || low_rank_rr_.cols() != K) low_rank_rr_.resize(K, K);
    for (int t = 0; t < point.terms; ++t) {  // the chunks' R Rₜᵀ in chunk order, times coef_t, times W_t
      const auto u = static_cast<std::size_t>(t);
      low_rank_rr_ = chunks_[0].rr.middleCols(t * K, K);
      for (std::size_t c = 1; c < chunks_.size(); ++c) low_rank_rr_ += chunks_[c].rr.middleCols(t * K, K);
      low_rank_rr_ *= point.coef[u];
      gemm(K, d, K, {low_rank_rr_.data(), K}, {point.Wt[u], d, true}, 1.0, gW.data(), K);
    }
    gW += lambda_.w * W;
  }
  if (layout_.has_bias) VecMap(grad + hs + layout_.w_size(), K) += lambda_.b * ConstVecMap(b, K);
  if (update) update->form(hs, num_params(), update_out + hs);  // W's and b's, their gradients written
  if (error) *norm = error_norm_after(*error, num_params());     // the chunks' in chunk order, then W's and b's
  if (at_update) {  // the next step's first slope: λ_H x_new + Wᵀ R, over the state just written
    slope.at_step = slope.h;
    LowRankH r = own;
    if (lambda_.h != 0.0) r.base = update_out, r.alpha = lambda_.h;
    slope.h = r;
  }
  if (!state_alone && !at_update) return std::numeric_limits<double>::quiet_NaN();
  ObjectiveParts p;
  p.loss = loss / static_cast<double>(N);
  p.penalty_w = 0.5 * lambda_.w * W.squaredNorm();
  p.penalty_h = 0.5 * lambda_.h * h_squared;
  if (layout_.has_bias) p.penalty_b = 0.5 * lambda_.b * ConstVecMap(b, K).squaredNorm();
  return p.total();
}

}  // namespace ufm
