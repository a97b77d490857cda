// The step bench/ufm-bench times is the tested one: the benchmark's problem (bench/bench_problem.hpp)
// gives the gradient of the formula of theory.md §2, its GD step is theta − lr·grad, and the
// blocked kernels behind it (column blocks, class groups, the packed/streaming path for large H,
// the Eigen path for K > 24) agree with a plain reference and are bit-identical across thread
// counts. No timing here: speed lives in bench/.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../bench/bench_problem.hpp"
#include "../bench/blas_floor.hpp"
#include "../bench/deep_problem.hpp"
#include "test_util.hpp"
#include "ufm/objectives/labels.hpp"
#include "ufm/objectives/ufm_objective.hpp"

namespace ufm {
namespace {

struct Reference {
  double value = 0.0;
  Vec grad;
};

/// F and its gradient straight from theory.md §2, one column at a time (no blocking, no kernels).
/// freeze_w: W is a constant (zero gradient).
Reference reference(const UfmObjective& f, const Vec& theta, bool freeze_w = false) {
  const UfmLayout& L = f.layout();
  const Regularization& lam = f.lambda();
  const auto H = L.H(theta);
  const auto W = L.W(theta);
  Mat Z = W * H;
  if (L.has_bias) Z.colwise() += L.b(theta);
  Mat G(L.K, L.N);
  double loss = 0.0;
  for (Index i = 0; i < L.N; ++i) {
    const int y = f.labels()[static_cast<std::size_t>(i)];
    Vec z = Z.col(i);
    if (f.loss() == Loss::kMse) {
      z(y) -= 1.0;
      loss += 0.5 * z.squaredNorm();
      G.col(i) = z;
    } else {
      const double m = z.maxCoeff();
      const Vec e = (z.array() - m).exp().matrix();
      const double s = e.sum();
      loss += m + std::log(s) - z(y);
      G.col(i) = e / s;
      G(y, i) -= 1.0;
    }
  }
  G /= static_cast<double>(L.N);
  Reference r;
  r.value = loss / static_cast<double>(L.N) + 0.5 * lam.w * W.squaredNorm() + 0.5 * lam.h * H.squaredNorm();
  r.grad.resize(f.num_params());
  L.H(r.grad) = W.transpose() * G + lam.h * H;
  L.W(r.grad) = G * H.transpose() + lam.w * W;
  if (freeze_w) L.W(r.grad).setZero();
  if (L.has_bias) {
    r.value += 0.5 * lam.b * L.b(theta).squaredNorm();
    L.b(r.grad) = G.rowwise().sum() + lam.b * L.b(theta);
  }
  return r;
}

void set_threads([[maybe_unused]] int n) {
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

void expect_matches_reference(const UfmObjective& f, const Vec& theta, double tol, bool freeze_w = false) {
  Vec grad(f.num_params());
  const double value = f.value_and_gradient(theta, grad);
  const Reference r = reference(f, theta, freeze_w);
  EXPECT_NEAR(value, r.value, tol * std::max(1.0, std::abs(r.value)));
  EXPECT_LT(test::relative_error(grad, r.grad), tol);
  EXPECT_EQ(value, f.value(theta));  // same arithmetic, bit for bit
  EXPECT_EQ(f.parts(theta).total(), value);
}

// The four benchmark sizes (the large one scaled down in N to keep the suite fast; it takes the
// same Eigen path).
class BenchSizes : public ::testing::TestWithParam<std::tuple<Index, Index, Index, Loss>> {};

TEST_P(BenchSizes, TimedStepIsTheTestedGradientStep) {
  const auto [K, n, d, loss] = GetParam();
  bench::Problem p;
  p.K = K, p.n = n, p.d = d, p.loss = loss;
  const UfmObjective f = bench::make_objective(p);
  const Vec theta0 = bench::initial_theta(p, f);
  // The benchmark's objective is the one `ufm-sim run` builds for the same settings.
  const UfmObjective same(K, d, block_labels(balanced_counts(K, n)), loss, BiasMode::kRegularized,
                          {p.lam, p.lam, p.lam});
  Vec g(f.num_params()), g_same(f.num_params());
  EXPECT_EQ(f.value_and_gradient(theta0, g), same.value_and_gradient(theta0, g_same));
  EXPECT_EQ(g, g_same);
  expect_matches_reference(f, theta0, 1e-12);

  // One timed step is theta − lr·grad, with the gradient of the tested objective.
  Vec theta = theta0;
  const RunSummary s = bench::run_steps(f, theta, p.lr, 1);
  EXPECT_EQ(s.status, RunStatus::kMaxSteps) << s.message;
  EXPECT_EQ(s.steps, 1);
  EXPECT_EQ(theta, (theta0 - p.lr * g).eval());
}

INSTANTIATE_TEST_SUITE_P(
    SmallMediumPaperLarge, BenchSizes,
    ::testing::Values(std::make_tuple(Index{4}, Index{10}, Index{16}, Loss::kCrossEntropy),
                      std::make_tuple(Index{4}, Index{10}, Index{16}, Loss::kMse),
                      std::make_tuple(Index{10}, Index{100}, Index{64}, Loss::kCrossEntropy),
                      std::make_tuple(Index{10}, Index{100}, Index{64}, Loss::kMse),
                      std::make_tuple(Index{10}, Index{500}, Index{512}, Loss::kCrossEntropy),
                      std::make_tuple(Index{10}, Index{500}, Index{512}, Loss::kMse),
                      std::make_tuple(Index{100}, Index{3}, Index{512}, Loss::kCrossEntropy)));

// Awkward shapes for the kernels: d not a multiple of the SIMD width, N not a multiple of the
// block, one or two class groups, the Eigen path, every bias mode, a frozen classifier.
struct Shape {
  Index K, d, N;
  Loss loss;
  BiasMode bias;
  bool freeze_w;
};

class KernelShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(KernelShapes, MatchTheReference) {
  const Shape sh = GetParam();
  std::vector<int> labels(static_cast<std::size_t>(sh.N));
  for (Index i = 0; i < sh.N; ++i) labels[static_cast<std::size_t>(i)] = static_cast<int>((i * 7 + 3) % sh.K);
  const UfmObjective f(sh.K, sh.d, labels, sh.loss, sh.bias, {3e-2, 7e-3, 1e-1}, sh.freeze_w);
  for (double scale : {1e-3, 0.7}) {
    const Vec theta = test::random_vec(f.num_params(), 5, scale);
    expect_matches_reference(f, theta, 1e-12, sh.freeze_w);
  }
}

TEST_P(KernelShapes, DescendIsTheGradientStepBitForBit) {
  // value_and_descend (GD's one-pass step between checkpoints) against value_and_gradient and
  // t − lr·g: the same value and the same new theta, to the last bit, on every kernel path.
  const Shape sh = GetParam();
  std::vector<int> labels(static_cast<std::size_t>(sh.N));
  for (Index i = 0; i < sh.N; ++i) labels[static_cast<std::size_t>(i)] = static_cast<int>((i * 7 + 3) % sh.K);
  const UfmObjective f(sh.K, sh.d, labels, sh.loss, sh.bias, {3e-2, 7e-3, 1e-1}, sh.freeze_w);
  for (double lr : {0.3, 0.0}) {  // lr = 0: a step that leaves theta as it is
    for (double scale : {1e-3, 0.7}) {
      const Vec theta0 = test::random_vec(f.num_params(), 6, scale);
      Vec grad(f.num_params()), scratch(f.num_params()), theta = theta0;
      const double value = f.value_and_gradient(theta0, grad);
      Vec expected(f.num_params());
      for (Index i = 0; i < expected.size(); ++i) expected[i] = theta0[i] - lr * grad[i];
      EXPECT_EQ(f.value_and_descend(theta, scratch, lr), value);
      EXPECT_TRUE(theta == expected) << "lr " << lr << ", max difference " << (theta - expected).cwiseAbs().maxCoeff();
      EXPECT_EQ(theta == theta0, lr == 0.0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, KernelShapes,
    ::testing::Values(Shape{2, 1, 1, Loss::kCrossEntropy, BiasMode::kNone, false},
                      Shape{3, 7, 5, Loss::kMse, BiasMode::kFree, false},
                      Shape{5, 9, 37, Loss::kCrossEntropy, BiasMode::kRegularized, false},
                      Shape{13, 33, 300, Loss::kCrossEntropy, BiasMode::kFree, false},
                      Shape{24, 16, 301, Loss::kMse, BiasMode::kRegularized, false},
                      Shape{10, 13, 97, Loss::kCrossEntropy, BiasMode::kRegularized, false},  // 4 chains, tail rows
                      Shape{25, 17, 211, Loss::kCrossEntropy, BiasMode::kRegularized, false},
                      Shape{7, 40, 1000, Loss::kCrossEntropy, BiasMode::kNone, true},
                      Shape{30, 24, 777, Loss::kMse, BiasMode::kFree, true},
                      Shape{6, 512, 4500, Loss::kCrossEntropy, BiasMode::kRegularized, false},
                      // K > 24, blocks of two widths, rows past the last packet: the descent
                      // step adds λ_H h to Wᵀ G in its update pass
                      Shape{40, 61, 600, Loss::kMse, BiasMode::kFree, false}));

// Determinism: the value, the gradient and a few GD steps are the same doubles for 1, 2 and 3
// threads (fixed chunks, partials added in chunk order).
class ThreadCounts : public ::testing::TestWithParam<Shape> {};

TEST_P(ThreadCounts, BitIdenticalForAnyThreadCount) {
  const Shape sh = GetParam();
  std::vector<int> labels(static_cast<std::size_t>(sh.N));
  for (Index i = 0; i < sh.N; ++i) labels[static_cast<std::size_t>(i)] = static_cast<int>(i % sh.K);
  const UfmObjective f(sh.K, sh.d, labels, sh.loss, sh.bias, {5e-4, 5e-4, 5e-4});
  const Vec theta0 = test::random_vec(f.num_params(), 9, 0.1);
  std::vector<Vec> grads, finals;
  std::vector<double> values;
  for (int threads : {1, 2, 3}) {
    set_threads(threads);
    Vec grad(f.num_params());
    values.push_back(f.value_and_gradient(theta0, grad));
    grads.push_back(grad);
    Vec theta = theta0;
    bench::run_steps(f, theta, 0.1, 3);
    finals.push_back(theta);
  }
  set_threads(1);
  for (std::size_t t = 1; t < values.size(); ++t) {
    EXPECT_EQ(values[t], values[0]) << t + 1 << " threads";
    EXPECT_EQ(grads[t], grads[0]) << t + 1 << " threads";
    EXPECT_EQ(finals[t], finals[0]) << t + 1 << " threads";
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ThreadCounts,
                         ::testing::Values(Shape{10, 64, 1000, Loss::kCrossEntropy, BiasMode::kRegularized, false},
                                           Shape{10, 64, 1000, Loss::kMse, BiasMode::kNone, false},
                                           Shape{40, 48, 2000, Loss::kCrossEntropy, BiasMode::kFree, false},
                                           Shape{10, 512, 4200, Loss::kCrossEntropy, BiasMode::kRegularized, false}));

// GradientDescent takes its steps between checkpoints with value_and_descend: the iterates are the
// ones of the step-by-step loop (every step observed), and a blow-up there is still reported.
TEST(GradientDescentOnUfm, OnePassStepsGiveTheObservedIterates) {
  bench::Problem p;
  p.K = 10, p.n = 30, p.d = 24;
  const UfmObjective f = bench::make_objective(p);
  const Vec theta0 = bench::initial_theta(p, f);
  const GradientDescent gd({.lr = p.lr, .max_steps = 25});
  Vec fused = theta0, observed = theta0;
  std::vector<long> every_step;
  for (long k = 0; k <= 25; ++k) every_step.push_back(k);
  const RunSummary a = gd.run(f, fused, std::span<const long>{}, NullObserver{});
  const RunSummary b = gd.run(f, observed, every_step, NullObserver{});
  EXPECT_EQ(a.final_value, b.final_value);
  EXPECT_TRUE(fused == observed);
  EXPECT_EQ(a.gradient_evaluations, b.gradient_evaluations);
}

TEST(GradientDescentOnUfm, BlowUpBetweenCheckpointsEndsAtTheLastObservedState) {
  bench::Problem p;
  p.K = 4, p.n = 10, p.d = 16, p.loss = Loss::kMse, p.init = 1.0;
  const UfmObjective f = bench::make_objective(p);
  const Vec theta0 = bench::initial_theta(p, f);
  Vec theta = theta0;
  const GradientDescent gd({.lr = 50.0, .max_steps = 100000});
  const std::vector<long> checkpoints{0};
  const RunSummary s = gd.run(f, theta, checkpoints, NullObserver{});
  EXPECT_EQ(s.status, RunStatus::kDiverged);
  EXPECT_NE(s.message.find("step"), std::string::npos) << s.message;
  EXPECT_EQ(s.steps, 0);
  EXPECT_TRUE(theta == theta0);
  EXPECT_LT(s.gradient_evaluations, 100000);
}

#ifdef UFM_USE_OPENBLAS
extern "C" int openblas_get_num_threads(void);

TEST(Blas, OpenBlasIsPinnedToTheCallingThread) {
  // Its own thread splits would make results depend on the thread count (linalg.hpp pins it).
  EXPECT_EQ(openblas_get_num_threads(), 1);
  EXPECT_NE(std::string(blas_backend()).find("(1 thread)"), std::string::npos) << blas_backend();
}

TEST(BlasFloor, LeavesOpenBlasPinnedToOneThread) {
  bench::Problem p;
  p.K = 3, p.n = 4, p.d = 8;
  for (int layers : {1, 2}) EXPECT_GT(bench::blas_floor_seconds(p, layers, 2, 0.01), 0.0);
  EXPECT_EQ(openblas_get_num_threads(), 1);
}
#endif

TEST(BenchDeepStep, TimesTheEndToEndStepUnlessLayeredAndCountsItsProducts) {
  // ufm-bench step --layers 2: the linear model as ufm-sim run evaluates it (end to end), or with
  // --layered torch_ufm.py's layer-by-layer products; ReLU is always layered. The flops it reports
  // are those of the products made: 6KdN + 6Kd² end to end, 6KdN + 6d²N through the layers.
  bench::Problem p;
  p.K = 3, p.n = 4, p.d = 8;
  const double K = 3, d = 8, N = 12;
  EXPECT_TRUE(bench::make_deep_objective(p, false).end_to_end());
  EXPECT_FALSE(bench::make_deep_objective(p, false, 2, true).end_to_end());
  EXPECT_FALSE(bench::make_deep_objective(p, true).end_to_end());
  EXPECT_EQ(bench::deep_gemm_flops(p, true), 6 * K * d * N + 6 * K * d * d);
  EXPECT_EQ(bench::deep_gemm_flops(p, false), 6 * K * d * N + 6 * d * d * N);
}

TEST(BlasFloor, DgemmCallIsTheProductItNames) {
  const Mat A = Mat::Random(5, 3), At = A.transpose(), B = Mat::Random(3, 4), Bt = B.transpose();
  const Mat C0 = Mat::Random(5, 4);
  const Mat expected = 0.5 * C0 + 2.0 * (A * B);
  for (int ta : {0, 1})
    for (int tb : {0, 1}) {
      Mat C = C0;
      bench::dgemm_call(2.0, ta ? At : A, ta, tb ? Bt : B, tb, 0.5, C);
      EXPECT_LT((C - expected).cwiseAbs().maxCoeff(), 1e-14) << "ta=" << ta << " tb=" << tb;
      Mat D = Mat::Constant(5, 4, std::nan(""));  // beta = 0: the old entries are never read
      bench::dgemm_call(1.0, ta ? At : A, ta, tb ? Bt : B, tb, 0.0, D);
      EXPECT_LT((D - A * B).cwiseAbs().maxCoeff(), 1e-14) << "ta=" << ta << " tb=" << tb;
    }
}

TEST(BlasFloor, TorchMmIsTheProductOfTheRowMajorTensors) {
  // Each Mat holds a row-major tensor's memory, i.e. the tensor transposed: torch_mm(A, B) on
  // them must leave in C the memory of the row-major op(A) op(B).
  const Mat A = Mat::Random(5, 3), B = Mat::Random(3, 4), C0 = Mat::Random(5, 4);  // tensors
  const Mat expected = 0.5 * C0 + 2.0 * (A * B);
  for (int ta : {0, 1})
    for (int tb : {0, 1}) {
      const Mat a = ta ? Mat(A) : Mat(A.transpose());  // the memory of A, or of A.t()'s base tensor
      const Mat b = tb ? Mat(B) : Mat(B.transpose());
      Mat c = C0.transpose();
      bench::torch_mm(2.0, a, ta, b, tb, 0.5, c);
      EXPECT_LT((c.transpose() - expected).cwiseAbs().maxCoeff(), 1e-14) << "ta=" << ta << " tb=" << tb;
    }
}

}  // namespace
}  // namespace ufm
