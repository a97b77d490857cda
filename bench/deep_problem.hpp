#pragma once
/// The 2-layer problem ufm-bench times (bench/torch_ufm.py --layers 2): H₁ d×N, W₁ d×d (width d),
/// W₂ K×d, b; linear or ReLU hidden layer; every weight decay = lam; same init as the 1-layer one.
#include "bench_problem.hpp"
#include "ufm/objectives/deep_ufm_objective.hpp"

namespace ufm::bench {

/// With `layers` other than 2: hidden widths d (none for one layer), as `ufm-sim run --layers L` builds it.
/// layered: linear layers through the layer stack, the products torch_ufm.py makes, instead of the
/// end-to-end classifier `ufm-sim run` uses (DeepUfmObjective::end_to_end).
inline DeepUfmObjective make_deep_objective(const Problem& p, bool relu, int layers = 2, bool layered = false) {
  DeepUfmSpec spec;
  spec.K = p.K;
  spec.dim = p.d;
  spec.widths.assign(static_cast<std::size_t>(layers - 1), p.d);
  spec.activation = relu ? Activation::kRelu : Activation::kLinear;
  spec.loss = p.loss;
  spec.bias = BiasMode::kRegularized;
  spec.lambda_h = p.lam;
  spec.lambda_w.assign(static_cast<std::size_t>(layers), p.lam);
  spec.lambda_b = p.lam;
  spec.layered = layered;
  return DeepUfmObjective(spec, block_labels(balanced_counts(p.K, p.n)));
}

/// theta_0: H₁, W₁, W₂ Gaussian with std p.init (one seeded stream), b = 0.
inline Vec initial_deep_theta(const Problem& p, const DeepUfmObjective& f) {
  Vec theta(f.num_params());
  fill_gaussian(theta, p.init, p.seed);
  f.layout().b(theta).setZero();
  return theta;
}

/// GEMM flops of one 2-layer step (width d) through the layers: W₂S, G Sᵀ, W₂ᵀG and W₁H, dA Hᵀ,
/// W₁ᵀdA. End to end (linear layers): the one-layer step's P H, G Hᵀ, PᵀG, and P = W₂W₁,
/// W₂ᵀ(dF/dP), (dF/dP)W₁ᵀ.
inline double deep_gemm_flops(const Problem& p, bool end_to_end = false) {
  const double K = static_cast<double>(p.K), d = static_cast<double>(p.d), N = static_cast<double>(p.N());
  return 6.0 * K * d * N + 6.0 * (end_to_end ? K : N) * d * d;
}

}  // namespace ufm::bench
