/// Converged gradient flow reaches the closed-form global minimizers of theory.md §5 (a), (b), (d).
#include <gtest/gtest.h>

#include "test_util.hpp"
#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/metrics/nc.hpp"
#include "ufm/metrics/snapshot.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/ufm_objective.hpp"
#include "ufm/random.hpp"
#include "ufm/theory/ufm_predictions.hpp"

namespace ufm {
namespace {

using test::rel;

struct UfmSetting {
  const char* theorem;
  Loss loss;
  BiasMode bias;
  Index K, n, d;
  Regularization lambda;
};

void PrintTo(const UfmSetting& s, std::ostream* os) {
  *os << s.theorem << " K=" << s.K << " n=" << s.n << " d=" << s.d << " lw=" << s.lambda.w << " lh=" << s.lambda.h;
}

class ConvergedFlow : public ::testing::TestWithParam<UfmSetting> {};

/// Runs dopri5 gradient flow from a small random init until ||grad F|| <= 1e-11.
Vec converge(const UfmObjective& f, std::uint64_t seed) {
  Vec theta(f.num_params());
  fill_gaussian(theta, 0.1, seed);
  GradientFlow::Options o;
  o.integrator = Integrator::kDopri5;
  o.abs_tol = 1e-12;
  o.rel_tol = 1e-12;
  o.max_time = 1e7;
  o.grad_tol = 1e-11;
  const std::vector<double> times{0.0, o.max_time};
  const RunSummary s = GradientFlow(o).run(f, theta, times, [](const Checkpoint&) { return ObserverAction::kContinue; });
  EXPECT_EQ(s.status, RunStatus::kConverged) << s.message;
  return theta;
}

TEST_P(ConvergedFlow, ReachesThePredictedMinimumValueNormsAndSpectra) {
  const UfmSetting& s = GetParam();
  const PredictionOutcome outcome = predict_ufm({s.K, s.n, s.d, s.loss, s.bias, s.lambda});
  ASSERT_TRUE(outcome.prediction) << outcome.reason;
  const Prediction& p = *outcome.prediction;
  EXPECT_EQ(p.theorem, s.theorem);
  ASSERT_FALSE(p.zero_solution);

  const UfmObjective f(s.K, s.d, block_labels(balanced_counts(s.K, s.n)), s.loss, s.bias, s.lambda);
  const Vec theta = converge(f, 11);
  const UfmLayout& L = f.layout();
  EXPECT_LT(rel(f.value(theta), p.min_value), 1e-6) << f.value(theta) << " vs " << p.min_value;
  EXPECT_LT(rel(L.W(theta).norm(), p.w_norm), 1e-6);
  EXPECT_LT(rel(L.H(theta).norm(), p.h_norm), 1e-6);
  if (p.b_norm) {
    EXPECT_LT(rel(L.b(theta).norm(), *p.b_norm), 1e-6);
  }

  const Snapshot snap{L.H(theta), L.W(theta), L.b(theta), f.labels(), s.K, s.loss};
  const MetricSet m = collapse_metrics(snap);
  const auto eig = m["wwt_eigenvalues"].get<std::vector<double>>();
  const auto sv = m["wh_singular_values"].get<std::vector<double>>();
  ASSERT_EQ(eig.size(), p.wwt_eigenvalues.size());
  for (std::size_t i = 0; i < eig.size(); ++i) {
    EXPECT_NEAR(eig[i], p.wwt_eigenvalues[i], 1e-6 * p.wwt_eigenvalues[0]) << i;
    EXPECT_NEAR(sv[i], p.wh_singular_values[i], 1e-6 * p.wh_singular_values[0]) << i;
  }
  EXPECT_LT(get_metric(m, "nc1").value(), 1e-10);
  EXPECT_LT(get_metric(m, "etf_error_h").value(), 1e-6);
  if (p.theorem != std::string("a")) {
    EXPECT_LT(get_metric(m, "nc3").value(), 1e-10);
    EXPECT_LT(get_metric(m, "etf_error_w").value(), 1e-6);
  }
}

INSTANTIATE_TEST_SUITE_P(
    TheoryMd5, ConvergedFlow,
    ::testing::Values(UfmSetting{"a", Loss::kMse, BiasMode::kNone, 3, 4, 5, {1e-2, 1e-2, 0}},
                      UfmSetting{"a", Loss::kMse, BiasMode::kNone, 4, 3, 6, {3e-2, 5e-3, 0}},
                      UfmSetting{"b", Loss::kMse, BiasMode::kFree, 3, 4, 5, {1e-2, 1e-2, 0}},
                      UfmSetting{"b", Loss::kMse, BiasMode::kFree, 4, 3, 4, {2e-2, 1e-2, 0}},
                      UfmSetting{"b", Loss::kMse, BiasMode::kFree, 5, 2, 7, {4e-2, 3e-2, 0}},
                      UfmSetting{"a", Loss::kMse, BiasMode::kNone, 2, 6, 3, {5e-2, 2e-2, 0}},
                      UfmSetting{"d", Loss::kCrossEntropy, BiasMode::kNone, 3, 4, 5, {1e-2, 1e-2, 0}},
                      UfmSetting{"d", Loss::kCrossEntropy, BiasMode::kFree, 4, 3, 5, {5e-3, 2e-2, 0}},
                      UfmSetting{"d", Loss::kCrossEntropy, BiasMode::kNone, 5, 2, 6, {3e-2, 4e-2, 0}},
                      // d = K-1: a simplex ETF still fits (the issue's reproduction, K=4 n=5 d=3 λ=5e-3)
                      UfmSetting{"b", Loss::kMse, BiasMode::kFree, 4, 5, 3, {5e-3, 5e-3, 0}},
                      UfmSetting{"d", Loss::kCrossEntropy, BiasMode::kNone, 4, 5, 3, {5e-3, 5e-3, 0}},
                      UfmSetting{"d", Loss::kCrossEntropy, BiasMode::kFree, 5, 2, 4, {3e-2, 4e-2, 0}}));

class ZeroSolution : public ::testing::TestWithParam<UfmSetting> {};

TEST(Theory, ClosedFormsAtDEqualsKMinusOneMatchTheConvergedValuesOfTheIssue) {
  // Converged runs reported in issue 9: K=4, n=5, d=3, λ=5e-3.
  const Regularization lambda{5e-3, 5e-3, 0};
  const PredictionOutcome ce = predict_ufm({4, 5, 3, Loss::kCrossEntropy, BiasMode::kNone, lambda});
  ASSERT_TRUE(ce.prediction) << ce.reason;
  EXPECT_NEAR(ce.prediction->min_value, 0.18369199571769, 1e-13);
  const PredictionOutcome mse = predict_ufm({4, 5, 3, Loss::kMse, BiasMode::kFree, lambda});
  ASSERT_TRUE(mse.prediction) << mse.reason;
  EXPECT_NEAR(mse.prediction->min_value, 0.03279101966250, 1e-13);
}

TEST(Theory, BiasFreeMseNeedsDAtLeastKAndTheEtfCasesDAtLeastKMinusOne) {
  const Regularization lambda{5e-3, 5e-3, 0};
  const PredictionOutcome a = predict_ufm({4, 5, 3, Loss::kMse, BiasMode::kNone, lambda});
  EXPECT_FALSE(a.prediction);
  EXPECT_NE(a.reason.find("d >= K"), std::string::npos) << a.reason;
  EXPECT_FALSE(predict_ufm({4, 5, 2, Loss::kMse, BiasMode::kFree, lambda}).prediction);
  EXPECT_FALSE(predict_ufm({4, 5, 2, Loss::kCrossEntropy, BiasMode::kNone, lambda}).prediction);
  EXPECT_TRUE(predict_ufm({4, 5, 4, Loss::kMse, BiasMode::kNone, lambda}).prediction);
}

TEST_P(ZeroSolution, AboveTheThresholdTheFlowEndsAtThePredictedZeroMinimizer) {
  const UfmSetting& s = GetParam();
  const PredictionOutcome o = predict_ufm({s.K, s.n, s.d, s.loss, s.bias, s.lambda});
  ASSERT_TRUE(o.prediction) << o.reason;
  const Prediction& p = *o.prediction;
  EXPECT_EQ(p.theorem, s.theorem);
  ASSERT_TRUE(p.zero_solution);
  const UfmObjective f(s.K, s.d, block_labels(balanced_counts(s.K, s.n)), s.loss, s.bias, s.lambda);
  const Vec theta = converge(f, 5);
  const UfmLayout& L = f.layout();
  EXPECT_LT(rel(f.value(theta), p.min_value), 1e-9) << f.value(theta) << " vs " << p.min_value;
  EXPECT_LT(L.W(theta).norm(), 1e-6);
  EXPECT_LT(L.H(theta).norm(), 1e-6);
  if (p.b_norm) {
    EXPECT_LT(std::abs(L.b(theta).norm() - *p.b_norm), 1e-6);
  }
}

// c = K sqrt(n lw lh) = 3 * 2 * 0.2 = 1.2 >= 1 for (a), (b); K gamma = 3 * 2 * 0.2 = 1.2 >= 1 for (d).
INSTANTIATE_TEST_SUITE_P(TheoryMd5, ZeroSolution,
                         ::testing::Values(UfmSetting{"a", Loss::kMse, BiasMode::kNone, 3, 4, 5, {0.2, 0.2, 0}},
                                           UfmSetting{"b", Loss::kMse, BiasMode::kFree, 3, 4, 5, {0.2, 0.2, 0}},
                                           UfmSetting{"d", Loss::kCrossEntropy, BiasMode::kNone, 3, 4, 5, {0.2, 0.2, 0}},
                                           UfmSetting{"d", Loss::kCrossEntropy, BiasMode::kFree, 4, 1, 4, {0.5, 0.6, 0}}));

}  // namespace
}  // namespace ufm
