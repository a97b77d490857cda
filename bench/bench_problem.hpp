#pragma once
/// The problem ufm-bench times, shared with tests/test_bench_step.cpp so that the suite checks
/// that the timed step is the tested one.
///
/// Same setup as bench/torch_ufm.py: N = K n samples, labels in class blocks, H and W drawn
/// N(0, init²), b = 0, every weight decay = lam (bias trained and regularized, BiasMode::kRegularized),
/// full-batch gradient descent with step lr. The timed step is GradientDescent::run itself,
/// driven exactly as `ufm-sim run` drives it, minus the observer (no checkpoints, NullObserver).
#include <cstdint>
#include <span>
#include <vector>

#include "ufm/dynamics/gradient_descent.hpp"
#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/ufm_objective.hpp"
#include "ufm/random.hpp"

namespace ufm::bench {

struct Problem {
  Index K = 10, n = 100, d = 64;
  Loss loss = Loss::kCrossEntropy;
  double lr = 0.1, lam = 5e-4, init = 0.1;
  std::uint64_t seed = 0;
  Index N() const { return K * n; }
  /// GEMM flops of one step: W H, G Hᵀ, Wᵀ G.
  double gemm_flops() const { return 6.0 * static_cast<double>(K) * static_cast<double>(d) * static_cast<double>(N()); }
};

inline UfmObjective make_objective(const Problem& p) {
  return UfmObjective(p.K, p.d, block_labels(balanced_counts(p.K, p.n)), p.loss, BiasMode::kRegularized,
                      {p.lam, p.lam, p.lam});
}

/// theta_0: H and W Gaussian with std p.init (one seeded stream), b = 0.
inline Vec initial_theta(const Problem& p, const UfmObjective& f) {
  Vec theta(f.num_params());
  fill_gaussian(theta, p.init, p.seed);
  f.layout().b(theta).setZero();
  return theta;
}

/// `steps` plain GD updates of theta, as the benchmark times them.
template <Objective F>
RunSummary run_steps(const F& f, Vec& theta, double lr, long steps) {
  const GradientDescent gd({.lr = lr, .max_steps = steps});
  return gd.run(f, theta, std::span<const long>{}, NullObserver{});
}

/// ufm-sim run's gradient flow (`--dynamics flow --integrator … --dt dt --abs-tol tol --rel-tol tol
/// --time T --max-steps max_steps`), without its observer: the flow the benchmark times. low_rank:
/// ufm-sim run's is the default, kAuto.
template <Objective F>
RunSummary run_flow(const F& f, Vec& theta, Integrator integrator, double dt, double tol, double time,
                    long max_steps, LowRankSlopes low_rank = LowRankSlopes::kAuto) {
  GradientFlow::Options o;
  o.low_rank_slopes = low_rank;
  o.integrator = integrator;
  o.dt = dt;
  o.abs_tol = tol;
  o.rel_tol = tol;
  o.max_time = time;
  o.max_steps = max_steps;
  return GradientFlow(o).run(f, theta, std::span<const double>{}, NullObserver{});
}

}  // namespace ufm::bench
