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
/// Methods are const but may use a per-instance workspace: give each thread its own objective.
#include <concepts>

#include "ufm/linalg.hpp"

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

}  // namespace ufm
