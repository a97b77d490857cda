#include "ufm/objectives/ufm_objective.hpp"

#include <stdexcept>
#include <string>

#include "ufm/objectives/loss.hpp"

namespace ufm {

UfmObjective::UfmObjective(Index K, Index d, std::vector<int> labels, Loss loss, BiasMode bias,
                           Regularization lambda, bool freeze_w)
    : layout_{d, static_cast<Index>(labels.size()), K, bias != BiasMode::kNone},
      labels_(std::move(labels)),
      loss_(loss),
      bias_(bias),
      lambda_(lambda),
      freeze_w_(freeze_w),
      Z_(K, layout_.N) {
  if (K < 2 || d < 1 || layout_.N < 1)
    throw std::invalid_argument("UfmObjective: need K >= 2, d >= 1, N >= 1; got K=" + std::to_string(K) +
                                " d=" + std::to_string(d) + " N=" + std::to_string(layout_.N));
  for (int y : labels_)
    if (y < 0 || y >= K) throw std::invalid_argument("UfmObjective: label " + std::to_string(y) + " outside [0, K)");
  if (bias_ != BiasMode::kRegularized) lambda_.b = 0.0;
}

void UfmObjective::logits(const Vec& theta, Mat& Z) const {
  const auto H = layout_.H(theta);  // d×N
  const auto W = layout_.W(theta);  // K×d
  Z.resize(layout_.K, layout_.N);
  Z.noalias() = W * H;
  if (layout_.has_bias) Z.colwise() += layout_.b(theta);
}

ObjectiveParts UfmObjective::parts(const Vec& theta) const {
  logits(theta, Z_);
  ObjectiveParts p;
  p.loss = loss_sum(loss_, Z_, labels_) / static_cast<double>(layout_.N);
  p.penalty_w = 0.5 * lambda_.w * layout_.W(theta).squaredNorm();
  p.penalty_h = 0.5 * lambda_.h * layout_.H(theta).squaredNorm();
  if (layout_.has_bias) p.penalty_b = 0.5 * lambda_.b * layout_.b(theta).squaredNorm();
  return p;
}

double UfmObjective::value(const Vec& theta) const { return parts(theta).total(); }

double UfmObjective::value_and_gradient(const Vec& theta, Vec& grad) const {
  if (grad.size() != num_params()) grad.resize(num_params());
  const auto H = layout_.H(theta);  // d×N
  const auto W = layout_.W(theta);  // K×d
  const double inv_n = 1.0 / static_cast<double>(layout_.N);

  Z_.noalias() = W * H;
  if (layout_.has_bias) Z_.colwise() += layout_.b(theta);
  const double loss = loss_and_residual(loss_, Z_, labels_) * inv_n;
  Z_ *= inv_n;  // G = dL/dZ (K×N)

  auto gH = layout_.H(grad);
  gH.noalias() = W.transpose() * Z_;
  gH += lambda_.h * H;
  auto gW = layout_.W(grad);
  if (freeze_w_) {
    gW.setZero();
  } else {
    gW.noalias() = Z_ * H.transpose();
    gW += lambda_.w * W;
  }
  double penalty = 0.5 * (lambda_.w * W.squaredNorm() + lambda_.h * H.squaredNorm());
  if (layout_.has_bias) {
    const auto b = layout_.b(theta);
    auto gb = layout_.b(grad);
    gb.noalias() = Z_.rowwise().sum();
    gb += lambda_.b * b;
    penalty += 0.5 * lambda_.b * b.squaredNorm();
  }
  return loss + penalty;
}

}  // namespace ufm
