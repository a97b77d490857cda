#include "ufm/objectives/deep_ufm_objective.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "ufm/dynamics/descent_update.hpp"
#include "ufm/gemm.hpp"

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
  const Index L = layout_.layers(), K = spec_.K, d0 = spec_.dim;
  if (L == 1)
    shallow_.emplace(spec_.K, spec_.dim, labels_, spec_.loss, spec_.bias,
                     Regularization{spec_.lambda_w[0], spec_.lambda_h, spec_.lambda_b}, spec_.freeze_classifier);
  const bool cheaper = static_cast<double>(K) * static_cast<double>(d0) < layout_.weight_count();
  if (L > 1 && spec_.activation == Activation::kLinear && !spec_.layered && cheaper) {
    chain_.emplace(K, d0, labels_, spec_.loss, spec_.bias, Regularization{0.0, spec_.lambda_h, spec_.lambda_b});
    Q_.resize(static_cast<std::size_t>(L));
    Index widest = 0;
    for (Index l = 0; l < L; ++l) {
      widest = std::max(widest, layout_.dims[l]);
      if (l >= 1 && l + 1 < L) Q_[l].resize(K, layout_.dims[l]);
    }
    Pb_.resize(K * d0 + layout_.b_size());
    stage_weights_.resize(layout_.size() - layout_.offsets[1]);
    gPb_.resize(Pb_.size());
    for (Mat& E : E_) E.resize(K, widest);
    gemm_prepare_threads();
  }
}

const double* DeepUfmObjective::Q(Index l, const double* weights) const {
  const Index L = layout_.layers();
  if (l == L - 1) return layout_.W_from(L, weights).data();
  return l == 0 ? Pb_.data() : Q_[static_cast<std::size_t>(l)].data();
}

void DeepUfmObjective::form_end_to_end(const double* weights) const {
  const Index L = layout_.layers(), K = spec_.K;
  for (Index l = L - 1; l >= 1; --l) {  // Q_{l−1} = Q_l W_l (K×d_{l−1})
    const Index dl = layout_.dims[l], dm = layout_.dims[l - 1];
    double* out = l == 1 ? Pb_.data() : Q_[static_cast<std::size_t>(l - 1)].data();
    gemm(K, dm, dl, {Q(l, weights), K}, {layout_.W_from(l, weights).data(), dl}, 0.0, out, K);
  }
  if (layout_.has_bias) Pb_.tail(K) = layout_.b_from(weights);
}

double DeepUfmObjective::evaluate_end_to_end(const double* H, const LinearCombination* stage, double* store,
                                             const double* weights, Vec* grad, Vec* descend, double lr,
                                             DeepObjectiveParts* parts, const ScaledErrorSpec* error,
                                             double* norm, Mat* logits_t, const LinearCombination* update,
                                             double* update_out) const {
  const Index L = layout_.layers(), K = spec_.K;
  form_end_to_end(weights);
  // H₁'s block comes first in both layouts: its gradient, or its descent step, in place.
  double* gP = grad ? gPb_.data() : nullptr;
  const ObjectiveParts one =
      descend ? chain_->parts_and_descend_apart(descend->data(), Pb_.data(), lr, gP)
      : stage && update
          ? chain_->parts_gradient_and_update_at_apart(*stage, store, Pb_.data(), grad->data(), gP, *update, update_out)
      : stage && logits_t
          ? chain_->parts_gradient_and_logits_at_apart(*stage, store, Pb_.data(), grad->data(), gP, error, *logits_t)
      : stage && error ? chain_->parts_and_gradient_at_apart(*stage, store, Pb_.data(), grad->data(), gP, *error)
      : stage ? chain_->parts_and_gradient_at_apart(*stage, store, Pb_.data(), grad->data(), gP)
      : logits_t ? chain_->parts_gradient_and_logits_apart(H, Pb_.data(), grad->data(), gP, *logits_t)
              : chain_->parts_and_gradient_apart(H, Pb_.data(), grad ? grad->data() : nullptr, gP);
  if (parts) parts->loss = one.loss, parts->penalty_h = one.penalty_h;
  const double value = one.loss + stack_.weight_penalties(weights, spec_.lambda_w, spec_.lambda_b, parts, one.penalty_h);
  if (!grad) return value;
  // dF/dW_l = Q_lᵀ E_l + λ_l W_l with E_1 = dF/dP and E_{l+1} = E_l W_lᵀ (K×d_l); Q_L = I.
  const Vec& g = gPb_;
  for (Index l = 1; l <= L; ++l) {
    const Index dl = layout_.dims[l], dm = layout_.dims[l - 1];
    const double* E = l == 1 ? g.data() : E_[static_cast<std::size_t>(l % 2)].data();
    auto gW = layout_.W(l, *grad);  // d_l×d_{l−1}
    const double lambda = spec_.lambda_w[static_cast<std::size_t>(l - 1)];
    if (l == L) {
      if (spec_.freeze_classifier) gW.setZero();
      else gW = ConstMatMap(E, K, dm) + lambda * layout_.W_from(l, weights);
      break;
    }
    gemm(dl, dm, K, {Q(l, weights), K, true}, {E, K}, 0.0, gW.data(), dl);
    gW += lambda * layout_.W_from(l, weights);
    gemm(K, dl, dm, {E, K}, {layout_.W_from(l, weights).data(), dl, true}, 0.0,
         E_[static_cast<std::size_t>((l + 1) % 2)].data(), K);
  }
  if (layout_.has_bias) layout_.b(*grad) = g.tail(K);
  if (error) *norm = chain_->error_norm_after(*error, num_params());  // H₁'s chunks, then the weights and b
  if (stage && update) {  // H₁'s entries came with the pass; the weights' and b's gradients are written now
    const Index first = layout_.offsets[1];
    update->form(first, num_params(), update_out + first);
  }
  return value;
}

ConstMatMap DeepUfmObjective::level(Index l, const Vec& theta) const {
  return l == 0 ? layout_.H1(theta) : stack_.level(l);
}

double DeepUfmObjective::evaluate(const Vec& theta, Vec* grad, double* descend, double lr) const {
  if (!grad) return stack_.forward(theta, layout_.H1(theta), labels_);
  LayerStack::Backward back;
  back.scale = 1.0 / static_cast<double>(layout_.N);
  back.dS0 = layout_.H1(*grad).data();
  back.bottom_decay = spec_.lambda_h;
  back.descend = descend;
  back.lr = lr;
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
  if (chain_) return evaluate_end_to_end(theta.data(), nullptr, nullptr, weights(theta), nullptr);
  return evaluate(theta, nullptr) / static_cast<double>(layout_.N) + penalties(theta, nullptr);
}

DeepObjectiveParts DeepUfmObjective::parts(const Vec& theta) const {
  DeepObjectiveParts p;
  if (chain_) {
    evaluate_end_to_end(theta.data(), nullptr, nullptr, weights(theta), nullptr, nullptr, 0.0, &p);
    return p;
  }
  p.loss = evaluate(theta, nullptr) / static_cast<double>(layout_.N);
  penalties(theta, &p);
  return p;
}

void DeepUfmObjective::logits(const Vec& theta, Mat& Z) const {
  if (chain_) {
    form_end_to_end(weights(theta));
    Z.noalias() = ConstMatMap(Pb_.data(), spec_.K, spec_.dim) * layout_.H1(theta);
    if (layout_.has_bias) Z.colwise() += layout_.b(theta);
    return;
  }
  evaluate(theta, nullptr);
  Z = stack_.logits();
}

void DeepUfmObjective::feature_levels(const Vec& theta, std::vector<Mat>& levels) const {
  std::vector<ConstMatMap> views;
  feature_level_views(theta, views);
  levels.assign(views.begin(), views.end());
}

void DeepUfmObjective::feature_level_views(const Vec& theta, std::vector<ConstMatMap>& levels) const {
  evaluate(theta, nullptr);
  levels.clear();
  for (Index l = 0; l < layout_.layers(); ++l) levels.push_back(level(l, theta));
}

double DeepUfmObjective::value_and_gradient(const Vec& theta, Vec& grad) const {
  if (shallow_) return shallow_->value_and_gradient(theta, grad);
  if (grad.size() != num_params()) grad.resize(num_params());
  if (chain_) return evaluate_end_to_end(theta.data(), nullptr, nullptr, weights(theta), &grad);
  const double loss = evaluate(theta, &grad) / static_cast<double>(layout_.N);
  return loss + penalties(theta, nullptr);
}

double DeepUfmObjective::value_gradient_and_logits(const Vec& theta, Vec& grad, Mat& logits_t) const {
  if (shallow_) return shallow_->value_gradient_and_logits(theta, grad, logits_t);
  if (chain_) {
    if (grad.size() != num_params()) grad.resize(num_params());
    return evaluate_end_to_end(theta.data(), nullptr, nullptr, weights(theta), &grad, nullptr, 0.0, nullptr,
                               nullptr, nullptr, &logits_t);
  }
  logits_t.resize(0, 0);
  return value_and_gradient(theta, grad);
}

double DeepUfmObjective::value_and_descend(Vec& theta, Vec& grad, double lr) const {
  if (shallow_) return shallow_->value_and_descend(theta, grad, lr);
  if (chain_) {  // H₁ steps inside the one-layer pass; then the weights and b, from their gradient
    if (grad.size() != num_params()) grad.resize(num_params());
    const double value = evaluate_end_to_end(theta.data(), nullptr, nullptr, weights(theta), &grad, &theta, lr);
    descend_in_place(theta, grad, lr, layout_.offsets[1]);
    return value;
  }
  // The stack's step: the penalties of θ before H₁ moves, H₁'s step in each chunk after its gradient
  // (LayerStack::Backward::descend), then the weights' and b's; the value is value_and_gradient's.
  if (grad.size() != num_params()) grad.resize(num_params());
  const double penalty = penalties(theta, nullptr);
  const double loss = evaluate(theta, &grad, theta.data(), lr) / static_cast<double>(layout_.N);
  descend_in_place(theta, grad, lr, layout_.offsets[1]);
  return loss + penalty;
}

double DeepUfmObjective::end_to_end_value_and_gradient_at(const LinearCombination& x, Vec& grad,
                                                          double* store) const {
  return end_to_end_at(x, grad, store, nullptr, nullptr);
}

double DeepUfmObjective::end_to_end_value_and_gradient_at(const LinearCombination& x, Vec& grad, double* store,
                                                          const ScaledErrorSpec& error, double& norm) const {
  return end_to_end_at(x, grad, store, &error, &norm);
}

double DeepUfmObjective::end_to_end_value_gradient_and_logits_at(const LinearCombination& x, Vec& grad,
                                                                  double* store, Mat& logits_t) const {
  return end_to_end_at(x, grad, store, nullptr, nullptr, &logits_t);
}

double DeepUfmObjective::end_to_end_value_gradient_and_logits_at(const LinearCombination& x, Vec& grad,
                                                                  double* store, const ScaledErrorSpec& error,
                                                                  double& norm, Mat& logits_t) const {
  return end_to_end_at(x, grad, store, &error, &norm, &logits_t);
}

double DeepUfmObjective::end_to_end_value_gradient_and_update_at(const LinearCombination& x, Vec& grad,
                                                                  double* store, const LinearCombination& update,
                                                                  double* update_out) const {
  return end_to_end_at(x, grad, store, nullptr, nullptr, nullptr, &update, update_out);
}

double DeepUfmObjective::end_to_end_at(const LinearCombination& x, Vec& grad, double* store,
                                       const ScaledErrorSpec* error, double* norm, Mat* logits_t,
                                       const LinearCombination* update, double* update_out) const {
  if (!chain_) throw std::logic_error("DeepUfmObjective: end_to_end_value_and_gradient_at without end_to_end()");
  if (grad.size() != num_params()) grad.resize(num_params());
  // The weights and b of x before any gradient is written (grad may be a source): where a kept
  // state keeps them (in place if it is a source), else in scratch. H₁ follows in the pass.
  const Index first = layout_.offsets[1];
  double* w = store ? store + first : stage_weights_.data();
  x.form(first, num_params(), w);
  return evaluate_end_to_end(nullptr, &x, store, w, &grad, nullptr, 0.0, nullptr, error, norm, logits_t, update,
                             update_out);
}

}  // namespace ufm
