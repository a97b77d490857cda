#include "ufm/objectives/deep_ufm_objective.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "ufm/dynamics/descent_update.hpp"

namespace ufm {
namespace {

[[noreturn]] void fail_deep(const std::string& what) { throw std::invalid_argument("DeepUfmObjective: " + what); }

void check_decay(const char* field, double lambda) {
  if (!(lambda >= 0.0) || !std::isfinite(lambda))
    fail_deep(std::string("'") + field + "' must be finite and >= 0; got " + std::to_string(lambda));
}

/// Throws on a bad spec or label; returns the spec with lambda_b zeroed unless the bias is regularized.
DeepUfmSpec validated(DeepUfmSpec spec, const std::vector<int>& labels) {
  check_stack_spec("DeepUfmObjective", spec.K, "dim", spec.dim, spec.widths, spec.lambda_w, spec.lambda_b);
  check_decay("lambda_h", spec.lambda_h);
  if (labels.empty()) fail_deep("'labels' must not be empty");
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= spec.K)
      fail_deep("'labels'[" + std::to_string(i) + "] = " + std::to_string(labels[i]) + " outside [0, K = " +
           std::to_string(spec.K) + ")");
  if (spec.bias != BiasMode::kRegularized) spec.lambda_b = 0.0;
  return spec;
}

}  // namespace

DeepUfmObjective::DeepUfmObjective(DeepUfmSpec spec, std::vector<int> labels)
    : spec_(validated(std::move(spec), labels)),
      labels_(std::move(labels)),
      layout_(spec_, static_cast<Index>(labels_.size())),
      stack_(layout_, {spec_.activation, spec_.loss, spec_.freeze_classifier}, layout_.N) {
  if (layout_.layers() == 1)
    shallow_.emplace(spec_.K, spec_.dim, labels_, spec_.loss, spec_.bias,
                     Regularization{spec_.lambda_w[0], spec_.lambda_h, spec_.lambda_b}, spec_.freeze_classifier);
}

ConstMatMap DeepUfmObjective::level(Index l, const Vec& theta) const {
  return l == 0 ? layout_.H1(theta) : stack_.level(l);
}

double DeepUfmObjective::evaluate(const Vec& theta, Vec* grad) const {
  if (!grad) return stack_.forward(theta, layout_.H1(theta), labels_);
  LayerStack::Backward back;
  back.scale = 1.0 / static_cast<double>(layout_.N);
  back.dS0 = layout_.H1(*grad).data();
  back.bottom_decay = spec_.lambda_h;
  const double loss = stack_.forward_backward(theta, layout_.H1(theta), labels_, back);
  stack_.set_weight_gradient_with_decay(theta, *grad, spec_.lambda_w, spec_.lambda_b);
  return loss;
}

double DeepUfmObjective::penalties(const Vec& theta, DeepObjectiveParts* parts) const {
  const double penalty_h = 0.5 * spec_.lambda_h * layout_.H1(theta).squaredNorm();
  if (parts) parts->penalty_h = penalty_h;
  return stack_.weight_penalties(theta, spec_.lambda_w, spec_.lambda_b, parts, penalty_h);
}

double DeepUfmObjective::value(const Vec& theta) const {
  return evaluate(theta, nullptr) / static_cast<double>(layout_.N) + penalties(theta, nullptr);
}

DeepObjectiveParts DeepUfmObjective::parts(const Vec& theta) const {
  DeepObjectiveParts p;
  p.loss = evaluate(theta, nullptr) / static_cast<double>(layout_.N);
  penalties(theta, &p);
  return p;
}

void DeepUfmObjective::logits(const Vec& theta, Mat& Z) const {
  evaluate(theta, nullptr);
  Z = stack_.logits();
}

void DeepUfmObjective::feature_levels(const Vec& theta, std::vector<Mat>& levels) const {
  evaluate(theta, nullptr);
  const Index L = layout_.layers();
  levels.resize(L);
  for (Index l = 0; l < L; ++l) levels[l] = level(l, theta);
}

double DeepUfmObjective::value_and_gradient(const Vec& theta, Vec& grad) const {
  if (shallow_) return shallow_->value_and_gradient(theta, grad);
  if (grad.size() != num_params()) grad.resize(num_params());
  const double loss = evaluate(theta, &grad) / static_cast<double>(layout_.N);
  return loss + penalties(theta, nullptr);
}

double DeepUfmObjective::value_gradient_and_logits(const Vec& theta, Vec& grad, Mat& logits_t) const {
  if (shallow_) return shallow_->value_gradient_and_logits(theta, grad, logits_t);
  logits_t.resize(0, 0);
  return value_and_gradient(theta, grad);
}

double DeepUfmObjective::value_and_descend(Vec& theta, Vec& grad, double lr) const {
  if (shallow_) return shallow_->value_and_descend(theta, grad, lr);
  const double value = value_and_gradient(theta, grad);
  descend_in_place(theta, grad, lr);
  return value;
}

}  // namespace ufm
