#pragma once
/// GD's update of one parameter, or of one machine vector of them: t − lr·g, a product and then a
/// difference, each rounded on its own (the library builds with -ffp-contract=off: no FMA). Every
/// descent step takes it: GradientDescent's pass over θ (gd_chunk), the one-layer objective's fused
/// step (value_and_descend) in its backward kernel (K ≤ 12), after each block of H (larger K) and for
/// W and b, and the deep and network objectives' value_and_descend. So a fused step lands on the
/// iterate that the gradient followed by GradientDescent's update gives, bit for bit
/// (KernelShapes.DescendIsTheGradientStepBitForBit, DeepUfmObjective.DescendIsTheGradientStepBitForBit).

#include "ufm/linalg.hpp"
#include "ufm/parallel.hpp"

namespace ufm {

/// t − lr·g. T: double, or a GCC vector of doubles (Eigen's SSE/AVX/AVX-512 packets, simd::Doubles)
/// with lr in every lane.
template <class T>
inline T descended(T t, T lr, T g) {
  return t - lr * g;
}

/// θ ← θ − lr·g entry by entry, in for_each_range's ranges (on the threads for long vectors; each
/// entry on its own, so the same bits for any thread count): the deep and network objectives'
/// value_and_descend after their gradient.
/// From entry `first` on: the deep linear model's weights, after its H₁ took the step in the pass.
inline void descend_in_place(Vec& theta, const Vec& grad, double lr, Index first = 0) {
  for_each_range(theta.size() - first, [&](Index, Index begin, Index end) {
    for (Index i = first + begin; i < first + end; ++i) theta[i] = descended(theta[i], lr, grad[i]);
  });
}

}  // namespace ufm
