#include <gtest/gtest.h>

#include "ufm/objectives/simplex_etf.hpp"

namespace ufm {
namespace {

TEST(SimplexEtfClassifier, HasTheEtfGramMatrixAndTheRequestedNorm) {
  for (Index K : {2, 3, 5, 10}) {
    for (Index d : {K - 1, K, K + 3}) {
      const Mat W = simplex_etf_classifier(K, d, 2.5);
      ASSERT_EQ(W.rows(), K);
      ASSERT_EQ(W.cols(), d);
      EXPECT_NEAR(W.norm(), 2.5, 1e-13);
      const Mat P = Mat::Identity(K, K) - Mat::Constant(K, K, 1.0 / K);
      EXPECT_LT((W * W.transpose() - (2.5 * 2.5 / (K - 1)) * P).norm(), 1e-13) << "K=" << K << " d=" << d;
    }
  }
}

TEST(SimplexEtfClassifier, RejectsTooFewDimensions) {
  EXPECT_THROW(simplex_etf_classifier(5, 3, 1.0), std::invalid_argument);
}

}  // namespace
}  // namespace ufm
