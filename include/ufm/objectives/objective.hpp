#pragma once
/// The Objective concept: anything dynamics can drive.
///
/// | expression                         | meaning                                           |
/// |------------------------------------|---------------------------------------------------|
/// | f.num_params()                     | length of the flat parameter vector theta         |
/// | f.value(theta)                     | F(theta)                                          |
/// | f.value_and_gradient(theta, grad)  | F(theta); grad (pre-sized) receives dF/dtheta     |
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

}  // namespace ufm
