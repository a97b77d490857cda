#pragma once
/// The shallow-network toy of Wojtowytsch & E (theory.md §5 (g)), integrated by the project's
/// GradientFlow (dopri5), so that the theory check exercises the simulator's own Odeint loop.
///
/// Data P = p₁δ₋₁ + p₂δ₀ + p₃δ₁, classes {−1, 1} (label +1) and {0} (label −1); network
/// h(x) = a₁σ(−x) − a₂σ(x + 1) + a₃σ(x) with the clipped ReLU σ(z) = min(max(z, 0), 1) and frozen
/// inner weights; exponential loss, so R(a) = p₁e^{−a₁} + p₂e^{−a₂} + p₃e^{a₂−a₃}. Along ȧ = −∇R(a),
/// h(1) − h(−1) = a₃ − a₂ − a₁ → log(p₃/(2p₁)) with error O(1/t), from any a(0).
#include <array>
#include <vector>

#include <nlohmann/json.hpp>

#include "ufm/dynamics/run_summary.hpp"
#include "ufm/linalg.hpp"

namespace ufm {

/// h(x) = a₁σ(−x) − a₂σ(x + 1) + a₃σ(x), σ(z) = min(max(z, 0), 1).
double toy_network(const std::array<double, 3>& a, double x);

/// R(a) as an Objective (theta = (a₁, a₂, a₃)). The weights p need not sum to 1: scaling p by c > 0
/// scales R by c, i.e. rescales flow time by c, and leaves the limit log(p₃/(2p₁)) unchanged.
class ToyRisk {
 public:
  explicit ToyRisk(std::array<double, 3> p) : p_(p) {}
  Index num_params() const { return 3; }
  double value(const Vec& theta) const;
  /// \param grad pre-sized to 3; receives (−p₁e^{−a₁}, −p₂e^{−a₂} + p₃e^{a₂−a₃}, −p₃e^{a₂−a₃}).
  double value_and_gradient(const Vec& theta, Vec& grad) const;

 private:
  std::array<double, 3> p_;
};

struct ToyFlowInput {
  std::array<double, 3> p{};   ///< point masses at −1, 0, 1: positive and finite, any total
  std::array<double, 3> a0{};  ///< a(0), finite
  double time = 0;             ///< flow time T > 0
  int num_checkpoints = 50;    ///< >= 2: t = 0 plus geomspace(1e-2, T, num_checkpoints − 1)
  double abs_tol = 1e-12, rel_tol = 1e-12;  ///< dopri5 tolerances, > 0; rel_tol >= 2.22e-14
  /// Throws std::invalid_argument("run_toy_flow(): 'p' must ...") naming the bad field.
  void validate() const;
};

struct ToyCheckpoint {
  double t;
  std::array<double, 3> a;
  double risk;
  double gap;    ///< h(1) − h(−1) = a₃ − a₂ − a₁
  double error;  ///< gap − log(p₃/(2p₁))
};

struct ToyFlowResult {
  double limit = 0;  ///< log(p₃/(2p₁))
  std::vector<ToyCheckpoint> trajectory;
  RunSummary summary;
};

/// Validates the input, then runs dopri5 gradient flow of ToyRisk from a0 up to `time`
/// (grad_tol = 0: the gradient only decays like 1/t), recording every checkpoint.
ToyFlowResult run_toy_flow(const ToyFlowInput& input);

/// {"config": {p, a0, time, num_checkpoints, abs_tol, rel_tol}, "seed": null, "model", "theorem",
///  "limit", "summary": {...}, "trajectory": [{t, a, risk, gap, error}]}.
nlohmann::ordered_json to_json(const ToyFlowResult& result, const ToyFlowInput& input);

}  // namespace ufm
