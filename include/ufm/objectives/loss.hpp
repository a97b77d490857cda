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

/// Sum over samples of l(z_i, y_i) without touching Z (K×N). Same arithmetic as
/// loss_and_residual: the two return the same double.
double loss_sum(Loss loss, const Eigen::Ref<const Mat>& Z, std::span<const int> labels);

/// loss_and_residual on logits stored class-major, Zt = Zᵀ (N×K, each class's logits contiguous):
/// the same blocks and arithmetic, so the same loss as loss_sum(loss, Zt.transpose(), labels) and the
/// transpose of loss_and_residual's residual, to the last bit. Zt receives (softmax(Z) − Y)ᵀ (ce) or
/// (Z − Y)ᵀ (mse).
double loss_and_residual_class_major(Loss loss, Eigen::Ref<Mat> Zt, std::span<const int> labels);

/// loss_and_residual on a block of n samples stored class-major, Zt[k·ld + i] = z_ki (each class's
/// logits contiguous), so that the softmax is vectorized across samples. Returns the loss sum
/// (without 1/N); Zt receives scale·(softmax(z) − e_y) (ce) or scale·(z − e_y) (mse).
/// \param work 3n doubles of scratch. Does not allocate. The result depends only on the block's own
/// values and n, never on where the block sits or which thread runs it.
double loss_and_residual_class_major(Loss loss, double* Zt, Index K, Index n, Index ld, const int* labels,
                                     double scale, double* work);

}  // namespace ufm
