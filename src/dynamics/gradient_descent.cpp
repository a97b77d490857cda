#include "ufm/dynamics/gradient_descent.hpp"

#include <cmath>
#include <stdexcept>

namespace ufm {

void GradientDescent::Options::validate() const {
  if (!(lr > 0.0) || !std::isfinite(lr)) throw std::invalid_argument("'lr' must be positive and finite");
  if (max_steps < 0) throw std::invalid_argument("'max_steps' must be >= 0");
  if (!(momentum >= 0.0 && momentum < 1.0)) throw std::invalid_argument("'momentum' must satisfy 0 <= momentum < 1");
  if (!(grad_tol >= 0.0)) throw std::invalid_argument("'grad_tol' must be >= 0");
}

GradientDescent::GradientDescent(Options options) : options_(options) { options_.validate(); }

}  // namespace ufm
