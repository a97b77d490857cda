#include "ufm/objectives/simplex_etf.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace ufm {

Mat simplex_etf_classifier(Index K, Index d, double norm) {
  if (K < 2 || d < K - 1)
    throw std::invalid_argument("simplex_etf_classifier(): need K >= 2 and d >= K-1, got K=" + std::to_string(K) +
                                " d=" + std::to_string(d));
  // Helmert basis: column j (j = 1..K-1) is (1, ..., 1, -j, 0, ..., 0)/√(j(j+1)) with j ones;
  // its columns are orthonormal and orthogonal to 1, so U Uᵀ = I − 11ᵀ/K.
  Mat W = Mat::Zero(K, d);
  for (Index j = 1; j < K; ++j) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(j * (j + 1)));
    W.col(j - 1).head(j).setConstant(scale);
    W(j, j - 1) = -static_cast<double>(j) * scale;
  }
  return W * (norm / std::sqrt(static_cast<double>(K - 1)));
}

}  // namespace ufm
