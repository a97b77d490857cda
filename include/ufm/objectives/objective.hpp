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
/// | f.value_and_gradient_at(x, grad, store, | the same, and norm receives the error norm of an       |
/// |                         error, norm)    | adaptive step (ScaledErrorSpec), computed in the same  |
/// |                                         | pass; error's estimate may read grad. The norm equals  |
/// |                                         | scaled_error's (lazy_state.hpp) bit for bit for the    |
/// |                                         | maximum, to rounding for the root mean square.         |
///
/// Methods are const but may use a per-instance workspace: give each thread its own objective.
#include <concepts>

#include "ufm/linalg.hpp"
#include "ufm/linear_combination.hpp"
#include "ufm/scaled_error.hpp"

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

/// A StagePointObjective that also computes an adaptive step's error norm (scaled_error.hpp) inside
/// the same pass, each block's scaled errors once the block's gradient is written (the estimate may
/// read the gradient): dopri5's last stage and its error check in one pass. `norm` receives it.
template <class F>
concept ErrorNormObjective =
    StagePointObjective<F> && requires(const F& f, const LinearCombination& x, Vec& grad, double* store,
                                       const ScaledErrorSpec& error, double& norm) {
      { f.value_and_gradient_at(x, grad, store, error, norm) } -> std::convertible_to<double>;
    };

/// A StagePointObjective that also forms an update reading the gradient it writes (RK4's state update,
/// with the last stage's slope) in the same pass, each block once the block's gradient is written.
template <class F>
concept UpdateInPassObjective =
    StagePointObjective<F> && requires(const F& f, const LinearCombination& x, Vec& grad, double* store,
                                       const LinearCombination& update, double* out) {
      { f.value_gradient_and_update_at(x, grad, store, update, out) } -> std::convertible_to<double>;
    };

/// A StagePointObjective whose gradient the RK4 flow can keep low rank (low_rank_slope.hpp): the
/// one-layer UFM, where ∇_H F = Wᵀ R + λ_H H. gradient_low_rank_at writes a slope so, at a point of
/// the state and such slopes, and RK4's update in its pass.
template <class F>
concept LowRankSlopeObjective =
    StagePointObjective<F> && requires(const F& f, const LinearCombination& x, double* g, LowRankSlope& s, Mat* l,
                                       const LinearCombination* u, double* out) {
      { f.gradient_low_rank_at(x, g, s, l, u, out) } -> std::convertible_to<double>;
      { f.takes_low_rank_slopes() } -> std::convertible_to<bool>;
      { f.low_rank_slopes_pay() } -> std::convertible_to<bool>;
    };

/// An Objective that hands a checkpoint the logits of the state it evaluated: value_and_gradient,
/// bit for bit, and logits_t = the classifier's logits without the bias, N×K class-major (resized
/// only if its size is wrong; left empty where the objective does not form them in its pass).
/// Checkpoint::logits_t carries them to the observer, and checkpoint_report does not form W·S again.
template <class F>
concept CheckpointLogitsObjective = Objective<F> && requires(const F& f, const Vec& theta, Vec& grad, Mat& logits_t) {
  { f.value_gradient_and_logits(theta, grad, logits_t) } -> std::convertible_to<double>;
};

}  // namespace ufm
