#include <gtest/gtest.h>

#include <tuple>

#include "test_util.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/objective.hpp"
#include "ufm/objectives/ufm_objective.hpp"

namespace ufm {
namespace {

static_assert(Objective<UfmObjective>);

class UfmGradient : public ::testing::TestWithParam<std::tuple<Loss, BiasMode, int>> {};

Regularization lambda_setting(int which, BiasMode bias) {
  // 0: all zero; 1: equal; 2: distinct per factor.
  Regularization r;
  if (which == 1) r = {5e-2, 5e-2, 5e-2};
  if (which == 2) r = {3e-2, 7e-3, 1e-1};
  if (bias != BiasMode::kRegularized) r.b = 0.0;
  return r;
}

TEST_P(UfmGradient, MatchesCentralFiniteDifferences) {
  const auto [loss, bias, which] = GetParam();
  const Index K = 3, d = 5;
  const std::vector<Index> counts{2, 3, 2};
  UfmObjective f(K, d, block_labels(counts), loss, bias, lambda_setting(which, bias));
  for (unsigned seed : {1u, 2u}) {
    for (double scale : {1e-3, 0.7}) {  // near the origin and at a generic point
      const Vec theta = test::random_vec(f.num_params(), seed, scale);
      Vec grad(f.num_params());
      const double value = f.value_and_gradient(theta, grad);
      EXPECT_NEAR(value, f.value(theta), 1e-14 * std::max(1.0, std::abs(value)));
      const Vec fd = test::finite_difference_gradient(f, theta);
      EXPECT_LT(test::relative_error(grad, fd), 1e-6) << "seed " << seed << " scale " << scale;
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<UfmGradient::ParamType>& info) {
  const auto& [loss, bias, which] = info.param;
  return std::string(to_string(loss)) + "_bias_" + std::string(to_string(bias)) + "_lambda" + std::to_string(which);
}

INSTANTIATE_TEST_SUITE_P(AllLossBiasLambda, UfmGradient,
                         ::testing::Combine(::testing::Values(Loss::kCrossEntropy, Loss::kMse),
                                            ::testing::Values(BiasMode::kNone, BiasMode::kFree,
                                                              BiasMode::kRegularized),
                                            ::testing::Values(0, 1, 2)),
                         case_name);

TEST(UfmObjective, PartsAddUpToTheValueAndMatchHandComputedMse) {
  // K=2, d=1, N=2: H = [1, -1], W = [2; 0], no bias. Z = [[2,-2],[0,0]].
  UfmObjective f(2, 1, {0, 1}, Loss::kMse, BiasMode::kNone, {0.5, 0.25, 0.0});
  Vec theta(4);
  theta << 1, -1, 2, 0;
  const ObjectiveParts p = f.parts(theta);
  // sample 0: z=(2,0), e=(1,0): 0.5*1 ; sample 1: z=(-2,0), e=(0,1): 0.5*(4+1) = 2.5; mean 1.5
  EXPECT_DOUBLE_EQ(p.loss, 1.5);
  EXPECT_DOUBLE_EQ(p.penalty_w, 0.5 * 0.5 * 4);
  EXPECT_DOUBLE_EQ(p.penalty_h, 0.5 * 0.25 * 2);
  EXPECT_DOUBLE_EQ(p.penalty_b, 0.0);
  EXPECT_DOUBLE_EQ(f.value(theta), p.total());
}

TEST(UfmObjective, CrossEntropyStaysFiniteForHugeLogits) {
  UfmObjective f(2, 1, {0, 1}, Loss::kCrossEntropy, BiasMode::kNone, {});
  Vec theta(4);
  theta << 1e3, 1e3, 1e3, -1e3;  // sample 1 is misclassified by a margin of 2e6
  Vec grad(4);
  const double v = f.value_and_gradient(theta, grad);
  EXPECT_NEAR(v, 1e6, 1e-6);
  EXPECT_TRUE(grad.allFinite());
}

TEST(UfmObjective, FrozenClassifierHasZeroGradient) {
  UfmObjective f(3, 4, {0, 1, 2}, Loss::kMse, BiasMode::kFree, {0.1, 0.1, 0.0}, /*freeze_w=*/true);
  const Vec theta = test::random_vec(f.num_params(), 3);
  Vec grad;
  f.value_and_gradient(theta, grad);
  EXPECT_EQ(f.layout().W(grad).norm(), 0.0);
  EXPECT_GT(f.layout().H(grad).norm(), 0.0);
}

}  // namespace
}  // namespace ufm
