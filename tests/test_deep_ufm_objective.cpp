// DeepUfmObjective: analytic gradients against finite differences, L = 1 against UfmObjective,
// frozen classifier, parts, feature levels, constructor errors and no allocation per call.
#include <gtest/gtest.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "allocation_counter.hpp"
#include "ufm/dynamics/gradient_flow.hpp"
#include "ufm/dynamics/lazy_state.hpp"
#include "test_util.hpp"
#include "ufm/objectives/deep_ufm_objective.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/ufm_objective.hpp"

namespace ufm {
namespace {

const std::vector<int> kLabels = block_labels(std::vector<Index>{2, 3, 2});  // K = 3, N = 7

/// L layers: d₀ = 5, widths 4, 6, …; `decays`: 0 all zero, 1 distinct per factor.
DeepUfmSpec make_spec(Index L, Activation act, Loss loss, BiasMode bias, int decays) {
  DeepUfmSpec s;
  s.K = 3, s.dim = 5, s.activation = act, s.loss = loss, s.bias = bias;
  for (Index l = 1; l < L; ++l) s.widths.push_back(2 + 2 * l);
  s.lambda_w.assign(L, 0.0);
  if (decays == 1) {
    s.lambda_h = 7e-3;
    for (Index l = 0; l < L; ++l) s.lambda_w[l] = 3e-2 + 2e-2 * l;
    s.lambda_b = bias == BiasMode::kRegularized ? 1e-1 : 0.0;
  }
  return s;
}

class DeepUfmGradient
    : public ::testing::TestWithParam<std::tuple<Index, Activation, Loss, BiasMode, int>> {};

TEST_P(DeepUfmGradient, MatchesCentralFiniteDifferences) {
  const auto [L, act, loss, bias, decays] = GetParam();
  const DeepUfmObjective f(make_spec(L, act, loss, bias, decays), kLabels);
  // Z is linear in each single coordinate, so central differences are exact up to the loss's
  // curvature: a large step near the origin keeps the (tiny) gradient above round-off.
  for (const auto& [scale, h] : {std::pair{2e-2, 1e-3}, std::pair{0.7, 1e-5}}) {
    int checked = 0;
    for (unsigned seed = 1; checked < 2 && seed < 200; ++seed) {
      const Vec theta = test::random_vec(f.num_params(), seed, scale);
      if (act == Activation::kRelu && !test::away_from_relu_kinks(f, theta, h)) continue;
      ++checked;
      Vec grad(f.num_params());
      const double value = f.value_and_gradient(theta, grad);
      EXPECT_NEAR(value, f.value(theta), 1e-14 * std::max(1.0, std::abs(value)));
      const Vec fd = test::finite_difference_gradient(f, theta, h);
      EXPECT_GT(grad.norm(), 1e-7);
      EXPECT_LT(test::relative_error(grad, fd), 1e-6) << "seed " << seed << " scale " << scale;
    }
    EXPECT_EQ(checked, 2) << "no kink-free point found at scale " << scale;
  }
}

std::string case_name(const ::testing::TestParamInfo<DeepUfmGradient::ParamType>& info) {
  const auto& [L, act, loss, bias, decays] = info.param;
  return "L" + std::to_string(L) + "_" + std::string(to_string(act)) + "_" + std::string(to_string(loss)) +
         "_bias_" + std::string(to_string(bias)) + "_lambda" + std::to_string(decays);
}

INSTANTIATE_TEST_SUITE_P(AllDepthsActivationsLossesBiasesDecays, DeepUfmGradient,
                         ::testing::Combine(::testing::Values(Index{2}, Index{3}),
                                            ::testing::Values(Activation::kLinear, Activation::kRelu),
                                            ::testing::Values(Loss::kCrossEntropy, Loss::kMse),
                                            ::testing::Values(BiasMode::kNone, BiasMode::kFree,
                                                              BiasMode::kRegularized),
                                            ::testing::Values(0, 1)),
                         case_name);

TEST(DeepUfmObjective, OneLayerIsTheUfmObjective) {
  for (Loss loss : {Loss::kCrossEntropy, Loss::kMse}) {
    for (BiasMode bias : {BiasMode::kNone, BiasMode::kFree, BiasMode::kRegularized}) {
      for (bool freeze : {false, true}) {
        DeepUfmSpec s = make_spec(1, Activation::kRelu, loss, bias, 1);
        s.freeze_classifier = freeze;
        const DeepUfmObjective deep(s, kLabels);
        const UfmObjective one(3, 5, kLabels, loss, bias, {s.lambda_w[0], s.lambda_h, s.lambda_b}, freeze);
        ASSERT_EQ(deep.num_params(), one.num_params());
        const Vec theta = test::random_vec(one.num_params(), 11, 0.8);
        Vec g_deep, g_one;
        const double v_deep = deep.value_and_gradient(theta, g_deep), v_one = one.value_and_gradient(theta, g_one);
        const std::string where = std::string(to_string(loss)) + " " + std::string(to_string(bias));
        EXPECT_NEAR(v_deep, v_one, 1e-14 * std::abs(v_one)) << where;
        EXPECT_NEAR(deep.value(theta), one.value(theta), 1e-14 * std::abs(v_one)) << where;
        EXPECT_LT(test::relative_error(g_deep, g_one), 1e-14) << where;
      }
    }
  }
}

TEST(DeepUfmObjective, AFlowDrivesTheOneLayerObjectiveThatFormsItsStagePoints) {
  // with_flow_objective (ufm-sim run's gradient flow): one layer, the UfmObjective the model forwards to,
  // which forms a stage point inside its own pass; deeper, the DeepUfmObjective, which does not.
  const DeepUfmObjective one(make_spec(1, Activation::kLinear, Loss::kCrossEntropy, BiasMode::kFree, 1), kLabels);
  const DeepUfmObjective two(make_spec(2, Activation::kRelu, Loss::kCrossEntropy, BiasMode::kFree, 1), kLabels);
  const auto fused = [](const auto& objective) { return ErrorNormObjective<std::decay_t<decltype(objective)>>; };
  EXPECT_TRUE(with_flow_objective(one, fused));
  EXPECT_FALSE(with_flow_objective(two, fused));
  ASSERT_NE(one.one_layer(), nullptr);
  EXPECT_EQ(two.one_layer(), nullptr);
  const Vec theta = test::random_vec(one.num_params(), 3, 0.5);
  Vec g_deep, g_one;
  EXPECT_EQ(one.value_and_gradient(theta, g_deep), one.one_layer()->value_and_gradient(theta, g_one));
  EXPECT_EQ(g_deep, g_one);
}

TEST(DeepUfmObjective, FrozenClassifierHasZeroGradientOnlyThere) {
  DeepUfmSpec s = make_spec(3, Activation::kRelu, Loss::kMse, BiasMode::kFree, 1);
  s.freeze_classifier = true;
  const DeepUfmObjective f(s, kLabels);
  const Vec theta = test::random_vec(f.num_params(), 3);
  Vec grad;
  f.value_and_gradient(theta, grad);
  const auto& lay = f.layout();
  EXPECT_EQ(lay.W(3, grad).norm(), 0.0);
  EXPECT_GT(lay.H1(grad).norm(), 0.0);
  EXPECT_GT(lay.W(1, grad).norm(), 0.0);
  EXPECT_GT(lay.W(2, grad).norm(), 0.0);
  EXPECT_GT(lay.b(grad).norm(), 0.0);
}

TEST(DeepUfmObjective, PartsAddUpToTheValue) {
  const DeepUfmObjective f(make_spec(3, Activation::kRelu, Loss::kCrossEntropy, BiasMode::kRegularized, 1), kLabels);
  const Vec theta = test::random_vec(f.num_params(), 4, 0.6);
  const DeepObjectiveParts p = f.parts(theta);
  ASSERT_EQ(p.penalty_w.size(), 3u);
  const auto& lay = f.layout();
  EXPECT_DOUBLE_EQ(p.penalty_h, 0.5 * 7e-3 * lay.H1(theta).squaredNorm());
  for (Index l = 1; l <= 3; ++l)
    EXPECT_DOUBLE_EQ(p.penalty_w[l - 1], 0.5 * f.spec().lambda_w[l - 1] * lay.W(l, theta).squaredNorm());
  EXPECT_DOUBLE_EQ(p.penalty_b, 0.5 * 1e-1 * lay.b(theta).squaredNorm());
  EXPECT_GT(p.loss, 0.0);
  EXPECT_NEAR(p.total(), f.value(theta), 1e-15 * std::abs(p.total()));
}

TEST(DeepUfmObjective, FeatureLevelsHaveTheRightShapesAndValues) {
  const DeepUfmObjective lin(make_spec(2, Activation::kLinear, Loss::kMse, BiasMode::kFree, 0), kLabels);
  const Vec theta = test::random_vec(lin.num_params(), 5);
  std::vector<Mat> levels;
  lin.feature_levels(theta, levels);
  ASSERT_EQ(levels.size(), 2u);
  EXPECT_EQ(levels[0], Mat(lin.layout().H1(theta)));
  const Mat WH = lin.layout().W(1, theta) * lin.layout().H1(theta);
  ASSERT_EQ(levels[1].rows(), 4);
  ASSERT_EQ(levels[1].cols(), 7);
  EXPECT_LT((levels[1] - WH).norm(), 1e-14 * WH.norm());

  const DeepUfmObjective relu(make_spec(3, Activation::kRelu, Loss::kMse, BiasMode::kNone, 0), kLabels);
  const Vec t3 = test::random_vec(relu.num_params(), 6);
  relu.feature_levels(t3, levels);
  ASSERT_EQ(levels.size(), 3u);
  const Mat S1 = (relu.layout().W(1, t3) * relu.layout().H1(t3)).cwiseMax(0.0);
  const Mat S2 = (relu.layout().W(2, t3) * S1).cwiseMax(0.0);
  EXPECT_EQ(levels[0].rows(), 5);
  EXPECT_LT((levels[1] - S1).norm(), 1e-14 * S1.norm());
  EXPECT_LT((levels[2] - S2).norm(), 1e-14 * S2.norm());
  EXPECT_EQ(levels[2].rows(), 6);
  EXPECT_GT((levels[1].array() == 0.0).count(), 0);  // ReLU really clipped something
  Mat Z;
  relu.logits(t3, Z);
  EXPECT_LT((Z - relu.layout().W(3, t3) * S2).norm(), 1e-14 * Z.norm());
}

TEST(DeepUfmObjective, LinearLayersGoEndToEndOnlyWhereThatTakesFewerFlops) {
  // K·d₀ against Σ_l d_l d_{l−1}: K = 3, d₀ = 5, widths 4 (or 6): 15 < 32. A bottleneck of width 1
  // (5 + 3 = 8 < 15) keeps the layered pass, as do ReLU layers and `layered`.
  DeepUfmSpec s = make_spec(2, Activation::kLinear, Loss::kMse, BiasMode::kFree, 1);
  EXPECT_TRUE(DeepUfmObjective(s, kLabels).end_to_end());
  EXPECT_TRUE(DeepUfmObjective(make_spec(3, Activation::kLinear, Loss::kMse, BiasMode::kNone, 0), kLabels).end_to_end());
  s.widths = {1};
  EXPECT_FALSE(DeepUfmObjective(s, kLabels).end_to_end());
  s.widths = {4};
  s.layered = true;
  EXPECT_FALSE(DeepUfmObjective(s, kLabels).end_to_end());
  EXPECT_FALSE(DeepUfmObjective(make_spec(2, Activation::kRelu, Loss::kMse, BiasMode::kNone, 0), kLabels).end_to_end());
  EXPECT_FALSE(DeepUfmObjective(make_spec(1, Activation::kLinear, Loss::kMse, BiasMode::kNone, 0), kLabels).end_to_end());
}

TEST(DeepUfmObjective, EndToEndIsTheLayeredPassUpToRounding) {
  // The same F, ∇F, parts and logits as the layer stack's pass, associated differently: at L = 2, 3
  // (width 4 then 6; and a width of 2, narrower than K), both losses, every bias mode, a frozen
  // classifier. The layered pass is itself checked against finite differences here (the linear
  // cases of DeepUfmGradient take the end-to-end route).
  for (Index L : {Index{2}, Index{3}})
    for (Loss loss : {Loss::kCrossEntropy, Loss::kMse})
      for (BiasMode bias : {BiasMode::kNone, BiasMode::kFree, BiasMode::kRegularized})
        for (bool frozen : {false, true})
          for (bool narrow : {false, true}) {
            DeepUfmSpec spec = make_spec(L, Activation::kLinear, loss, bias, 1);
            spec.freeze_classifier = frozen;
            if (narrow) spec.widths.back() = 2;
            const DeepUfmObjective fast(spec, kLabels);
            spec.layered = true;
            const DeepUfmObjective layered(spec, kLabels);
            const std::string where = "L " + std::to_string(L) + " " + std::string(to_string(loss)) + " bias " +
                                      std::string(to_string(bias)) + (frozen ? " frozen" : "") + (narrow ? " narrow" : "");
            ASSERT_TRUE(fast.end_to_end()) << where;
            ASSERT_FALSE(layered.end_to_end()) << where;
            const Vec theta = test::random_vec(fast.num_params(), 11, 0.8);
            Vec g_fast, g_layered;
            const double v_fast = fast.value_and_gradient(theta, g_fast);
            const double v_layered = layered.value_and_gradient(theta, g_layered);
            EXPECT_NEAR(v_fast, v_layered, 1e-14 * std::abs(v_layered)) << where;
            EXPECT_EQ(v_fast, fast.value(theta)) << where;
            EXPECT_LT(test::relative_error(g_fast, g_layered), 1e-13) << where;
            const auto& lay = fast.layout();
            for (Index l = 1; l <= L; ++l)  // every block has its own gradient (not just the whole)
              EXPECT_LT((lay.W(l, g_fast) - lay.W(l, g_layered)).norm(), 1e-13 * (1.0 + lay.W(l, g_layered).norm()))
                  << where << ", W_" << l;
            if (frozen) {
              EXPECT_EQ(lay.W(L, g_fast).norm(), 0.0) << where;
            }
            if (!frozen) {  // (finite differences would move the frozen classifier too)
              EXPECT_LT(test::relative_error(g_layered, test::finite_difference_gradient(layered, theta, 1e-5)), 1e-6)
                  << where;
            }
            const DeepObjectiveParts a = fast.parts(theta), b = layered.parts(theta);
            EXPECT_NEAR(a.loss, b.loss, 1e-14 * b.loss) << where;
            EXPECT_NEAR(a.penalty_h, b.penalty_h, 1e-14 * b.penalty_h) << where;
            EXPECT_EQ(a.penalty_w, b.penalty_w) << where;
            EXPECT_EQ(a.penalty_b, b.penalty_b) << where;
            EXPECT_NEAR(a.total(), v_fast, 1e-15 * v_fast) << where;
            Mat Za, Zb;
            fast.logits(theta, Za);
            layered.logits(theta, Zb);
            EXPECT_LT((Za - Zb).norm(), 1e-14 * Zb.norm()) << where;
          }
}

void expect_invalid(const DeepUfmSpec& s, const std::vector<int>& labels, const std::string& field) {
  try {
    DeepUfmObjective f(s, labels);
    ADD_FAILURE() << "no exception for " << field;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'" + field + "'"), std::string::npos) << e.what();
  }
}

TEST(DeepUfmObjective, RejectsBadSpecsNamingTheField) {
  const DeepUfmSpec good = make_spec(3, Activation::kRelu, Loss::kMse, BiasMode::kNone, 1);
  EXPECT_NO_THROW(DeepUfmObjective(good, kLabels));
  DeepUfmSpec s = good;
  s.widths[1] = 0;
  expect_invalid(s, kLabels, "widths");
  s = good;
  s.lambda_w.pop_back();
  expect_invalid(s, kLabels, "lambda_w");
  s = good;
  s.K = 1;
  expect_invalid(s, {0, 0}, "K");
  expect_invalid(good, {0, 1, 3}, "labels");
  expect_invalid(good, {0, -1}, "labels");
  expect_invalid(good, {}, "labels");
  s = good;
  s.dim = 0;
  expect_invalid(s, kLabels, "dim");
  s = good;
  s.lambda_h = -1.0;
  expect_invalid(s, kLabels, "lambda_h");
}

/// L = 3 over many samples, so that the evaluation runs over several column chunks.
DeepUfmSpec wide_spec(Activation act, Index d, Index K) {
  DeepUfmSpec s;
  s.K = K, s.dim = d, s.widths = {d, d}, s.activation = act, s.loss = Loss::kCrossEntropy;
  s.bias = BiasMode::kRegularized, s.lambda_h = 1e-2, s.lambda_w = {2e-2, 3e-2, 4e-2}, s.lambda_b = 5e-2;
  return s;
}

TEST(DeepUfmObjective, ChunkedGradientMatchesFiniteDifferences) {
  // N = 301 samples: 4 column chunks of unequal width; every chunk's contribution is checked.
  const std::vector<int> labels = block_labels(std::vector<Index>{100, 101, 100});
  for (Activation act : {Activation::kLinear, Activation::kRelu}) {
    const DeepUfmObjective f(wide_spec(act, 4, 3), labels);
    int checked = 0;
    for (unsigned seed = 1; checked < 1 && seed < 50; ++seed) {
      const Vec theta = test::random_vec(f.num_params(), seed, 0.7);
      if (act == Activation::kRelu && !test::away_from_relu_kinks(f, theta, 1e-5)) continue;
      ++checked;
      Vec grad(f.num_params());
      const double value = f.value_and_gradient(theta, grad);
      EXPECT_NEAR(value, f.value(theta), 1e-14 * std::max(1.0, std::abs(value)));
      EXPECT_LT(test::relative_error(grad, test::finite_difference_gradient(f, theta, 1e-5)), 1e-6)
          << to_string(act);
    }
    EXPECT_EQ(checked, 1) << "no kink-free point found";
  }
}

#ifdef _OPENMP
TEST(DeepUfmObjective, BitIdenticalForAnyThreadCount) {
  // Large enough (3·10⁷ flops per evaluation) for the chunks to run on OpenMP threads; at d = 200
  // θ (about 282,000 entries, past kParallelRangeEntries) is also updated in ranges on the threads.
  const std::vector<int> labels = block_labels(balanced_counts(10, 100));
  const int saved = omp_get_max_threads();
  for (Index d : {Index{48}, Index{200}})
    for (Activation act : {Activation::kLinear, Activation::kRelu}) {
      const DeepUfmObjective f(wide_spec(act, d, 10), labels);
      const Vec theta = test::random_vec(f.num_params(), 3, 0.3);
      Vec reference(f.num_params()), grad(f.num_params()), descended = theta;
      omp_set_num_threads(1);
      const double value = f.value_and_gradient(theta, reference), plain_value = f.value(theta);
      f.value_and_descend(descended, grad, 0.1);
      for (Index i = 0; i < theta.size(); ++i)  // every entry updated, in every range
        ASSERT_EQ(descended[i], theta[i] - 0.1 * reference[i]) << "entry " << i << ", d " << d;
      for (int threads : {2, 3}) {
        omp_set_num_threads(threads);
        const std::string where = std::to_string(threads) + " threads, d " + std::to_string(d) + ", " +
                                  std::string(to_string(act));
        EXPECT_EQ(f.value_and_gradient(theta, grad), value) << where;
        EXPECT_TRUE(grad == reference) << where;
        EXPECT_EQ(f.value(theta), plain_value) << where;
        Vec step = theta;
        f.value_and_descend(step, grad, 0.1);
        EXPECT_TRUE(step == descended) << where;
      }
    }
  omp_set_num_threads(saved);
}
#endif

TEST(DeepUfmObjective, DescendIsTheGradientStepBitForBit) {
  // GD's one-pass step between checkpoints: the same value, and theta − lr·grad to the last bit.
  const std::vector<int> labels = block_labels(std::vector<Index>{100, 101, 100});
  // Linear layers: H₁'s step taken in the end-to-end pass, then the weights'.
  for (const auto& [L, act] : {std::pair{Index{1}, Activation::kRelu}, std::pair{Index{3}, Activation::kRelu},
                               std::pair{Index{3}, Activation::kLinear}}) {
    DeepUfmSpec spec = wide_spec(act, 6, 3);
    spec.widths.resize(static_cast<std::size_t>(L - 1));
    spec.lambda_w.resize(static_cast<std::size_t>(L));
    const DeepUfmObjective f(spec, labels);
    EXPECT_EQ(f.end_to_end(), act == Activation::kLinear);
    const Vec theta0 = test::random_vec(f.num_params(), 4, 0.5);
    Vec grad(f.num_params()), scratch(f.num_params()), theta = theta0;
    const double value = f.value_and_gradient(theta0, grad);
    Vec expected(f.num_params());
    for (Index i = 0; i < expected.size(); ++i) expected[i] = theta0[i] - 0.2 * grad[i];
    EXPECT_EQ(f.value_and_descend(theta, scratch, 0.2), value) << "L = " << L;
    EXPECT_TRUE(theta == expected) << "L = " << L;
    // The stack (ReLU, L > 1) steps H₁ chunk by chunk after writing its gradient: grad is whole there
    // (the one-layer and end-to-end passes step H₁ without writing its gradient out).
    if (L > 1 && !f.end_to_end()) {
      EXPECT_TRUE(scratch == grad) << "L = " << L;
    }
  }
}

TEST(DeepUfmObjective, HandsTheLogitsWhereItsPassFormsThem) {
  // value_gradient_and_logits: value and gradient bit for bit value_and_gradient's; the logits without
  // the bias, (W_L S_{L−1})ᵀ (N×K), from one layer and from linear layers end to end; none (0×0) from a
  // layer-by-layer stack.
  const std::vector<int> labels = block_labels(std::vector<Index>{100, 101, 100});
  for (const auto& [L, act] : {std::pair{Index{1}, Activation::kRelu}, std::pair{Index{2}, Activation::kLinear},
                               std::pair{Index{3}, Activation::kLinear}, std::pair{Index{2}, Activation::kRelu}}) {
    DeepUfmSpec spec = wide_spec(act, 6, 3);
    spec.bias = BiasMode::kFree;
    spec.widths.resize(static_cast<std::size_t>(L - 1));
    spec.lambda_w.resize(static_cast<std::size_t>(L));
    const DeepUfmObjective f(spec, labels);
    const Vec theta = test::random_vec(f.num_params(), 8, 0.5);
    Vec grad(f.num_params()), handed_grad(f.num_params());
    const double value = f.value_and_gradient(theta, grad);
    Mat logits_t = Mat::Constant(2, 2, 1.0);  // resized, or emptied
    EXPECT_EQ(f.value_gradient_and_logits(theta, handed_grad, logits_t), value) << "L = " << L;
    EXPECT_TRUE(handed_grad == grad) << "L = " << L;
    if (L > 1 && !f.end_to_end()) {
      EXPECT_EQ(logits_t.size(), 0) << "L = " << L;
      continue;
    }
    Mat Z;  // K×N, with the bias
    f.logits(theta, Z);
    Z.colwise() -= f.layout().b(theta);
    ASSERT_EQ(logits_t.rows(), f.layout().N) << "L = " << L;
    ASSERT_EQ(logits_t.cols(), f.layout().K) << "L = " << L;
    EXPECT_LT(test::max_entry_gap(logits_t, Mat(Z.transpose())), 1e-13 * Z.norm()) << "L = " << L;
  }
}

TEST(DeepUfmObjective, ValueAndGradientDoNotAllocate) {
  for (Activation act : {Activation::kLinear, Activation::kRelu}) {
    const DeepUfmObjective f(make_spec(3, act, Loss::kCrossEntropy, BiasMode::kRegularized, 1), kLabels);
    const Vec theta = test::random_vec(f.num_params(), 7);
    Vec grad(f.num_params());
    // One call first: a thread's first product allocates gemm's packing buffers (once per thread
    // and program, like OpenMP's thread pool). The calls after it must not allocate.
    f.value_and_gradient(theta, grad);
    const std::size_t before = test::malloc_calls();
    for (int i = 0; i < 3; ++i) f.value_and_gradient(theta, grad), f.value(theta);
    EXPECT_EQ(test::malloc_calls(), before) << to_string(act);
    Vec wrong;  // the counter does see allocations: a wrongly sized grad is resized
    f.value_and_gradient(theta, wrong);
    EXPECT_GT(test::malloc_calls(), before);
  }
}

/// The linear model the end-to-end stage-point tests evaluate: L = 3, d = 6, K = 3, a free bias, 301
/// samples in 4 column chunks.
DeepUfmObjective end_to_end_model() {
  DeepUfmSpec spec = wide_spec(Activation::kLinear, 6, 3);
  spec.bias = BiasMode::kFree;
  return DeepUfmObjective(spec, block_labels(std::vector<Index>{100, 101, 100}));
}

TEST(DeepUfmObjective, EndToEndStagePointIsTheFormedPointBitForBit) {
  // x = a₀x₀ + a₁x₁ + a₂x₂ formed in the pass (the weights first, then H₁ block by block, over 4
  // column chunks) against forming x and evaluating it: the same value and gradient bits, the same
  // stored x, with a separate store, none, the store as a source and grad as a source.
  const DeepUfmObjective f = end_to_end_model();
  ASSERT_TRUE(f.end_to_end());
  const Index n = f.num_params();
  const Vec x0 = test::random_vec(n, 1, 0.6), x1 = test::random_vec(n, 2, 0.6), x2 = test::random_vec(n, 3, 0.6);
  const double a[3] = {1.0, -0.37, 0.11};
  Vec formed(n);
  for (Index i = 0; i < n; ++i) formed[i] = (a[0] * x0[i] + a[1] * x1[i]) + a[2] * x2[i];
  Vec g_ref;
  const double v_ref = f.value_and_gradient(formed, g_ref);
  for (int variant = 0; variant < 4; ++variant) {  // store: separate, none, a source; grad a source
    Vec s0 = x0, s1 = x1, grad(n), store(n);
    LinearCombination c;
    c.add(a[0], s0.data()), c.add(a[1], s1.data()), c.add(a[2], x2.data());
    double* out = variant == 0 ? store.data() : variant == 1 ? nullptr : s0.data();
    Vec& g = variant == 3 ? s1 : grad;
    const double v = f.end_to_end_value_and_gradient_at(c, g, out);
    EXPECT_EQ(v, v_ref) << "variant " << variant;
    EXPECT_TRUE(g == g_ref) << "variant " << variant;
    if (variant == 0) {
      EXPECT_TRUE(store == formed);
    }
    if (variant >= 2) {
      EXPECT_TRUE(s0 == formed) << "variant " << variant;
    }
  }
}

TEST(DeepUfmObjective, EndToEndStagePointTakesTheErrorNormInItsPass) {
  // dopri5's last stage with its error norm (ErrorNormObjective): the value and gradient bits of the
  // plain stage point, and the norm of the estimate e = 0.3 k + 0.7 g (g the gradient being written)
  // over every entry, H₁'s in the one-layer pass and the weights' and b's after it: the max norm
  // exactly, the RMS to rounding (summed in another grouping). The weights' errors dominate.
  const DeepUfmObjective f = end_to_end_model();
  ASSERT_TRUE(f.end_to_end());
  const Index n = f.num_params(), h_size = f.layout().offsets[1];
  const Vec x0 = test::random_vec(n, 1, 0.6), x1 = test::random_vec(n, 2, 0.6);
  Vec formed = 1.0 * x0;
  formed += -0.4 * x1;
  Vec g_ref;
  const double v_ref = f.value_and_gradient(formed, g_ref);
  Vec k = test::random_vec(n, 4);
  k.tail(n - h_size) *= 1e3;
  const Vec x_old = test::random_vec(n, 5), g_old = test::random_vec(n, 6);
  for (const bool rms : {false, true}) {
    Vec grad(n);
    LinearCombination c;
    c.add(1.0, x0.data()), c.add(-0.4, x1.data());
    ScaledErrorSpec error{{}, x_old.data(), g_old.data(), 1e-6, 1e-5, 0.05, rms};
    error.estimate.add(0.3, k.data());
    error.estimate.add(0.7, grad.data());
    double norm = -1.0;
    EXPECT_EQ(f.end_to_end_value_and_gradient_at(c, grad, nullptr, error, norm), v_ref);
    EXPECT_TRUE(grad == g_ref);
    ScaledErrorSpec want{{}, x_old.data(), g_old.data(), 1e-6, 1e-5, 0.05, rms};
    want.estimate.add(0.3, k.data());
    want.estimate.add(0.7, g_ref.data());
    const double expected = scaled_error(want, n);
    if (rms)
      EXPECT_NEAR(norm, expected, 1e-14 * expected);
    else
      EXPECT_EQ(norm, expected);
  }
}

TEST(DeepUfmObjective, EndToEndStagePointHandsItsLogits) {
  // A flow's state sure to be observed (EndToEndFlowObjective::value_gradient_and_logits_at): the value,
  // gradient and error norm bits of the plain stage point, and the logits at x without the bias.
  const DeepUfmObjective f = end_to_end_model();
  ASSERT_TRUE(f.end_to_end());
  const EndToEndFlowObjective flow(f);
  const Index n = f.num_params();
  const Vec x0 = test::random_vec(n, 1, 0.6), x1 = test::random_vec(n, 2, 0.6);
  Vec formed = 1.0 * x0;
  formed += -0.4 * x1;
  Vec g_ref;
  const double v_ref = f.value_and_gradient(formed, g_ref);
  Mat Z;  // K×N at x, with the bias
  f.logits(formed, Z);
  Z.colwise() -= f.layout().b(formed);
  const Vec k = test::random_vec(n, 4), x_old = test::random_vec(n, 5), g_old = test::random_vec(n, 6);
  for (const bool with_error : {false, true}) {
    Vec grad(n), plain_grad(n);
    LinearCombination c;
    c.add(1.0, x0.data()), c.add(-0.4, x1.data());
    ScaledErrorSpec error{{}, x_old.data(), g_old.data(), 1e-6, 1e-5, 0.05, false};
    error.estimate.add(1.0, k.data());
    double norm = -1.0, plain_norm = -2.0;
    Mat logits_t;
    const double v = with_error ? flow.value_gradient_and_logits_at(c, grad, nullptr, error, norm, logits_t)
                                : flow.value_gradient_and_logits_at(c, grad, nullptr, logits_t);
    EXPECT_EQ(v, v_ref) << "error norm " << with_error;
    EXPECT_TRUE(grad == g_ref) << "error norm " << with_error;
    ASSERT_EQ(logits_t.rows(), f.layout().N);
    ASSERT_EQ(logits_t.cols(), f.layout().K);
    EXPECT_LT(test::max_entry_gap(logits_t, Mat(Z.transpose())), 1e-13 * Z.norm()) << "error norm " << with_error;
    if (!with_error) continue;
    flow.value_and_gradient_at(c, plain_grad, nullptr, error, plain_norm);
    EXPECT_EQ(norm, plain_norm);
  }
}

TEST(DeepUfmObjective, EndToEndFlowFormsItsStagePointsAndEndsWhereTheSettledFlowDoes) {
  // with_flow_objective hands a linear end-to-end model's flow an EndToEndFlowObjective (a
  // StagePointObjective); its RK4 and dopri5 trajectories are the plain objective's, bit for bit.
  const std::vector<int> labels = block_labels(std::vector<Index>{100, 101, 100});
  const DeepUfmObjective f(wide_spec(Activation::kLinear, 6, 3), labels);
  const DeepUfmObjective relu(wide_spec(Activation::kRelu, 6, 3), labels);
  const auto stage_points = [](const auto& objective) {
    return StagePointObjective<std::decay_t<decltype(objective)>>;
  };
  EXPECT_TRUE(with_flow_objective(f, stage_points));
  EXPECT_FALSE(with_flow_objective(relu, stage_points));
  const Vec theta0 = test::random_vec(f.num_params(), 9, 0.4);
  for (const Integrator integrator : {Integrator::kRk4, Integrator::kDopri5}) {
    const GradientFlow flow({.integrator = integrator, .dt = 0.05, .abs_tol = 1e-9, .rel_tol = 1e-9, .max_time = 0.4});
    Vec fused = theta0, settled = theta0;
    const RunSummary a = flow.run(EndToEndFlowObjective(f), fused, std::vector<double>{0.15, 0.4}, NullObserver{});
    const RunSummary b = flow.run(f, settled, std::vector<double>{0.15, 0.4}, NullObserver{});
    EXPECT_EQ(a.status, RunStatus::kMaxTime) << a.message;
    EXPECT_EQ(a.gradient_evaluations, b.gradient_evaluations);
    EXPECT_TRUE(fused == settled) << (integrator == Integrator::kRk4 ? "rk4" : "dopri5");
    EXPECT_FALSE(fused == theta0);
  }
  // dopri5's RMS error norm, taken in the last stage's pass, sums in another grouping than the
  // settled flow's own pass: the same steps, their sizes equal to rounding.
  const GradientFlow rms({.integrator = Integrator::kDopri5, .dt = 0.05, .abs_tol = 1e-9, .rel_tol = 1e-9,
                          .error_norm = ErrorNorm::kRms, .max_time = 0.4});
  Vec fused = theta0, settled = theta0;
  const RunSummary a = rms.run(EndToEndFlowObjective(f), fused, std::vector<double>{0.4}, NullObserver{});
  const RunSummary b = rms.run(f, settled, std::vector<double>{0.4}, NullObserver{});
  EXPECT_EQ(a.gradient_evaluations, b.gradient_evaluations);
  EXPECT_LE((fused - settled).lpNorm<Eigen::Infinity>(), 1e-12 * settled.lpNorm<Eigen::Infinity>());
}

}  // namespace
}  // namespace ufm
