// checkpoint_report (what `ufm-sim run` writes per checkpoint) takes shortcuts: no forward pass for the
// objective's parts (loss from the logits the metrics need anyway), the penultimate level's feature
// metrics computed once for both the level and the classifier, H1 read in place. These tests hold it
// to the plain route it replaced, metric by metric: DeepUfmObjective::parts, feature_levels,
// collapse_metrics on the penultimate level and feature_metrics on every level.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_metrics_util.hpp"
#include "ufm/app/checkpoint_report.hpp"
#include "ufm/metrics/few_rows_product.hpp"
#include "ufm/metrics/nc.hpp"
#include "ufm/metrics/spectra.hpp"
#include "ufm/objectives/deep_ufm_objective.hpp"
#include "ufm/objectives/loss.hpp"

namespace ufm {
namespace {

/// The report as checkpoint_report built it before the shortcuts: every level measured on its own,
/// the penultimate one twice, and the objective's parts from their own forward pass.
nlohmann::ordered_json checkpoint_report_by_plain_route(const DeepUfmObjective& f, const Checkpoint& c,
                                                        const MetricOptions& options) {
  const DeepUfmLayout& L = f.layout();
  const Index layers = L.layers();
  nlohmann::ordered_json j;
  j["step"] = c.step;
  j["time"] = c.time;
  const DeepObjectiveParts parts = f.parts(c.theta);
  put_metric(j, "objective", c.value);
  put_metric(j, "loss", parts.loss);
  put_metric(j, "penalty_w", parts.penalty_w.back());
  put_metric(j, "penalty_h", parts.penalty_h);
  put_metric(j, "penalty_b", parts.penalty_b);
  if (layers > 1)
    put_metric(j, "penalty_layers", std::vector<double>(parts.penalty_w.begin(), parts.penalty_w.end() - 1));
  put_metric(j, "grad_norm", c.grad_norm);
  nlohmann::ordered_json reasons = nlohmann::ordered_json::object();
  take_null_reasons(j, reasons);
  std::vector<Mat> levels;
  f.feature_levels(c.theta, levels);
  const Mat& S = levels.back();
  const Snapshot snapshot{ConstMatMap(S.data(), S.rows(), S.cols()), L.W(layers, c.theta), L.b(c.theta),
                          f.labels(), L.K, f.spec().loss};
  MetricSet metrics = collapse_metrics(snapshot, options);
  take_null_reasons(metrics, reasons);
  j.update(metrics);
  if (layers > 1) {
    nlohmann::ordered_json by_level = nlohmann::ordered_json::object();
    for (Index l = 0; l < layers; ++l) {
      MetricSet m = MetricSet::object();
      feature_metrics(ConstMatMap(levels[l].data(), levels[l].rows(), levels[l].cols()), f.labels(), L.K, options, m);
      by_level[l == 0 ? "H1" : "S" + std::to_string(l)] = std::move(m);
    }
    j["levels"] = std::move(by_level);
    nlohmann::ordered_json weights = nlohmann::ordered_json::object();
    for (Index l = 1; l < layers; ++l) {
      const auto W = L.W(l, c.theta);
      const Vec sigma = Eigen::JacobiSVD<Mat>(W).singularValues();  // the slow reference
      std::vector<double> sv(sigma.data(), sigma.data() + sigma.size());
      if (options.max_singular_values > 0 && static_cast<Index>(sv.size()) > options.max_singular_values)
        sv.resize(options.max_singular_values);
      weights["W" + std::to_string(l)] = {{"norm", W.norm()}, {"singular_values", sv}};
    }
    j["weights"] = std::move(weights);
  }
  j["null_reasons"] = std::move(reasons);
  return j;
}

struct CheckpointCase {
  std::vector<Index> widths;
  Activation activation;
  Loss loss;
  BiasMode bias;
  bool freeze_classifier = false;
  std::vector<Index> counts{4, 6, 5};  ///< per class, shuffled
  Index dim = 5;
  double h_scale = 1.0;  ///< 0: H1 = 0, the zero solution of theory.md §5
};

DeepUfmObjective checkpoint_case_objective(const CheckpointCase& c) {
  DeepUfmSpec spec;
  spec.K = static_cast<Index>(c.counts.size());
  spec.dim = c.dim;
  spec.widths = c.widths;
  spec.activation = c.activation;
  spec.loss = c.loss;
  spec.bias = c.bias;
  spec.lambda_h = 0.01;
  spec.lambda_w.assign(c.widths.size() + 1, 0.02);
  spec.lambda_b = 0.03;
  spec.freeze_classifier = c.freeze_classifier;
  return DeepUfmObjective(spec, test::shuffled_labels(c.counts, 5));
}

/// Both reports at a random state of the case's model.
std::pair<nlohmann::ordered_json, nlohmann::ordered_json> checkpoint_case_reports(const CheckpointCase& c,
                                                                                  const MetricOptions& options) {
  const DeepUfmObjective f = checkpoint_case_objective(c);
  Vec theta = test::random_vec(f.num_params(), 17, 0.7);
  f.layout().H1(theta) *= c.h_scale;
  Vec grad(f.num_params());
  const double value = f.value_and_gradient(theta, grad);
  const Checkpoint cp{12, 1.2, value, grad.norm(), theta, grad};
  return {checkpoint_report(f, cp, options), checkpoint_report_by_plain_route(f, cp, options)};
}

TEST(CheckpointReport, MatchesThePlainRouteForEveryModelKind) {
  const std::vector<CheckpointCase> cases{
      {{}, Activation::kLinear, Loss::kCrossEntropy, BiasMode::kRegularized},
      {{}, Activation::kLinear, Loss::kMse, BiasMode::kNone},
      {{}, Activation::kLinear, Loss::kMse, BiasMode::kFree, true},
      {{4}, Activation::kLinear, Loss::kCrossEntropy, BiasMode::kRegularized},
      {{4}, Activation::kRelu, Loss::kMse, BiasMode::kFree},
      {{6, 3}, Activation::kRelu, Loss::kCrossEntropy, BiasMode::kNone},
      {{7, 5}, Activation::kLinear, Loss::kMse, BiasMode::kRegularized, true},
      {{}, Activation::kLinear, Loss::kCrossEntropy, BiasMode::kFree, false, {30, 40, 35, 25}, 8},  // d < N
      {{20}, Activation::kRelu, Loss::kCrossEntropy, BiasMode::kFree, false, {3, 4, 2}, 12},  // d > N: N×N Gram
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    for (const Index max_sv : {Index{0}, Index{2}}) {
      const auto [fast, plain] = checkpoint_case_reports(cases[k], MetricOptions{max_sv});
      EXPECT_EQ(test::json_difference(fast, plain, 1e-12), "") << "case " << k << ", max_sv " << max_sv;
    }
  }
}

TEST(CheckpointReport, MeasuresALinearStackAsImagesOfH1WhereThatIsCheaper) {
  // N = 105 against widths 5 and 6: the linear stacks' levels are measured from H1's class scatters
  // (linear_images.hpp), and the report is still the plain route's. ReLU layers are always formed.
  const std::vector<CheckpointCase> cases{
      {{6}, Activation::kLinear, Loss::kCrossEntropy, BiasMode::kRegularized, false, {30, 40, 35}},
      {{6}, Activation::kLinear, Loss::kMse, BiasMode::kFree, true, {30, 40, 35}},
      {{6, 4}, Activation::kLinear, Loss::kCrossEntropy, BiasMode::kNone, false, {30, 40, 35}},
      // W₁ 4×5: its σ from its own Gram W₁W₁ᵀ; above (d₁ ≥ d₀), from the W₁ᵀW₁ the levels' spreads use
      {{4, 6}, Activation::kLinear, Loss::kCrossEntropy, BiasMode::kNone, false, {30, 40, 35}},
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    for (const bool spectra : {true, false}) {
      const MetricOptions options{0, spectra};
      EXPECT_TRUE(linear_images(checkpoint_case_objective(cases[k]), options)) << "case " << k;
      const auto [fast, plain] = checkpoint_case_reports(cases[k], options);
      // 1e-15 absolute besides: sqi_avg_gap = |eps_avg − (K−1)·eps_tilde_avg| cancels O(1) terms to 0,
      // and without FMA (-DUFM_NATIVE=OFF) one route reads 1.1e-16 where the other reads 0.
      EXPECT_EQ(test::json_difference(fast, plain, 1e-12, "", 1e-15), "") << "case " << k << ", spectra " << spectra;
    }
    CheckpointCase relu = cases[k];
    relu.activation = Activation::kRelu;
    EXPECT_FALSE(linear_images(checkpoint_case_objective(relu), MetricOptions{})) << "case " << k;
  }
}

TEST(CheckpointReport, AWeightReportTakesAGramOnlyOfItsShape) {
  const Mat W = test::random_mat(6, 4, 3);
  const Mat gram = W.transpose() * W;  // 4×4
  const ConstMatMap w(W.data(), 6, 4);
  const auto from_gram = weight_report(w, 0, &gram);
  const auto own = weight_report(w, 0);
  EXPECT_EQ(test::json_difference(from_gram, own, 1e-12), "");
  const Mat wrong = Mat::Identity(6, 6);
  EXPECT_THROW(weight_report(w, 0, &wrong), std::invalid_argument);
  const Mat Wt = W.transpose();  // 4×6: its smaller Gram is W Wᵀ, not the 6×6 WᵀW
  const Mat wide_gram = W * W.transpose();
  EXPECT_THROW(weight_report(ConstMatMap(Wt.data(), 4, 6), 0, &wide_gram), std::invalid_argument);
}

TEST(CheckpointReport, MatchesThePlainRouteWhereMetricsAreNull) {
  // H1 = 0 (every level zero for a linear stack) and an empty class: the same nulls, the same reasons.
  const std::vector<CheckpointCase> cases{
      {{}, Activation::kLinear, Loss::kMse, BiasMode::kNone, false, {4, 6, 5}, 5, 0.0},
      {{4}, Activation::kLinear, Loss::kMse, BiasMode::kFree, false, {4, 6, 5}, 5, 0.0},
      {{4}, Activation::kRelu, Loss::kCrossEntropy, BiasMode::kRegularized, false, {4, 0, 5}},
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const auto [fast, plain] = checkpoint_case_reports(cases[k], MetricOptions{});
    EXPECT_EQ(test::json_difference(fast, plain, 1e-12), "") << "case " << k;
    EXPECT_FALSE(fast["null_reasons"].empty()) << "case " << k;
  }
}

TEST(CheckpointReport, TheComparisonSeesAPerturbedMetric) {
  // The tests above can fail: one metric off by 1e-10 relative, or one key missing, is caught.
  const auto [fast, plain] = checkpoint_case_reports({{4}, Activation::kLinear, Loss::kMse, BiasMode::kFree}, {});
  ASSERT_EQ(test::json_difference(fast, plain, 1e-12), "");
  nlohmann::ordered_json off = fast;
  off["levels"]["H1"]["nc1"] = off["levels"]["H1"]["nc1"].get<double>() * (1.0 + 1e-10);
  EXPECT_NE(test::json_difference(off, plain, 1e-12), "");
  nlohmann::ordered_json fewer = fast;
  fewer.erase("loss");
  EXPECT_NE(test::json_difference(fewer, plain, 1e-12), "");
}

TEST(CheckpointReport, TakesTheLogitsTheEvaluationHandsIt) {
  // Checkpoint::logits_t from value_gradient_and_logits: the report of one layer, or of linear layers
  // end to end, matches the plain route with them, and reads them (class 0's logits shifted by one
  // change the loss it reports). A layer-by-layer stack hands none (the report forms its own).
  const std::vector<CheckpointCase> cases{
      {{}, Activation::kLinear, Loss::kCrossEntropy, BiasMode::kRegularized},
      {{}, Activation::kLinear, Loss::kMse, BiasMode::kNone},
      {{}, Activation::kLinear, Loss::kCrossEntropy, BiasMode::kFree, false, {30, 40, 35, 25}, 8},
      {{}, Activation::kLinear, Loss::kMse, BiasMode::kFree, false, {4, 0, 5}},  // an empty class
      {{4}, Activation::kRelu, Loss::kMse, BiasMode::kFree},
      {{6}, Activation::kLinear, Loss::kCrossEntropy, BiasMode::kRegularized},
      {{7, 5}, Activation::kLinear, Loss::kMse, BiasMode::kFree, false, {30, 40, 35, 25}, 8},
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const DeepUfmObjective f = checkpoint_case_objective(cases[k]);
    const Vec theta = test::random_vec(f.num_params(), 17, 0.7);
    Vec grad(f.num_params());
    Mat logits_t;
    const double value = f.value_gradient_and_logits(theta, grad, logits_t);
    if (f.layout().layers() > 1 && !f.end_to_end()) {
      EXPECT_EQ(logits_t.size(), 0) << "case " << k;
      continue;
    }
    ASSERT_EQ(logits_t.rows(), f.layout().N) << "case " << k;
    const Checkpoint cp{12, 1.2, value, grad.norm(), theta, grad, &logits_t};
    const MetricOptions options{};
    const auto handed = checkpoint_report(f, cp, options);
    EXPECT_EQ(test::json_difference(handed, checkpoint_report_by_plain_route(f, cp, options), 1e-12), "")
        << "case " << k;
    Mat shifted = logits_t;
    shifted.col(0).array() += 1.0;  // class 0's logits: every loss sees it
    const Checkpoint moved{12, 1.2, value, grad.norm(), theta, grad, &shifted};
    EXPECT_NE(checkpoint_report(f, moved, options)["loss"], handed["loss"]) << "case " << k;
  }
}

TEST(NcMetrics, CollapseFromAPrecomputedLevelIsTheOneShotCollapse) {
  test::Model m;
  m.K = 3;
  m.labels = test::shuffled_labels({5, 7, 6}, 9);
  m.H = test::random_mat(4, 18, 91);
  m.W = test::random_mat(3, 4, 92);
  m.b = test::random_vec(3, 93);
  m.loss = Loss::kCrossEntropy;
  const Snapshot sn = m.snapshot();
  const MetricOptions opt{2};
  const LevelMetrics level = level_metrics(sn.H, sn.labels, sn.K, opt);
  // The logits as collapse_metrics forms them (few_rows_product_t: one FMA chain per entry); Eigen's own
  // product, in a build without OpenBLAS, associates them otherwise and the last bits differ.
  Mat WHt;
  few_rows_product_t(m.W, m.H, WHt);
  EXPECT_EQ(collapse_metrics(sn, level, WHt), collapse_metrics(sn, opt));
  MetricSet alone = MetricSet::object();
  feature_metrics(sn.H, sn.labels, sn.K, opt, alone);
  EXPECT_EQ(level.metrics, alone);
  EXPECT_THROW(collapse_metrics(sn, level, Mat(WHt.topRows(17))), std::invalid_argument);
  EXPECT_THROW(collapse_metrics(sn, level, Mat(WHt.transpose())), std::invalid_argument);  // K×N, not N×K
  // The loss's residual, as a checkpoint hands it over (its loss and the SQI share one softmax).
  Mat Rt = WHt.rowwise() + m.b.transpose();
  loss_and_residual_class_major(sn.loss, Rt, sn.labels);
  EXPECT_EQ(collapse_metrics(sn, level, WHt, &Rt), collapse_metrics(sn, opt));
  const Mat wrong = Rt.topRows(17);
  EXPECT_THROW(collapse_metrics(sn, level, WHt, &wrong), std::invalid_argument);
}

TEST(NcMetrics, LevelWithItsClassifierGivesTheLogitsFromTheSamePass) {
  // The level that W reads: the logits without the bias are few_rows_product_t's, bit for bit, and the
  // level's metrics those of level_metrics alone. d = 64, K = 10 runs the one-pass kernel with AVX-512;
  // d = 19, strided columns and an empty class (M̃ undefined) take the separate product.
  struct Case {
    Index d, K, N;
    bool strided, empty_class;
  };
  for (const Case c : {Case{64, 10, 300, false, false}, Case{19, 4, 50, false, false}, Case{64, 10, 300, true, false},
                       Case{64, 3, 40, false, true}}) {
    const Mat big = test::random_mat(c.d + 3, c.N, 31 + static_cast<unsigned>(c.d));
    const Mat contiguous = big.topRows(c.d);
    const Eigen::Ref<const Mat> H =
        c.strided ? Eigen::Ref<const Mat>(big.topRows(c.d)) : Eigen::Ref<const Mat>(contiguous);
    std::vector<int> labels(static_cast<std::size_t>(c.N));
    for (Index i = 0; i < c.N; ++i) labels[static_cast<std::size_t>(i)] = static_cast<int>(i % (c.K - c.empty_class));
    const Mat W = test::random_mat(c.K, c.d, 33);
    const MetricOptions opt{100};
    Mat WHt, want;
    const LevelMetrics level = level_metrics(H, labels, c.K, opt, W, WHt);
    few_rows_product_t(W, H, want);
    const auto where = testing::Message() << "d = " << c.d << ", K = " << c.K << (c.strided ? ", strided" : "")
                                          << (c.empty_class ? ", an empty class" : "");
    EXPECT_EQ(WHt, want) << where;
    EXPECT_EQ(level.metrics, level_metrics(H, labels, c.K, opt).metrics) << where;
  }
  const Mat H = test::random_mat(8, 12, 1);
  const std::vector<int> labels{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2};
  Mat WHt;
  EXPECT_THROW(level_metrics(H, labels, 3, {}, test::random_mat(3, 7, 2), WHt), std::invalid_argument);
  EXPECT_THROW(level_metrics(H, labels, 3, {}, test::random_mat(3, 7, 2)), std::invalid_argument);  // logits handed
  EXPECT_NO_THROW(level_metrics(H, labels, 3, {}, test::random_mat(3, 8, 2)));
}

}  // namespace
}  // namespace ufm
