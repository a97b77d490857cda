#pragma once
/// Per-sample losses of theory.md §2 and their derivative with respect to the logits.
#include <span>

#include "ufm/linalg.hpp"
#include "ufm/objectives/model_spec.hpp"

namespace ufm {

/// Sum over samples of l(z_i, y_i), without the 1/N.
/// \param Z In: logits (K×N). Out: the residual N·dL/dZ, i.e. softmax(Z) − Y (ce) or Z − Y (mse).
/// Columns are independent, so the result does not depend on how they are split across threads.
double loss_and_residual(Loss loss, Eigen::Ref<Mat> Z, std::span<const int> labels);

/// Sum over samples of l(z_i, y_i) without touching Z (K×N).
double loss_sum(Loss loss, const Eigen::Ref<const Mat>& Z, std::span<const int> labels);

}  // namespace ufm
