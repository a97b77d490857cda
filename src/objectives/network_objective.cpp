#include "ufm/objectives/network_objective.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "ufm/dynamics/descent_update.hpp"
#include "ufm/random.hpp"

namespace ufm {
namespace {

/// A pass of the full set holds at most this many columns (unless max_batch asks for more).
constexpr Index kPassCols = 4096;

[[noreturn]] void fail_network(const std::string& what) { throw std::invalid_argument("NetworkObjective: " + what); }

/// Throws on a bad spec, data or label; returns the spec with lambda_b zeroed without a bias.
NetworkSpec validated(NetworkSpec spec, const std::shared_ptr<const Mat>& X, const std::vector<int>& labels,
                      Index max_batch) {
  check_stack_spec("NetworkObjective", spec.K, "input_dim", spec.input_dim, spec.widths, spec.lambda_w, spec.lambda_b);
  if (!X) fail_network("'X' must not be null");
  if (X->rows() != spec.input_dim)
    fail_network("'X' has " + std::to_string(X->rows()) + " rows; need input_dim = " + std::to_string(spec.input_dim));
  if (labels.empty()) fail_network("'labels' must not be empty");
  if (X->cols() != static_cast<Index>(labels.size()))
    fail_network("'X' has " + std::to_string(X->cols()) + " columns; need one per label (" +
         std::to_string(labels.size()) + ")");
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= spec.K)
      fail_network("'labels'[" + std::to_string(i) + "] = " + std::to_string(labels[i]) + " outside [0, K = " +
           std::to_string(spec.K) + ")");
  if (max_batch < 0) fail_network("'max_batch' must be >= 0; got " + std::to_string(max_batch));
  if (!spec.last_bias) spec.lambda_b = 0.0;
  return spec;
}

Index pass_capacity(Index N, Index max_batch) { return std::max(max_batch, std::min(N, kPassCols)); }

}  // namespace

NetworkObjective::NetworkObjective(NetworkSpec spec, std::shared_ptr<const Mat> X, std::vector<int> labels,
                                   Index max_batch)
    : spec_(validated(std::move(spec), X, labels, max_batch)),
      X_(std::move(X)),
      labels_(std::move(labels)),
      layout_(spec_),
      stack_(layout_, {spec_.activation, spec_.loss, false}, pass_capacity(num_samples(), max_batch)),
      gathered_(spec_.input_dim, stack_.capacity()),
      gathered_y_(static_cast<std::size_t>(stack_.capacity())) {}

void NetworkObjective::check_batch(std::span<const Index> batch) const {
  if (batch.empty()) fail_network("the batch must not be empty");
  const Index N = num_samples();
  for (Index i : batch)
    if (i < 0 || i >= N)
      fail_network("batch index " + std::to_string(i) + " outside [0, N = " + std::to_string(N) + ")");
}

template <class AfterPass>
double NetworkObjective::sweep(const Vec& theta, const std::span<const Index>* subset, Vec* grad,
                               AfterPass&& after_pass) const {
  const Index n = subset ? static_cast<Index>(subset->size()) : num_samples(), d0 = spec_.input_dim;
  const Index cap = stack_.capacity();
  LayerStack::Backward back;
  back.scale = 1.0 / static_cast<double>(n);
  double loss = 0.0;  // pass partials, added in pass order
  for (Index p0 = 0; p0 < n; p0 += cap) {
    const Index m = std::min(cap, n - p0);
    if (subset) {  // gather the pass's columns and labels
      for (Index j = 0; j < m; ++j) {
        const Index i = (*subset)[static_cast<std::size_t>(p0 + j)];
        gathered_.col(j) = X_->col(i);
        gathered_y_[static_cast<std::size_t>(j)] = labels_[static_cast<std::size_t>(i)];
      }
    }
    const ConstMatMap S0 = subset ? ConstMatMap(gathered_.data(), d0, m) : ConstMatMap(X_->data() + d0 * p0, d0, m);
    const std::span<const int> y =
        subset ? std::span<const int>(gathered_y_).first(static_cast<std::size_t>(m))
               : std::span<const int>(labels_).subspan(static_cast<std::size_t>(p0), static_cast<std::size_t>(m));
    if (grad) {
      loss += stack_.forward_backward(theta, S0, y, back);
      if (p0 == 0 && m == n)  // one pass (a minibatch): gradient and decay in one pass over θ
        stack_.set_weight_gradient_with_decay(theta, *grad, spec_.lambda_w, spec_.lambda_b);
      else
        stack_.add_weight_gradient(*grad, p0 == 0);
    } else {
      loss += stack_.forward(theta, S0, y);
    }
    after_pass(p0, m, S0);
  }
  if (grad && n > cap) stack_.add_weight_decay(theta, *grad, spec_.lambda_w, spec_.lambda_b);
  return loss;
}

double NetworkObjective::sweep(const Vec& theta, const std::span<const Index>* subset, Vec* grad) const {
  return sweep(theta, subset, grad, [](Index, Index, const ConstMatMap&) {});
}

double NetworkObjective::penalties(const Vec& theta, DeepObjectiveParts* parts) const {
  return stack_.weight_penalties(theta, spec_.lambda_w, spec_.lambda_b, parts);
}

double NetworkObjective::value(const Vec& theta) const {
  return sweep(theta, nullptr, nullptr) / static_cast<double>(num_samples()) + penalties(theta, nullptr);
}

double NetworkObjective::value_and_gradient(const Vec& theta, Vec& grad) const {
  if (grad.size() != num_params()) grad.resize(num_params());
  const double loss = sweep(theta, nullptr, &grad) / static_cast<double>(num_samples());
  return loss + penalties(theta, nullptr);
}

double NetworkObjective::value_and_descend(Vec& theta, Vec& grad, double lr) const {
  const double value = value_and_gradient(theta, grad);
  descend_in_place(theta, grad, lr);
  return value;
}

double NetworkObjective::value_and_gradient_batch(const Vec& theta, Vec& grad, std::span<const Index> batch) const {
  check_batch(batch);
  if (grad.size() != num_params()) grad.resize(num_params());
  const double loss = sweep(theta, &batch, &grad) / static_cast<double>(batch.size());
  return loss + penalties(theta, nullptr);
}

double NetworkObjective::value_batch(const Vec& theta, std::span<const Index> batch) const {
  check_batch(batch);
  return sweep(theta, &batch, nullptr) / static_cast<double>(batch.size()) + penalties(theta, nullptr);
}

DeepObjectiveParts NetworkObjective::parts(const Vec& theta) const {
  DeepObjectiveParts p;
  p.loss = sweep(theta, nullptr, nullptr) / static_cast<double>(num_samples());
  penalties(theta, &p);
  return p;
}

void NetworkObjective::feature_levels(const Vec& theta, std::vector<Mat>& levels) const {
  const Index L = layout_.layers(), n = num_samples();
  levels.resize(L);
  for (Index l = 0; l < L; ++l) levels[l].resize(layout_.dims[l], n);
  sweep(theta, nullptr, nullptr, [&](Index p0, Index m, const ConstMatMap& S0) {
    levels[0].middleCols(p0, m) = S0;
    for (Index l = 1; l < L; ++l) levels[l].middleCols(p0, m) = stack_.level(l);
  });
}

void NetworkObjective::feature_levels(const Vec& theta, std::vector<Mat>& levels,
                                      std::span<const Index> subset) const {
  check_batch(subset);
  const Index L = layout_.layers(), n = static_cast<Index>(subset.size());
  levels.resize(L);
  for (Index l = 0; l < L; ++l) levels[l].resize(layout_.dims[l], n);
  sweep(theta, &subset, nullptr, [&](Index p0, Index m, const ConstMatMap& S0) {
    levels[0].middleCols(p0, m) = S0;
    for (Index l = 1; l < L; ++l) levels[l].middleCols(p0, m) = stack_.level(l);
  });
}

void NetworkObjective::logits(const Vec& theta, Mat& Z) const {
  Z.resize(spec_.K, num_samples());
  sweep(theta, nullptr, nullptr, [&](Index p0, Index m, const ConstMatMap&) { Z.middleCols(p0, m) = stack_.logits(); });
}

void NetworkObjective::logits(const Vec& theta, Mat& Z, std::span<const Index> subset) const {
  check_batch(subset);
  Z.resize(spec_.K, static_cast<Index>(subset.size()));
  sweep(theta, &subset, nullptr, [&](Index p0, Index m, const ConstMatMap&) { Z.middleCols(p0, m) = stack_.logits(); });
}

void init_kaiming(const NetworkLayout& layout, Vec& theta, std::uint64_t seed) {
  theta.resize(layout.size());
  fill_gaussian(theta, 1.0, seed);
  for (Index l = 1; l <= layout.layers(); ++l)
    layout.W(l, theta) *= std::sqrt(2.0 / static_cast<double>(layout.cols(l)));
  layout.b(theta).setZero();
}

void init_gaussian(const NetworkLayout& layout, Vec& theta, double sigma, std::uint64_t seed) {
  theta.resize(layout.size());
  fill_gaussian(theta, sigma, seed);
}

}  // namespace ufm
