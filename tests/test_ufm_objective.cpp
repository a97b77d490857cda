#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include "test_metrics_util.hpp"
#include "test_util.hpp"
#include "ufm/objectives/detail/exp_nonpositive.hpp"
#include "ufm/objectives/detail/ufm_kernels.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/loss.hpp"
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

namespace ei = Eigen::internal;
using Packet = ei::packet_traits<double>::type;
constexpr Index kLanes = ei::packet_traits<double>::size;

/// detail::exp_nonpositive, lane by lane through pload/pstore, over xs (padded with 0).
std::vector<double> exp_nonpositive_of(const std::vector<double>& xs) {
  std::vector<double> out(xs.size());
  constexpr std::size_t L = kLanes;
  for (std::size_t i = 0; i < xs.size(); i += L) {
    alignas(64) double in[L], res[L];
    for (std::size_t l = 0; l < L; ++l) in[l] = i + l < xs.size() ? xs[i + l] : 0.0;
    ei::pstore(res, detail::exp_nonpositive(ei::pload<Packet>(in)));
    for (std::size_t l = 0; l < L && i + l < xs.size(); ++l) out[i + l] = res[l];
  }
  return out;
}

/// |got − want| in units of the spacing of doubles at want (denorm_min for subnormal want).
double ulps(double got, double want) {
  if (got == want) return 0.0;
  const double a = std::abs(want);
  return std::abs(got - want) / (std::nextafter(a, std::numeric_limits<double>::infinity()) - a);
}

TEST(UfmObjective, HandsTheLogitsOfItsPassWithTheSameValueAndGradient) {
  // value_gradient_and_logits: value and gradient bit for bit value_and_gradient's, and (W H)ᵀ without
  // the bias, class-major. K = 3 and 10 (transposed kernels, N not a multiple of the lanes), 13 (tiles
  // by class group), 30 (Eigen's products after the kernels' logits); every bias mode.
  struct Case {
    Index K, d, n;
    Loss loss;
    BiasMode bias;
  };
  for (const Case c : {Case{3, 4, 5, Loss::kCrossEntropy, BiasMode::kFree},
                       Case{10, 64, 30, Loss::kCrossEntropy, BiasMode::kRegularized},
                       Case{13, 16, 7, Loss::kMse, BiasMode::kNone},
                       Case{30, 8, 4, Loss::kCrossEntropy, BiasMode::kFree}}) {
    const UfmObjective f(c.K, c.d, test::shuffled_labels(std::vector<Index>(static_cast<std::size_t>(c.K), c.n), 3),
                         c.loss, c.bias, {1e-2, 2e-2, c.bias == BiasMode::kRegularized ? 3e-2 : 0.0});
    const Vec theta = test::random_vec(f.num_params(), 19, 0.8);
    Vec grad, handed_grad;
    Mat logits_t;
    const double value = f.value_and_gradient(theta, grad);
    EXPECT_EQ(f.value_gradient_and_logits(theta, handed_grad, logits_t), value) << "K = " << c.K;
    EXPECT_EQ(handed_grad, grad) << "K = " << c.K;
    const UfmLayout& L = f.layout();
    ASSERT_EQ(logits_t.rows(), L.N);
    ASSERT_EQ(logits_t.cols(), c.K);
    const Mat want = (L.W(theta) * L.H(theta)).transpose();
    EXPECT_LT((logits_t - want).cwiseAbs().maxCoeff(), 1e-13 * want.cwiseAbs().maxCoeff()) << "K = " << c.K;
    if (L.has_bias) {  // the bias is not in them: b is far larger than their error
      EXPECT_GT(L.b(theta).cwiseAbs().maxCoeff(), 1e-3);
    }
  }
}

TEST(ExpNonpositive, IsWithinOneAndAHalfUlpOfStdExpAndMostlyEqualToIt) {
  std::vector<double> xs = {0.0, -0.0, -5e-324, -1e-300, -std::numeric_limits<double>::min(), -1e-17, -1.1e-16,
                            -1e-10, -0.5, -1.0, -708.0, -708.4, -709.0, -740.0, -744.4, -745.0, -745.13};
  for (double x = -745.0; x <= 0.0; x += 1.0 / 1024) xs.push_back(x);  // dense grid, exact in double
  const double half_ln2 = 0.5 * std::log(2.0);
  for (int k = 0; -k * half_ln2 >= -745.0; ++k) {  // around the Cody–Waite rounding points k·ln2/2
    double lo = -k * half_ln2, hi = lo;
    xs.push_back(lo);
    for (int j = 0; j < 3; ++j) {
      lo = std::nextafter(lo, -1e9), hi = std::nextafter(hi, 1e9);
      xs.push_back(lo);
      if (hi <= 0.0) xs.push_back(hi);
    }
  }
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> uniform(-745.0, 0.0), exponent(-320.0, 2.87);
  for (int i = 0; i < 100000; ++i) xs.push_back(uniform(rng));
  for (int i = 0; i < 100000; ++i) xs.push_back(-std::pow(10.0, exponent(rng)));  // tiny to large |x|

  const std::vector<double> got = exp_nonpositive_of(xs);
  double worst = 0.0, worst_x = 0.0, sum = 0.0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double e = ulps(got[i], std::exp(xs[i]));
    sum += e;
    if (e > worst) worst = e, worst_x = xs[i];
  }
  const double mean = sum / static_cast<double>(xs.size());
  RecordProperty("max_ulp", std::to_string(worst));
  RecordProperty("mean_ulp", std::to_string(mean));
  // The polynomial's last steps go by Horner's rule: 1 ulp at most and 0.05 on average here. The same
  // polynomial by Estrin's scheme throughout reached 2 ulp, 0.33 on average.
  EXPECT_LE(worst, 1.5) << "at x = " << worst_x << " (" << xs.size() << " points)";
  EXPECT_LT(mean, 0.1) << xs.size() << " points";
}

TEST(ExpNonpositive, UnderflowsToZeroAndKeepsNan) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> xs = {-800.0, -inf, -745.2, -1e308, nan, -1.0, nan, -800.0};
  const std::vector<double> got = exp_nonpositive_of(xs);
  EXPECT_EQ(got[0], 0.0);
  EXPECT_EQ(got[1], 0.0);
  EXPECT_EQ(got[2], 0.0);
  EXPECT_EQ(got[3], 0.0);
  EXPECT_TRUE(std::isnan(got[4]));
  EXPECT_NEAR(got[5], std::exp(-1.0), 4e-16);
  EXPECT_TRUE(std::isnan(got[6]));
  EXPECT_EQ(got[7], 0.0);
}

TEST(LossClassMajor, ANonFiniteLogitMakesTheLossNaN) {
  // The logs of a call are taken once, of the product of the samples' softmax sums: a NaN or an
  // infinite logit in any full packet or in the tail still reaches the total.
  for (const double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity()})
    for (const Index at : {Index{0}, Index{kLanes + 1}, Index{3 * kLanes + 2}}) {
      const Index K = 3, n = 3 * kLanes + 3;
      std::vector<double> Zt(static_cast<std::size_t>(K * n), 0.25);
      std::vector<int> labels(static_cast<std::size_t>(n), 1);
      Zt[static_cast<std::size_t>(n + at)] = bad;  // class 1, sample `at`
      std::vector<double> work(static_cast<std::size_t>(3 * n));
      const double total =
          loss_and_residual_class_major(Loss::kCrossEntropy, Zt.data(), K, n, n, labels.data(), 1.0, work.data());
      EXPECT_FALSE(std::isfinite(total)) << "logit " << bad << " at sample " << at << ": " << total;
    }
}

TEST(LossClassMajor, ClassMajorLossAndResidualAreLossSumAndTheTransposedResidualBitForBit) {
  // The checkpoint's loss reads the logits class-major (N×K): the same blocks and arithmetic as
  // loss_sum and loss_and_residual on K×N, hence the same doubles; K = 200 takes their
  // column-by-column path.
  for (Loss loss : {Loss::kCrossEntropy, Loss::kMse})
    for (Index K : {2, 10, 200})
      for (Index N : {1, 31, 33, 1000}) {
        const Mat Z = test::random_mat(K, N, 3 + static_cast<unsigned>(K + N)) * 4.0;
        std::vector<int> labels(static_cast<std::size_t>(N));
        for (Index i = 0; i < N; ++i) labels[static_cast<std::size_t>(i)] = static_cast<int>((5 * i + 1) % K);
        Mat Rt = Z.transpose(), R = Z;
        EXPECT_EQ(loss_and_residual_class_major(loss, Rt, labels), loss_sum(loss, Z, labels))
            << to_string(loss) << " K=" << K << " N=" << N;
        loss_and_residual(loss, R, labels);
        EXPECT_TRUE(Rt == R.transpose()) << to_string(loss) << " K=" << K << " N=" << N;
      }
}

TEST(LossClassMajor, MatchesPlainPerColumnReferenceForBlocksOfAnyLength) {
  const double scale = 0.37, guard = 12345.0;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal(0.0, 3.0);
  for (Loss loss : {Loss::kCrossEntropy, Loss::kMse})
    for (Index K : {2, 3, 10, 100})
      for (Index n : {1, 7, 13, 33, 257}) {  // 257: one log of a product of 32 factors per lane
        SCOPED_TRACE(std::string(to_string(loss)) + " K=" + std::to_string(K) + " n=" + std::to_string(n));
        const Index ld = n + 3;  // a stride past the block: the padding must stay untouched
        std::vector<double> Zt(static_cast<std::size_t>(K * ld), guard);
        std::vector<int> labels(static_cast<std::size_t>(n));
        for (Index i = 0; i < n; ++i) {
          labels[i] = static_cast<int>(rng() % K);
          for (Index k = 0; k < K; ++k) Zt[k * ld + i] = rng() % 4 == 0 ? (rng() % 2 ? 700.0 : -700.0) + normal(rng)
                                                                          : normal(rng);
        }
        // Reference: column by column, std::exp / std::log.
        std::vector<double> want = Zt;
        double want_total = 0.0;
        for (Index i = 0; i < n; ++i) {
          const int y = labels[i];
          auto z = [&](Index k) -> double& { return want[k * ld + i]; };
          if (loss == Loss::kMse) {
            double sq = 0.0;
            for (Index k = 0; k < K; ++k) {
              const double r = z(k) - (k == y ? 1.0 : 0.0);
              sq += r * r;
              z(k) = scale * r;
            }
            want_total += 0.5 * sq;
            continue;
          }
          double m = z(0);
          for (Index k = 1; k < K; ++k) m = std::max(m, z(k));
          const double zy = z(y);
          double s = 0.0;
          for (Index k = 0; k < K; ++k) s += z(k) = std::exp(z(k) - m);
          want_total += m + std::log(s) - zy;
          for (Index k = 0; k < K; ++k) z(k) = scale * (z(k) / s) - (k == y ? scale : 0.0);
        }

        std::vector<double> work(static_cast<std::size_t>(3 * n));
        const double total = loss_and_residual_class_major(loss, Zt.data(), K, n, ld, labels.data(), scale, work.data());
        EXPECT_NEAR(total, want_total, 1e-14 * std::abs(want_total));
        for (Index k = 0; k < K; ++k)
          for (Index i = 0; i < ld; ++i) {
            const double got = Zt[k * ld + i], w = want[k * ld + i];
            if (i >= n) {
              EXPECT_EQ(got, guard);
            } else if (k == labels[i]) {
              // scale·p_y − scale: the subtraction rounds at the size of scale, whatever computes it.
              EXPECT_NEAR(got, w, 1e-14 * scale) << "class " << k << " sample " << i;
            } else {
              EXPECT_NEAR(got, w, 1e-14 * std::abs(w) + 1e-300) << "class " << k << " sample " << i;
            }
          }
      }
}

TEST(UfmKernels, BackwardRefusesABlockWiderThanItsResidualScratch) {
  // The backward kernel copies a block's residual into a stack buffer of kMaxBlockColumns samples.
  const Index d = 4, K = 3, nb = detail::kMaxBlockColumns + 1;
  const std::vector<double> Wt(d * K, 0.5), H(d * nb, 1.0), Gt(K * nb, 0.25);
  std::vector<double> gH(d * nb), gWt(d * K);
  EXPECT_THROW(detail::block_backward(d, K, Wt.data(), H.data(), nullptr, nb, Gt.data(), gH.data(), gWt.data(), 0.1,
                                      nullptr, false, nullptr),
               std::invalid_argument);
  // One column fewer is within the buffer: λ h + Σ_k G_ki w_k = 0.1 + 3·0.25·0.5 in every entry.
  EXPECT_NO_THROW(detail::block_backward(d, K, Wt.data(), H.data(), nullptr, nb - 1, Gt.data(), gH.data(), gWt.data(),
                                         0.1, nullptr, false, nullptr));
  EXPECT_DOUBLE_EQ(gH[0], 0.1 + 3 * 0.25 * 0.5);
  EXPECT_DOUBLE_EQ(gH[d * (nb - 1) - 1], 0.1 + 3 * 0.25 * 0.5);
}

}  // namespace
}  // namespace ufm
