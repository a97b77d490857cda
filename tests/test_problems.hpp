#pragma once
/// Test problems with known solutions for the dynamics tests (ensmallen's test problems).
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "test_util.hpp"
#include "ufm/dynamics/observer.hpp"
#include "ufm/objectives/objective.hpp"

namespace ufm::test {

/// F(x) = ½ (x − c)ᵀ A (x − c), A = Q diag(lambda) Qᵀ with Q a fixed random rotation;
/// exact flow x(t) = c + Q e^{−diag(lambda) t} Qᵀ (x0 − c).
struct Quadratic {
  Mat Q, A;
  Vec lambda, c;
  mutable Vec r;  // workspace x − c
  mutable long evaluations = 0;
  /// \param c_seed_offset c is drawn from seed + c_seed_offset.
  Quadratic(std::vector<double> eig, unsigned seed, unsigned c_seed_offset = 100)
      : lambda(Eigen::Map<Vec>(eig.data(), static_cast<Index>(eig.size()))) {
    const Index n = lambda.size();
    Q = Eigen::HouseholderQR<Mat>(random_mat(n, n, seed)).householderQ();
    A = Q * lambda.asDiagonal() * Q.transpose();
    c = random_vec(n, seed + c_seed_offset);
    r.resize(n);
  }
  Index num_params() const { return c.size(); }
  double value(const Vec& x) const { return 0.5 * (x - c).dot(A * (x - c)); }
  double value_and_gradient(const Vec& x, Vec& g) const {
    ++evaluations;
    r = x - c;
    g.noalias() = A * r;
    return 0.5 * r.dot(g);
  }
  Vec exact(const Vec& x0, double t) const {
    return c + Q * (-lambda.array() * t).exp().matrix().asDiagonal() * Q.transpose() * (x0 - c);
  }
};
static_assert(Objective<Quadratic>);

/// An observer that keeps a copy of everything it sees.
struct Record {
  std::vector<long> steps;
  std::vector<double> times, values, grad_norms;
  std::vector<Vec> thetas, grads;
  ObserverAction operator()(const Checkpoint& c) {
    steps.push_back(c.step);
    times.push_back(c.time);
    values.push_back(c.value);
    grad_norms.push_back(c.grad_norm);
    thetas.push_back(c.theta);
    grads.push_back(c.grad);
    return ObserverAction::kContinue;
  }
};

/// Wraps an objective and sets `flag` during its n-th evaluation, as a signal handler would in the
/// middle of a step (a GD step, an RK4 stage or a dopri5 trial step). Forwards value_and_descend,
/// so plain GD keeps its fused steps.
template <class F>
struct SetsFlagAtEvaluation {
  const F& f;
  std::atomic<bool>& flag;
  long n;
  mutable long calls = 0;
  Index num_params() const { return f.num_params(); }
  double value(const Vec& x) const { return f.value(x); }
  double value_and_gradient(const Vec& x, Vec& g) const {
    if (++calls == n) flag = true;
    return f.value_and_gradient(x, g);
  }
  double value_and_descend(Vec& x, Vec& g, double lr) const
    requires DescentStepObjective<F>
  {
    if (++calls == n) flag = true;
    return f.value_and_descend(x, g, lr);
  }
};

}  // namespace ufm::test
