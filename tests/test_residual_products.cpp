// The K×K-sized products of the low-rank slopes' residuals (objectives/detail/residual_products.hpp),
// against Eigen's products: every K the kernels take, sample counts on and off the vector width, and
// class-major blocks inside larger ones (leading dimensions above the rows).
#include <gtest/gtest.h>

#include <array>
#include <stdexcept>

#include "test_util.hpp"
#include "ufm/linalg.hpp"
#include "ufm/objectives/detail/residual_products.hpp"

namespace ufm {
namespace {

double largest_entry(const Mat& m) { return m.cwiseAbs().maxCoeff(); }

TEST(ResidualProducts, ResidualsTimesTransposedIsTheSumOfTheTermsProducts) {
  for (const Index K : {2, 3, 8, 10, 12})
    for (const Index rows : {1, 7, 8, 9, 37}) {
      SCOPED_TRACE(testing::Message() << "K = " << K << ", rows = " << rows);
      const Index ld = rows + 5;  // blocks of a taller matrix
      const int terms = 3;
      std::array<Mat, 3> R;
      std::array<const double*, 3> pointers{};
      for (int t = 0; t < terms; ++t) {
        R[t] = test::random_mat(ld, K, 10 + t);
        pointers[t] = R[t].data() + 2;  // from row 2 on
      }
      const Mat M = test::random_mat(K, terms * K, 3);
      Mat out = Mat::Constant(ld, K, 7.0);  // overwritten, not added to
      detail::residuals_times_transposed(rows, K, terms, pointers.data(), ld, M.data(), out.data() + 1, ld);
      Mat want = Mat::Zero(rows, K);
      for (int t = 0; t < terms; ++t) want += R[t].middleRows(2, rows) * M.middleCols(t * K, K).transpose();
      EXPECT_LE(largest_entry(out.middleRows(1, rows) - want), 1e-14 * largest_entry(want));
      EXPECT_EQ(out(0, 0), 7.0);  // rows outside the block are left alone
      if (rows + 1 < ld) {
        EXPECT_EQ(out(rows + 1, K - 1), 7.0);
      }
    }
}

TEST(ResidualProducts, CrossProductIsAtransposeB) {
  for (const Index K : {2, 5, 10, 11, 12})
    for (const Index rows : {1, 3, 8, 17, 312}) {
      SCOPED_TRACE(testing::Message() << "K = " << K << ", rows = " << rows);
      const Index lda = rows + 3, ldb = rows + 1;
      const Mat A = test::random_mat(lda, K, 21), B = test::random_mat(ldb, K, 22);
      Mat out(K, K);
      detail::residual_cross_product(rows, K, A.data(), lda, B.data(), ldb, out.data());
      const Mat want = A.topRows(rows).transpose() * B.topRows(rows);
      EXPECT_LE(largest_entry(out - want), 1e-14 * rows * largest_entry(want));
    }
}

TEST(ResidualProducts, KOutsideTheKernelsIsRefused) {
  const Mat A = Mat::Ones(4, 13);
  Mat out(13, 13);
  EXPECT_THROW(detail::residual_cross_product(4, 13, A.data(), 4, A.data(), 4, out.data()), std::invalid_argument);
  const double* R[1] = {A.data()};
  EXPECT_THROW(detail::residuals_times_transposed(4, 1, 1, R, 4, A.data(), out.data(), 4), std::invalid_argument);
}

}  // namespace
}  // namespace ufm
