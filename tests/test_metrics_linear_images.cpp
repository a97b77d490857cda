// linear_stack_levels measures features H and their linear images S_l = Q_l H from H's class scatters,
// never forming S_l. These tests hold every level to level_metrics on the formed S_l, metric by metric.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "test_metrics_util.hpp"
#include "ufm/app/checkpoint_report.hpp"
#include "ufm/metrics/class_stats.hpp"
#include "ufm/metrics/few_rows_product.hpp"
#include "ufm/metrics/linear_images.hpp"
#include "ufm/metrics/nc.hpp"

namespace ufm {
namespace {

struct ImageCase {
  std::vector<Index> counts;  ///< per class, shuffled
  Index d0;
  std::vector<Index> widths;  ///< d_1, d_2, …: Q_1 = W_1, Q_2 = W_2 W_1, …
  bool spectra = true;
  double h_scale = 1.0;  ///< 0: H = 0, every class mean the same point
  double spread = 0.5;   ///< scale of the samples' entries about their class means (the means': 2)
};

struct ImageSetup {
  std::vector<int> labels;
  Mat H;
  std::vector<Mat> Q, S;  ///< the maps and the formed levels S_l = Q_l H
  Mat W;                  ///< K×d_m, reading the last level
};

ImageSetup image_setup(const ImageCase& c, unsigned seed) {
  ImageSetup s;
  s.labels = test::shuffled_labels(c.counts, seed);
  const Index K = static_cast<Index>(c.counts.size()), N = static_cast<Index>(s.labels.size());
  // Class means well apart plus spread, so that no metric sits at a tie.
  const Mat means = test::random_mat(c.d0, K, seed + 1, 2.0);
  s.H = test::random_mat(c.d0, N, seed + 2, c.spread);
  for (Index i = 0; i < N; ++i) s.H.col(i) += means.col(s.labels[i]);
  s.H *= c.h_scale;
  Index prev = c.d0;
  for (std::size_t l = 0; l < c.widths.size(); ++l) {
    const Mat Wl = test::random_mat(c.widths[l], prev, seed + 3 + static_cast<unsigned>(l));
    s.Q.push_back(l == 0 ? Wl : Mat(Wl * s.Q.back()));
    s.S.push_back(s.Q.back() * s.H);
    prev = c.widths[l];
  }
  s.W = test::random_mat(K, prev, seed + 9);
  return s;
}

TEST(LinearImages, EveryLevelIsTheFormedLevelsUpToRounding) {
  const std::vector<ImageCase> cases{
      {{30, 40, 35}, 6, {5}},
      {{30, 40, 35}, 6, {8, 4}},                        // a level wider than H, then a narrower one
      {{12, 9, 14, 10}, 5, {7}, false},                 // no spectra
      {{50, 45, 60, 55, 40}, 12, {12, 3}},              // a width below K − 1
      {{20, 1, 25}, 4, {6}},                            // a class of one sample: zero spread
      // K ≤ 10 and d₀ % 8 = 0 (with AVX-512, the pair kernel over tiles of 8 samples): two levels in one
      // pass and the logits in their own; then a third level alone in its pass, with the logits
      {{21, 18, 20, 19, 22, 17, 20, 23, 18, 21}, 16, {16}},
      {{21, 18, 20, 19, 22, 17, 20, 23, 18, 21}, 16, {24, 8}},
      // K ≥ 11: every level's projections in one GEMM (with AVX-512), with one level and with two, and
      // M̃ᵀΣ_W M̃ from the class scatters' sum; then from the projections (d₀ ≫ N/K)
      {{9, 12, 10, 11, 8, 13, 9, 10, 12, 11, 9, 10}, 24, {20}},
      {{9, 12, 10, 11, 8, 13, 9, 10, 12, 11, 9, 10}, 24, {28, 20}},
      {{9, 12, 10, 11, 8, 13, 9, 10, 12, 11, 9, 10}, 150, {30}, false},
      // K ≥ 11 with N past the 256 columns gathered per product (the last class in two blocks, the last
      // product short), and classes so spread that the nearest centres miss many samples: they come with
      // the scatters
      {{49, 52, 50, 51, 48, 53, 49, 50, 52, 51, 49, 70}, 24, {20}, true, 1.0, 6.0},
      {{49, 52, 50, 51, 48, 53, 49, 50, 52, 51, 49, 70}, 24, {28, 20}, true, 1.0, 6.0},
      // d₀ = 256: on Intel, the class scatters in blocks of 128 columns (the Gram in gemm's tiles); a
      // level wider than the 64 columns per block of its Gram's lower triangle
      {std::vector<Index>(40, 50), 256, {72}, true, 1.0, 20.0},
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const ImageCase& c = cases[k];
    const ImageSetup s = image_setup(c, 11 + static_cast<unsigned>(k));
    const Index K = static_cast<Index>(c.counts.size());
    for (const Index max_sv : {Index{0}, Index{2}}) {
      const MetricOptions opt{max_sv, c.spectra};
      const Eigen::Ref<const Mat> W = s.W;
      Mat WHt;
      const std::vector<LevelMetrics> got = linear_stack_levels(s.H, s.labels, K, s.Q, opt, &W, &WHt);
      ASSERT_EQ(got.size(), s.Q.size() + 1);
      const LevelMetrics h = level_metrics(s.H, s.labels, K, opt);
      EXPECT_EQ(test::json_difference(got[0].metrics, h.metrics, 1e-12), "") << "case " << k << ", H";
      EXPECT_EQ(got[0].ncc, h.ncc) << "case " << k;
      if (c.spread > 1.0) {
        EXPECT_LT(got[0].metrics.at("ncc_accuracy").get<double>(), 0.9) << "case " << k;
      }
      for (std::size_t l = 0; l < s.S.size(); ++l) {
        const bool last = l + 1 == s.S.size();
        Mat want_WHt;
        const LevelMetrics want = last ? level_metrics(s.S[l], s.labels, K, opt, W, want_WHt)
                                       : level_metrics(s.S[l], s.labels, K, opt);
        const LevelMetrics& level = got[l + 1];
        EXPECT_EQ(test::json_difference(level.metrics, want.metrics, 1e-12), "") << "case " << k << ", S" << l + 1;
        EXPECT_EQ(level.ncc, want.ncc) << "case " << k << ", S" << l + 1;
        if (c.spread > 1.0) {  // the nearest centres are then no copy of the labels
          EXPECT_LT(level.metrics.at("ncc_accuracy").get<double>(), 0.9) << "case " << k << ", S" << l + 1;
        }
        EXPECT_LT(test::max_entry_gap(level.stats.means, want.stats.means), 1e-13 * want.stats.means.norm());
        EXPECT_NEAR(level.stats.h_sq, want.stats.h_sq, 1e-12 * want.stats.h_sq);
        if (!last) continue;
        EXPECT_LT(test::max_entry_gap(WHt, want_WHt), 1e-13 * want_WHt.norm()) << "case " << k;
        ASSERT_EQ(level.stats.strong_residual_sq.size(), want.stats.strong_residual_sq.size()) << "case " << k;
        EXPECT_LT(test::max_entry_gap(level.stats.strong_residual_sq, want.stats.strong_residual_sq),
                  1e-12 * want.stats.strong_residual_sq.norm())
            << "case " << k;
      }
    }
  }
}

TEST(LinearImages, NullMetricsAreTheFormedLevelsWithTheirReasons) {
  // H = 0 (every mean the same point, the spectrum of zero features) and an empty class.
  const std::vector<ImageCase> cases{
      {{10, 12, 9}, 4, {5}, true, 0.0},
      {{10, 0, 9}, 4, {5, 3}},
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const ImageCase& c = cases[k];
    const ImageSetup s = image_setup(c, 40 + static_cast<unsigned>(k));
    const Index K = static_cast<Index>(c.counts.size());
    const Eigen::Ref<const Mat> W = s.W;
    Mat WHt;
    const std::vector<LevelMetrics> got = linear_stack_levels(s.H, s.labels, K, s.Q, MetricOptions{}, &W, &WHt);
    Mat want_WHt;
    const LevelMetrics want = level_metrics(s.S.back(), s.labels, K, MetricOptions{}, W, want_WHt);
    EXPECT_EQ(test::json_difference(got.back().metrics, want.metrics, 1e-12), "") << "case " << k;
    EXPECT_FALSE(got.back().metrics[kNullReasons].empty()) << "case " << k;
    EXPECT_LE(test::max_entry_gap(WHt, want_WHt), 1e-13 * want_WHt.norm()) << "case " << k;
  }
}

TEST(LinearImages, CollapsedLevelsKeepTheirSmallMetrics) {
  // Near collapse (within-class spread 1e-6 of the means') nc1 and cdnv are ~1e-12: the scatters are
  // of class-centred columns, so they keep their leading digits as the formed route does.
  const std::vector<Index> counts{40, 40, 40, 40};
  const std::vector<int> labels = test::shuffled_labels(counts, 3);
  const Index K = 4, d0 = 8, N = 160;
  const Mat means = test::simplex_etf(d0, K) * 3.0;
  Mat H = test::collapsed_features(means, labels) + test::random_mat(d0, N, 4, 1e-6);
  H.colwise() += test::random_vec(d0, 5);  // a global mean far from zero
  const std::vector<Mat> Q{test::random_mat(10, d0, 6)};
  const std::vector<LevelMetrics> got = linear_stack_levels(H, labels, K, Q, MetricOptions{});
  const Mat S = Q[0] * H;
  const LevelMetrics want = level_metrics(S, labels, K, MetricOptions{});
  for (const char* name : {"nc1", "nc1_tr", "cdnv"}) {
    const double g = test::metric(got[1].metrics, name), w = test::metric(want.metrics, name);
    EXPECT_LT(w, 1e-9) << name;
    EXPECT_NEAR(g, w, 1e-6 * w) << name;
  }
  // Exact collapse: no spread at all, yet the centred features (the means about μ_G) are not zero.
  const Mat exact = test::collapsed_features(means, labels);
  const std::vector<LevelMetrics> collapsed = linear_stack_levels(exact, labels, K, Q, MetricOptions{});
  const LevelMetrics formed = level_metrics(Q[0] * exact, labels, K, MetricOptions{});
  for (const char* name : {"singular_values", "explained_variance", "effective_rank", "stable_rank"}) {
    ASSERT_FALSE(collapsed[1].metrics[name].is_null()) << name;
    EXPECT_EQ(test::json_difference(collapsed[1].metrics[name], formed.metrics[name], 1e-12), "") << name;
  }
  EXPECT_LT(test::metric(collapsed[1].metrics, "nc1"), 1e-25);  // rounding on both routes
}

TEST(LinearImages, RejectsShapesTheyCannotMeasure) {
  const ImageSetup s = image_setup({{5, 6}, 4, {3}}, 7);  // N = 11
  const std::vector<Mat> wide{test::random_mat(12, 4, 1)};  // 12 > N: its spectrum needs the N×N Gram
  EXPECT_THROW(linear_stack_levels(s.H, s.labels, 2, wide, MetricOptions{}), std::invalid_argument);
  EXPECT_NO_THROW(linear_stack_levels(s.H, s.labels, 2, wide, MetricOptions{0, false}));
  const std::vector<Mat> mismatched{test::random_mat(3, 5, 1)};  // 5 columns for d0 = 4
  EXPECT_THROW(linear_stack_levels(s.H, s.labels, 2, mismatched, MetricOptions{}), std::invalid_argument);
  const Mat W = test::random_mat(2, 4, 2);  // K×d0, but the last level is 3 wide
  const Eigen::Ref<const Mat> Wr = W;
  EXPECT_THROW(linear_stack_levels(s.H, s.labels, 2, s.Q, MetricOptions{}, &Wr), std::invalid_argument);
}

TEST(LinearImages, TakeFewerFlopsOnlyWhereTheyDo) {
  const std::vector<Index> paper{512, 512}, medium{64, 64}, bottleneck{512, 8}, wide{64, 2000};
  EXPECT_TRUE(linear_images_take_fewer_flops(5000, 10, paper, true));
  EXPECT_TRUE(linear_images_take_fewer_flops(5000, 10, paper, false));
  EXPECT_TRUE(linear_images_take_fewer_flops(1000, 10, medium, true));
  EXPECT_TRUE(linear_images_take_fewer_flops(5000, 10, std::vector<Index>{512, 512, 512}, true));
  // A narrow level is cheap to form, and H's Gram is then the same on both routes.
  EXPECT_FALSE(linear_images_take_fewer_flops(5000, 10, bottleneck, true));
  EXPECT_FALSE(linear_images_take_fewer_flops(1000, 10, wide, true));  // wider than N: formed only
  EXPECT_FALSE(linear_images_take_fewer_flops(5000, 10, std::vector<Index>{512}, true));  // no image
  EXPECT_FALSE(linear_images_take_fewer_flops(100, 10, medium, true));  // N ~ d: Q C Qᵀ costs more
}

}  // namespace
}  // namespace ufm
