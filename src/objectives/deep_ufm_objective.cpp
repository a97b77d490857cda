#include "ufm/objectives/deep_ufm_objective.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "ufm/objectives/loss.hpp"

namespace ufm {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("DeepUfmObjective: " + what); }

void check_decay(const char* field, double lambda) {
  if (!(lambda >= 0.0) || !std::isfinite(lambda))
    fail(std::string("'") + field + "' must be finite and >= 0; got " + std::to_string(lambda));
}

/// Throws on a bad spec or label; returns the spec with lambda_b zeroed unless the bias is regularized.
DeepUfmSpec validated(DeepUfmSpec spec, const std::vector<int>& labels) {
  if (spec.K < 2) fail("'K' must be >= 2; got " + std::to_string(spec.K));
  if (spec.dim < 1) fail("'dim' must be >= 1; got " + std::to_string(spec.dim));
  for (std::size_t i = 0; i < spec.widths.size(); ++i)
    if (spec.widths[i] < 1)
      fail("'widths' must all be >= 1; widths[" + std::to_string(i) + "] = " + std::to_string(spec.widths[i]));
  if (static_cast<Index>(spec.lambda_w.size()) != spec.layers())
    fail("'lambda_w' has " + std::to_string(spec.lambda_w.size()) + " entries; need L = " +
         std::to_string(spec.layers()) + " (one per W_l)");
  check_decay("lambda_h", spec.lambda_h);
  for (double l : spec.lambda_w) check_decay("lambda_w", l);
  check_decay("lambda_b", spec.lambda_b);
  if (labels.empty()) fail("'labels' must not be empty");
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= spec.K)
      fail("'labels'[" + std::to_string(i) + "] = " + std::to_string(labels[i]) + " outside [0, K = " +
           std::to_string(spec.K) + ")");
  if (spec.bias != BiasMode::kRegularized) spec.lambda_b = 0.0;
  return spec;
}

}  // namespace

DeepUfmObjective::DeepUfmObjective(DeepUfmSpec spec, std::vector<int> labels)
    : spec_(validated(std::move(spec), labels)),
      labels_(std::move(labels)),
      layout_(spec_, static_cast<Index>(labels_.size())),
      Z_(spec_.K, layout_.N) {
  const Index L = layout_.layers();
  if (L == 1)
    shallow_.emplace(spec_.K, spec_.dim, labels_, spec_.loss, spec_.bias,
                     Regularization{spec_.lambda_w[0], spec_.lambda_h, spec_.lambda_b}, spec_.freeze_classifier);
  A_.resize(L);
  S_.resize(L);
  D_.resize(L);
  for (Index l = 1; l < L; ++l) {
    A_[l].resize(layout_.dims[l], layout_.N);
    D_[l].resize(layout_.dims[l], layout_.N);
    if (spec_.activation == Activation::kRelu) S_[l].resize(layout_.dims[l], layout_.N);
  }
}

ConstMatMap DeepUfmObjective::level(Index l, const Vec& theta) const {
  if (l == 0) return layout_.H1(theta);
  const Mat& S = spec_.activation == Activation::kRelu ? S_[l] : A_[l];
  return {S.data(), S.rows(), S.cols()};
}

void DeepUfmObjective::forward(const Vec& theta) const {
  const Index L = layout_.layers();
  for (Index l = 1; l < L; ++l) {
    A_[l].noalias() = layout_.W(l, theta) * level(l - 1, theta);  // d_l×N
    if (spec_.activation == Activation::kRelu) S_[l] = A_[l].cwiseMax(0.0);
  }
  Z_.noalias() = layout_.W(L, theta) * level(L - 1, theta);  // K×N
  if (layout_.has_bias) Z_.colwise() += layout_.b(theta);
}

double DeepUfmObjective::penalties(const Vec& theta, DeepObjectiveParts* parts) const {
  const Index L = layout_.layers();
  double total = 0.5 * spec_.lambda_h * layout_.H1(theta).squaredNorm();
  if (parts) parts->penalty_h = total, parts->penalty_w.assign(L, 0.0);
  for (Index l = 1; l <= L; ++l) {
    const double p = 0.5 * spec_.lambda_w[l - 1] * layout_.W(l, theta).squaredNorm();
    if (parts) parts->penalty_w[l - 1] = p;
    total += p;
  }
  if (layout_.has_bias) {
    const double p = 0.5 * spec_.lambda_b * layout_.b(theta).squaredNorm();
    if (parts) parts->penalty_b = p;
    total += p;
  }
  return total;
}

double DeepUfmObjective::value(const Vec& theta) const {
  forward(theta);
  return loss_sum(spec_.loss, Z_, labels_) / static_cast<double>(layout_.N) + penalties(theta, nullptr);
}

DeepObjectiveParts DeepUfmObjective::parts(const Vec& theta) const {
  forward(theta);
  DeepObjectiveParts p;
  p.loss = loss_sum(spec_.loss, Z_, labels_) / static_cast<double>(layout_.N);
  penalties(theta, &p);
  return p;
}

void DeepUfmObjective::logits(const Vec& theta, Mat& Z) const {
  forward(theta);
  Z = Z_;
}

void DeepUfmObjective::feature_levels(const Vec& theta, std::vector<Mat>& levels) const {
  forward(theta);
  const Index L = layout_.layers();
  levels.resize(L);
  for (Index l = 0; l < L; ++l) levels[l] = level(l, theta);
}

double DeepUfmObjective::value_and_gradient(const Vec& theta, Vec& grad) const {
  if (shallow_) return shallow_->value_and_gradient(theta, grad);
  if (grad.size() != num_params()) grad.resize(num_params());
  const Index L = layout_.layers();
  const double inv_n = 1.0 / static_cast<double>(layout_.N);
  const bool relu = spec_.activation == Activation::kRelu;

  forward(theta);
  const double loss = loss_and_residual(spec_.loss, Z_, labels_) * inv_n;
  Z_ *= inv_n;  // G = dL/dZ (K×N)

  const auto W_L = layout_.W(L, theta);
  auto gW_L = layout_.W(L, grad);
  if (spec_.freeze_classifier) {
    gW_L.setZero();
  } else {
    gW_L.noalias() = Z_ * level(L - 1, theta).transpose();
    gW_L += spec_.lambda_w[L - 1] * W_L;
  }
  if (layout_.has_bias) {
    auto gb = layout_.b(grad);
    gb.noalias() = Z_.rowwise().sum();
    gb += spec_.lambda_b * layout_.b(theta);
  }

  auto gH = layout_.H1(grad);
  if (L == 1) {
    gH.noalias() = W_L.transpose() * Z_;
  } else {
    D_[L - 1].noalias() = W_L.transpose() * Z_;  // dL/dS_{L−1}
    for (Index l = L - 1; l >= 1; --l) {
      if (relu) D_[l].array() *= (A_[l].array() > 0.0).cast<double>();  // dL/dA_l, σ'(0) = 0
      const auto W_l = layout_.W(l, theta);
      auto gW_l = layout_.W(l, grad);
      gW_l.noalias() = D_[l] * level(l - 1, theta).transpose();
      gW_l += spec_.lambda_w[l - 1] * W_l;
      if (l > 1)
        D_[l - 1].noalias() = W_l.transpose() * D_[l];  // dL/dS_{l−1}
      else
        gH.noalias() = W_l.transpose() * D_[1];
    }
  }
  gH += spec_.lambda_h * layout_.H1(theta);
  return loss + penalties(theta, nullptr);
}

}  // namespace ufm
