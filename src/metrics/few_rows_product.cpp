#include "ufm/metrics/few_rows_product.hpp"

#include <algorithm>

#include "ufm/objectives/detail/ufm_kernels.hpp"

namespace ufm {
namespace {
constexpr Index kProductBlock = 256;  ///< columns per kernel call: a block of X and its K×nb logits stay in L2
}  // namespace

double few_rows_product_block(const Mat& A, const Mat& At, const double* Xb, Index nb, Index j0, Mat& out_t) {
  // The kernel's class-major layout is out_t's own: rows j0.. of column k at out_t.data() + k·N + j0.
  return detail::block_logits(A.cols(), A.rows(), A.data(), At.data(), Xb, nb, nullptr, out_t.data() + j0, nullptr,
                              out_t.rows());
}

double centred_and_raw_products_block(const Mat& A, const Mat& At, const Mat& W, const Mat& Wt, const Vec& mu,
                                      const double* Hb, Index nb, Index j0, double* Xc, Mat& Pt, Mat& Zt) {
  return detail::block_centred_pair(A.cols(), A.rows(), A.data(), At.data(), W.data(), Wt.data(), mu.data(), Hb, nb,
                                    Xc, Pt.data() + j0, Zt.data() + j0, Pt.rows());
}

double centred_products_block(const Mat& A, const Mat& At, const Vec& mu, const double* Hb, Index nb, Index j0,
                              double* Xc, Mat& Pt) {
  return detail::block_centred_pair(A.cols(), A.rows(), A.data(), At.data(), nullptr, nullptr, mu.data(), Hb, nb, Xc,
                                    Pt.data() + j0, nullptr, Pt.rows());
}

void centred_two_products_block(const Mat& A, const Mat& At, const Mat& B, const Mat& Bt, const Vec& mu,
                                const double* Hb, Index nb, Index j0, double* Xc, Mat& Pt, Mat& Qt) {
  detail::block_centred_pair(A.cols(), A.rows(), A.data(), At.data(), B.data(), Bt.data(), mu.data(), Hb, nb, Xc,
                             Pt.data() + j0, Qt.data() + j0, Pt.rows(), true);
}

double few_rows_product_t(const Eigen::Ref<const Mat>& A, const Eigen::Ref<const Mat>& X, Mat& out_t) {
  const Index K = A.rows(), d = A.cols(), N = X.cols();
  if (d == 0 || X.outerStride() != d) {
    out_t.noalias() = X.transpose() * A.transpose();
    return X.squaredNorm();
  }
  const Mat Ac = A, At = A.transpose();
  out_t.resize(N, K);
  double x_sq = 0.0;
  for (Index j0 = 0; j0 < N; j0 += kProductBlock)
    x_sq += few_rows_product_block(Ac, At, X.data() + j0 * d, std::min(kProductBlock, N - j0), j0, out_t);
  return x_sq;
}

double few_rows_product(const Eigen::Ref<const Mat>& A, const Eigen::Ref<const Mat>& X, Mat& out) {
  if (A.cols() == 0 || X.outerStride() != A.cols()) {
    out.noalias() = A * X;
    return X.squaredNorm();
  }
  Mat out_t;
  const double x_sq = few_rows_product_t(A, X, out_t);
  out = out_t.transpose();
  return x_sq;
}

}  // namespace ufm
