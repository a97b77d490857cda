// The conservation law of theory.md §3 along gradient flow of the deep UFM: for each adjacent
// pair, Q_0 = W₁ᵀW₁ − H₁H₁ᵀ and Q_l = W_{l+1}ᵀW_{l+1} − W_l W_lᵀ (linear layers), with equal
// decays λ, follows Q(t) = e^{−2λt} Q(0); λ = 0 conserves it. Across a ReLU only diag Q_l is kept.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "test_util.hpp"
#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/dynamics/schedule.hpp"
#include "ufm/objectives/deep_ufm_objective.hpp"
#include "ufm/objectives/labels.hpp"

namespace ufm {
namespace {

/// K = 3, n = 3, d₀ = 4, widths 5, 4, …
DeepUfmObjective make_deep(Index L, Activation act, Loss loss, double lambda_h, std::vector<double> lambda_w) {
  DeepUfmSpec s;
  s.K = 3, s.dim = 4, s.activation = act, s.loss = loss, s.lambda_h = lambda_h;
  for (Index l = 1; l < L; ++l) s.widths.push_back(l % 2 ? 5 : 4);
  s.lambda_w = std::move(lambda_w);
  return DeepUfmObjective(s, block_labels(balanced_counts(3, 3)));
}

/// Q_0 .. Q_{L−1} at theta.
std::vector<Mat> imbalances(const DeepUfmObjective& f, const Vec& theta) {
  const auto& lay = f.layout();
  std::vector<Mat> Q;
  const auto W1 = lay.W(1, theta);
  const auto H1 = lay.H1(theta);
  Q.push_back(W1.transpose() * W1 - H1 * H1.transpose());
  for (Index l = 1; l < lay.layers(); ++l) {
    const auto Wl = lay.W(l, theta), Wn = lay.W(l + 1, theta);
    Q.push_back(Wn.transpose() * Wn - Wl * Wl.transpose());
  }
  return Q;
}

/// A class-aligned start for the ReLU net of make_deep(2, kRelu, ...) (K = 3, n = 3, d₀ = 4,
/// d₁ = 5): class means 1·e_c; hidden units 0–2 fire on one class each, unit 3 on classes 0–1,
/// unit 4 on classes 1–2, and W₂ rewards each unit's classes; plus Gaussian noise 0.1. Every
/// pre-activation starts and (as checked) stays at least 1e-3 from the kink: from a generic
/// Gaussian start, entries of A₁ soon reach 0 and slide along it, where the right-hand side
/// switches at every step and no adaptive integrator gets past.
Vec aligned_start(const DeepUfmObjective& f) {
  const auto& lay = f.layout();
  Vec theta = test::random_vec(f.num_params(), 5, 0.1);
  const auto labels = f.labels();
  for (Index i = 0; i < lay.N; ++i) lay.H1(theta)(labels[i], i) += 1.0;
  Mat W1(5, 4), W2(3, 5);
  W1 << 1, -.5, -.5, 0, -.5, 1, -.5, 0, -.5, -.5, 1, 0, 1, 1, -1.5, 0, -1, 1, 1, 0;
  W2 << 1, 0, 0, .5, -.5, 0, 1, 0, .5, .5, 0, 0, 1, -.5, .5;
  lay.W(1, theta) += W1;
  lay.W(2, theta) += 0.5 * W2;
  return theta;
}

struct Drift {
  std::vector<double> full;      ///< per pair: max_t ||Q(t) − e^{−rate t} Q(0)||_F / ||Q(0)||_F
  std::vector<double> diagonal;  ///< the same for diag Q only
  double classifier_change = 0;  ///< max_t ||W_LᵀW_L(t) − W_LᵀW_L(0)||_F / ||W_LᵀW_L(0)||_F
  double min_abs_a1 = 1e300;     ///< min_t min |entries of A₁ = W₁H₁|: distance to the ReLU kink
  bool pattern_changed = false;  ///< sign(A₁) ever differed from sign(A₁(0))
};

/// Gaussian start of scale 0.7 (seed 5).
Vec gaussian_start(const DeepUfmObjective& f) { return test::random_vec(f.num_params(), 5, 0.7); }

/// Flows with dopri5 (abs/rel 1e-12) from theta0 to T, comparing every Q_l with e^{−rate t} Q_l(0)
/// at log-spaced checkpoints.
Drift flow_drift(const DeepUfmObjective& f, const Vec& theta0, double rate, double T = 10.0) {
  const std::vector<Mat> Q0 = imbalances(f, theta0);
  const Index L = f.layout().layers();
  const auto WL0 = f.layout().W(L, theta0);
  const Mat C0 = WL0.transpose() * WL0;
  Drift d{std::vector<double>(Q0.size(), 0.0), std::vector<double>(Q0.size(), 0.0)};
  const auto A1 = [&](const Vec& t) -> Mat { return f.layout().W(1, t) * f.layout().H1(t); };
  const Eigen::ArrayXXd sign0 = A1(theta0).array().sign();
  auto observe = [&](const Checkpoint& c) {
    const std::vector<Mat> Q = imbalances(f, c.theta);
    const double decay = std::exp(-rate * c.time);
    for (std::size_t l = 0; l < Q.size(); ++l) {
      const Mat E = Q[l] - decay * Q0[l];
      d.full[l] = std::max(d.full[l], E.norm() / Q0[l].norm());
      d.diagonal[l] = std::max(d.diagonal[l], E.diagonal().norm() / Q0[l].diagonal().norm());
    }
    const auto WL = f.layout().W(L, c.theta);
    d.classifier_change = std::max(d.classifier_change, (WL.transpose() * WL - C0).norm() / C0.norm());
    const Mat A = A1(c.theta);
    d.min_abs_a1 = std::min(d.min_abs_a1, A.cwiseAbs().minCoeff());
    d.pattern_changed = d.pattern_changed || (A.array().sign() != sign0).any();
    return ObserverAction::kContinue;
  };
  Vec theta = theta0;
  const GradientFlow flow({.integrator = Integrator::kDopri5, .dt = 1e-2, .abs_tol = 1e-12, .rel_tol = 1e-12,
                           .max_time = T, .max_steps = 200000});
  const RunSummary s = flow.run(f, theta, checkpoint_times(T, 1e-2, 30, Spacing::kLog), observe);
  EXPECT_EQ(s.status, RunStatus::kMaxTime) << s.message;
  for (std::size_t l = 0; l < Q0.size(); ++l)
    std::printf("  pair %zu: max relative drift %.2e (diagonal %.2e)\n", l, d.full[l], d.diagonal[l]);
  std::printf("  W_L^T W_L changed by %.2f over t in [0, %.0f], %ld steps\n", d.classifier_change, T, s.steps);
  if (f.spec().activation == Activation::kRelu) std::printf("  min |A_1| along the flow %.3f\n", d.min_abs_a1);
  return d;
}

TEST(DeepUfmConservation, EveryLinearPairIsConservedWithoutDecay) {
  for (Loss loss : {Loss::kMse, Loss::kCrossEntropy}) {
    std::printf("linear L = 3, %s, lambda = 0:\n", std::string(to_string(loss)).c_str());
    const DeepUfmObjective f = make_deep(3, Activation::kLinear, loss, 0.0, {0.0, 0.0, 0.0});
    const Drift d = flow_drift(f, gaussian_start(f), 0.0);
    for (double drift : d.full) EXPECT_LT(drift, 1e-8);
    EXPECT_GT(d.classifier_change, 0.1);  // the flow moved
  }
}

TEST(DeepUfmConservation, FeaturePairIsConservedThroughAReluLayer) {
  for (Loss loss : {Loss::kMse, Loss::kCrossEntropy}) {
    std::printf("relu L = 2, %s, lambda = 0:\n", std::string(to_string(loss)).c_str());
    const DeepUfmObjective f = make_deep(2, Activation::kRelu, loss, 0.0, {0.0, 0.0});
    const Vec theta0 = aligned_start(f);
    const Mat A0 = f.layout().W(1, theta0) * f.layout().H1(theta0);
    EXPECT_GT((A0.array() < 0).count(), 0);  // the ReLU clips ...
    EXPECT_GT((A0.array() > 0).count(), 0);  // ... but not everything
    const Drift d = flow_drift(f, theta0, 0.0);
    EXPECT_GT(d.min_abs_a1, 1e-3);
    EXPECT_FALSE(d.pattern_changed);
    EXPECT_LT(d.full[0], 1e-8);
    // Across the ReLU only the diagonal (per-neuron balance, by positive homogeneity) is kept.
    EXPECT_GT(d.full[1], 1e-3);
    EXPECT_LT(d.diagonal[1], 1e-8);
    EXPECT_GT(d.classifier_change, 0.1);
  }
}

TEST(DeepUfmConservation, EqualDecayMakesEveryLinearPairDecayExponentially) {
  const double lambda = 0.05;
  std::printf("linear L = 3, mse, lambda = %.2f everywhere:\n", lambda);
  const DeepUfmObjective f = make_deep(3, Activation::kLinear, Loss::kMse, lambda, {lambda, lambda, lambda});
  const Drift d = flow_drift(f, gaussian_start(f), 2 * lambda);
  for (double drift : d.full) EXPECT_LT(drift, 1e-8);
  EXPECT_GT(d.classifier_change, 0.1);
  std::printf("relu L = 2, ce, lambda_H = lambda_1 = %.2f, lambda_2 = 0:\n", lambda);
  const DeepUfmObjective g = make_deep(2, Activation::kRelu, Loss::kCrossEntropy, lambda, {lambda, 0.0});
  const Drift r = flow_drift(g, aligned_start(g), 2 * lambda);
  EXPECT_GT(r.min_abs_a1, 1e-3);
  EXPECT_LT(r.full[0], 1e-8);
  EXPECT_GT(r.classifier_change, 0.1);
}

TEST(DeepUfmConservation, UnequalDecaysBreakTheLaw) {  // the checks above can fail
  // Every adjacent pair has one decayed and one undecayed factor.
  const DeepUfmObjective f = make_deep(3, Activation::kLinear, Loss::kMse, 0.0, {0.05, 0.0, 0.05});
  std::printf("linear L = 3, mse, lambda = (0, 0.05, 0, 0.05), against rate 0:\n");
  const Drift d0 = flow_drift(f, gaussian_start(f), 0.0);
  std::printf("against rate 0.1:\n");
  const Drift d1 = flow_drift(f, gaussian_start(f), 0.1);
  for (std::size_t l = 0; l < d0.full.size(); ++l) {
    EXPECT_GT(d0.full[l], 1e-3) << "pair " << l;
    EXPECT_GT(d1.full[l], 1e-3) << "pair " << l;
  }
}

}  // namespace
}  // namespace ufm
