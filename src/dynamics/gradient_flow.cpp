#include "ufm/dynamics/gradient_flow.hpp"

#include <cmath>
#include <stdexcept>

namespace ufm {

void GradientFlow::Options::validate() const {
  if (!(dt > 0.0) || !std::isfinite(dt)) throw std::invalid_argument("'dt' must be positive and finite");
  if (integrator == Integrator::kDopri5) {
    if (!(abs_tol > 0.0)) throw std::invalid_argument("'abs_tol' must be positive");
    if (!(rel_tol >= 0.0)) throw std::invalid_argument("'rel_tol' must be >= 0");
  }
  if (!(max_time >= 0.0) || !std::isfinite(max_time)) throw std::invalid_argument("'max_time' must be finite and >= 0");
  if (max_steps < 0) throw std::invalid_argument("'max_steps' must be >= 0");
  if (!(grad_tol >= 0.0)) throw std::invalid_argument("'grad_tol' must be >= 0");
}

GradientFlow::GradientFlow(Options options) : options_(options) { options_.validate(); }

}  // namespace ufm
