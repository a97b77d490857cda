#include "ufm/objectives/deep_ufm_objective.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "ufm/objectives/loss.hpp"
#include "ufm/parallel.hpp"


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

namespace {

constexpr Index kMaxChunks = 16;
constexpr Index kMinChunkCols = 64;  ///< narrower chunks make the products inefficient
constexpr double kMaxPartialBytes = 64.0 * (1 << 20);  ///< cap on the chunks' W-gradient partials

}  // namespace

DeepUfmObjective::DeepUfmObjective(DeepUfmSpec spec, std::vector<int> labels)
    : spec_(validated(std::move(spec), labels)),
      labels_(std::move(labels)),
      layout_(spec_, static_cast<Index>(labels_.size())),
      Z_(spec_.K, layout_.N) {
  const Index L = layout_.layers(), N = layout_.N;
  if (L == 1)
    shallow_.emplace(spec_.K, spec_.dim, labels_, spec_.loss, spec_.bias,
                     Regularization{spec_.lambda_w[0], spec_.lambda_h, spec_.lambda_b}, spec_.freeze_classifier);
  A_.resize(L);
  S_.resize(L);
  D_.resize(L);
  for (Index l = 1; l < L; ++l) {
    A_[l].resize(layout_.dims[l], N);
    D_[l].resize(layout_.dims[l], N);
    if (spec_.activation == Activation::kRelu) S_[l].resize(layout_.dims[l], N);
  }

  // The chunk plan depends on the sizes only (never on the thread count).
  double weights = 0.0;  // Σ_l d_l d_{l−1}: parameters of the W_l, flops per sample / 2 of a forward pass
  for (Index l = 1; l <= L; ++l) weights += static_cast<double>(layout_.rows(l)) * static_cast<double>(layout_.cols(l));
  const Index by_memory = std::max<Index>(1, static_cast<Index>(kMaxPartialBytes / (8.0 * weights)));
  const Index chunks = std::clamp<Index>(std::min(N / kMinChunkCols, by_memory), 1, kMaxChunks);
  parallel_ = 6.0 * weights * static_cast<double>(N) >= kParallelFlops;
  chunks_.resize(static_cast<std::size_t>(chunks));
  for (Index c = 0; c < chunks; ++c) {
    Chunk& ch = chunks_[static_cast<std::size_t>(c)];
    ch.begin = N * c / chunks;
    ch.cols = N * (c + 1) / chunks - ch.begin;
    ch.gW.resize(L + 1);
    for (Index l = 1; l <= L; ++l) ch.gW[l].resize(layout_.rows(l), layout_.cols(l));
    ch.gb.resize(spec_.K);
  }
}

ConstMatMap DeepUfmObjective::level(Index l, const Vec& theta) const {
  if (l == 0) return layout_.H1(theta);
  const Mat& S = spec_.activation == Activation::kRelu ? S_[l] : A_[l];
  return {S.data(), S.rows(), S.cols()};
}

void DeepUfmObjective::run_chunk(Chunk& c, const Vec& theta, Vec* grad) const {
  const Index L = layout_.layers(), i0 = c.begin, n = c.cols;
  const bool relu = spec_.activation == Activation::kRelu;
  auto S = [&](Index l) { return level(l, theta).middleCols(i0, n); };  // d_l×n
  for (Index l = 1; l < L; ++l) {
    auto A = A_[l].middleCols(i0, n);
    A.noalias() = layout_.W(l, theta) * S(l - 1);
    if (relu) S_[l].middleCols(i0, n) = A.cwiseMax(0.0);
  }
  auto Z = Z_.middleCols(i0, n);  // K×n
  Z.noalias() = layout_.W(L, theta) * S(L - 1);
  if (layout_.has_bias) Z.colwise() += layout_.b(theta);
  const std::span<const int> y = std::span<const int>(labels_).subspan(static_cast<std::size_t>(i0),
                                                                       static_cast<std::size_t>(n));
  if (!grad) {
    c.loss = loss_sum(spec_.loss, Z, y);
    return;
  }
  c.loss = loss_and_residual(spec_.loss, Z, y);
  Z *= 1.0 / static_cast<double>(layout_.N);  // G = dL/dZ (K×n)
  if (!spec_.freeze_classifier) c.gW[L].noalias() = Z * S(L - 1).transpose();
  if (layout_.has_bias) c.gb.noalias() = Z.rowwise().sum();

  auto gH = layout_.H1(*grad).middleCols(i0, n);  // d₀×n
  gH = spec_.lambda_h * layout_.H1(theta).middleCols(i0, n);
  if (L == 1) {
    gH.noalias() += layout_.W(L, theta).transpose() * Z;
    return;
  }
  D_[L - 1].middleCols(i0, n).noalias() = layout_.W(L, theta).transpose() * Z;  // dL/dS_{L−1}
  for (Index l = L - 1; l >= 1; --l) {
    auto D = D_[l].middleCols(i0, n);
    if (relu) D.array() *= (A_[l].middleCols(i0, n).array() > 0.0).cast<double>();  // dL/dA_l, σ'(0) = 0
    c.gW[l].noalias() = D * S(l - 1).transpose();
    if (l > 1)
      D_[l - 1].middleCols(i0, n).noalias() = layout_.W(l, theta).transpose() * D;  // dL/dS_{l−1}
    else
      gH.noalias() += layout_.W(1, theta).transpose() * D;
  }
}

double DeepUfmObjective::evaluate(const Vec& theta, Vec* grad) const {
  const Index chunks = static_cast<Index>(chunks_.size());
  auto run = [&](Index c) { run_chunk(chunks_[static_cast<std::size_t>(c)], theta, grad); };
  for_each_chunk(chunks, parallel_, run);
  double loss = 0.0;  // chunk partials, added in chunk order
  for (const Chunk& c : chunks_) loss += c.loss;
  if (!grad) return loss;

  const Index L = layout_.layers();
  for (Index l = 1; l <= L; ++l) {
    auto gW = layout_.W(l, *grad);
    if (l == L && spec_.freeze_classifier) {
      gW.setZero();
      continue;
    }
    gW = chunks_[0].gW[l];
    for (std::size_t c = 1; c < chunks_.size(); ++c) gW += chunks_[c].gW[l];
    gW += spec_.lambda_w[l - 1] * layout_.W(l, theta);
  }
  if (layout_.has_bias) {
    auto gb = layout_.b(*grad);
    gb = chunks_[0].gb;
    for (std::size_t c = 1; c < chunks_.size(); ++c) gb += chunks_[c].gb;
    gb += spec_.lambda_b * layout_.b(theta);
  }
  return loss;
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
  Z = Z_;
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

double DeepUfmObjective::value_and_descend(Vec& theta, Vec& grad, double lr) const {
  if (shallow_) return shallow_->value_and_descend(theta, grad, lr);
  const double value = value_and_gradient(theta, grad);
  theta.noalias() -= lr * grad;
  return value;
}

}  // namespace ufm
