// NetworkObjective: analytic gradients (full set and minibatch) against finite differences,
// positive homogeneity, bit-identical results for any thread count, minibatch = full batch,
// passes over large sets, levels and logits, initializers, errors, and no allocation per call.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "allocation_counter.hpp"
#include "test_util.hpp"
#include "ufm/dynamics/gradient_descent.hpp"
#include "ufm/objectives/deep_ufm_objective.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/network_objective.hpp"

namespace ufm {
namespace {

const std::vector<int> kLabels = block_labels(std::vector<Index>{3, 2, 3});  // K = 3, N = 8

/// `hidden` hidden layers of widths 4, 6, …; input_dim 5; distinct decays per layer.
NetworkSpec make_spec(Index hidden, Loss loss, bool last_bias, Activation act = Activation::kRelu) {
  NetworkSpec s;
  s.input_dim = 5, s.K = 3, s.loss = loss, s.last_bias = last_bias, s.activation = act;
  for (Index l = 1; l <= hidden; ++l) s.widths.push_back(2 + 2 * l);
  for (Index l = 0; l <= hidden; ++l) s.lambda_w.push_back(3e-2 + 2e-2 * static_cast<double>(l));
  s.lambda_b = 1e-1;
  return s;
}

std::shared_ptr<const Mat> random_data(Index d, Index N, unsigned seed, double scale = 1.0) {
  return std::make_shared<const Mat>(test::random_mat(d, N, seed, scale));
}

/// The minibatch objective F_B as a plain objective, for finite differences.
struct BatchObjective {
  const NetworkObjective& f;
  std::span<const Index> batch;
  double value(const Vec& theta) const { return f.value_batch(theta, batch); }
};

class NetworkGradient : public ::testing::TestWithParam<std::tuple<Index, Loss, bool, bool>> {};

TEST_P(NetworkGradient, MatchesCentralFiniteDifferences) {
  const auto [hidden, loss, bias, minibatch] = GetParam();
  const NetworkObjective f(make_spec(hidden, loss, bias), random_data(5, 8, 17), kLabels);
  const std::vector<Index> batch{6, 1, 3, 3, 0};  // unordered, with a repeat
  int checked = 0;
  for (unsigned seed = 1; checked < 2 && seed < 300; ++seed) {
    const Vec theta = test::random_vec(f.num_params(), seed, 0.7);
    if (!test::away_from_relu_kinks(f, theta, 1e-5)) continue;
    ++checked;
    Vec grad(f.num_params());
    Vec fd;
    double value = 0.0, plain = 0.0;
    if (minibatch) {
      value = f.value_and_gradient_batch(theta, grad, batch);
      plain = f.value_batch(theta, batch);
      fd = test::finite_difference_gradient(BatchObjective{f, batch}, theta, 1e-5);
    } else {
      value = f.value_and_gradient(theta, grad);
      plain = f.value(theta);
      fd = test::finite_difference_gradient(f, theta, 1e-5);
    }
    EXPECT_NEAR(value, plain, 1e-14 * std::max(1.0, std::abs(value)));
    EXPECT_GT(grad.norm(), 1e-3);
    EXPECT_LT(test::relative_error(grad, fd), 1e-6) << "seed " << seed;
    if (bias) {
      EXPECT_GT(f.layout().b(grad).norm(), 0.0);
    }
  }
  EXPECT_EQ(checked, 2) << "no kink-free point found";
}

std::string case_name(const ::testing::TestParamInfo<NetworkGradient::ParamType>& info) {
  const auto& [hidden, loss, bias, minibatch] = info.param;
  return "hidden" + std::to_string(hidden) + "_" + std::string(to_string(loss)) + (bias ? "_last_bias" : "_no_bias") +
         (minibatch ? "_minibatch" : "_full");
}

INSTANTIATE_TEST_SUITE_P(HiddenLayersLossesBiasesBatches, NetworkGradient,
                         ::testing::Combine(::testing::Values(Index{1}, Index{2}, Index{3}),
                                            ::testing::Values(Loss::kCrossEntropy, Loss::kMse),
                                            ::testing::Bool(), ::testing::Bool()),
                         case_name);

TEST(NetworkObjective, LinearLayersAndNoHiddenLayerMatchFiniteDifferences) {
  for (Index hidden : {Index{0}, Index{2}}) {
    const NetworkObjective f(make_spec(hidden, Loss::kCrossEntropy, true, Activation::kLinear), random_data(5, 8, 3),
                             kLabels);
    const Vec theta = test::random_vec(f.num_params(), 5, 0.7);
    Vec grad;
    f.value_and_gradient(theta, grad);
    EXPECT_LT(test::relative_error(grad, test::finite_difference_gradient(f, theta, 1e-5)), 1e-6) << hidden;
  }
}

TEST(NetworkObjective, IsTheDeepUfmWithTheDataAsItsFeatures) {
  // One layer stack: a network on X is the deep UFM whose H₁ is X (λ_H = 0), bit for bit in the
  // value and in the W- and b-gradients.
  for (Activation act : {Activation::kRelu, Activation::kLinear}) {
    const NetworkSpec net = make_spec(2, Loss::kCrossEntropy, true, act);
    DeepUfmSpec deep;
    deep.K = 3, deep.dim = 5, deep.widths = net.widths, deep.activation = act, deep.loss = net.loss;
    deep.bias = BiasMode::kRegularized, deep.lambda_w = net.lambda_w, deep.lambda_b = net.lambda_b;
    deep.layered = true;  // the stack's pass, not the linear model's end-to-end product
    const auto X = random_data(5, 8, 10);
    const NetworkObjective f(net, X, kLabels);
    const DeepUfmObjective g(deep, kLabels);
    const Vec weights = test::random_vec(f.num_params(), 3, 0.7);
    Vec theta_deep(g.num_params());
    g.layout().H1(theta_deep) = *X;
    theta_deep.tail(f.num_params()) = weights;
    Vec grad_net, grad_deep;
    EXPECT_EQ(f.value_and_gradient(weights, grad_net), g.value_and_gradient(theta_deep, grad_deep));
    EXPECT_TRUE(grad_net == grad_deep.tail(f.num_params())) << to_string(act);
  }
}

TEST(NetworkObjective, ScalingTheInputScalesTheLogitsOfABiasFreeNetwork) {
  // ReLU and linear layers are positively homogeneous: f(αx) = α f(x) for α > 0, so the predictions
  // do not change. (W_l → βW_l for every l scales the logits by β^L.)
  const auto X = random_data(5, 8, 9);
  for (Activation act : {Activation::kRelu, Activation::kLinear}) {
    for (double alpha : {0.25, 3.0}) {
      const NetworkSpec spec = make_spec(3, Loss::kCrossEntropy, false, act);
      const NetworkObjective f(spec, X, kLabels);
      const NetworkObjective scaled(spec, std::make_shared<const Mat>(alpha * *X), kLabels);
      const Vec theta = test::random_vec(f.num_params(), 2, 0.8);
      Mat Z, Za;
      f.logits(theta, Z);
      scaled.logits(theta, Za);
      EXPECT_GT(Z.norm(), 1e-3);
      EXPECT_LT((Za - alpha * Z).norm(), 1e-14 * alpha * Z.norm()) << to_string(act) << " alpha " << alpha;
      for (Index i = 0; i < Z.cols(); ++i) {
        Index a = 0, b = 0;
        Z.col(i).maxCoeff(&a), Za.col(i).maxCoeff(&b);
        EXPECT_EQ(a, b) << "sample " << i;
      }
      const double beta = 1.5;  // degree L = 4 in the weights
      Mat Zb;
      f.logits(beta * theta, Zb);
      EXPECT_LT((Zb - std::pow(beta, 4) * Z).norm(), 1e-13 * Zb.norm()) << to_string(act);
    }
  }
}

TEST(NetworkObjective, OutputBiasBreaksHomogeneity) {
  // The same check must see a bias: the test above would fail on a network with one.
  const auto X = random_data(5, 8, 9);
  const NetworkSpec spec = make_spec(2, Loss::kCrossEntropy, true);
  const NetworkObjective f(spec, X, kLabels), scaled(spec, std::make_shared<const Mat>(3.0 * *X), kLabels);
  const Vec theta = test::random_vec(f.num_params(), 2, 0.8);
  Mat Z, Za;
  f.logits(theta, Z);
  scaled.logits(theta, Za);
  EXPECT_GT((Za - 3.0 * Z).norm(), 1e-3 * Z.norm());
}

/// Large enough (6 · 6,784 weights · 600 samples ≈ 2.4·10⁷ flops) for the chunks to run on threads.
NetworkSpec wide_spec(bool bias) {
  NetworkSpec s;
  s.input_dim = 32, s.widths = {64, 64}, s.K = 10, s.loss = Loss::kCrossEntropy, s.last_bias = bias;
  s.lambda_w = {1e-2, 2e-2, 3e-2}, s.lambda_b = 4e-2;
  return s;
}

std::vector<Index> random_batch(Index size, Index N, unsigned seed) {
  const Vec u = test::random_vec(size, seed);
  std::vector<Index> batch(static_cast<std::size_t>(size));
  for (Index j = 0; j < size; ++j)
    batch[static_cast<std::size_t>(j)] = static_cast<Index>(std::abs(u(j)) * 1e6) % N;
  return batch;
}

TEST(NetworkObjective, ChunkedGradientMatchesFiniteDifferences) {
  // N = 301 samples: 4 column chunks of unequal width, every chunk's contribution checked, for the
  // full set and for a minibatch gathered from all over it.
  const std::vector<int> labels = block_labels(std::vector<Index>{100, 101, 100});
  NetworkSpec s = make_spec(1, Loss::kCrossEntropy, true);
  s.input_dim = 4;
  const NetworkObjective f(s, random_data(4, 301, 21), labels);
  const std::vector<Index> batch = random_batch(290, 301, 3);
  int checked = 0;
  for (unsigned seed = 1; checked < 1 && seed < 100; ++seed) {
    const Vec theta = test::random_vec(f.num_params(), seed, 0.7);
    if (!test::away_from_relu_kinks(f, theta, 1e-5)) continue;
    ++checked;
    Vec grad;
    f.value_and_gradient(theta, grad);
    EXPECT_LT(test::relative_error(grad, test::finite_difference_gradient(f, theta, 1e-5)), 1e-6);
    f.value_and_gradient_batch(theta, grad, batch);
    EXPECT_LT(test::relative_error(grad, test::finite_difference_gradient(BatchObjective{f, batch}, theta, 1e-5)),
              1e-6);
  }
  EXPECT_EQ(checked, 1) << "no kink-free point found";
}

#ifdef _OPENMP
TEST(NetworkObjective, BitIdenticalForAnyThreadCount) {
  const std::vector<int> labels = block_labels(balanced_counts(10, 60));
  const int saved = omp_get_max_threads();
  const NetworkObjective f(wide_spec(true), random_data(32, 600, 4), labels);
  const Vec theta = test::random_vec(f.num_params(), 3, 0.2);
  const std::vector<Index> batch = random_batch(550, 600, 8);
  Vec reference(f.num_params()), batch_reference(f.num_params()), grad(f.num_params());
  omp_set_num_threads(1);
  const double value = f.value_and_gradient(theta, reference), plain_value = f.value(theta);
  const double batch_value = f.value_and_gradient_batch(theta, batch_reference, batch);
  for (int threads : {2, 3}) {
    omp_set_num_threads(threads);
    EXPECT_EQ(f.value_and_gradient(theta, grad), value) << threads << " threads";
    EXPECT_TRUE(grad == reference) << threads << " threads";
    EXPECT_EQ(f.value(theta), plain_value) << threads << " threads";
    EXPECT_EQ(f.value_and_gradient_batch(theta, grad, batch), batch_value) << threads << " threads";
    EXPECT_TRUE(grad == batch_reference) << threads << " threads";
  }
  omp_set_num_threads(saved);
}
#endif

TEST(NetworkObjective, MinibatchOfEveryIndexInOrderIsTheFullBatch) {
  for (Index N : {Index{8}, Index{600}}) {  // one chunk, several chunks
    const std::vector<int> labels = N == 8 ? kLabels : block_labels(balanced_counts(10, 60));
    const NetworkObjective f = N == 8 ? NetworkObjective(make_spec(2, Loss::kMse, true), random_data(5, 8, 1), labels)
                                      : NetworkObjective(wide_spec(true), random_data(32, N, 1), labels);
    const Vec theta = test::random_vec(f.num_params(), 6, 0.3);
    std::vector<Index> all(static_cast<std::size_t>(N));
    std::iota(all.begin(), all.end(), Index{0});
    Vec full, batch;
    const double v_full = f.value_and_gradient(theta, full), v_batch = f.value_and_gradient_batch(theta, batch, all);
    EXPECT_EQ(v_batch, v_full) << N;
    EXPECT_TRUE(batch == full) << N << ": " << (batch - full).norm();
    std::reverse(all.begin(), all.end());  // the same set in another order: the same F_B up to rounding
    EXPECT_NEAR(f.value_batch(theta, all), v_full, 1e-14 * std::abs(v_full));
  }
}

TEST(NetworkObjective, MinibatchIsTheMeanLossOverItsSamplesPlusTheFullPenalties) {
  const NetworkObjective f(make_spec(2, Loss::kCrossEntropy, true), random_data(5, 8, 2), kLabels);
  const Vec theta = test::random_vec(f.num_params(), 4, 0.6);
  const DeepObjectiveParts p = f.parts(theta);
  const double penalties = p.total() - p.loss;
  Mat Z;
  f.logits(theta, Z);
  auto sample_loss = [&](Index i) {  // −log softmax(z_i)_{y_i}
    const Vec z = Z.col(i);
    // A scalar loop, not Eigen's vectorized exp (GCC 12 warns falsely inside its AVX-512 intrinsics).
    double sum = 0.0;
    for (Index c = 0; c < z.size(); ++c) sum += std::exp(z(c) - z.maxCoeff());
    return std::log(sum) + z.maxCoeff() - z(kLabels[static_cast<std::size_t>(i)]);
  };
  const std::vector<Index> batch{2, 7, 2};
  const double expected = (2 * sample_loss(2) + sample_loss(7)) / 3.0 + penalties;
  EXPECT_NEAR(f.value_batch(theta, batch), expected, 1e-14 * std::abs(expected));
  const std::vector<Index> one{5};
  EXPECT_NEAR(f.value_batch(theta, one), sample_loss(5) + penalties, 1e-14);
}

TEST(NetworkObjective, PassesOverALargeSetAddUpToTheOnePassResult) {
  // N = 5000 > 4096 columns: the full set runs in two passes unless max_batch holds it all.
  const Index N = 5000;
  const std::vector<int> labels = block_labels(balanced_counts(4, N / 4));
  NetworkSpec s = make_spec(2, Loss::kCrossEntropy, true);
  s.input_dim = 3, s.K = 4;
  const auto X = random_data(3, N, 12);
  const NetworkObjective passes(s, X, labels), one_pass(s, X, labels, N);
  ASSERT_EQ(passes.capacity(), 4096);
  ASSERT_EQ(one_pass.capacity(), N);
  const Vec theta = test::random_vec(passes.num_params(), 3, 0.6);
  Vec g_passes, g_one;
  const double v_passes = passes.value_and_gradient(theta, g_passes), v_one = one_pass.value_and_gradient(theta, g_one);
  EXPECT_NEAR(v_passes, v_one, 1e-14 * std::abs(v_one));
  EXPECT_LT(test::relative_error(g_passes, g_one), 1e-13);
  EXPECT_GT(g_one.norm(), 1e-3);
  std::vector<Mat> lp, lo;
  passes.feature_levels(theta, lp), one_pass.feature_levels(theta, lo);
  for (std::size_t l = 0; l < lo.size(); ++l) EXPECT_TRUE(lp[l] == lo[l]) << "level " << l;
  const std::vector<Index> batch = random_batch(4500, N, 5);  // a minibatch larger than one pass
  EXPECT_NEAR(passes.value_batch(theta, batch), one_pass.value_batch(theta, batch), 1e-14 * std::abs(v_one));
}

TEST(NetworkObjective, PartsAddUpToTheValue) {
  const NetworkObjective f(make_spec(3, Loss::kMse, true), random_data(5, 8, 5), kLabels);
  const Vec theta = test::random_vec(f.num_params(), 4, 0.6);
  const DeepObjectiveParts p = f.parts(theta);
  ASSERT_EQ(p.penalty_w.size(), 4u);
  for (Index l = 1; l <= 4; ++l)
    EXPECT_DOUBLE_EQ(p.penalty_w[l - 1], 0.5 * f.spec().lambda_w[l - 1] * f.layout().W(l, theta).squaredNorm());
  EXPECT_DOUBLE_EQ(p.penalty_b, 0.5 * 1e-1 * f.layout().b(theta).squaredNorm());
  EXPECT_EQ(p.penalty_h, 0.0);
  EXPECT_GT(p.loss, 0.0);
  EXPECT_NEAR(p.total(), f.value(theta), 1e-15 * std::abs(p.total()));
}

TEST(NetworkObjective, FeatureLevelsAndLogitsAreTheForwardPass) {
  const auto X = random_data(5, 8, 6);
  const NetworkObjective f(make_spec(2, Loss::kMse, true), X, kLabels);
  const Vec theta = test::random_vec(f.num_params(), 6);
  const auto& lay = f.layout();
  const Mat S1 = (lay.W(1, theta) * *X).cwiseMax(0.0);
  const Mat S2 = (lay.W(2, theta) * S1).cwiseMax(0.0);
  const Mat Z = (lay.W(3, theta) * S2).colwise() + Vec(lay.b(theta));
  std::vector<Mat> levels;
  f.feature_levels(theta, levels);
  ASSERT_EQ(levels.size(), 3u);
  EXPECT_TRUE(levels[0] == *X);  // the input is level 0
  EXPECT_LT((levels[1] - S1).norm(), 1e-14 * S1.norm());
  EXPECT_LT((levels[2] - S2).norm(), 1e-14 * S2.norm());
  EXPECT_GT((levels[1].array() == 0.0).count(), 0);  // ReLU really clipped something
  Mat logits;
  f.logits(theta, logits);
  EXPECT_LT((logits - Z).norm(), 1e-14 * Z.norm());

  const std::vector<Index> subset{7, 0, 4};
  f.feature_levels(theta, levels, subset);
  f.logits(theta, logits, subset);
  for (std::size_t j = 0; j < subset.size(); ++j) {
    const Index i = subset[j];
    EXPECT_TRUE(levels[0].col(static_cast<Index>(j)) == X->col(i));
    EXPECT_LT((levels[2].col(static_cast<Index>(j)) - S2.col(i)).norm(), 1e-14 * S2.norm());
    EXPECT_LT((logits.col(static_cast<Index>(j)) - Z.col(i)).norm(), 1e-14 * Z.norm());
  }
}

TEST(NetworkObjective, BatchGradientDoesNotAllocate) {
  const std::vector<int> labels = block_labels(balanced_counts(10, 60));
  for (Activation act : {Activation::kLinear, Activation::kRelu}) {
    NetworkSpec s = wide_spec(true);
    s.activation = act;
    const NetworkObjective f(s, random_data(32, 600, 7), labels, 700);
    const Vec theta = test::random_vec(f.num_params(), 7, 0.2);
    const std::vector<Index> small = random_batch(32, 600, 1), large = random_batch(700, 600, 2);
    Vec grad(f.num_params());
    // Round 0 warms up: the first parallel region starts OpenMP's thread pool (one malloc, once per
    // program). Rounds 1 and 2 must not allocate.
    std::size_t before = 0;
    for (int i = 0; i < 3; ++i) {
      if (i == 1) before = test::malloc_calls();
      f.value_and_gradient_batch(theta, grad, small);
      f.value_and_gradient_batch(theta, grad, large);
      f.value_batch(theta, small);
      f.value_and_gradient(theta, grad);
      f.value(theta);
    }
    EXPECT_EQ(test::malloc_calls(), before) << to_string(act);
    Vec wrong;  // the counter does see allocations: a wrongly sized grad is resized
    f.value_and_gradient_batch(theta, wrong, small);
    EXPECT_GT(test::malloc_calls(), before);
  }
}

TEST(NetworkObjective, GradientDescentLowersTheObjective) {
  // Full-batch GD drives a network like a UFM (the Objective concept).
  const NetworkObjective f(make_spec(2, Loss::kCrossEntropy, true), random_data(5, 8, 8), kLabels);
  Vec theta;
  init_kaiming(f.layout(), theta, 3);
  const double before = f.value(theta);
  const std::vector<long> checkpoints{0, 200};
  GradientDescent({.lr = 0.1, .max_steps = 200}).run(f, theta, checkpoints, [](const Checkpoint&) {
    return ObserverAction::kContinue;
  });
  EXPECT_LT(f.value(theta), 0.8 * before);
}

TEST(NetworkObjective, KaimingInitHasVarianceTwoOverFanInAndIsSeeded) {
  NetworkSpec s = make_spec(1, Loss::kCrossEntropy, true);
  s.input_dim = 400, s.widths = {300}, s.K = 200;
  const NetworkLayout lay(s);
  Vec a, b, c;
  init_kaiming(lay, a, 5);
  init_kaiming(lay, b, 5);
  init_kaiming(lay, c, 6);
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  EXPECT_EQ(a.size(), lay.size());
  EXPECT_EQ(lay.b(a).norm(), 0.0);
  for (Index l = 1; l <= 2; ++l) {
    const double var = lay.W(l, a).squaredNorm() / static_cast<double>(lay.W(l, a).size());
    EXPECT_NEAR(var, 2.0 / static_cast<double>(lay.cols(l)), 0.03 * 2.0 / static_cast<double>(lay.cols(l))) << l;
  }
  Vec g;
  init_gaussian(lay, g, 0.1, 5);
  EXPECT_NEAR(g.squaredNorm() / static_cast<double>(g.size()), 0.01, 3e-4);
  EXPECT_GT(lay.b(g).norm(), 0.0);
}

void expect_invalid(const NetworkSpec& s, std::shared_ptr<const Mat> X, const std::vector<int>& labels,
                    const std::string& field) {
  try {
    NetworkObjective f(s, std::move(X), labels);
    ADD_FAILURE() << "no exception for " << field;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'" + field + "'"), std::string::npos) << e.what();
  }
}

TEST(NetworkObjective, RejectsBadInputNamingTheField) {
  const NetworkSpec good = make_spec(2, Loss::kMse, false);
  const auto X = random_data(5, 8, 1);
  EXPECT_NO_THROW(NetworkObjective(good, X, kLabels));
  NetworkSpec s = good;
  s.widths[0] = 0;
  expect_invalid(s, X, kLabels, "widths");
  s = good;
  s.lambda_w.pop_back();
  expect_invalid(s, X, kLabels, "lambda_w");
  s = good;
  s.lambda_w[0] = -1.0;
  expect_invalid(s, X, kLabels, "lambda_w");
  s = good;
  s.input_dim = 4;
  expect_invalid(s, X, kLabels, "X");
  expect_invalid(good, nullptr, kLabels, "X");
  expect_invalid(good, random_data(5, 7, 1), kLabels, "X");
  expect_invalid(good, X, {0, 1, 2, 0, 1, 2, 0, 3}, "labels");
  s = good;
  s.K = 1;
  expect_invalid(s, X, std::vector<int>(8, 0), "K");

  const NetworkObjective f(good, X, kLabels);
  const Vec theta = test::random_vec(f.num_params(), 1);
  Vec grad;
  const std::vector<Index> out_of_range{0, 8}, empty;
  EXPECT_THROW(f.value_and_gradient_batch(theta, grad, out_of_range), std::invalid_argument);
  EXPECT_THROW(f.value_batch(theta, empty), std::invalid_argument);
}

}  // namespace
}  // namespace ufm
