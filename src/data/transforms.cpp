#include "ufm/data/transforms.hpp"

#include <cmath>
#include <stdexcept>

namespace ufm::data {
namespace {

/// Sums over samples in index order, one column at a time (cache-friendly, no N-sized temporary).
Standardization training_statistics(const Dataset& train) {
  const Index D = train.input_dim(), N = train.size();
  if (N == 0) throw std::invalid_argument("standardize(): '" + train.name + "' has no samples");
  const Mat& X = train.X;
  Vec lo = X.col(0), hi = X.col(0), sum = Vec::Zero(D);
  for (Index i = 0; i < N; ++i) {
    lo = lo.cwiseMin(X.col(i));
    hi = hi.cwiseMax(X.col(i));
    sum += X.col(i);
  }
  Standardization s{sum / static_cast<double>(N), Vec::Zero(D)};
  for (Index i = 0; i < N; ++i) s.scale.array() += (X.col(i) - s.mean).array().square();
  for (Index j = 0; j < D; ++j) {
    if (lo(j) == hi(j)) {  // constant: shift to exactly 0, never divide
      s.mean(j) = lo(j);
      s.scale(j) = 1;
    } else {
      s.scale(j) = std::sqrt(s.scale(j) / static_cast<double>(N));
    }
  }
  return s;
}

void apply(const Standardization& s, Dataset& ds) {
  ds.X.colwise() -= s.mean;
  ds.X.array().colwise() /= s.scale.array();
  ds.raw_bytes = false;
}

}  // namespace

void scale_pixels(Dataset& ds) {
  if (!ds.raw_bytes)
    throw std::invalid_argument("scale_pixels(): '" + ds.name +
                                "' does not hold raw byte pixels (already scaled, or not an image source)");
  ds.X.array() /= 255.0;
  ds.raw_bytes = false;
}

void scale_pixels(DataSplit& split) {
  scale_pixels(split.train);
  if (split.test) scale_pixels(*split.test);
}

Standardization standardize(Dataset& train) {
  const Standardization s = training_statistics(train);
  apply(s, train);
  return s;
}

Standardization standardize(Dataset& train, Dataset& test) {
  if (test.input_dim() != train.input_dim())
    throw std::invalid_argument("standardize(): the test set has " + std::to_string(test.input_dim()) +
                                " features, the training set " + std::to_string(train.input_dim()));
  const Standardization s = training_statistics(train);
  apply(s, train);
  apply(s, test);
  return s;
}

Standardization standardize(DataSplit& split) {
  return split.test ? standardize(split.train, *split.test) : standardize(split.train);
}

}  // namespace ufm::data
