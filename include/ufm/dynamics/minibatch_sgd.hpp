#pragma once
/// Minibatch SGD with heavy-ball momentum in PyTorch's form, v ← β v + ∇F_B(θ), θ ← θ − η_k v
/// (theory.md §3: uniform batches without replacement per epoch, seeded), with a learning-rate
/// schedule. The objective is any BatchObjective: the minibatch value and gradient over a list of
/// sample indices (NetworkObjective).
///
/// - Epoch e shuffles 0..N−1 by Fisher–Yates with an mt19937_64 seeded from (seed, e); batch j is
///   the j-th run of batch_size indices (the last one shorter when batch_size does not divide N),
///   sorted ascending before the call: the same set, read in memory order, so a batch of every
///   sample is exactly the full-batch objective, bit for bit.
/// - Checkpoints are step indices; step k observes θ_k with the value and gradient of the batch
///   that step k is about to use (the final state: the next batch), `time` = k / batches per epoch
///   (epochs, fractional).
/// - No allocation in the step loop: the permutation, the batch, the gradient, the velocity and the
///   copy of the last observed state are allocated before it.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "ufm/dynamics/gradient_descent.hpp"
#include "ufm/dynamics/lr_schedule.hpp"
#include "ufm/dynamics/observer.hpp"
#include "ufm/dynamics/run_summary.hpp"
#include "ufm/linalg.hpp"

namespace ufm {

template <class F>
concept BatchObjective = requires(const F& f, const Vec& theta, Vec& grad, std::span<const Index> batch) {
  { f.num_params() } -> std::convertible_to<Index>;
  { f.num_samples() } -> std::convertible_to<Index>;
  { f.value_and_gradient_batch(theta, grad, batch) } -> std::convertible_to<double>;
};

class MinibatchSgd {
 public:
  struct Options {
    Index batch_size = 128;  ///< >= 1; larger than N means full batches
    long epochs = 1;         ///< >= 0
    double lr = 0.05;        ///< η₀ > 0
    double momentum = 0.9;   ///< β in [0, 1)
    LrSchedule schedule;
    std::uint64_t seed = 0;
    const std::atomic<bool>* stop_request = nullptr;  ///< read once per step (see GradientDescent)
  };

  explicit MinibatchSgd(Options options) : options_(std::move(options)) {}

  /// Batches per epoch: ceil(N / batch_size).
  static long batches_per_epoch(Index N, Index batch_size) {
    return static_cast<long>((N + batch_size - 1) / batch_size);
  }

  /// Runs epochs × batches_per_epoch steps from θ (in/out), observing the scheduled steps and the
  /// final state. kDiverged: θ is the last observed state (a non-finite state is never observed).
  template <BatchObjective F, Observer O>
  RunSummary run(const F& f, Vec& theta, std::span<const long> checkpoints, O&& observe) const {
    const Options& o = options_;
    const Index N = f.num_samples(), n = f.num_params();
    const Index B = std::min<Index>(std::max<Index>(1, o.batch_size), N);
    const long per_epoch = batches_per_epoch(N, B), total = per_epoch * o.epochs;
    std::vector<Index> order(static_cast<std::size_t>(N)), batch(static_cast<std::size_t>(B));
    Vec grad(n), velocity = Vec::Zero(o.momentum > 0 ? n : 0), saved = theta;
    Vec partial((n + detail::kGdChunk - 1) / detail::kGdChunk);
    std::mt19937_64 rng;
    RunSummary s;
    long saved_step = 0;
    double saved_value = 0.0;
    std::size_t next = 0;
    Index batch_len = 0;
    auto load_batch = [&](long k) {  // batch of step k into `batch`, reshuffling at an epoch's start
      const long e = k / per_epoch, j = k % per_epoch;
      if (j == 0) {
        rng.seed(o.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(e) + 1);
        for (Index i = 0; i < N; ++i) order[static_cast<std::size_t>(i)] = i;
        for (Index i = N - 1; i > 0; --i)
          std::swap(order[static_cast<std::size_t>(i)],
                    order[static_cast<std::size_t>(rng() % static_cast<std::uint64_t>(i + 1))]);
      }
      const Index lo = static_cast<Index>(j) * B;
      batch_len = std::min(B, N - lo);
      std::copy(order.begin() + lo, order.begin() + lo + batch_len, batch.begin());
      std::sort(batch.begin(), batch.begin() + batch_len);
    };
    for (long k = 0;; ++k) {
      load_batch(k);
      const std::span<const Index> b(batch.data(), static_cast<std::size_t>(batch_len));
      const double value = f.value_and_gradient_batch(theta, grad, b);
      ++s.gradient_evaluations;
      if (k == 0) s.initial_value = value;
      const double time = static_cast<double>(k) / static_cast<double>(per_epoch);
      bool scheduled = false;
      for (; next < checkpoints.size() && checkpoints[next] <= k; ++next) scheduled = true;
      const bool stop = o.stop_request && o.stop_request->load(std::memory_order_relaxed);
      const auto budget = stop ? std::optional(RunStatus::kStopped)
                          : k >= total ? std::optional(RunStatus::kMaxSteps)
                                       : std::nullopt;
      const bool finite = std::isfinite(value);
      double grad_norm = finite && (scheduled || budget) ? detail::gd_pass(grad, nullptr, nullptr, 0, 0, partial) : 0;
      if (!finite || !std::isfinite(grad_norm)) {
        s.status = RunStatus::kDiverged;
        s.message = detail::non_finite_message(finite, k, time);
        theta = saved;
        s.steps = saved_step;
        s.time = static_cast<double>(saved_step) / static_cast<double>(per_epoch);
        s.final_value = saved_value;
        return s;
      }
      if (detail::settle(observe, Checkpoint{k, time, value, grad_norm, theta, grad}, scheduled, 0.0, budget, s))
        return s;
      if (scheduled) saved = theta, saved_step = k, saved_value = value;
      const double lr = o.schedule.at(o.lr, k, total, k / per_epoch);
      detail::gd_pass(grad, &theta, o.momentum > 0 ? &velocity : nullptr, lr, o.momentum, partial);
      s.steps = k + 1;
    }
  }

 private:
  Options options_;
};

}  // namespace ufm
