#include "ufm/theory/two_layer_prediction.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

/// Derivation of theory.md §5 (c) (Tirer & Bruna), as implemented below.
///
/// 1. Collapse of H₁. For fixed W₂, W₁, F is strictly convex in each column h_i (λ_{H1} > 0) and
///    the column's problem depends only on its label, so h_i = h̄_{y_i}: H₁ = H̄₁ ⊗ 1ₙᵀ,
///    ‖H₁‖² = n‖H̄₁‖², and with P = W₂W₁H̄₁ (K×K)
///      F = (1/(2K))‖P − I_K‖² + (λ_{W2}/2)‖W₂‖² + (λ_{W1}/2)‖W₁‖² + (nλ_{H1}/2)‖H̄₁‖².
/// 2. Factor penalty. For A B C = M, ‖A‖² + ‖B‖² + ‖C‖² ≥ 3 Σ_j σ_j(M)^{2/3}, with equality iff
///    the factors are balanced (AᵀA = BBᵀ, BᵀB = CCᵀ on the range) and then every factor's nonzero
///    singular values are σ_j(M)^{1/3}. Applied to √λ_{W2}W₂, √λ_{W1}W₁, √(nλ_{H1})H̄₁, whose
///    product is ρ^{3/2}P with ρ = (nλ_{W2}λ_{W1}λ_{H1})^{1/3}:
///      min penalty = (3/2) ρ Σ_j σ_j(P)^{2/3}.
/// 3. The product. ‖P − I‖² = ‖P‖² − 2 tr P + K and tr P ≤ Σ σ_j(P), with equality iff P is
///    symmetric PSD, so the optimum has P = U diag(σ) Uᵀ and F = (1/K) Σ_j φ(σ_j) with
///    φ(s) = ½(1 − s)² + (3/2)κ s^{2/3}, κ = Kρ. Every σ_j is the scalar minimizer s (unique for
///    κ ≠ 2^{−4/3}), so P = s I_K (this needs rank K: d₀, d₁ ≥ K) and F* = φ(s).
/// 4. The scalar problem. With s = u³, dφ/du = 3u(u⁴ − u + κ): stationary points u⁴ − u + κ = 0,
///    plus the kink s = 0 (φ'(0⁺) = +∞, a local minimum for every κ > 0). φ(u³) = φ(0) = ½ with
///    κ = u − u⁴ gives u³ − 2u⁶ = 0: u³ = ½, κ = 2^{−4/3}.
/// 5. Norms. At the balanced optimum the three penalties are equal (each (1/2)κ s^{2/3}):
///    λ_{W2}‖W₂‖² = λ_{W1}‖W₁‖² = λ_{H1}‖H₁‖² = K q with q = ρ s^{2/3}; the K nonzero singular
///    values are √(q/λ_{W2}) (W₂), √(q/λ_{W1}) (W₁), √(q/(nλ_{H1})) (H̄₁), √(q/λ_{H1}) (H₁);
///    W₂W₂ᵀ = (q/λ_{W2}) I_K; the singular values of W₂W₁H₁ = P ⊗ 1ₙᵀ are √n s.
///    Check: data ½(1 − s)² + penalties 3·(K q)/2 = ½(1 − s)² + (3/2)κ s^{2/3} = φ(s).
namespace ufm {
namespace {

double quartic(double kappa, double u) { return u * u * u * u - u + kappa; }

/// A root of the quartic in [lo, hi], where it changes sign (or vanishes at an end), by
/// bisection until the bracket is two adjacent doubles; returns the end with the smaller |g|.
double bisect(double kappa, double lo, double hi) {
  double g_lo = quartic(kappa, lo), g_hi = quartic(kappa, hi);
  if (g_lo == 0.0) return lo;
  if (g_hi == 0.0) return hi;
  for (;;) {
    const double mid = lo + 0.5 * (hi - lo);
    if (mid <= lo || mid >= hi) break;
    const double g_mid = quartic(kappa, mid);
    if (g_mid == 0.0) return mid;
    if ((g_mid > 0.0) == (g_lo > 0.0)) {
      lo = mid;
      g_lo = g_mid;
    } else {
      hi = mid;
      g_hi = g_mid;
    }
  }
  return std::abs(g_lo) <= std::abs(g_hi) ? lo : hi;
}

}  // namespace

double two_layer_phi(double kappa, double s) {
  return 0.5 * (1.0 - s) * (1.0 - s) + 1.5 * kappa * std::cbrt(s * s);
}

TwoLayerSolution solve_two_layer(double kappa) {
  if (!std::isfinite(kappa) || kappa < 0.0)
    throw std::invalid_argument("solve_two_layer(): 'kappa' must be finite and >= 0");
  TwoLayerSolution out;
  out.kappa = kappa;
  const double u_star = std::cbrt(0.25);  // argmin of g on [0, 1]
  if (quartic(kappa, u_star) <= 0.0) {
    const double u_small = bisect(kappa, 0.0, u_star);
    const double u_large = bisect(kappa, u_star, 1.0);
    out.stationary_s.push_back(u_small * u_small * u_small);
    if (u_large != u_small) out.stationary_s.push_back(u_large * u_large * u_large);
  }
  out.zero_solution = !(kappa < kTwoLayerKappaThreshold);
  out.s = out.zero_solution ? 0.0 : out.stationary_s.back();
  out.min_value = two_layer_phi(kappa, out.s);
  return out;
}

TwoLayerPredictionOutcome predict_two_layer(const TwoLayerInput& in) {
  if (in.K < 2 || in.n < 1) return {std::nullopt, "needs K >= 2 classes of n >= 1 samples"};
  if (in.d0 < in.K || in.d1 < in.K)
    return {std::nullopt, "needs d0 >= K and d1 >= K (theory.md §5 (c)); otherwise W2 W1 H1_bar cannot be s I_K"};
  if (!(in.lambda_w2 > 0) || !(in.lambda_w1 > 0) || !(in.lambda_h1 > 0))
    return {std::nullopt, "needs lambda_W2, lambda_W1 and lambda_H1 > 0 (theory.md §5 (c))"};
  const double K = static_cast<double>(in.K), n = static_cast<double>(in.n);
  const double rho = std::cbrt(n * in.lambda_w2 * in.lambda_w1 * in.lambda_h1);
  const TwoLayerSolution sol = solve_two_layer(K * rho);
  const double q = rho * std::cbrt(sol.s * sol.s);  // λ·σ² of every factor's nonzero singular value

  TwoLayerPrediction out;
  Prediction& p = out.base;
  p.theorem = "c";
  p.description =
      "extended 2-layer linear UFM, MSE, bias-free: W2 W1 H1_bar = s I, balanced factors sharing singular vectors";
  p.min_value = sol.min_value;
  p.scale = sol.s;
  p.zero_solution = sol.zero_solution;
  p.w_norm = std::sqrt(K * q / in.lambda_w2);
  p.h_norm = std::sqrt(K * q / in.lambda_h1);
  p.b_norm = 0.0;
  p.wwt_eigenvalues.assign(in.K, q / in.lambda_w2);
  p.wh_singular_values.assign(in.K, sol.s);
  p.thresholds = {{"kappa", sol.kappa},
                  {"kappa_threshold", kTwoLayerKappaThreshold},
                  {"zero_solution_if", "kappa >= 2^(-4/3)"}};
  out.w1_norm = std::sqrt(K * q / in.lambda_w1);
  out.w1_singular_values.assign(static_cast<std::size_t>(std::min(in.d0, in.d1)), 0.0);
  for (Index i = 0; i < in.K; ++i) out.w1_singular_values[static_cast<std::size_t>(i)] = std::sqrt(q / in.lambda_w1);
  out.h1_singular_values.assign(in.K, std::sqrt(q / in.lambda_h1));
  return {out, ""};
}

nlohmann::ordered_json to_json(const TwoLayerPrediction& p) {
  nlohmann::ordered_json j = to_json(p.base);
  j["kappa"] = p.base.thresholds.value("kappa", 0.0);
  j["w1_norm"] = p.w1_norm;
  j["w1_singular_values"] = p.w1_singular_values;
  j["h1_singular_values"] = p.h1_singular_values;
  return j;
}

}  // namespace ufm
