#pragma once
/// A flow stage's memory work alone, for ufm-bench flow: the same integrator, the same θ size and
/// the same stage points as the UFM objective's flow, with a gradient that costs nothing but its
/// own data movement. What a stage takes with this objective is the part of a UFM stage no kernel
/// can shorten: Odeint's bookkeeping, forming each stage point from its sources, writing the
/// gradient (and the point, when the trajectory keeps it), and dopri5's error norm. Measured on the
/// machine rather than modelled from the triad bandwidth: reading five or six sources a block at a
/// time streams slower than a triad does.
#include <algorithm>
#include <cstdint>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "ufm/dynamics/lazy_state.hpp"
#include "ufm/linalg.hpp"
#include "ufm/linear_combination.hpp"

namespace ufm::bench {

/// F(x) = ½ λ ||x||², ∇F = λ x, passed over in blocks of the UFM objective's size (32 columns of
/// d = 512: 128 KiB), the stage point formed block by block as UfmObjective::value_and_gradient_at
/// forms it, the gradient (and a kept state) written with non-temporal stores where the UFM
/// objective streams its H-gradient (16 MiB and up). Dynamics: dx/dt = −λx, which any step size the
/// integrators pick keeps finite.
class MemoryAloneObjective {
 public:
  MemoryAloneObjective(Index n, double lambda)
      : n_(n), lambda_(lambda), nontemporal_(8.0 * static_cast<double>(n) >= kStreamBytes) {}
  Index num_params() const { return n_; }
  double value(const Vec& theta) const { return 0.5 * lambda_ * theta.squaredNorm(); }
  double value_and_gradient(const Vec& theta, Vec& grad) const { return pass(nullptr, theta.data(), grad, nullptr); }
  double value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store) const {
    return pass(&x, nullptr, grad, store);
  }
  /// With dopri5's error norm in the same pass, each block's once its gradient is written, as the
  /// UFM objective computes it (ErrorNormObjective).
  double value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store, const ScaledErrorSpec& error,
                               double& norm) const {
    return pass(&x, nullptr, grad, store, &error, &norm);
  }
  /// With RK4's state update in the same pass, each block's from a scratch block of its gradient, the
  /// gradient's entries never written, as the UFM objective forms it (UpdateInPassObjective).
  double value_gradient_and_update_at(const LinearCombination& x, Vec& grad, double* store,
                                      const LinearCombination& update, double* out) const {
    return pass(&x, nullptr, grad, store, nullptr, nullptr, &update, out);
  }

 private:
  static constexpr Index kBlock = 16384;  ///< entries: 128 KiB, the UFM objective's H block at d = 512
  static constexpr double kStreamBytes = 16.0 * (1 << 20);  ///< as UfmObjective's

  double pass(const LinearCombination* stage, const double* theta, Vec& grad, double* store,
              const ScaledErrorSpec* error = nullptr, double* norm = nullptr,
              const LinearCombination* update = nullptr, double* out = nullptr) const {
    if (grad.size() != n_) grad.resize(n_);
    double chunk_sum[kMaxRanges] = {}, chunk_error[kMaxRanges] = {};
    double* g = grad.data();
    for_each_range(n_, [&](Index c, Index b, Index e) {
      alignas(64) static thread_local double block[kBlock], slope[kBlock];
      double sum = 0.0;
      ScaledErrorSum errors;
      for (Index i0 = b; i0 < e; i0 += kBlock) {
        const Index len = std::min(kBlock, e - i0);
        const double* x = theta ? theta + i0 : block;
        if (stage) {
          stage->form(i0, i0 + len, block);
          if (store) scaled_copy(block, len, 1.0, store + i0);
        }
        double lanes[8] = {};  // independent sums: one chain of dependent adds would be the bottleneck
        Index j = 0;
        for (; j + 8 <= len; j += 8)
          for (int l = 0; l < 8; ++l) lanes[l] += x[j + l] * x[j + l];
        for (; j < len; ++j) lanes[0] += x[j] * x[j];
        for (double l : lanes) sum += l;
        if (update) {  // the block's gradient in scratch, read by the block's update in place of grad's
          for (Index j = 0; j < len; ++j) slope[j] = lambda_ * x[j];
          update->from_entry(i0, g, slope).form(0, len, out + i0);
        } else {
          scaled_copy(x, len, lambda_, g + i0);
        }
        if (error) errors.add(*error, i0, i0 + len);
      }
#if defined(__SSE2__)
      if (nontemporal_) _mm_sfence();
#endif
      chunk_sum[c] = sum;
      if (error) chunk_error[c] = errors.value(error->rms);
    });
    if (error) *norm = scaled_error_norm(chunk_error, error->rms, n_);
    double total = 0.0;
    for (double s : chunk_sum) total += s;
    return 0.5 * lambda_ * total;
  }

  /// to = a·from; non-temporal stores for a large θ where `to` is aligned.
  void scaled_copy(const double* from, Index n, double a, double* to) const {
    Index i = 0;
#if defined(__AVX512F__)
    if (nontemporal_ && reinterpret_cast<std::uintptr_t>(to) % 64 == 0)
      for (const __m512d av = _mm512_set1_pd(a); i + 8 <= n; i += 8)
        _mm512_stream_pd(to + i, _mm512_mul_pd(av, _mm512_loadu_pd(from + i)));
#elif defined(__AVX__)
    if (nontemporal_ && reinterpret_cast<std::uintptr_t>(to) % 32 == 0)
      for (const __m256d av = _mm256_set1_pd(a); i + 4 <= n; i += 4)
        _mm256_stream_pd(to + i, _mm256_mul_pd(av, _mm256_loadu_pd(from + i)));
#endif
    for (; i < n; ++i) to[i] = a * from[i];
  }

  Index n_;
  double lambda_;
  bool nontemporal_;
};

}  // namespace ufm::bench
