#include "ufm/objectives/ufm_objective.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "ufm/dynamics/descent_update.hpp"
#include "ufm/gemm.hpp"
#include "ufm/objectives/detail/ufm_kernels.hpp"
#include "ufm/objectives/loss.hpp"
#include "ufm/parallel.hpp"
#include "ufm/transpose.hpp"

namespace ufm {
namespace {

// ----------------------------------------------------------------------------------------------
// How an evaluation runs (see ufm_objective.hpp): H is cut into blocks of `block_` columns (an L2's
// worth), grouped into at most kMaxChunks chunks; per block, while it is in cache:
//   logits Z_b = W H_b + b (block_logits, detail/ufm_kernels.hpp; also Σ||h_i||²), loss and
//   residual G_b (loss_and_residual_class_major), then gH_b = λ_H H_b + Wᵀ G_b and the chunk's
//   partial gW += G_b H_bᵀ (block_backward for K ≤ kMaxKernelK, Eigen's GEMM above).
// For large H (≥ kStreamBytes) the logits pass also writes a packed copy of the block for the
// backward pass, gH is written with non-temporal stores and the next block is prefetched.

using detail::block_backward;
using detail::block_logits;
using detail::block_logits_formed;
using detail::kMaxDescendK;
using detail::kMaxKernelK;

constexpr Index kMaxChunks = 16;
constexpr double kMaxChunkBytes = 32.0 * (1 << 20);  ///< cap on the chunks' W-gradient partials
constexpr double kStreamBytes = 16.0 * (1 << 20);    ///< H-gradients this large bypass the cache

/// to[0..n) = from[0..n), with non-temporal stores when `to` is 64-byte aligned (a stage point's block
/// written to the kept state, read again only in the next stage: no read-for-ownership of it).
void copy_streaming(const double* from, Index n, double* to) {
#if defined(EIGEN_VECTORIZE_AVX512)
  if (reinterpret_cast<std::uintptr_t>(to) % 64 == 0) {
    Index i = 0;
    for (; i + 8 <= n; i += 8) _mm512_stream_pd(to + i, _mm512_loadu_pd(from + i));
    for (; i < n; ++i) to[i] = from[i];
    return;
  }
#elif defined(EIGEN_VECTORIZE_AVX)
  if (reinterpret_cast<std::uintptr_t>(to) % 32 == 0) {
    Index i = 0;
    for (; i + 4 <= n; i += 4) _mm256_stream_pd(to + i, _mm256_loadu_pd(from + i));
    for (; i < n; ++i) to[i] = from[i];
    return;
  }
#endif
  std::copy(from, from + n, to);
}

}  // namespace

UfmObjective::UfmObjective(Index K, Index d, std::vector<int> labels, Loss loss, BiasMode bias,
                           Regularization lambda, bool freeze_w)
    : layout_{d, static_cast<Index>(labels.size()), K, bias != BiasMode::kNone},
      labels_(std::move(labels)),
      loss_(loss),
      bias_(bias),
      lambda_(lambda),
      freeze_w_(freeze_w) {
  if (K < 2 || d < 1 || layout_.N < 1)
    throw std::invalid_argument("UfmObjective: need K >= 2, d >= 1, N >= 1; got K=" + std::to_string(K) +
                                " d=" + std::to_string(d) + " N=" + std::to_string(layout_.N));
  for (int y : labels_)
    if (y < 0 || y >= K) throw std::invalid_argument("UfmObjective: label " + std::to_string(y) + " outside [0, K)");
  if (bias_ != BiasMode::kRegularized) lambda_.b = 0.0;

  // The plan depends on K, d and N only (never on the thread count): that is what makes the
  // result independent of the number of threads.
  const Index N = layout_.N;
  backward_kernels_ = K <= kMaxKernelK;
  const Index block_bytes = backward_kernels_ ? (128 << 10) : (256 << 10);  // H block resident in L2
  block_ = std::clamp<Index>(block_bytes / (8 * d) / 8 * 8, 8, detail::kMaxBlockColumns);
  const Index blocks = (N + block_ - 1) / block_;
  const double partial_bytes = 8.0 * static_cast<double>(d) * static_cast<double>(K);
  const Index by_memory = std::max<Index>(1, static_cast<Index>(kMaxChunkBytes / partial_bytes));
  const Index chunks = std::min({blocks, kMaxChunks, by_memory});
  stream_gradient_ = backward_kernels_ && d % detail::kLanes == 0 && 8.0 * static_cast<double>(d) * N >= kStreamBytes;
  Wt_.resize(d, K);
  stage_wb_.resize(layout_.w_size() + layout_.b_size());
  chunks_.resize(static_cast<std::size_t>(chunks));
  for (Index c = 0; c < chunks; ++c) {
    Chunk& ch = chunks_[static_cast<std::size_t>(c)];
    ch.first_block = blocks * c / chunks;
    ch.end_block = blocks * (c + 1) / chunks;
    ch.gWt.resize(d, K);
    ch.gb.resize(K);
  }
  ensure_scratch(static_cast<std::size_t>(max_threads()));
  if (!backward_kernels_) {
    Wt_packed_.reserve(d, K);
    gemm_prepare_threads();  // its backward's products: no allocation in a run
  }
}

void UfmObjective::ensure_scratch(std::size_t threads) const {
  const Index d = layout_.d;
  while (scratch_.size() < threads) {
    BlockScratch& s = scratch_.emplace_back();
    s.Zt.resize(block_, layout_.K);
    s.work.resize(3 * block_);
    if (stream_gradient_) s.Hp.resize(block_ * d);
    s.Hs.resize(block_ * d);
    s.Hg.resize(block_ * d);
  }
}

void UfmObjective::logits(const Vec& theta, Mat& Z) const {
  const auto H = layout_.H(theta);  // d×N
  const auto W = layout_.W(theta);  // K×d
  Z.resize(layout_.K, layout_.N);
  Z.noalias() = W * H;
  if (layout_.has_bias) Z.colwise() += layout_.b(theta);
}

namespace {
/// A block's logits without the bias (Zt, nb×K class-major) copied to out (column k at out + k·ld),
/// then the bias added in Zt as the kernels add it: last, to the same sum.
void hand_out_logits(double* Zt, Index nb, Index K, const double* b, double* out, Index ld) {
  for (Index k = 0; k < K; ++k) {
    double* z = Zt + k * nb;
    double* o = out + k * ld;
    if (!b) {
      std::copy_n(z, nb, o);
      continue;
    }
    const double bk = b[k];
    for (Index i = 0; i < nb; ++i) {
      o[i] = z[i];
      z[i] = o[i] + bk;
    }
  }
}
}  // namespace

void UfmObjective::run_chunk(Chunk& c, BlockScratch& s, const double* H, const LinearCombination* stage,
                             double* store, const double* W, const double* b, double* gH, bool stream,
                             const double* descend_lr, const ScaledErrorSpec* error, double* logits_t,
                             const LinearCombination* update, double* update_out) const {
  const Index d = layout_.d, K = layout_.K, N = layout_.N;
  const double inv_n = 1.0 / static_cast<double>(N);
  const bool with_gw = gH && !freeze_w_;
  c.loss = c.h_squared = 0.0;
  c.error = {};
  if (gH) c.gb.setZero();
  if (with_gw) c.gWt.setZero();
  for (Index blk = c.first_block; blk < c.end_block; ++blk) {
    const Index c0 = blk * block_, nb = std::min(block_, N - c0);
    const double* Hb = H ? H + c0 * d : nullptr;
    double* Zt = s.Zt.data();  // nb×K, class-major
    double* packed = stream_gradient_ ? s.Hp.data() : nullptr;
    if (stage && !stream_gradient_) {
      // The block of the stage point formed by the logits kernel as it reads it (before this block's
      // gradient is written): a kept state where it is kept, and read from there (the next stages
      // read it again; a copy from scratch was a pass of loads and stores of its own), else in scratch.
      double* formed = store ? store + c0 * d : s.Hs.data();
      const double* bias = logits_t ? nullptr : b;  // handing the logits out: the bias added after
      c.h_squared += block_logits_formed(d, K, W, Wt_.data(), *stage, c0 * d, nb, bias, Zt, formed);
      Hb = formed;
    } else {
      if (stage) {  // H beyond the caches: the block formed in scratch, the stored state bypassing them
        stage->form(c0 * d, (c0 + nb) * d, s.Hs.data());
        if (store) copy_streaming(s.Hs.data(), nb * d, store + c0 * d);
        Hb = s.Hs.data();
      }
      c.h_squared += block_logits(d, K, W, Wt_.data(), Hb, nb, logits_t ? nullptr : b, Zt, packed);
    }
    if (logits_t) hand_out_logits(Zt, nb, K, b, logits_t + c0, N);
    const Eigen::Map<const Mat> Hm(Hb, d, nb);
    Eigen::Map<Mat> Zm(Zt, nb, K);
    c.loss += loss_and_residual_class_major(loss_, Zt, K, nb, nb, labels_.data() + c0, inv_n, s.work.data());
    if (!gH) continue;
    c.gb += Zm.colwise().sum().transpose();
    double* gHb = gH + c0 * d;
    // A descent step the kernel cannot take in place (K > kMaxDescendK): the block's H-gradient goes
    // to scratch (Hs: no stage point in a descent step), then H_b ← H_b − lr·g_b while both are in
    // cache, instead of a whole gradient written to memory and a second pass over θ.
    const bool descend_after = descend_lr && !(backward_kernels_ && K <= kMaxDescendK);
    if (descend_after) gHb = s.Hs.data();
    if (update) gHb = s.Hg.data();  // read by the block's update below, never written to gH
    if (backward_kernels_) {
      // The next block streams in from memory while this one computes: of H, or of each source.
      detail::NextBlocks next;
      if (stream_gradient_ && blk + 1 < c.end_block) {
        if (stage)
          for (int t = 0; t < stage->terms; ++t) next.first[next.count++] = stage->x[static_cast<std::size_t>(t)] + (c0 + nb) * d;
        else
          next.first[next.count++] = Hb + nb * d;
      }
      block_backward(d, K, Wt_.data(), Hb, packed, nb, Zt, gHb, with_gw ? c.gWt.data() : nullptr, lambda_.h,
                     descend_after ? nullptr : descend_lr, stream, next.count > 0 ? &next : nullptr);
    } else {
      Eigen::Map<Mat> gHm(gHb, d, nb);
      if (descend_after) {  // Wᵀ G_b alone: λ_H h is added in the update below, the same sum
        gemm_into(gHm, Wt_packed_, Zm, true, 0.0);
      } else {
        gHm = lambda_.h * Hm;
        gemm_into(gHm, Wt_packed_, Zm, true, 1.0);
      }
      if (with_gw) gemm_into(c.gWt, Hm, false, Zm, false, 1.0);
    }
    if (descend_after) {  // GD's update, as GradientDescent makes it
      double* Hb_new = gH + c0 * d;
      const double lr = *descend_lr;
      if (backward_kernels_) {
        for (Index i = 0; i < nb * d; ++i) Hb_new[i] = descended(Hb_new[i], lr, gHb[i]);
      } else {  // g = λ_H h + (Wᵀ G_b): rounded as the gradient's own pass rounds it (no FMA)
        const double lambda_h = lambda_.h;
        for (Index i = 0; i < nb * d; ++i) Hb_new[i] = descended(Hb_new[i], lr, lambda_h * Hb_new[i] + gHb[i]);
      }
    }
    if (error) c.error.add(*error, c0 * d, (c0 + nb) * d);  // the block's sources are still in cache
    // The block's entries of the update, its gradient read from scratch in place of gH's.
    if (update) update->from_entry(c0 * d, gH, gHb).form(0, nb * d, update_out + c0 * d);
  }
#if defined(EIGEN_VECTORIZE_SSE2)
  if (stream || store) _mm_sfence();  // order the non-temporal stores before anyone reads gH or the stored point
#endif
}

ObjectiveParts UfmObjective::evaluate(const Vec& theta, Vec* grad, Vec* descend, double lr) const {
  return evaluate_at(theta.data(), nullptr, nullptr, grad, descend, lr);
}

ObjectiveParts UfmObjective::evaluate_at(const double* theta, const LinearCombination* stage, double* store,
                                         Vec* grad, Vec* descend, double lr, const ScaledErrorSpec* error,
                                         double* norm, double* logits_t, const LinearCombination* update,
                                         double* update_out) const {
  if (grad && grad->size() != num_params()) grad->resize(num_params());
  const Index h_size = layout_.h_size();
  const double* tail = theta ? theta + h_size : nullptr;  // W, then b
  if (stage) {  // W and b of the stage point, before any gradient is written (grad may be a source):
    // formed where a kept state keeps them (in place if it is a source), else in scratch
    double* wb = store ? store + h_size : stage_wb_.data();
    stage->form(h_size, h_size + static_cast<Index>(stage_wb_.size()), wb);
    tail = wb;
  }
  double* g = grad ? grad->data() : nullptr;
  // Descent: the backward pass writes the new H over the old one (descend == &theta), block by
  // block after the block's own logits; W and b are updated at the end.
  double* gH = descend ? descend->data() : g;
  const double* descend_lr = descend ? &lr : nullptr;  // null: no descent step
  const bool with_update = update && g && !descend;
  const ObjectiveParts p = evaluate_apart(theta, tail, stage, store, gH, g ? g + h_size : nullptr, descend_lr,
                                          g && !descend ? error : nullptr, logits_t, with_update ? update : nullptr,
                                          update_out);
  if (with_update) update->form(h_size, num_params(), update_out + h_size);  // W's and b's gradients are written
  if (!g) return p;
  if (descend) {  // W and b: GD's update, as GradientDescent makes it
    for (Index i = h_size; i < num_params(); ++i) (*descend)[i] = descended(theta[i], lr, (*grad)[i]);
  } else if (error) {  // the chunks' scaled errors in chunk order, then W's and b's
    *norm = error_norm_after(*error, num_params());
  }
  return p;
}

double UfmObjective::error_norm_after(const ScaledErrorSpec& error, Index n) const {
  std::array<double, kMaxChunks + 1> parts{};
  for (std::size_t c = 0; c < chunks_.size(); ++c) parts[c] = chunks_[c].error.value(error.rms);
  ScaledErrorSum rest;
  rest.add(error, layout_.h_size(), n);
  parts[chunks_.size()] = rest.value(error.rms);
  return scaled_error_norm(parts, error.rms, n);
}

ObjectiveParts UfmObjective::evaluate_apart(const double* H, const double* tail, const LinearCombination* stage,
                                            double* store, double* gH, double* gwb, const double* descend_lr,
                                            const ScaledErrorSpec* error, double* logits_t,
                                            const LinearCombination* update, double* update_out) const {
  const Index K = layout_.K, d = layout_.d, N = layout_.N;
  const ConstMatMap W(tail, K, d);
  transpose(W.data(), K, d, Wt_.data());
  const double* b = layout_.has_bias ? tail + layout_.w_size() : nullptr;
  if (!backward_kernels_ && gH) Wt_packed_.pack(d, K, {Wt_.data(), d});  // once, for every block's Wᵀ G_b
  // Non-temporal stores for a large H-gradient, but not for the new H of a descent step: that is
  // read again by the next step and should stay in L3 (measured: 9.2 ms per paper-size step with
  // them, 4.6 without).
  // Nor for a gradient an update reads right after it is written (value_gradient_and_update_at).
  const bool stream =
      gH && !descend_lr && !update && stream_gradient_ && reinterpret_cast<std::uintptr_t>(gH) % 64 == 0;
  const Index chunks = static_cast<Index>(chunks_.size());
  const bool parallel =
      6.0 * static_cast<double>(K) * static_cast<double>(d) * static_cast<double>(N) >= kParallelFlops;
  const int team = chunk_team(chunks, parallel);
  ensure_scratch(static_cast<std::size_t>(team));  // allocates only for a team grown since construction
  auto run = [&](Index c) {
    BlockScratch& s = scratch_[static_cast<std::size_t>(team > 1 ? thread_number() : 0)];
    run_chunk(chunks_[static_cast<std::size_t>(c)], s, H, stage, store, W.data(), b, gH, stream, descend_lr, error,
              logits_t, update, update_out);
  };
  for_each_chunk(chunks, parallel, run);

  // Chunk partials, added in chunk order.
  double loss = 0.0, h_squared = 0.0;
  for (const Chunk& c : chunks_) loss += c.loss, h_squared += c.h_squared;
  ObjectiveParts p;
  p.loss = loss / static_cast<double>(N);
  p.penalty_w = 0.5 * lambda_.w * W.squaredNorm();
  p.penalty_h = 0.5 * lambda_.h * h_squared;
  const ConstVecMap bias(tail + layout_.w_size(), layout_.b_size());
  if (layout_.has_bias) p.penalty_b = 0.5 * lambda_.b * bias.squaredNorm();
  if (!gwb) return p;

  MatMap gW(gwb, K, d);
  sum_chunk_gradients(freeze_w_ ? nullptr : gW.data(), gwb + layout_.w_size());
  if (freeze_w_)
    gW.setZero();
  else
    gW += lambda_.w * W;
  if (layout_.has_bias) VecMap(gwb + layout_.w_size(), K) += lambda_.b * bias;
  return p;
}

void UfmObjective::sum_chunk_gradients(double* gW, double* gb) const {
  const Index K = layout_.K, d = layout_.d;
  if (gW) {
    Mat& sum = chunks_[0].gWt;
    for (std::size_t c = 1; c < chunks_.size(); ++c) sum += chunks_[c].gWt;
    transpose(sum.data(), d, K, gW);
  }
  if (layout_.has_bias) {
    VecMap b(gb, K);
    b = chunks_[0].gb;
    for (std::size_t c = 1; c < chunks_.size(); ++c) b += chunks_[c].gb;
  }
}

ObjectiveParts UfmObjective::parts_and_gradient_apart(const double* H, const double* wb, double* gH,
                                                      double* gwb) const {
  return evaluate_apart(H, wb, nullptr, nullptr, gH, gwb, nullptr, nullptr, nullptr);
}

ObjectiveParts UfmObjective::parts_gradient_and_logits_apart(const double* H, const double* wb, double* gH,
                                                             double* gwb, Mat& logits_t) const {
  return evaluate_apart(H, wb, nullptr, nullptr, gH, gwb, nullptr, nullptr, logits_out(logits_t));
}

ObjectiveParts UfmObjective::parts_and_gradient_at_apart(const LinearCombination& x, double* store,
                                                         const double* wb, double* gH, double* gwb) const {
  return evaluate_apart(nullptr, wb, &x, store, gH, gwb, nullptr, nullptr, nullptr);
}

ObjectiveParts UfmObjective::parts_and_gradient_at_apart(const LinearCombination& x, double* store,
                                                         const double* wb, double* gH, double* gwb,
                                                         const ScaledErrorSpec& error) const {
  return evaluate_apart(nullptr, wb, &x, store, gH, gwb, nullptr, &error, nullptr);
}

ObjectiveParts UfmObjective::parts_gradient_and_logits_at_apart(const LinearCombination& x, double* store,
                                                                const double* wb, double* gH, double* gwb,
                                                                const ScaledErrorSpec* error, Mat& logits_t) const {
  return evaluate_apart(nullptr, wb, &x, store, gH, gwb, nullptr, error, logits_out(logits_t));
}

ObjectiveParts UfmObjective::parts_gradient_and_update_at_apart(const LinearCombination& x, double* store,
                                                                const double* wb, double* gH, double* gwb,
                                                                const LinearCombination& update,
                                                                double* update_out) const {
  return evaluate_apart(nullptr, wb, &x, store, gH, gwb, nullptr, nullptr, nullptr, &update, update_out);
}

ObjectiveParts UfmObjective::parts_and_descend_apart(double* H, const double* wb, double lr, double* gwb) const {
  return evaluate_apart(H, wb, nullptr, nullptr, H, gwb, &lr, nullptr, nullptr);
}

double* UfmObjective::logits_out(Mat& logits_t) const {
  if (logits_t.rows() != layout_.N || logits_t.cols() != layout_.K) logits_t.resize(layout_.N, layout_.K);
  return logits_t.data();
}

double UfmObjective::value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store) const {
  return evaluate_at(nullptr, &x, store, &grad, nullptr, 0.0).total();
}

double UfmObjective::value_gradient_and_update_at(const LinearCombination& x, Vec& grad, double* store,
                                                  const LinearCombination& update, double* update_out) const {
  return evaluate_at(nullptr, &x, store, &grad, nullptr, 0.0, nullptr, nullptr, nullptr, &update, update_out)
      .total();
}

double UfmObjective::value_gradient_and_logits_at(const LinearCombination& x, Vec& grad, double* store,
                                                  Mat& logits_t) const {
  return evaluate_at(nullptr, &x, store, &grad, nullptr, 0.0, nullptr, nullptr,
                     logits_out(logits_t)).total();
}

double UfmObjective::value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store,
                                           const ScaledErrorSpec& error, double& norm) const {
  return evaluate_at(nullptr, &x, store, &grad, nullptr, 0.0, &error, &norm).total();
}

double UfmObjective::value_gradient_and_logits_at(const LinearCombination& x, Vec& grad, double* store,
                                                  const ScaledErrorSpec& error, double& norm, Mat& logits_t) const {
  return evaluate_at(nullptr, &x, store, &grad, nullptr, 0.0, &error, &norm, logits_out(logits_t)).total();
}

ObjectiveParts UfmObjective::parts(const Vec& theta) const { return evaluate(theta, nullptr); }

double UfmObjective::value(const Vec& theta) const { return evaluate(theta, nullptr).total(); }

double UfmObjective::value_and_gradient(const Vec& theta, Vec& grad) const { return evaluate(theta, &grad).total(); }

double UfmObjective::value_gradient_and_logits(const Vec& theta, Vec& grad, Mat& logits_t) const {
  return evaluate_at(theta.data(), nullptr, nullptr, &grad, nullptr, 0.0, nullptr, nullptr,
                     logits_out(logits_t)).total();
}

double UfmObjective::value_and_descend(Vec& theta, Vec& grad, double lr) const {
  return evaluate(theta, &grad, &theta, lr).total();
}

}  // namespace ufm
