#pragma once
/// The Objective concept: anything dynamics can drive.
///
/// | expression                         | meaning                                           |
/// |------------------------------------|---------------------------------------------------|
/// | f.num_params()                     | length of the flat parameter vector theta         |
/// | f.value(theta)                     | F(theta)                                          |
/// | f.value_and_gradient(theta, grad)  | F(theta); grad (pre-sized) receives dF/dtheta     |
///
/// Optional, for plain gradient descent between checkpoints (nothing needs the gradient there):
///
/// | f.value_and_descend(theta, grad, lr) | F(theta); then theta ← theta − lr ∇F(theta), in one     |
/// |                                      | pass. Bit-identical to value_and_gradient followed by |
/// |                                      | t − lr·g entry by entry (a product, then a difference, |
/// |                                      | no FMA). grad: workspace, contents unspecified after.  |
///
/// Optional, for gradient flow (dynamics/lazy_state.hpp): F and ∇F at a Runge–Kutta stage point
/// x = Σ_j a_j x_j (a LinearCombination), formed block by block inside the objective's own pass
/// instead of in a pass of its own:
///
/// | f.value_and_gradient_at(x, grad, store) | F(x); grad receives ∇F(x); store (or null) receives  |
/// |                                         | x. Bit-identical to forming x (LinearCombination::    |
/// |                                         | form) and calling value_and_gradient. store and grad  |
/// |                                         | may each be one of the sources x_j.                   |
///
/// Methods are const but may use a per-instance workspace: give each thread its own objective.
#include <concepts>

#include "ufm/linalg.hpp"
#include "ufm/linear_combination.hpp"

namespace ufm {

template <class F>
concept Objective = requires(const F& f, const Vec& theta, Vec& grad) {
  { f.num_params() } -> std::convertible_to<Index>;
  { f.value(theta) } -> std::convertible_to<double>;
  { f.value_and_gradient(theta, grad) } -> std::convertible_to<double>;
};

template <class F>
concept DescentStepObjective = Objective<F> && requires(const F& f, Vec& theta, Vec& grad, double lr) {
  { f.value_and_descend(theta, grad, lr) } -> std::convertible_to<double>;
};

template <class F>
concept StagePointObjective =
    Objective<F> && requires(const F& f, const LinearCombination& x, Vec& grad, double* store) {
      { f.value_and_gradient_at(x, grad, store) } -> std::convertible_to<double>;
    };

}  // namespace ufm
